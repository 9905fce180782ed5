//! Dual control over the keys (docs/ceremonies.md): no one person can generate, put in force,
//! retire or destroy a key, or change who approves.
//!
//! A change of the keyring is a **ceremony**: a plan (what will change, the keyring version it
//! applies to, an expiry, a random id, and the SHA-256 of the keyring it will leave: its keys,
//! their certificates, the officers and the quorum), approvals (each officer's signature over
//! the plan's hash, their name and the time), and a run that makes exactly that keyring. The
//! keyring carries every ceremony that made it, so each node checks a change before it follows
//! it ([`verify`]) and keeps, on its own disk, the newest keyring it verified ([`accept`]): a
//! keyring written by hand, in a file or in the database, is not followed.
//!
//! The officer set a chain of ceremonies starts from is pinned in each node's configuration
//! (`tsa.officers`, the hash [`officers_hash`] gives, printed by `kokuin ceremony init`).

pub mod accept;
pub mod plan;
pub mod verify;

use crate::key_config::KeyConfig;
use crate::keyring::{KeyEntry, Keyring};
pub use kokuin_ceremony::in_log::{self, event};
pub use kokuin_ceremony::plan::{
    Op, Plan, approval_message, officers_hash, parse_plan, sha256_hex,
};
pub use kokuin_ceremony::record::{self, Approval, CeremonyRecord, Officer};

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
