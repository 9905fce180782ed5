//! `kokuin verify`: an auditor's offline check of a token against the data (or its digest),
//! the trust anchor and, if kept, the original request. Exit 0 only when every check passes.
//! E-seals (a SignedData over id-data) go to `verify_seal`.

use crate::cmd_error::CmdError;
use crate::input::{hash_file, read_file};
pub use crate::verify_args::VerifyArgs;
use der::Decode;
use kokuin_certs::path::subject_of;
use kokuin_certs::pem::load_certificates;
use kokuin_eseal::verdict::read_token;
use kokuin_eseal::verdict::{algorithm_name, token_verdict};
use kokuin_tsa::asn1::TimeStampReq;
use kokuin_tsa::{VerifiedToken, VerifyOptions};

/// Every mode but `--ui` (the page is served by the binary, so that this crate links no
/// server).
pub fn run(a: VerifyArgs) -> Result<(), CmdError> {
    if !a.batch.is_empty() {
        return crate::verify_batch::run(&a);
    }
    let bytes = read_file(a.token_path())?;
    if bytes.starts_with(b"%PDF-") {
        return crate::verify_pdf::run(&a, &bytes);
    }
    if kokuin_eseal::verify::is_seal(&bytes) {
        return crate::verify_seal::run(&a, &bytes);
    }
    if a.data.is_none() && a.digest.is_none() && a.request.is_none() {
        return Err(CmdError::usage(
            "a token is verified against --data, --digest or --request",
        ));
    }
    let result = check(&a, &bytes);
    crate::verdict_out::report(&result, a.json, token_verdict, print_human);
    result.map(|_| ())
}

fn check(a: &VerifyArgs, bytes: &[u8]) -> Result<VerifiedToken, CmdError> {
    // Not a token at all is bad input (exit 2), not an invalid token (exit 1).
    let token = read_token(bytes).map_err(|e| {
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
                // The wrong thing given, not evidence proven wrong.
                return Err(CmdError::usage(format!(
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
        .map_err(|e| {
            let (ja, en) = e.plain();
            if e.cannot_judge() {
                CmdError::usage(format!(
                    "CANNOT BE VERIFIED: {en}\n  {ja}\n  detail: {e}\n  supply: the TSA's \
                     certificate and intermediates (--untrusted; or ask for it in the token: \
                     kokuin request --cert-req), or the root the TSA's certificate is issued \
                     under (--trust)"
                ))
            } else {
                CmdError::negative(format!("INVALID: {en}\n  {ja}\n  detail: {e}"))
            }
        })
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
    let (name, pq) = algorithm_name(&v.signature_algorithm);
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
