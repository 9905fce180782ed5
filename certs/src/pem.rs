//! Reading and writing certificates as PEM (RFC 7468) or DER.

use der::{Decode, Encode, EncodePem, pem::LineEnding};
use std::path::Path;
use x509_cert::Certificate;

/// Why a certificate file cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PemError {
    #[error("cannot read {path}: {source}")]
    /// The file cannot be read.
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    #[error("{path}: not a PEM or DER certificate: {reason}")]
    /// Neither PEM certificates nor one DER certificate.
    Parse {
        /// The file.
        path: String,
        /// The parser's reason.
        reason: String,
    },
    #[error("{path}: contains no certificate")]
    /// PEM without a certificate.
    Empty {
        /// The file.
        path: String,
    },
}

/// Parses every certificate in PEM text or a single DER certificate.
pub fn parse_certificates(bytes: &[u8]) -> Result<Vec<Certificate>, String> {
    if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        Certificate::load_pem_chain(bytes).map_err(|e| e.to_string())
    } else {
        Certificate::from_der(bytes)
            .map(|c| vec![c])
            .map_err(|e| e.to_string())
    }
}

/// Loads every certificate from a PEM or DER file; a file without any is an error.
pub fn load_certificates(path: &Path) -> Result<Vec<Certificate>, PemError> {
    let p = path.display().to_string();
    let bytes =
        crate::file::read_bounded(path, crate::file::MAX_INPUT_BYTES).map_err(|source| {
            PemError::Io {
                path: p.clone(),
                source,
            }
        })?;
    let certs = parse_certificates(&bytes).map_err(|reason| PemError::Parse {
        path: p.clone(),
        reason,
    })?;
    if certs.is_empty() {
        return Err(PemError::Empty { path: p });
    }
    Ok(certs)
}

/// PEM text of a chain, leaf first.
pub fn to_pem_chain(certs: &[Certificate]) -> Result<String, der::Error> {
    let mut out = String::new();
    for c in certs {
        out.push_str(&c.to_pem(LineEnding::LF)?);
    }
    Ok(out)
}

/// DER of one certificate.
pub fn to_der(cert: &Certificate) -> Result<Vec<u8>, der::Error> {
    cert.to_der()
}
