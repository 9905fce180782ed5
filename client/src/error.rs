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
        let reason = reason.to_string();
        let hint = transport_hint(url, &reason);
        Self::Transport {
            url: url.to_string(),
            reason: match hint {
                Some(h) => format!("{reason}\n  hint: {h}"),
                None => reason,
            },
        }
    }

    pub(crate) fn status(url: &str, status: u16, body: String) -> Self {
        let hint = match status {
            404 | 405
                if !url.trim_end_matches('/').ends_with("/tsa") && !url.contains("/eseal/") =>
            {
                "\n  hint: the time-stamp authority answers at …/tsa (e.g. http://127.0.0.1:8080/tsa)"
            }
            _ => "",
        };
        Self::Status {
            url: url.to_string(),
            status,
            body: format!("{body}{hint}"),
        }
    }

    pub(crate) fn reply(url: &str, reason: impl Into<String>) -> Self {
        Self::Reply {
            url: url.to_string(),
            reason: reason.into(),
        }
    }
}

/// What a person most likely did wrong, for the transport errors that say it least plainly.
fn transport_hint(url: &str, reason: &str) -> Option<&'static str> {
    let https = url.starts_with("https:");
    if https && (reason.contains("InvalidContentType") || reason.contains("corrupt message")) {
        Some("the server answered in plain HTTP: use http:// for this port, or its HTTPS port")
    } else if !https
        && (reason.contains("http parse fail") || reason.contains("invalid HTTP version"))
    {
        Some("the server expects TLS: use https:// for this port, or its plain HTTP port")
    } else if reason.contains("UnknownIssuer") {
        Some(
            "the server's certificate is not under a root this client trusts: give its root \
             with --ca (for serve --dev: kokuin-dev/pki/root.pem)",
        )
    } else if reason.contains("NotValidForName") {
        Some("the server's certificate is for another name: use the host name it names")
    } else if reason.contains("Connection refused") {
        Some("nothing listens there: is the server running, on this host and port?")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::ClientError;

    #[test]
    fn the_common_url_and_tls_mistakes_come_with_a_hint() {
        let said = |url: &str, reason: &str| ClientError::transport(url, reason).to_string();
        assert!(
            said(
                "https://h:8080/tsa",
                "io: received corrupt message of type InvalidContentType"
            )
            .contains("use http://")
        );
        assert!(
            said(
                "http://h:8443/tsa",
                "protocol: http parse fail: invalid HTTP version"
            )
            .contains("use https://")
        );
        assert!(
            said(
                "https://h/tsa",
                "io: invalid peer certificate: UnknownIssuer"
            )
            .contains("--ca")
        );
        assert!(
            said("http://h:1/tsa", "io: Connection refused (os error 111)")
                .contains("nothing listens")
        );
        assert!(!said("http://h/tsa", "io: timed out").contains("hint"));
        let status = |url: &str, s| ClientError::status(url, s, "not found".into()).to_string();
        assert!(status("http://h:8080/", 404).contains("…/tsa"));
        assert!(!status("http://h:8080/tsa", 404).contains("hint"));
    }
}
