//! Software keys from PKCS #8 files, for development and tests.
//!
//! Production keys live in an HSM. ECDSA and RSA signatures are made by AWS-LC
//! ([`aws_lc`]); RustCrypto `rsa` signs only what AWS-LC cannot and has a timing side channel
//! on private-key operations (RUSTSEC-2023-0071), so loading a software RSA key outside dev mode
//! still logs a warning every time: a software key is not a production key.

mod aws_lc;
mod key_file;
mod rsa_sign;

use key_file::{
    check_private_permissions, decrypt_file, encrypt_pem, pem_private_key, private_file,
};
use rsa_sign::{rsa_pkcs1, rsa_pss};

use crate::algorithm::{SignatureAlgorithm, oid};
use crate::composite::id::CompositeId;
use crate::composite::signer::CompositeSigner;
use crate::digest::DigestAlgorithm;
use crate::error::{KeyError, SignError};
use crate::key_type::KeyType;
use crate::mldsa::MlDsaKey;
use crate::mldsa::level::MlDsaLevel;
use crate::signer::{KeyBackend, Signer};
use der::{Decode, Encode};
use pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding, PrivateKeyInfoRef};
use signature::Signer as _;
use spki::{EncodePublicKey, SubjectPublicKeyInfoOwned};
use std::io::Write;
use std::path::Path;
use zeroize::Zeroizing;

enum SoftKey {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    Rsa(Box<rsa::RsaPrivateKey>),
    MlDsa(Box<MlDsaKey>),
    /// The signer and its PKCS #8 encoding (mldsaSeed ‖ tradSK), kept for export.
    Composite(Box<CompositeSigner>, Zeroizing<Vec<u8>>),
}

/// A private key held in process memory (zeroized on drop by the underlying types).
pub struct SoftwareSigner {
    key: SoftKey,
    key_type: KeyType,
    algorithm: SignatureAlgorithm,
    spki: SubjectPublicKeyInfoOwned,
    label: String,
    /// The same key in AWS-LC, where AWS-LC signs this key type and algorithm.
    fast: Option<aws_lc::FastKey>,
}

