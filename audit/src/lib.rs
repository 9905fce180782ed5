//! The hash-chained, checkpointed audit log. See [`record`] for the format an auditor
//! re-implements, [`writer`] for durability, [`verify`] for tamper detection.
//!
//! This crate depends on no other Kokuin crate: checkpoints are signed and checked through
//! the traits in [`checkpoint`].
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod error;
pub mod event;
mod inbox;
mod publish;
pub mod record;
mod recover;
pub mod segment;
pub mod verify;
pub mod writer;

pub use checkpoint::{CheckpointSigner, CheckpointVerifier};
pub use error::{AuditError, CheckpointError, RecordError};
pub use event::{Event, kind};
pub use record::Record;
pub use writer::{AuditConfig, AuditLog, OpenReport};
