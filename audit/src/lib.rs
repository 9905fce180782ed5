//! The hash-chained, checkpointed audit log. See [`record`] for the format an auditor
//! re-implements, [`writer`] for durability, [`verify`] for tamper detection.
//!
//! This crate depends on no other Kokuin crate: checkpoints are signed and checked through
//! the traits in [`checkpoint`].
#![forbid(unsafe_code)]

pub mod atomic;
pub mod checkpoint;
pub mod compact_range;
pub mod config;
pub mod cosignature;
pub mod error;
pub mod event;
pub mod file_storage;
mod inbox;
pub mod lock;
pub mod loss;
pub mod memory_tree;
pub mod merkle;
pub mod note;
mod publish;
pub mod record;
pub mod recover;
pub mod report;
pub mod report_rows;
pub mod segment;
pub mod storage;
pub mod tlog_proof;
pub mod tree_files;
pub mod verify;
pub mod witness;
pub mod writer;

pub use checkpoint::{CheckpointSigner, CheckpointVerifier};
pub use config::{AuditConfig, OpenReport};
pub use error::{AuditError, CheckpointError, RecordError};
pub use event::{Event, kind};
pub use record::Record;
pub use writer::AuditLog;