impl std::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareSigner")
            .field("key_type", &self.key_type)
            .field("algorithm", &self.algorithm)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl SoftwareSigner {
    /// Generates a fresh key. RSA generation takes seconds; it is meant for dev set-up only.
    pub fn generate(key_type: KeyType, label: &str) -> Result<Self, KeyError> {
        use p256::elliptic_curve::Generate;
        let rng_err = |e: getrandom::Error| KeyError::Generate(e.to_string());
        let key = match key_type {
            KeyType::P256 => SoftKey::P256(
                p256::ecdsa::SigningKey::try_generate_from_rng(&mut getrandom::SysRng)
                    .map_err(rng_err)?,
            ),
            KeyType::P384 => SoftKey::P384(
                p384::ecdsa::SigningKey::try_generate_from_rng(&mut getrandom::SysRng)
                    .map_err(rng_err)?,
            ),
            KeyType::Rsa(bits) => SoftKey::Rsa(Box::new(
                rsa::RsaPrivateKey::new(&mut rsa::rand_core::UnwrapErr(getrandom::SysRng), bits)
                    .map_err(|e| KeyError::Generate(e.to_string()))?,
            )),
            KeyType::MlDsa(l) => SoftKey::MlDsa(Box::new(
                MlDsaKey::generate(l).map_err(|e| KeyError::Generate(e.to_string()))?,
            )),
            KeyType::Composite(c) => {
                let (signer, der) =
                    composite::generate(c, label).map_err(|e| KeyError::Generate(e.to_string()))?;
                SoftKey::Composite(Box::new(signer), der)
            }
        };
        Self::from_key(key, key_type, key_type.default_algorithm(), label)
    }

    /// Loads a PKCS #8 PEM or DER file. Refuses files other users could read.
    pub fn load(
        path: &Path,
        algorithm: Option<SignatureAlgorithm>,
        dev_mode: bool,
    ) -> Result<Self, KeyError> {
        let p = path.display().to_string();
        check_private_permissions(path)?;
        let raw = Zeroizing::new(std::fs::read(path).map_err(|source| KeyError::Read {
            path: p.clone(),
            source,
        })?);
        let der: Zeroizing<Vec<u8>> = if raw.starts_with(b"-----BEGIN") {
            let text = std::str::from_utf8(&raw).map_err(|_| KeyError::Parse {
                path: p.clone(),
                reason: "PEM is not UTF-8".into(),
            })?;
            let (label, der) =
                der::pem::decode_vec(text.as_bytes()).map_err(|e| KeyError::Parse {
                    path: p.clone(),
                    reason: e.to_string(),
                })?;
            if label != "PRIVATE KEY" {
                return Err(KeyError::Parse {
                    path: p,
                    reason: format!("PEM label is {label}, expected PRIVATE KEY"),
                });
            }
            Zeroizing::new(der)
        } else {
            raw.clone()
        };
        // Labelled by file name, not path: the label reaches metrics, logs and audit records,
        // none of which should publish where key files live.
        let label = path
            .file_name()
            .map_or_else(|| p.clone(), |n| n.to_string_lossy().into_owned());
        let signer = Self::from_pkcs8_der(&der, algorithm, &label)?;
        if matches!(signer.key_type, KeyType::Rsa(_)) && !dev_mode {
            if signer.fast.is_some() {
                tracing::warn!(
                    key = %p,
                    "software RSA key outside dev mode: keep production RSA keys in an HSM"
                );
            } else {
                tracing::warn!(
                    key = %p,
                    "software RSA signing by RustCrypto is subject to RUSTSEC-2023-0071 \
                     (timing side channel); keep production RSA keys in an HSM"
                );
            }
        }
        Ok(signer)
    }

    /// A key from PKCS #8 DER (classical, ML-DSA in the RFC 9881 forms, or a composite),
    /// signing with `algorithm` or its type's default.
    pub fn from_pkcs8_der(
        der: &[u8],
        algorithm: Option<SignatureAlgorithm>,
        label: &str,
    ) -> Result<Self, KeyError> {
        let parse = |reason: String| KeyError::Parse {
            path: label.to_string(),
            reason,
        };
        let info = PrivateKeyInfoRef::from_der(der).map_err(|e| parse(e.to_string()))?;
        let (key, key_type) = if let Some(l) = MlDsaLevel::from_oid(&info.algorithm.oid) {
            let k = MlDsaKey::from_pkcs8_der(der).map_err(|e| parse(e.to_string()))?;
            (SoftKey::MlDsa(Box::new(k)), KeyType::MlDsa(l))
        } else if let Some(c) = CompositeId::from_oid(&info.algorithm.oid) {
            let k = composite::from_pkcs8_der(der, label).map_err(|e| parse(e.to_string()))?;
            (
                SoftKey::Composite(Box::new(k), Zeroizing::new(der.to_vec())),
                KeyType::Composite(c),
            )
        } else if info.algorithm.oid == oid::EC_PUBLIC_KEY {
            let curve = info
                .algorithm
                .parameters
                .and_then(|p| p.decode_as::<const_oid::ObjectIdentifier>().ok());
            match curve {
                Some(oid::SECP256R1) => (
                    SoftKey::P256(
                        p256::ecdsa::SigningKey::from_pkcs8_der(der)
                            .map_err(|e| parse(e.to_string()))?,
                    ),
                    KeyType::P256,
                ),
                Some(oid::SECP384R1) => (
                    SoftKey::P384(
                        p384::ecdsa::SigningKey::from_pkcs8_der(der)
                            .map_err(|e| parse(e.to_string()))?,
                    ),
                    KeyType::P384,
                ),
                other => return Err(parse(format!("unsupported EC curve {other:?}"))),
            }
        } else if info.algorithm.oid == oid::RSA_ENCRYPTION {
            let k = rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(|e| parse(e.to_string()))?;
            let bits = rsa::traits::PublicKeyParts::n(&k).bits() as usize;
            if !(2048..=4096).contains(&bits) {
                return Err(parse(format!(
                    "RSA key of {bits} bits; 2048 to 4096 required"
                )));
            }
            (SoftKey::Rsa(Box::new(k)), KeyType::Rsa(bits))
        } else {
            return Err(parse(format!("key algorithm {}", info.algorithm.oid)));
        };
        let algorithm = algorithm.unwrap_or(key_type.default_algorithm());
        Self::from_key(key, key_type, algorithm, label)
    }

    /// A bare RFC 5915 ECPrivateKey (P-256, P-384) or RFC 8017 RSAPrivateKey: the encodings
    /// of a composite key's traditional half (draft-ietf-lamps-pq-composite-sigs §5).
    pub fn from_component_der(
        der: &[u8],
        algorithm: SignatureAlgorithm,
        label: &str,
    ) -> Result<Self, KeyError> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        let parse = |reason: String| KeyError::Parse {
            path: label.to_string(),
            reason,
        };
        let (key, key_type) = if let Ok(k) = p256::SecretKey::from_sec1_der(der) {
            (SoftKey::P256(k.into()), KeyType::P256)
        } else if let Ok(k) = p384::SecretKey::from_sec1_der(der) {
            (SoftKey::P384(k.into()), KeyType::P384)
        } else {
            let k = rsa::RsaPrivateKey::from_pkcs1_der(der).map_err(|e| parse(e.to_string()))?;
            let bits = rsa::traits::PublicKeyParts::n(&k).bits() as usize;
            (SoftKey::Rsa(Box::new(k)), KeyType::Rsa(bits))
        };
        Self::from_key(key, key_type, algorithm, label)
    }

    /// The same key signing with `algorithm` (which must fit the key type).
    pub fn with_algorithm(self, algorithm: SignatureAlgorithm) -> Result<Self, KeyError> {
        let label = self.label.clone();
        Self::from_key(self.key, self.key_type, algorithm, &label)
    }

    /// The inverse of [`Self::from_component_der`].
    pub fn to_component_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let err = |e: &dyn std::fmt::Display| KeyError::Generate(e.to_string());
        Ok(match &self.key {
            SoftKey::P256(k) => Zeroizing::new(
                p256::SecretKey::from(k)
                    .to_sec1_der()
                    .map_err(|e| err(&e))?
                    .to_vec(),
            ),
            SoftKey::P384(k) => Zeroizing::new(
                p384::SecretKey::from(k)
                    .to_sec1_der()
                    .map_err(|e| err(&e))?
                    .to_vec(),
            ),
            SoftKey::Rsa(k) => {
                Zeroizing::new(k.to_pkcs1_der().map_err(|e| err(&e))?.as_bytes().to_vec())
            }
            SoftKey::MlDsa(_) | SoftKey::Composite(..) => {
                return Err(err(&"not the traditional half of a composite"));
            }
        })
    }

    fn from_key(
        key: SoftKey,
        key_type: KeyType,
        algorithm: SignatureAlgorithm,
        label: &str,
    ) -> Result<Self, KeyError> {
        if !key_type.fits(algorithm) || algorithm.algorithm_identifier().is_err() {
            return Err(KeyError::Mismatch {
                algorithm: algorithm.name(),
                key: key_type.name(),
            });
        }
        let gen_err = |e: &dyn std::fmt::Display| KeyError::Generate(e.to_string());
        let spki_der = match &key {
            SoftKey::P256(k) => k.verifying_key().to_public_key_der(),
            SoftKey::P384(k) => k.verifying_key().to_public_key_der(),
            SoftKey::Rsa(k) => k.to_public_key().to_public_key_der(),
            SoftKey::MlDsa(k) => k
                .subject_public_key_info()
                .and_then(|s| s.to_der())
                .and_then(|d| spki::Document::try_from(d.as_slice()))
                .map_err(spki::Error::from),
            SoftKey::Composite(c, _) => c
                .public_key()
                .to_der()
                .and_then(|d| spki::Document::try_from(d.as_slice()))
                .map_err(spki::Error::from),
        }
        .map_err(|e| gen_err(&e))?;
        let spki =
            SubjectPublicKeyInfoOwned::from_der(spki_der.as_bytes()).map_err(|e| gen_err(&e))?;
        let pkcs8 = match &key {
            SoftKey::P256(k) => k.to_pkcs8_der().ok(),
            SoftKey::P384(k) => k.to_pkcs8_der().ok(),
            SoftKey::Rsa(k) => k.to_pkcs8_der().ok(),
            SoftKey::MlDsa(_) | SoftKey::Composite(..) => None,
        };
        let fast = pkcs8.and_then(|d| aws_lc::FastKey::new(key_type, algorithm, d.as_bytes()));
        Ok(Self {
            key,
            key_type,
            algorithm,
            spki,
            label: label.to_string(),
            fast,
        })
    }

    /// The key's type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// PKCS #8 PEM of the private key (zeroized when dropped).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        let r = match &self.key {
            SoftKey::P256(k) => k.to_pkcs8_pem(LineEnding::LF),
            SoftKey::P384(k) => k.to_pkcs8_pem(LineEnding::LF),
            SoftKey::Rsa(k) => k.to_pkcs8_pem(LineEnding::LF),
            SoftKey::MlDsa(k) => {
                let der = k.to_pkcs8_der().ok_or_else(|| {
                    KeyError::Generate("an expanded-only ML-DSA key has no seed to export".into())
                })?;
                return pem_private_key(&der);
            }
            SoftKey::Composite(_, der) => return pem_private_key(der),
        };
        r.map_err(|e| KeyError::Generate(e.to_string()))
    }

    /// Writes the key as PKCS #8 PEM to a new file created with mode 0600.
    pub fn write_pkcs8_pem(&self, path: &Path) -> Result<(), KeyError> {
        write_new_private(path, self.to_pkcs8_pem()?.as_bytes())
    }

    /// Writes the key encrypted under `passphrase` (PKCS #8, RFC 8018 PBES2) to a new file of
    /// mode 0600: an officer's key at level 1 or in dev mode.
    pub fn write_encrypted_pkcs8_pem(
        &self,
        path: &Path,
        passphrase: &[u8],
    ) -> Result<(), KeyError> {
        let pem = encrypt_pem(&self.to_pkcs8_pem()?, passphrase)?;
        write_new_private(path, pem.as_bytes())
    }

    /// Reads a key [`Self::write_encrypted_pkcs8_pem`] (or `openssl pkcs8 -topk8`) wrote.
    pub fn load_encrypted(path: &Path, passphrase: &[u8], label: &str) -> Result<Self, KeyError> {
        let der = decrypt_file(path, passphrase)?;
        Self::from_pkcs8_der(der.as_bytes(), None, label)
    }

    /// The public key as SubjectPublicKeyInfo DER.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.spki.to_der().unwrap_or_default()
    }
}

