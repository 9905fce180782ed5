//! `kokuin verify`: an auditor's offline check of a token against the data (or its digest),
//! the trust anchor and, if kept, the original request. Exit 0 only when every check passes.
//! E-seals (a SignedData over id-data) go to `verify_seal`.

pub use super::verify_args::VerifyArgs;
use super::{CmdError, hash_file, read_file};
use der::Decode;
use kokuin_certs::path::subject_of;
use kokuin_certs::pem::load_certificates;
use kokuin_tsa::asn1::TimeStampReq;
use kokuin_tsa::{ParsedResponse, TimeStampToken, VerifiedToken, VerifyOptions};

/// Reads a .tsr (TimeStampResp) or a bare token (ContentInfo).
fn load_token(bytes: &[u8]) -> Result<TimeStampToken, kokuin_tsa::TokenError> {
    match ParsedResponse::from_der(bytes) {
        Ok(r) => TimeStampToken::from_der(&r.into_token()?),
        Err(_) => TimeStampToken::from_der(bytes),
    }
}

pub fn run(a: VerifyArgs) -> Result<(), CmdError> {
    if !a.batch.is_empty() {
        return super::verify_batch::run(&a);
    }
    let bytes = read_file(a.token_path())?;
    if kokuin_eseal::verify::is_seal(&bytes) {
        return super::verify_seal::run(&a, &bytes);
    }
    if a.data.is_none() && a.digest.is_none() && a.request.is_none() {
        return Err(CmdError::usage(
            "a token is verified against --data, --digest or --request",
        ));
    }
    let result = check(&a, &bytes);
    match (&result, a.json) {
        (Ok(v), true) => out!("{}", json(Some(v), None)),
        (Err(e), true) => out!("{}", json(None, Some(&e.message))),
        (Ok(v), false) => print_human(v),
        _ => {}
    }
    result.map(|_| ())
}

fn check(a: &VerifyArgs, bytes: &[u8]) -> Result<VerifiedToken, CmdError> {
    // Not a token at all is bad input (exit 2), not an invalid token (exit 1).
    let token = load_token(bytes).map_err(|e| {
        CmdError::usage(format!(
            "{}: not a time-stamp token: {e}",
            a.token_path().display()
        ))
    })?;
    let mut anchors = Vec::new();
    for t in &a.trust {
        anchors.extend(load_certificates(t).map_err(|e| CmdError::usage(e.to_string()))?);
    }
    let mut extra = Vec::new();
    for u in &a.untrusted {
        extra.extend(load_certificates(u).map_err(|e| CmdError::usage(e.to_string()))?);
    }
    let request =
        match &a.request {
            Some(p) => Some(TimeStampReq::from_der(&read_file(p)?).map_err(|e| {
                CmdError::usage(format!("{}: not a TimeStampReq: {e}", p.display()))
            })?),
            None => None,
        };
    let hash = token
        .hash_algorithm()
        .map_err(|e| CmdError::negative(e.to_string()))?;
    let digest = match (&a.data, &a.digest) {
        (Some(f), _) => Some(hash_file(f, hash)?),
        (None, Some(h)) => {
            let d = hex::decode(h.trim())
                .ok()
                .ok_or_else(|| CmdError::usage("--digest is not hexadecimal"))?;
            if d.len() != hash.output_len() {
                return Err(CmdError::negative(format!(
                    "the digest has {} octets but the token uses {hash} ({} octets)",
                    d.len(),
                    hash.output_len()
                )));
            }
            Some(d)
        }
        (None, None) => None,
    };
    token
        .verify(&VerifyOptions {
            trust_anchors: &anchors,
            extra_certificates: &extra,
            expected_digest: digest.as_deref(),
            request: request.as_ref(),
        })
        .map_err(|e| CmdError::negative(format!("INVALID: {e}")))
}

fn print_human(v: &VerifiedToken) {
    out!("VALID time-stamp token");
    out!("  genTime:   {}", v.gen_time.to_rfc3339());
    if let Some(a) = v.accuracy {
        out!("  accuracy:  {a}");
    }
    out!("  serial:    {}", hex::encode(v.serial.as_bytes()));
    out!("  policy:    {}", v.policy);
    out!("  imprint:   {}", v.hash);
    if let Some(n) = &v.nonce {
        out!("  nonce:     {}", hex::encode(n.as_bytes()));
    }
    let (name, pq) = algorithm(v);
    out!(
        "  algorithm: {name} ({}) — {}",
        v.signature_algorithm,
        if pq {
            "quantum-safe"
        } else {
            "classical, not quantum-safe"
        }
    );
    for (i, c) in v.chain.iter().enumerate() {
        let role = if i == 0 {
            "TSA"
        } else if i + 1 == v.chain.len() {
            "anchor"
        } else {
            "CA"
        };
        out!("  {role:<9}  {}", subject_of(c));
    }
}

/// The signature algorithm's name and whether it is quantum-safe.
fn algorithm(v: &VerifiedToken) -> (String, bool) {
    kokuin_hsm::algorithm::describe(&v.signature_algorithm)
        .unwrap_or_else(|| (v.signature_algorithm.to_string(), false))
}

fn json(v: Option<&VerifiedToken>, error: Option<&str>) -> String {
    let value = match v {
        Some(v) => serde_json::json!({
            "signature_algorithm_name": algorithm(v).0,
            "quantum_safe": algorithm(v).1,
            "valid": true,
            "gen_time": v.gen_time.to_rfc3339(),
            "serial": hex::encode(v.serial.as_bytes()),
            "policy": v.policy.to_string(),
            "hash": v.hash.name(),
            "nonce": v.nonce.as_ref().map(|n| hex::encode(n.as_bytes())),
            "signature_algorithm": v.signature_algorithm.to_string(),
            "accuracy": v.accuracy.map(|a| serde_json::json!({
                "seconds": a.seconds, "millis": a.millis, "micros": a.micros
            })),
            "chain": v.chain.iter().map(subject_of).collect::<Vec<_>>(),
        }),
        None => serde_json::json!({ "valid": false, "error": error }),
    };
    value.to_string()
}
