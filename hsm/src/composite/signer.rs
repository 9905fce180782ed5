//! A composite ML-DSA [`Signer`] built from two independent keys, each wherever it can live:
//! the ML-DSA half in software or a PQC-capable token, the traditional half in any PKCS #11
//! token (draft-ietf-lamps-pq-composite-sigs §4.2 allows "component private keys stored in
//! separate software or hardware keystores").

use super::id::CompositeId;
use super::message_representative;
use crate::algorithm::{SignatureAlgorithm, ec_curve, oid};
use crate::error::SignError;
use crate::mldsa_signer::MlDsaComponent;
use crate::signer::{KeyBackend, Signer};
use spki::SubjectPublicKeyInfoOwned;

/// A composite ML-DSA signer (draft-ietf-lamps-pq-composite-sigs): both halves sign the
/// message representative, the signature is their concatenation.
pub struct CompositeSigner {
    id: CompositeId,
    mldsa: Box<dyn MlDsaComponent>,
    trad: Box<dyn Signer>,
    spki: SubjectPublicKeyInfoOwned,
    label: String,
}

impl std::fmt::Debug for CompositeSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompositeSigner")
            .field("algorithm", &self.id.spec().name)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// Why two keys cannot form a composite.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompositeError {
    /// A composite whose traditional half Kokuin cannot sign with (EdDSA, P-521, Brainpool).
    #[error("{0} has a traditional half Kokuin cannot sign with")]
    Unsupported(&'static str),
    /// A half of another kind than the algorithm fixes.
    #[error("{algorithm} needs {expected}, the key is {actual}")]
    Mismatch {
        /// The composite algorithm (or the part being read).
        algorithm: &'static str,
        /// What it needs.
        expected: String,
        /// What the key is.
        actual: String,
    },
}

impl CompositeSigner {
    /// Checks that each half is the kind the algorithm fixes — ML-DSA parameter set, curve or
    /// RSA size, hash and padding — so a composite never carries a component the draft forbids.
    pub fn new(
        id: CompositeId,
        mldsa: Box<dyn MlDsaComponent>,
        trad: Box<dyn Signer>,
        label: &str,
    ) -> Result<Self, CompositeError> {
        let spec = id.spec();
        let mismatch = |expected: String, actual: String| CompositeError::Mismatch {
            algorithm: spec.name,
            expected,
            actual,
        };
        if mldsa.level() != spec.mldsa {
            return Err(mismatch(spec.mldsa.to_string(), mldsa.level().to_string()));
        }
        let want = crate::algorithm::SignatureAlgorithm::for_trad(spec.trad)
            .ok_or(CompositeError::Unsupported(spec.name))?;
        if trad.algorithm() != want {
            return Err(mismatch(want.name(), trad.algorithm().name()));
        }
        let tspki = trad.public_key();
        // tradPK: the uncompressed point for ECDSA, RSAPublicKey for RSA (draft §5), which is
        // exactly the subjectPublicKey of the component's own SPKI.
        let (ok, actual) = match spec.trad {
            super::trad::Trad::Ecdsa { curve, .. } => {
                let want_curve = match curve {
                    super::trad::Curve::P256 => oid::SECP256R1,
                    super::trad::Curve::P384 => oid::SECP384R1,
                    _ => return Err(CompositeError::Unsupported(spec.name)),
                };
                let c = ec_curve(tspki);
                (
                    c == Some(want_curve)
                        && tspki.subject_public_key.raw_bytes().first() == Some(&4),
                    format!("{:?}", c.map(|c| c.to_string())),
                )
            }
            super::trad::Trad::RsaPss { bits, .. } | super::trad::Trad::RsaPkcs1 { bits, .. } => {
                let n = rsa_bits(tspki);
                (n == Some(bits), format!("RSA {n:?} bits"))
            }
            _ => return Err(CompositeError::Unsupported(spec.name)),
        };
        if !ok {
            return Err(mismatch(format!("{:?}", spec.trad), actual));
        }
        let mut raw = mldsa.public_key().to_vec();
        raw.extend_from_slice(tspki.subject_public_key.raw_bytes());
        let spki = crate::mldsa::spki_for(id.algorithm_identifier(), &raw)
            .map_err(|e| mismatch("an encodable key".into(), e.to_string()))?;
        Ok(Self {
            id,
            mldsa,
            trad,
            spki,
            label: label.to_string(),
        })
    }

    /// The composite algorithm.
    pub fn id(&self) -> CompositeId {
        self.id
    }

    /// Composite-ML-DSA.Sign with an application context (draft §4.2).
    pub fn sign_with_context(&self, message: &[u8], ctx: &[u8]) -> Result<Vec<u8>, SignError> {
        let spec = self.id.spec();
        let m = message_representative(spec, ctx, message)
            .ok_or_else(|| SignError::Failed("composite context longer than 255 bytes".into()))?;
        let mut sig = self.mldsa.sign_with_context(&m, spec.label.as_bytes())?;
        sig.extend_from_slice(&self.trad.sign(&m)?);
        Ok(sig)
    }
}

fn rsa_bits(spki: &SubjectPublicKeyInfoOwned) -> Option<usize> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::traits::PublicKeyParts;
    if spki.algorithm.oid != oid::RSA_ENCRYPTION {
        return None;
    }
    let k = rsa::RsaPublicKey::from_pkcs1_der(spki.subject_public_key.raw_bytes()).ok()?;
    Some(k.n().bits() as usize)
}

impl Signer for CompositeSigner {
    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::Composite(self.id)
    }
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }
    /// Software unless both halves are in tokens: a policy that demands HSM keys must see the
    /// weakest half.
    fn backend(&self) -> KeyBackend {
        match (self.mldsa.backend(), self.trad.backend()) {
            (KeyBackend::Pkcs11, KeyBackend::Pkcs11) => KeyBackend::Pkcs11,
            _ => KeyBackend::Software,
        }
    }
    fn label(&self) -> &str {
        &self.label
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.sign_with_context(message, b"")
    }
}
