//! Why the service refuses to start.

/// A start refused: every check that can be made before the first request is made then.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A software key cannot be loaded.
    #[error("{0}")]
    Key(#[from] kokuin_hsm::KeyError),
    /// A certificate file cannot be read.
    #[error("{0}")]
    Pem(#[from] kokuin_certs::pem::PemError),
    /// The serial state cannot be claimed.
    #[error("{0}")]
    Serial(#[from] kokuin_tsa::serial::SerialError),
    /// A TSU certificate that does not fit its key or purpose.
    #[error("TSU certificate {path}: {reason}")]
    Certificate {
        /// The certificate file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The audit log cannot be opened with its key.
    #[error("audit log: {0}")]
    Audit(#[from] AuditOpenError),
    /// Anything else that stops a start, with its reason.
    #[error("{0}")]
    Other(String),
}

/// Why the audit log cannot be opened with its key: the start is then refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditOpenError {
    /// The audit key cannot be opened, or is not kept where the configuration requires.
    #[error("{0}")]
    Key(String),
    /// The audit certificate cannot be read, or is not the key's.
    #[error("{0}")]
    Certificate(String),
    /// The fleet's database: the chain's storage, this node's key or its lease.
    #[error("{0}")]
    Database(#[from] kokuin_fleet::FleetError),
    /// The log itself.
    #[error("{0}")]
    Log(#[from] kokuin_audit::AuditError),
}

/// Why the keyring cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    /// The store cannot be reached or written.
    #[error("{origin}: {source}")]
    Io {
        /// The store (a file path).
        origin: String,
        /// What failed.
        source: std::io::Error,
    },
    /// What is stored is not a valid keyring.
    #[error("{origin}: {reason}")]
    Invalid {
        /// The store (a file path).
        origin: String,
        /// What is wrong.
        reason: String,
    },
}

/// Why the HTTP(S) server could not start or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// A listener cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// No listener is configured.
    #[error("no listener configured (server.http, server.https, --http, --https)")]
    NoListener,
    /// The HTTPS certificate or key cannot be used (the key's content is never shown).
    #[error("{0}")]
    Tls(String),
    /// A file the server's configuration names cannot be used (verify.trust).
    #[error("{0}")]
    Config(String),
    /// The audit log cannot record the start (nothing is served unrecorded).
    #[error("audit log: {0}")]
    Audit(#[from] kokuin_audit::AuditError),
    /// The node's background work cannot start.
    #[error("{0}")]
    Start(#[from] StartError),
    /// A signal handler or thread cannot be installed.
    #[error("{what}: {source}")]
    Setup {
        /// What could not be set up.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Why the dev state cannot be made or used: the file or step, and what failed, in one
/// sentence (the dev state is a whole of files a person deletes and makes again).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DevError(pub String);

impl From<String> for DevError {
    fn from(why: String) -> Self {
        Self(why)
    }
}
