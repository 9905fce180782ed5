//! What a call to a TSA or an e-seal API can end in.

/// Why a call failed. [`ClientError::is_refusal`] tells a server's "no" from a call that
/// could not be made, which the CLI maps to exit codes 1 and 2.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A local file (trust anchor, client certificate or key, document) cannot be used.
    #[error("{0}")]
    Local(String),
    /// No answer: connection, TLS or a reply that could not be read.
    #[error("{url}: {reason}")]
    Transport {
        /// The URL called.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The server answered with an HTTP error status.
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        /// The URL called.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the reply's body, as text.
        body: String,
    },
    /// The server answered 200 with something that is not what was asked for.
    #[error("{url}: {reason}")]
    Reply {
        /// The URL called.
        url: String,
        /// What is wrong with the reply.
        reason: String,
    },
}

impl ClientError {
    /// Whether the server answered and said no (or answered nonsense), as opposed to a call
    /// that could not be made.
    pub fn is_refusal(&self) -> bool {
        matches!(self, Self::Status { .. } | Self::Reply { .. })
    }

    pub(crate) fn transport(url: &str, reason: impl std::fmt::Display) -> Self {
        Self::Transport {
            url: url.to_string(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn reply(url: &str, reason: impl Into<String>) -> Self {
        Self::Reply {
            url: url.to_string(),
            reason: reason.into(),
        }
    }
}
