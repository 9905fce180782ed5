//! A ceremony's plan as the officers read and approve it, and what they sign: the format
//! every node and every auditor parses (docs/ceremonies.md).

use crate::error::CeremonyError;
use crate::record::Officer;
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
    /// The state hash (`kokuin_server::ceremony::state_hash`) of the keyring it leaves.
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

/// SHA-256, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What an officer signs: the plan's hash, their name and the time.
pub fn approval_message(plan_sha256: &str, officer: &str, time: &str) -> Vec<u8> {
    format!("kokuin-ceremony-approval:v1:{plan_sha256}:{officer}:{time}").into_bytes()
}

/// Reads a plan file's text.
pub fn parse_plan(text: &str) -> Result<Plan, CeremonyError> {
    if text.len() > 1 << 20 {
        return Err(CeremonyError::Plan("the plan is larger than 1 MiB".into()));
    }
    toml::from_str(text)
        .map_err(|e| CeremonyError::Plan(format!("not a ceremony plan: {}", e.to_string().trim())))
}

/// The hash a node's configuration pins (`tsa.officers`): the officers and the quorum.
pub fn officers_hash(officers: &[Officer], quorum: u32) -> String {
    let v = serde_json::json!({ "officers": officers, "quorum": quorum });
    format!("sha256:{}", sha256_hex(v.to_string().as_bytes()))
}
