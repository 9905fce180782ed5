//! `kokuin verify SEAL.p7s`: an auditor's offline check of an e-seal, years later. Reports
//! the CAdES level reached, the assurance level, the sealing organisation and its corporate
//! number, the time-stamp times, and the time each chain was validated at.

use crate::cmd_error::CmdError;
use crate::input::hash_file;
use crate::verify_args::VerifyArgs;
use kokuin_certs::path::{display_time, subject_of};
use kokuin_certs::pem::load_certificates;
use kokuin_cms::signed_data::{Detached, ParsedSignedData};
use kokuin_eseal::SealVerifyOptions;
use kokuin_eseal::verdict::{algorithm_name, seal_verdict};
use kokuin_eseal::verify::{SealReport, verify_seal};
use std::time::SystemTime;

pub fn run(a: &VerifyArgs, seal: &[u8]) -> Result<(), CmdError> {
    let result = check(a, seal);
    crate::verdict_out::report(&result, a.json, seal_verdict, print_human);
    result.map(|_| ())
}

fn check(a: &VerifyArgs, seal: &[u8]) -> Result<SealReport, CmdError> {
    let parsed = ParsedSignedData::from_der(seal)
        .map_err(|e| CmdError::negative(format!("{}: {e}", a.token_path().display())))?;
    let alg = parsed
        .digest_algorithm()
        .map_err(|e| CmdError::negative(e.to_string()))?;
    let load = |paths: &[std::path::PathBuf]| -> Result<Vec<_>, CmdError> {
        let mut v = Vec::new();
        for p in paths {
            v.extend(load_certificates(p).map_err(|e| CmdError::usage(e.to_string()))?);
        }
        Ok(v)
    };
    let anchors = load(&a.trust)?;
    let extra = load(&a.untrusted)?;
    // A detached document is hashed as it is read: any size, constant memory.
    let digest = match (&a.data, &a.digest) {
        (Some(f), _) => Some(hash_file(f, alg)?),
        (None, Some(h)) => Some(
            hex::decode(h.trim())
                .ok()
                .ok_or_else(|| CmdError::usage("--digest is not hexadecimal"))?,
        ),
        (None, None) => None,
    };
    let at = match &a.at {
        Some(t) => {
            humantime::parse_rfc3339(t).map_err(|e| CmdError::usage(format!("--at {t}: {e}")))?
        }
        None => SystemTime::now(),
    };
    verify_seal(
        seal,
        &SealVerifyOptions {
            trust_anchors: &anchors,
            extra_certificates: &extra,
            detached: digest.as_deref().map(|d| Detached::Digest(alg, d)),
            at,
            level_policies: &[],
            form: kokuin_eseal::SealForm::Cades,
        },
    )
    .map_err(|e| {
        let (ja, en) = e.plain();
        if e.cannot_judge() {
            CmdError::usage(format!(
                "CANNOT BE VERIFIED: {en}\n  {ja}\n  detail: {e}\n  supply: the document \
                 (--data), the signer's certificate and intermediates (--untrusted), or the \
                 root the sealer's certificate is issued under (--trust)"
            ))
        } else {
            CmdError::negative(format!("INVALID: {en}\n  {ja}\n  detail: {e}"))
        }
    })
}

fn print_human(r: &SealReport) {
    out!("VALID e-seal, CAdES {}", r.level);
    for l in &r.limits {
        out!("  not higher: {l}");
    }
    match &r.subject {
        Ok(s) => {
            out!("  organisation:     {}", s.organization);
            match s.corporate_number() {
                Some(n) => out!("  corporate number: {n}"),
                None => out!("  identifier:       {}", s.organization_identifier),
            }
            out!("  seal name:        {}", s.common_name);
        }
        Err(e) => out!(
            "  subject:          {} (not an EN 319 412-3 seal subject: {e})",
            r.chain.first().map(subject_of).unwrap_or_default()
        ),
    }
    out!(
        "  assurance:        {}",
        r.assurance
            .map_or("not stated by the certificate".into(), |l| l.to_string())
    );
    out!(
        "  content:          {}",
        if r.enveloping {
            "enveloped in the seal"
        } else {
            "detached"
        }
    );
    if let Some(t) = r.signing_time {
        out!(
            "  signing-time:     {} (claimed by the signer)",
            display_time(t)
        );
    }
    for s in &r.signature_timestamps {
        out!(
            "  time-stamped:     {} by {} (serial {})",
            display_time(s.gen_time),
            s.tsa,
            s.serial
        );
    }
    for s in &r.archive_timestamps {
        out!(
            "  archived:         {} by {} (serial {})",
            display_time(s.gen_time),
            s.tsa,
            s.serial
        );
    }
    let (name, pq) = algorithm_name(&r.signature_algorithm);
    out!(
        "  algorithm:        {name} ({}) — {}",
        r.signature_algorithm,
        if pq {
            "quantum-safe"
        } else {
            "classical, not quantum-safe"
        }
    );
    out!("  chain checked at: {}", display_time(r.signer_checked_at));
    for (i, c) in r.chain.iter().enumerate() {
        let role = if i == 0 {
            "signer"
        } else if i + 1 == r.chain.len() {
            "anchor"
        } else {
            "CA"
        };
        out!("    {role:<7} {}", subject_of(c));
    }
}
