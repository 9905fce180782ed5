//! What can go wrong with the log, and how a caller learns of its record.

use std::path::Path;

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuditError {
    #[error("audit log I/O: {0}")]
    Io(String),
    #[error("the audit log is closed")]
    Closed,
    #[error("audit log damaged: {0}; run `kokuin audit verify`")]
    Damaged(String),
}

pub(crate) fn io(context: &Path, e: std::io::Error) -> AuditError {
    AuditError::Io(format!("{}: {e}", context.display()))
}

/// Called once a record is on stable storage (with its seq), or could not be written.
pub type Completion = Box<dyn FnOnce(Result<u64, AuditError>) + Send>;
