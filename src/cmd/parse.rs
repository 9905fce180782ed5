//! Value parsers for clap: what a flag's text must be, checked before a command runs (a bad
//! value is clap's usage error, exit 2).

use kokuin_hsm::{DigestAlgorithm, KeyType};
use kokuin_tsa::asn1::PolicyId;
use std::time::Duration;

/// A hash name: sha256, sha384, sha512, sha3-256, …
pub fn digest(s: &str) -> Result<DigestAlgorithm, String> {
    DigestAlgorithm::from_name(s).ok_or_else(|| format!("unknown hash {s:?}"))
}

/// A policy OID, dotted decimal (UUID arcs included).
pub fn policy(s: &str) -> Result<PolicyId, String> {
    s.parse()
        .map_err(|e: kokuin_tsa::asn1::PolicyIdError| e.to_string())
}

/// Seconds, fractions allowed, not negative.
pub fn seconds(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .and_then(|v| Duration::try_from_secs_f64(v).ok())
        .ok_or_else(|| format!("{s:?}: seconds ≥ 0"))
}

/// A key type: p256, p384, rsa3072, ml-dsa-65, mldsa65-ecdsa-p256-sha512, …
pub fn key_type(s: &str) -> Result<KeyType, String> {
    KeyType::from_name(s).ok_or_else(|| format!("unknown key type {s:?}"))
}
