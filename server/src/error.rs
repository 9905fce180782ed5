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
    /// Anything else that stops a start, with its reason.
    #[error("{0}")]
    Other(String),
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
