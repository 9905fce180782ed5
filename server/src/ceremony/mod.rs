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
pub mod in_log;
pub mod plan;
pub mod record;
pub mod verify;

use crate::key_config::KeyConfig;
pub use record::{Approval, CeremonyRecord, Officer};

use crate::keyring::{KeyEntry, Keyring};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a ceremony will do, as the officers read and approve it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Random, 128 bits hex: names the ceremony.
    pub id: String,
    /// The keyring version it applies to; it leaves `from_version + 1`.
    pub from_version: u64,
    /// When it was made and until when it may be approved and run (RFC 3339).
    pub made: String,
    /// See `made`.
    pub expires: String,
    /// What it does, one sentence each.
    pub operations: Vec<String>,
    /// The machine form of the operations, in the order they are carried out (`kokuin
    /// ceremony run` applies them).
    pub ops: Vec<Op>,
    /// The officers whose approvals count: those in force before it.
    pub approvers: Vec<Officer>,
    /// Approvals needed: the quorum in force before it.
    pub needed: u32,
    /// The officers and quorum after it.
    pub officers: Vec<Officer>,
    /// See `officers`.
    pub quorum: u32,
    /// Certificates it installs, by key name (PEM): covered by the plan's hash.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub certificates: std::collections::BTreeMap<String, String>,
    /// [`state_hash`] of the keyring it leaves.
    pub result_sha256: String,
}

/// The operation of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "kebab-case")]
pub enum Op {
    /// The first officer set and quorum (`kokuin ceremony init`): not approved, but pinned in
    /// every node's configuration.
    Init,
    /// A new key in the token, pending.
    Generate {
        /// Its keyring name and token label.
        name: String,
        /// Its type (`p256`, `ml-dsa-65`, …).
        key_type: String,
        /// The policy it will serve.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        policy: Option<String>,
        /// For a token without ML-DSA: the AES key its seed is wrapped under.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wrap: Option<String>,
    },
    /// A certificate installed for a key (its PEM is in the plan).
    InstallCert {
        /// The key.
        name: String,
    },
    /// A key put in force at a time.
    Rotate {
        /// The key.
        name: String,
        /// RFC 3339.
        at: String,
    },
    /// A key stops signing.
    Retire {
        /// The key.
        name: String,
    },
    /// A retired key destroyed in its token.
    Destroy {
        /// The key.
        name: String,
    },
    /// An officer added.
    AddOfficer {
        /// Who.
        officer: Officer,
    },
    /// An officer removed.
    RemoveOfficer {
        /// Who.
        name: String,
    },
    /// The quorum changed.
    Quorum {
        /// Approvals needed from now on.
        quorum: u32,
    },
}

/// The audit record of a ceremony a node followed: everything needed to verify its
/// approvals again from the log alone. A ceremony that cannot be recorded whole is an error,
/// never a record with empty fields: a node does not follow what it cannot record.
pub fn event(rec: &CeremonyRecord) -> Result<kokuin_audit::Event, String> {
    let plan = parse_plan(&rec.plan)?;
    let approvals = serde_json::to_string(&rec.approvals)
        .map_err(|e| format!("the ceremony's approvals cannot be recorded: {e}"))?;
    Ok(kokuin_audit::Event::new(kokuin_audit::kind::CEREMONY)
        .with("id", plan.id.as_str())
        .with("plan_sha256", sha256_hex(rec.plan.as_bytes()))
        .with("from_version", plan.from_version)
        .with("operations", plan.operations.join("; "))
        .with(
            "approved_by",
            rec.approvals
                .iter()
                .map(|a| a.officer.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        )
        .with("plan", rec.plan.clone())
        .with("approvals", approvals))
}

/// SHA-256, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What an officer signs: the plan's hash, their name and the time.
pub fn approval_message(plan_sha256: &str, officer: &str, time: &str) -> Vec<u8> {
    format!("kokuin-ceremony-approval:v1:{plan_sha256}:{officer}:{time}").into_bytes()
}

/// Reads a plan file's text.
pub fn parse_plan(text: &str) -> Result<Plan, String> {
    if text.len() > 1 << 20 {
        return Err("the plan is larger than 1 MiB".into());
    }
    toml::from_str(text).map_err(|e| format!("not a ceremony plan: {}", e.to_string().trim()))
}

/// The hash a node's configuration pins (`tsa.officers`): the officers and the quorum.
pub fn officers_hash(officers: &[Officer], quorum: u32) -> String {
    let v = serde_json::json!({ "officers": officers, "quorum": quorum });
    format!("sha256:{}", sha256_hex(v.to_string().as_bytes()))
}

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
