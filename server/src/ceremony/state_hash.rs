//! The hash a plan promises and a run must leave: what a keyring says, canonically, with
//! what is each node's own left out.

use crate::key_config::KeyConfig;
use crate::keyring::{KeyEntry, Keyring};
use kokuin_ceremony::plan::sha256_hex;

/// Where a key is, without what is the node's own (module, token, PIN source), so that the
/// same keyring hashes the same in a file and in the database.
fn place(key: &KeyConfig) -> serde_json::Value {
    match key {
        KeyConfig::Pkcs11 {
            key,
            algorithm,
            wrapped,
            traditional_key,
            ..
        } => serde_json::json!({
            "label": key, "algorithm": algorithm, "traditional_label": traditional_key,
            "wrapped": wrapped.as_ref().map(|w| w.display().to_string()),
        }),
        KeyConfig::Software {
            path, algorithm, ..
        } => serde_json::json!({ "file": path.display().to_string(), "algorithm": algorithm }),
    }
}

/// The SHA-256 of what a keyring says, ceremonies aside: version, officers, quorum, and each
/// key's name, state, activation time, policy, place and certificate (its bytes' SHA-256, as
/// `certificate` reads them; none while pending). Canonical JSON (keys sorted).
pub fn state_hash(ring: &Keyring, certificate: &dyn Fn(&KeyEntry) -> Option<Vec<u8>>) -> String {
    let keys: Vec<serde_json::Value> = ring
        .keys
        .iter()
        .map(|k| {
            serde_json::json!({
                "name": k.name,
                "state": k.state.name(),
                "activate_at": k.activate_at,
                "policy": k.policy,
                "place": place(&k.key),
                "certificate_sha256": certificate(k).map(|c| sha256_hex(&c)),
            })
        })
        .collect();
    let v = serde_json::json!({
        "version": ring.version,
        "quorum": ring.quorum,
        "officers": ring.officers,
        "keys": keys,
    });
    sha256_hex(v.to_string().as_bytes())
}
