//! A refused e-seal call: the HTTP status and the text the caller reads (also what the
//! refusal is counted under in the audit log).

use hyper::StatusCode;

/// A refusal: its HTTP status, the text the caller reads, and the audit record's reason.
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

/// A failure on this side: the detail (which may name keys, modules or files) goes to the
/// operator's log only.
pub fn failure(message: String) -> Refusal {
    tracing::error!(reason = ?message, "seal failed");
    Refusal::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the seal could not be made; the service log has the reason",
    )
}