/// Composite keys held in software: a PKCS #8 OneAsymmetricKey whose privateKey is
/// mldsaSeed ‖ tradSK (draft §5.3, SerializePrivateKey). For development and tests; production
/// composites keep each half in a token.
pub mod composite {
    use super::SoftwareSigner;
    use crate::composite::id::CompositeId;
    use crate::composite::signer::{CompositeError, CompositeSigner};
    use crate::composite::trad::{Curve, Trad};
    use crate::key_type::KeyType;
    use crate::mldsa::MlDsaKey;
    use der::{Decode, Encode};
    use zeroize::Zeroizing;

    fn key_error(e: impl std::fmt::Display) -> CompositeError {
        CompositeError::Mismatch {
            algorithm: "composite private key",
            expected: "mldsaSeed ‖ tradSK".into(),
            actual: e.to_string(),
        }
    }

    /// A composite key from its PKCS #8 DER.
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
        let alg = crate::algorithm::SignatureAlgorithm::for_trad(spec.trad)
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
        let alg = crate::algorithm::SignatureAlgorithm::for_trad(spec.trad)
            .ok_or(CompositeError::Unsupported(spec.name))?;
        let key_type = match spec.trad {
            Trad::Ecdsa {
                curve: Curve::P256, ..
            } => KeyType::P256,
            Trad::Ecdsa {
                curve: Curve::P384, ..
            } => KeyType::P384,
            Trad::RsaPss { bits, .. } | Trad::RsaPkcs1 { bits, .. } => KeyType::Rsa(bits),
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

impl Signer for SoftwareSigner {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    fn backend(&self) -> KeyBackend {
        KeyBackend::Software
    }

    fn label(&self) -> &str {
        &self.label
    }

    /// ECDSA in AWS-LC: about 20 µs (P-256) to 60 µs (P-384) here. RSA (300 µs and more for
    /// 2048 bits) and ML-DSA stay off the reactor.
    fn signs_quickly(&self) -> bool {
        matches!(self.fast, Some(aws_lc::FastKey::Ecdsa(_)))
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        use signature::hazmat::PrehashSigner;
        let fail = |e: signature::Error| SignError::Failed(e.to_string());
        if let Some(fast) = &self.fast {
            return fast.sign(message);
        }
        let digest = self.algorithm.digest();
        match (&self.key, self.algorithm) {
            // The curve's own hash: the crate hashes the message itself.
            (SoftKey::P256(k), SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256)) => {
                let sig: p256::ecdsa::Signature = k.try_sign(message).map_err(fail)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            (SoftKey::P384(k), SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha384)) => {
                let sig: p384::ecdsa::Signature = k.try_sign(message).map_err(fail)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            (SoftKey::P256(k), SignatureAlgorithm::Ecdsa(d)) => {
                let sig: p256::ecdsa::Signature =
                    k.sign_prehash(&d.digest(message)).map_err(fail)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            (SoftKey::P384(k), SignatureAlgorithm::Ecdsa(d)) => {
                let sig: p384::ecdsa::Signature =
                    k.sign_prehash(&d.digest(message)).map_err(fail)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            (SoftKey::Rsa(k), SignatureAlgorithm::RsaPkcs1v15(_)) => rsa_pkcs1(k, digest, message),
            (SoftKey::Rsa(k), SignatureAlgorithm::RsaPss(_)) => rsa_pss(k, digest, message),
            // RFC 9882 §3.3: pure ML-DSA over the message with the empty context.
            (SoftKey::MlDsa(k), SignatureAlgorithm::MlDsa(_)) => k.sign(message, b""),
            (SoftKey::Composite(c, _), SignatureAlgorithm::Composite(_)) => c.sign(message),
            _ => Err(SignError::Failed(format!(
                "{} cannot sign with {}",
                self.key_type.name(),
                self.algorithm
            ))),
        }
    }
}

/// `bytes` into a new file of mode 0600, synced.
fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let werr = |source| KeyError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut f = private_file(path).map_err(werr)?;
    f.write_all(bytes).map_err(werr)?;
    f.sync_all().map_err(werr)
}

#[cfg(test)]
mod aws_lc_tests {
    use super::SoftwareSigner;
    use crate::algorithm::SignatureAlgorithm as S;
    use crate::digest::DigestAlgorithm as D;
    use crate::key_type::KeyType;
    use crate::signer::Signer;

    /// Every pair AWS-LC signs is verified by Kokuin's RustCrypto verifier, so the two
    /// libraries agree on encodings (DER ECDSA, PSS salt length); a changed message fails.
    #[test]
    fn aws_lc_signatures_verify_with_rustcrypto() {
        let p256 = SoftwareSigner::generate(KeyType::P256, "t").unwrap();
        let p384 = SoftwareSigner::generate(KeyType::P384, "t").unwrap();
        let rsa = SoftwareSigner::generate(KeyType::Rsa(2048), "t").unwrap();
        let cases = [
            (p256, vec![S::Ecdsa(D::Sha256)]),
            (p384, vec![S::Ecdsa(D::Sha384)]),
            (
                rsa,
                [D::Sha256, D::Sha384, D::Sha512]
                    .into_iter()
                    .flat_map(|d| [S::RsaPkcs1v15(d), S::RsaPss(d)])
                    .collect(),
            ),
        ];
        for (key, algs) in cases {
            let mut key = Some(key);
            for alg in algs {
                let k = key.take().unwrap().with_algorithm(alg).unwrap();
                assert!(k.fast.is_some(), "{alg} is not signed by AWS-LC");
                let id = alg.algorithm_identifier().unwrap();
                let sig = k.sign(b"message").unwrap();
                crate::verify::verify_signature(k.public_key(), &id, None, b"message", &sig)
                    .unwrap_or_else(|e| panic!("{alg}: {e}"));
                assert!(
                    crate::verify::verify_signature(k.public_key(), &id, None, b"massage", &sig)
                        .is_err()
                );
                key = Some(k);
            }
        }
    }

    /// P-256 with SHA-384 is not an AWS-LC signing algorithm: RustCrypto signs it.
    #[test]
    fn other_pairs_stay_on_rustcrypto() {
        let k = SoftwareSigner::generate(KeyType::P256, "t")
            .unwrap()
            .with_algorithm(S::Ecdsa(D::Sha384))
            .unwrap();
        assert!(k.fast.is_none());
        let id = S::Ecdsa(D::Sha384).algorithm_identifier().unwrap();
        let sig = k.sign(b"m").unwrap();
        crate::verify::verify_signature(k.public_key(), &id, None, b"m", &sig).unwrap();
    }
}
