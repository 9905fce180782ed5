//! Dual control as an auditor reads it (docs/ceremonies.md): the officers and ceremonies a
//! keyring carries, a plan's format and what an officer signs, the checks of approvals and of
//! an officer set, and the ceremonies an audit log records. The node's side — making plans,
//! following a keyring, keeping what it verified — is `kokuin-server`'s; this crate is what
//! both share, so that an auditor's tools need no server.
#![forbid(unsafe_code)]

pub mod approvals;
pub mod error;
pub mod in_log;
pub mod plan;
pub mod record;

pub use error::CeremonyError;
