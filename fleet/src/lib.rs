//! Kokuin's fleet: several signing nodes behind a load balancer, with the audit log, the node
//! ids and the keyring in PostgreSQL, the commit point (docs/fleet.md).
//!
//! - [`db`]: where the database is and how to reach it: the URL without its password, the
//!   password from a file or the environment, TLS through rustls, a deadline on every call.
//! - [`schema`]: the tables, made and upgraded by `kokuin fleet migrate`, checked by nodes.
//! - [`lease`]: a node claims its id at start and holds it while it runs.
//! - [`log_storage`]: the audit log's [`kokuin_audit::storage::LogStorage`] on the database:
//!   one hash chain per node, a batch of records per commit.
//! - [`export`]: every node's chain written as files that `kokuin audit verify` checks
//!   offline, years later, with no database.
//! - [`integrator`]: the fleet's Merkle tree over every node's records, its signed
//!   checkpoints and inclusion proofs.
//! - [`node_key`], [`heads`]: each node signs how far its chain goes with a key the audit
//!   key certified; the integrator takes in only what a verified head covers.
//! - [`tree_audit`]: the auditor's recomputation of the tree and the heads from the records.
//! - [`keyring`]: the keyring's text, one row, versioned.
//! - [`clock_agreement`]: the database's clock beside the node's, at each lease renewal.
#![forbid(unsafe_code)]

pub mod clock_agreement;
pub mod db;
pub mod error;
pub mod export;
pub mod heads;
pub mod intake;
pub mod integrator;
pub mod keyring;
pub mod lease;
pub mod log_storage;
pub mod node_key;
pub mod schema;
pub mod tree_audit;
pub mod tree_state;

pub use db::{DbConfig, SyncDb};
pub use error::FleetError;
