//! Why the service refuses to start.

/// A start refused: every check that can be made before the first request is made then.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error("{0}")]
    Key(#[from] kokuin_hsm::KeyError),
    #[error("{0}")]
    Pem(#[from] kokuin_certs::pem::PemError),
    #[error("{0}")]
    Serial(#[from] kokuin_tsa::serial::SerialError),
    #[error("TSU certificate {path}: {reason}")]
    Certificate { path: String, reason: String },
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
