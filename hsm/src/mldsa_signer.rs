//! ML-DSA as a [`Signer`]: pure ML-DSA with the empty context, as RFC 9882 §3.3 uses it for CMS
//! and RFC 9881 §3 for certificates. The key behind it is any [`MlDsaComponent`]: software
//! ([`MlDsaKey`]) or a PKCS #11 token offering CKM_ML_DSA.

use crate::algorithm::SignatureAlgorithm;
use crate::error::SignError;
use crate::mldsa::MlDsaKey;
use crate::mldsa::level::MlDsaLevel;
use crate::signer::{KeyBackend, Signer};
use spki::SubjectPublicKeyInfoOwned;

/// An ML-DSA private key that signs with a caller-chosen context: the pure signer passes the
/// empty context, a composite signer its label (draft-ietf-lamps-pq-composite-sigs §4.2).
pub trait MlDsaComponent: Send + Sync {
    /// Its parameter set.
    fn level(&self) -> MlDsaLevel;
    /// The raw pkEncode.
    fn public_key(&self) -> &[u8];
    /// Where the key lives.
    fn backend(&self) -> KeyBackend;
    /// ML-DSA.Sign (FIPS 204 Algorithm 2) of `message` with context `ctx`.
    fn sign_with_context(&self, message: &[u8], ctx: &[u8]) -> Result<Vec<u8>, SignError>;
}

impl MlDsaComponent for MlDsaKey {
    fn level(&self) -> MlDsaLevel {
        MlDsaKey::level(self)
    }
    fn public_key(&self) -> &[u8] {
        MlDsaKey::public_key(self)
    }
    fn backend(&self) -> KeyBackend {
        KeyBackend::Software
    }
    fn sign_with_context(&self, message: &[u8], ctx: &[u8]) -> Result<Vec<u8>, SignError> {
        self.sign(message, ctx)
    }
}

/// A pure ML-DSA [`Signer`] (RFC 9882 in CMS) over any [`MlDsaComponent`].
pub struct MlDsaSigner {
    key: Box<dyn MlDsaComponent>,
    spki: SubjectPublicKeyInfoOwned,
    label: String,
}

impl std::fmt::Debug for MlDsaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlDsaSigner")
            .field("level", &self.key.level())
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl MlDsaSigner {
    /// A signer of `key`, named `label` in logs.
    pub fn new(key: Box<dyn MlDsaComponent>, label: &str) -> Result<Self, SignError> {
        let spki = crate::mldsa::spki_for(key.level().algorithm_identifier(), key.public_key())
            .map_err(|e| SignError::Failed(e.to_string()))?;
        Ok(Self {
            key,
            spki,
            label: label.to_string(),
        })
    }
}

impl Signer for MlDsaSigner {
    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::MlDsa(self.key.level())
    }
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }
    fn backend(&self) -> KeyBackend {
        self.key.backend()
    }
    fn label(&self) -> &str {
        &self.label
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.key.sign_with_context(message, b"")
    }
}
