//! The audit log's keys (`kokuin-audit` knows keys only as traits): the checkpoint signer over
//! a Kokuin signer (a file or a key in the HSM) with its certificate, and the verifier an
//! auditor holds, the checkpoint certificates it trusts. Apart from the server so that the
//! auditor's tools verify checkpoints without linking it.
#![forbid(unsafe_code)]

use der::Encode;
use kokuin_audit::{CheckpointError, CheckpointSigner, CheckpointVerifier};
use kokuin_hsm::{SignatureAlgorithm, Signer, verify_signature};
use std::sync::Arc;
use x509_cert::Certificate;

/// The SHA-256 of a certificate, hex: how checkpoints name the key that signed them.
pub fn cert_id(c: &Certificate) -> Result<String, der::Error> {
    Ok(hex::encode(
        kokuin_hsm::DigestAlgorithm::Sha256.digest(&c.to_der()?),
    ))
}

/// Why a certificate cannot name the checkpoint key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// Its public key is another key's.
    #[error("the checkpoint certificate is not the checkpoint key's")]
    NotTheKeys,
    /// It cannot be encoded again to be hashed.
    #[error("the checkpoint certificate: {0}")]
    Encoding(der::Error),
}

/// The audit log's checkpoint key and its certificate's id.
pub struct CheckpointKey {
    signer: Arc<dyn Signer>,
    id: String,
}

impl CheckpointKey {
    /// The key (a file or in the HSM), checked against its certificate.
    pub fn new(signer: Arc<dyn Signer>, cert: &Certificate) -> Result<Self, CertificateError> {
        if cert.tbs_certificate().subject_public_key_info() != signer.public_key() {
            return Err(CertificateError::NotTheKeys);
        }
        Ok(Self {
            id: cert_id(cert).map_err(CertificateError::Encoding)?,
            signer,
        })
    }
}

impl CheckpointSigner for CheckpointKey {
    fn algorithm(&self) -> String {
        self.signer.algorithm().name()
    }
    fn key_id(&self) -> String {
        self.id.clone()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CheckpointError> {
        self.signer
            .sign(message)
            .map_err(|e| CheckpointError::Sign(e.to_string()))
    }
    fn public_key_der(&self) -> Option<Vec<u8>> {
        self.signer.public_key().to_der().ok()
    }
}

/// Checkpoint certificates an auditor trusts.
#[derive(Clone)]
pub struct TrustedCheckpointCerts(pub Vec<Certificate>);

impl CheckpointVerifier for TrustedCheckpointCerts {
    fn verify(
        &self,
        key_id: &str,
        algorithm: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CheckpointError> {
        let cert = self
            .0
            .iter()
            .find(|c| cert_id(c).is_ok_and(|id| id == key_id))
            .ok_or_else(|| CheckpointError::UntrustedKey(key_id.to_string()))?;
        Self::verify_with(cert, algorithm, message, signature)
    }

    fn verify_note(
        &self,
        key_id: [u8; 4],
        text: &[u8],
        signature: &[u8],
    ) -> Result<(), CheckpointError> {
        // Note signature type 0x02: ECDSA with SHA-256 (c2sp.org/signed-note).
        let cert = self
            .0
            .iter()
            .find(|c| {
                c.tbs_certificate()
                    .subject_public_key_info()
                    .to_der()
                    .is_ok_and(|d| kokuin_audit::note::ecdsa_key_id(&d) == key_id)
            })
            .ok_or_else(|| CheckpointError::UntrustedKey(hex::encode(key_id)))?;
        Self::verify_with(cert, "ecdsa-sha256", text, signature)
    }
}

impl TrustedCheckpointCerts {
    /// Verifies `signature` over `message` with `cert`'s key and `algorithm`.
    fn verify_with(
        cert: &Certificate,
        algorithm: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CheckpointError> {
        let alg = SignatureAlgorithm::from_name(algorithm)
            .ok_or_else(|| CheckpointError::BadSignature(format!("unknown algorithm {algorithm}")))?
            .algorithm_identifier()
            .map_err(|e| CheckpointError::BadSignature(e.to_string()))?;
        verify_signature(
            cert.tbs_certificate().subject_public_key_info(),
            &alg,
            None,
            message,
            signature,
        )
        .map_err(|e| CheckpointError::BadSignature(e.to_string()))
    }
}
