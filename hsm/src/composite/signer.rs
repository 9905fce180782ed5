//! A composite ML-DSA [`Signer`] built from two independent keys, each wherever it can live:
//! the ML-DSA half in software or a PQC-capable token, the traditional half in any PKCS #11
//! token (draft-ietf-lamps-pq-composite-sigs §4.2 allows "component private keys stored in
//! separate software or hardware keystores").

use super::{CompositeId, message_representative};
use crate::algorithm::{SignatureAlgorithm, ec_curve, oid};
use crate::mldsa_signer::MlDsaComponent;
use crate::signer::{KeyBackend, SignError, Signer};
use spki::SubjectPublicKeyInfoOwned;

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
pub enum CompositeError {
    #[error("{0} has a traditional half Kokuin cannot sign with")]
    Unsupported(&'static str),
    #[error("{algorithm} needs {expected}, the key is {actual}")]
    Mismatch {
        algorithm: &'static str,
        expected: String,
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
        let want = spec
            .trad
            .signing_algorithm()
            .ok_or(CompositeError::Unsupported(spec.name))?;
        if trad.algorithm() != want {
            return Err(mismatch(want.name(), trad.algorithm().name()));
        }
        let tspki = trad.public_key();
        // tradPK: the uncompressed point for ECDSA, RSAPublicKey for RSA (draft §5), which is
        // exactly the subjectPublicKey of the component's own SPKI.
        let (ok, actual) = match spec.trad {
            super::Trad::Ecdsa { curve, .. } => {
                let want_curve = match curve {
                    super::Curve::P256 => oid::SECP256R1,
                    super::Curve::P384 => oid::SECP384R1,
                    _ => return Err(CompositeError::Unsupported(spec.name)),
                };
                let c = ec_curve(tspki);
                (
                    c == Some(want_curve)
                        && tspki.subject_public_key.raw_bytes().first() == Some(&4),
                    format!("{:?}", c.map(|c| c.to_string())),
                )
            }
            super::Trad::RsaPss { bits, .. } | super::Trad::RsaPkcs1 { bits, .. } => {
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

/// Composite keys held in software: a PKCS #8 OneAsymmetricKey whose privateKey is
/// mldsaSeed ‖ tradSK (draft §5.3, SerializePrivateKey). For development and tests; production
/// composites keep each half in a token.
pub mod software {
    use super::{CompositeError, CompositeId, CompositeSigner};
    use crate::mldsa::MlDsaKey;
    use crate::software::{KeyType, SoftwareSigner};
    use der::{Decode, Encode};
    use zeroize::Zeroizing;

    fn key_error(e: impl std::fmt::Display) -> CompositeError {
        CompositeError::Mismatch {
            algorithm: "composite private key",
            expected: "mldsaSeed ‖ tradSK".into(),
            actual: e.to_string(),
        }
    }

    pub fn from_pkcs8_der(der: &[u8], label: &str) -> Result<CompositeSigner, CompositeError> {
        let info = pkcs8::PrivateKeyInfoRef::from_der(der).map_err(key_error)?;
        let id = CompositeId::from_oid(&info.algorithm.oid)
            .ok_or_else(|| key_error(format!("algorithm {}", info.algorithm.oid)))?;
        from_raw(id, info.private_key.as_bytes(), label)
    }

    /// DeserializePrivateKey (draft §5.3) and both halves loaded.
    pub fn from_raw(
        id: CompositeId,
        raw: &[u8],
        label: &str,
    ) -> Result<CompositeSigner, CompositeError> {
        let spec = id.spec();
        let alg = spec
            .trad
            .signing_algorithm()
            .ok_or(CompositeError::Unsupported(spec.name))?;
        if raw.len() <= 32 {
            return Err(key_error("too short"));
        }
        let (seed, trad) = raw.split_at(32);
        let seed: [u8; 32] = seed.try_into().map_err(key_error)?;
        let mldsa = MlDsaKey::from_seed(spec.mldsa, &seed);
        let trad = SoftwareSigner::from_component_der(trad, alg, label).map_err(key_error)?;
        CompositeSigner::new(id, Box::new(mldsa), Box::new(trad), label)
    }

    /// A fresh composite key: the signer and its PKCS #8 encoding (to be written 0600).
    pub fn generate(
        id: CompositeId,
        label: &str,
    ) -> Result<(CompositeSigner, Zeroizing<Vec<u8>>), CompositeError> {
        let spec = id.spec();
        let alg = spec
            .trad
            .signing_algorithm()
            .ok_or(CompositeError::Unsupported(spec.name))?;
        let key_type = match spec.trad {
            super::super::Trad::Ecdsa {
                curve: super::super::Curve::P256,
                ..
            } => KeyType::P256,
            super::super::Trad::Ecdsa {
                curve: super::super::Curve::P384,
                ..
            } => KeyType::P384,
            super::super::Trad::RsaPss { bits, .. } | super::super::Trad::RsaPkcs1 { bits, .. } => {
                KeyType::Rsa(bits)
            }
            _ => return Err(CompositeError::Unsupported(spec.name)),
        };
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(key_error)?;
        // generate() picks the key type's default algorithm; the composite fixes its own.
        let trad = SoftwareSigner::generate(key_type, label)
            .and_then(|t| t.with_algorithm(alg))
            .map_err(key_error)?;
        let mut raw = Zeroizing::new(seed.to_vec());
        raw.extend_from_slice(&trad.to_component_der().map_err(key_error)?);
        let info = pkcs8::PrivateKeyInfoRef {
            algorithm: spki::AlgorithmIdentifierRef {
                oid: spec.oid,
                parameters: None,
            },
            private_key: der::asn1::OctetStringRef::new(&raw).map_err(key_error)?,
            public_key: None,
        };
        let der = Zeroizing::new(info.to_der().map_err(key_error)?);
        let signer = CompositeSigner::new(
            id,
            Box::new(MlDsaKey::from_seed(spec.mldsa, &seed)),
            Box::new(trad),
            label,
        )?;
        Ok((signer, der))
    }
}
