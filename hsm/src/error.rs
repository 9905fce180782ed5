//! The errors of key backends: signing and loading keys. None carries key material or PINs.

/// Why a signature could not be made. Never carries key material or PINs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The backend cannot be reached now (a lost token session, no free session).
    #[error("the key backend is unavailable: {0}")]
    Unavailable(String),
    /// The backend refused or failed to sign.
    #[error("the key backend failed to sign: {0}")]
    Failed(String),
}

/// Why a software key cannot be read, written, generated or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file cannot be read.
    #[error("cannot read key file {path}: {source}")]
    Read {
        /// The key file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The key file cannot be written.
    #[error("cannot write key file {path}: {source}")]
    Write {
        /// The key file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not a PKCS #8 key of a type Kokuin loads.
    #[error("key file {path} is not a PKCS #8 private key of a supported type ({reason})")]
    Parse {
        /// The key file.
        path: String,
        /// The parser's reason (never the key's content).
        reason: String,
    },
    /// A key file others can read: refused.
    #[error("key file {path} is readable by group or others (mode {mode:o}); make it 0600")]
    Permissions {
        /// The key file.
        path: String,
        /// Its mode.
        mode: u32,
    },
    /// An algorithm configured for a key of another type.
    #[error("algorithm {algorithm} does not fit a {key} key")]
    Mismatch {
        /// The algorithm.
        algorithm: String,
        /// The key's type.
        key: String,
    },
    /// A new key could not be made.
    #[error("key generation failed: {0}")]
    Generate(String),
}
