//! The errors of key backends: signing and loading keys. None carries key material or PINs.

/// Why a signature could not be made. Never carries key material or PINs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    #[error("the key backend is unavailable: {0}")]
    Unavailable(String),
    #[error("the key backend failed to sign: {0}")]
    Failed(String),
}

/// Why a software key cannot be read, written, generated or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write key file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("key file {path} is not a PKCS #8 private key of a supported type ({reason})")]
    Parse { path: String, reason: String },
    #[error("key file {path} is readable by group or others (mode {mode:o}); make it 0600")]
    Permissions { path: String, mode: u32 },
    #[error("algorithm {algorithm} does not fit a {key} key")]
    Mismatch { algorithm: String, key: String },
    #[error("key generation failed: {0}")]
    Generate(String),
}
