//! A real P-256 audit (checkpoint) key for tests of the audit log and the fleet: signs
//! checkpoints and tree notes, and verifies them.

use kokuin_audit::CheckpointError;
use kokuin_audit::checkpoint::{CheckpointSigner, CheckpointVerifier};
use kokuin_hsm::{KeyType, Signer, SoftwareSigner, verify_signature};
use std::sync::Arc;

/// A software P-256 key, trusted under the key id `test-key`.
pub struct Key(SoftwareSigner);

impl CheckpointSigner for Key {
    fn algorithm(&self) -> String {
        self.0.algorithm().name()
    }
    fn key_id(&self) -> String {
        "test-key".into()
    }
    fn sign(&self, m: &[u8]) -> Result<Vec<u8>, CheckpointError> {
        self.0
            .sign(m)
            .map_err(|e| CheckpointError::Sign(e.to_string()))
    }
    fn public_key_der(&self) -> Option<Vec<u8>> {
        Some(self.0.public_key_der())
    }
}

impl CheckpointVerifier for Key {
    fn verify(
        &self,
        key_id: &str,
        _alg: &str,
        m: &[u8],
        sig: &[u8],
    ) -> Result<(), CheckpointError> {
        if key_id != "test-key" {
            return Err(CheckpointError::UntrustedKey(key_id.to_string()));
        }
        let ai = self
            .0
            .algorithm()
            .algorithm_identifier()
            .map_err(|e| CheckpointError::BadSignature(e.to_string()))?;
        verify_signature(self.0.public_key(), &ai, None, m, sig)
            .map_err(|e| CheckpointError::BadSignature(e.to_string()))
    }

    fn verify_note(&self, key_id: [u8; 4], text: &[u8], sig: &[u8]) -> Result<(), CheckpointError> {
        if key_id != kokuin_audit::note::ecdsa_key_id(&self.0.public_key_der()) {
            return Err(CheckpointError::UntrustedKey(hex::encode(key_id)));
        }
        self.verify("test-key", "", text, sig)
    }
}

/// A fresh key.
pub fn key() -> Arc<Key> {
    Arc::new(Key(
        SoftwareSigner::generate(KeyType::P256, "audit").unwrap()
    ))
}
