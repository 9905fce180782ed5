//! A refused e-seal call: the HTTP status and the text the caller reads (also what the
//! refusal is counted under in the audit log).

use hyper::StatusCode;

/// A refusal: its HTTP status, the text the caller reads, and the audit record's reason.
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
    /// What went wrong on this side, for the operator's log only (it may name keys, modules
    /// or files): logged with the request's id and client when the refusal is answered.
    pub detail: Option<String>,
}

impl Refusal {
    /// The same refusal, with what the operator's log says about it.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            detail: None,
        }
    }
}

/// A failure on this side: the detail (which may name keys, modules or files) goes to the
/// operator's log only.
pub fn failure(message: String) -> Refusal {
    Refusal::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the seal could not be made; the service log has the reason",
    )
    .with_detail(message)
}
