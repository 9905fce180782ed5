//! What can go wrong with the log, and how a caller learns of its record.

use std::path::Path;

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
/// Why a record could not be written, or the log cannot be used.
pub enum AuditError {
    #[error("audit log I/O: {0}")]
    /// Reading or writing the medium failed (the path and the OS error).
    Io(String),
    #[error("the audit log is closed")]
    /// The log was closed; nothing more is written.
    Closed,
    #[error("audit log damaged: {0}; run `kokuin audit verify`")]
    /// The log is not what was written (a lost segment, a broken chain): never repaired.
    Damaged(String),
    #[error("{0}")]
    /// Another process holds the log's writer lock (`lock.rs`): nothing was written.
    InUse(String),
    #[error("a record cannot be written: {0}")]
    /// An event that does not serialise as a record: nothing of its batch was written.
    Unrecordable(String),
    #[error("{0}")]
    /// Asked to accept a loss where nothing is lost: nothing was written.
    NothingLost(String),
}

pub(crate) fn io(context: &Path, e: std::io::Error) -> AuditError {
    AuditError::Io(format!("{}: {e}", context.display()))
}

/// Called once a record is on stable storage (with its seq), or could not be written.
pub type Completion = Box<dyn FnOnce(Result<u64, AuditError>) + Send>;

/// Why a checkpoint cannot be signed or does not verify.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The audit key did not sign (its backend's reason).
    #[error("signing the checkpoint: {0}")]
    Sign(String),
    /// The record lacks a field a checkpoint has, or one is not what it must be.
    #[error("{0}")]
    Malformed(String),
    /// Its count or head is not its place in the log.
    #[error("checkpoint count or head do not match its place in the log")]
    Misplaced,
    /// Signed by a key the verifier does not trust.
    #[error("signed by a key whose certificate is not trusted ({0})")]
    UntrustedKey(String),
    /// The signature does not verify (or its algorithm is unknown).
    #[error("bad signature: {0}")]
    BadSignature(String),
}

/// Why a stored line is not a record.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// Not JSON of a record.
    #[error("{0}")]
    Json(String),
    /// A format version this build does not read.
    #[error("unknown format version {0}")]
    Version(u64),
    /// JSON that re-encodes differently: not written by Kokuin.
    #[error("not in canonical form")]
    NotCanonical,
}
