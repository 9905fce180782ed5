//! `kokuin keys sign-rate`: the raw signing rate of a key, the reference every server figure
//! is compared with.

use super::common::{open, policy_of, signer, token, usage};
use crate::cmd::CmdError;
use kokuin_hsm::Signer;
use kokuin_server::key_config::KeyConfig;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// `keys sign-rate`: the raw signing rate of a policy's key in force, the reference server
/// figures are measured against: the token's own C_Sign for a PKCS #11 key, else the signer's
/// `sign` (software keys, wrapped seeds, and composites: both halves and the pre-hash) on a
/// message of signed-attributes size, `threads` in parallel.
pub fn sign_rate(
    config: &Path,
    policy: Option<&str>,
    threads: usize,
    seconds: f64,
) -> Result<(), CmdError> {
    let (cfg, _, ring) = open(config)?;
    let policy = policy_of(&cfg, policy)?;
    let e = ring
        .in_force(SystemTime::now(), &policy)
        .ok_or_else(|| CmdError::usage(format!("no key in force for {policy}")))?;
    let d = Duration::try_from_secs_f64(seconds).map_err(usage)?;
    let threads = threads.max(1);
    let s = signer(&cfg, &e.key)?;
    let (kind, rate) = match &e.key {
        KeyConfig::Pkcs11 {
            key,
            wrapped: None,
            traditional_key: None,
            ..
        } => {
            let t = token(&cfg, &e.key)?.ok_or_else(|| CmdError::usage("no token"))?;
            let rate = kokuin_hsm::pkcs11::raw_sign_rate(&t, key, threads, d).map_err(usage)?;
            ("c_sign_per_second", rate)
        }
        KeyConfig::Software { .. } | KeyConfig::Pkcs11 { .. } => (
            "sign_per_second",
            software_sign_rate(s.as_ref(), threads, d)?,
        ),
    };
    let mut out = serde_json::json!({
        "key": e.name,
        "algorithm": s.algorithm().name(),
        "threads": threads,
    });
    out[kind] = serde_json::json!((rate * 10.0).round() / 10.0);
    out!("{out}");
    Ok(())
}

/// Signatures per second of `signer` over a 200-octet message (a token's signed attributes are
/// about that long), `threads` in parallel.
fn software_sign_rate(signer: &dyn Signer, threads: usize, d: Duration) -> Result<f64, CmdError> {
    let message = [0x5au8; 200];
    let start = std::time::Instant::now();
    let counts: Vec<Result<u64, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut n = 0u64;
                    while start.elapsed() < d {
                        signer.sign(&message).map_err(|e| e.to_string())?;
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("a signing thread panicked".into()))
            })
            .collect()
    });
    let mut total = 0;
    for c in counts {
        total += c.map_err(CmdError::usage)?;
    }
    Ok(total as f64 / start.elapsed().as_secs_f64())
}
