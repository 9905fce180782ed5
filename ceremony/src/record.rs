//! What the keyring carries under dual control: its officers, and each ceremony with its
//! approvals (kept apart from the checks so that the keyring's types depend on nothing else).

use serde::{Deserialize, Serialize};

/// A person who approves ceremonies: a name, a role, and the public key of their own key
/// (SubjectPublicKeyInfo DER, base64).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Officer {
    /// Unique among the officers.
    pub name: String,
    /// E.g. `key custodian`, `security officer`.
    pub role: String,
    /// SubjectPublicKeyInfo DER, base64.
    pub public_key: String,
}

/// An officer's approval of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The officer's name.
    pub officer: String,
    /// When they approved (RFC 3339).
    pub time: String,
    /// SHA-256 (hex) of the plan file's bytes.
    pub plan_sha256: String,
    /// The signature algorithm (`ecdsa-sha256`, …).
    pub algorithm: String,
    /// Over [`approval_message`], base64.
    pub signature: String,
}

/// A ceremony as the keyring carries it: the plan file's text, byte for byte, and the
/// approvals it ran with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CeremonyRecord {
    /// The plan file, verbatim (its hash is what officers signed).
    pub plan: String,
    /// The approvals.
    #[serde(default)]
    pub approvals: Vec<Approval>,
}
