//! Software keys from PKCS #8 files, for development and tests.
//!
//! Production keys live in an HSM. ECDSA and RSA signatures are made by AWS-LC
//! ([`aws_lc`]); RustCrypto `rsa` signs only what AWS-LC cannot and has a timing side channel
//! on private-key operations (RUSTSEC-2023-0071), so loading a software RSA key outside dev mode
//! still logs a warning every time: a software key is not a production key.

mod aws_lc;

use crate::algorithm::{SignatureAlgorithm, oid};
use crate::composite::CompositeId;
use crate::composite::signer::CompositeSigner;
use crate::digest::DigestAlgorithm;
use crate::mldsa::{MlDsaKey, MlDsaLevel};
use crate::signer::{KeyBackend, SignError, Signer};
use der::{Decode, Encode};
use pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding, PrivateKeyInfoRef};
use signature::{RandomizedSigner, Signer as _};
use spki::{EncodePublicKey, SubjectPublicKeyInfoOwned};
use std::io::Write;
use std::path::Path;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
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

/// A key type Kokuin can generate and load in software.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    P256,
    P384,
    Rsa(usize),
    MlDsa(MlDsaLevel),
    /// A composite whose two halves are held together (software) or in tokens.
    Composite(CompositeId),
}

impl KeyType {
    pub fn name(self) -> String {
        match self {
            Self::P256 => "p256".into(),
            Self::P384 => "p384".into(),
            Self::Rsa(bits) => format!("rsa{bits}"),
            Self::MlDsa(l) => l.name().to_string(),
            Self::Composite(c) => c.name(),
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "p256" | "p-256" | "ec-p256" => Some(Self::P256),
            "p384" | "p-384" | "ec-p384" => Some(Self::P384),
            other if MlDsaLevel::from_name(other).is_some() => {
                MlDsaLevel::from_name(other).map(Self::MlDsa)
            }
            other if CompositeId::from_name(other).is_some() => {
                match SignatureAlgorithm::from_name(other)? {
                    SignatureAlgorithm::Composite(c) => Some(Self::Composite(c)),
                    _ => None,
                }
            }
            other => {
                let bits: usize = other
                    .strip_prefix("rsa")?
                    .trim_start_matches('-')
                    .parse()
                    .ok()?;
                (2048..=4096).contains(&bits).then_some(Self::Rsa(bits))
            }
        }
    }

    /// The type of a public key, for policy checks (key sizes, curves); None for keys Kokuin
    /// does not sign with (P-521, EdDSA, …).
    pub fn of_public_key(spki: &SubjectPublicKeyInfoOwned) -> Option<Self> {
        let alg = &spki.algorithm;
        if alg.oid == oid::EC_PUBLIC_KEY {
            match alg
                .parameters
                .as_ref()?
                .decode_as::<const_oid::ObjectIdentifier>()
            {
                Ok(oid::SECP256R1) => Some(Self::P256),
                Ok(oid::SECP384R1) => Some(Self::P384),
                _ => None,
            }
        } else if alg.oid == oid::RSA_ENCRYPTION {
            use rsa::pkcs8::DecodePublicKey;
            let k = rsa::RsaPublicKey::from_public_key_der(&spki.to_der().ok()?).ok()?;
            Some(Self::Rsa(rsa::traits::PublicKeyParts::n(&k).bits() as usize))
        } else if let Some(l) = MlDsaLevel::from_oid(&alg.oid) {
            Some(Self::MlDsa(l))
        } else {
            CompositeId::from_oid(&alg.oid).map(Self::Composite)
        }
    }

    /// The algorithm a key of this type signs with unless configured otherwise.
    pub fn default_algorithm(self) -> SignatureAlgorithm {
        match self {
            Self::P256 => SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256),
            Self::P384 => SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha384),
            Self::Rsa(_) => SignatureAlgorithm::RsaPss(DigestAlgorithm::Sha256),
            Self::MlDsa(l) => SignatureAlgorithm::MlDsa(l),
            Self::Composite(c) => SignatureAlgorithm::Composite(c),
        }
    }

    pub fn fits(self, alg: SignatureAlgorithm) -> bool {
        matches!(
            (self, alg),
            (Self::P256 | Self::P384, SignatureAlgorithm::Ecdsa(_))
                | (
                    Self::Rsa(_),
                    SignatureAlgorithm::RsaPkcs1v15(_) | SignatureAlgorithm::RsaPss(_)
                )
        ) || matches!((self, alg), (Self::MlDsa(a), SignatureAlgorithm::MlDsa(b)) if a == b)
            || matches!((self, alg), (Self::Composite(a), SignatureAlgorithm::Composite(b)) if a == b)
    }
}

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
                let (signer, der) = crate::composite::signer::software::generate(c, label)
                    .map_err(|e| KeyError::Generate(e.to_string()))?;
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
            let k = crate::composite::signer::software::from_pkcs8_der(der, label)
                .map_err(|e| parse(e.to_string()))?;
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
        let pem = self.to_pkcs8_pem()?;
        let werr = |source| KeyError::Write {
            path: path.display().to_string(),
            source,
        };
        let mut f = private_file(path).map_err(werr)?;
        f.write_all(pem.as_bytes()).map_err(werr)?;
        f.sync_all().map_err(werr)
    }

    /// The public key as SubjectPublicKeyInfo DER.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.spki.to_der().unwrap_or_default()
    }
}

#[cfg(unix)]
fn pem_private_key(der: &[u8]) -> Result<Zeroizing<String>, KeyError> {
    der::pem::encode_string("PRIVATE KEY", LineEnding::LF, der)
        .map(Zeroizing::new)
        .map_err(|e| KeyError::Generate(e.to_string()))
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn check_private_permissions(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| KeyError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.display().to_string(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_permissions(_: &Path) -> Result<(), KeyError> {
    Ok(())
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

fn rsa_pkcs1(k: &rsa::RsaPrivateKey, d: DigestAlgorithm, msg: &[u8]) -> Result<Vec<u8>, SignError> {
    use rsa::pkcs1v15::SigningKey;
    let fail = |e: signature::Error| SignError::Failed(e.to_string());
    let sig: Box<[u8]> = match d {
        DigestAlgorithm::Sha256 => SigningKey::<sha2::Sha256>::new(k.clone())
            .try_sign(msg)
            .map_err(fail)?
            .into(),
        DigestAlgorithm::Sha384 => SigningKey::<sha2::Sha384>::new(k.clone())
            .try_sign(msg)
            .map_err(fail)?
            .into(),
        DigestAlgorithm::Sha512 => SigningKey::<sha2::Sha512>::new(k.clone())
            .try_sign(msg)
            .map_err(fail)?
            .into(),
        other => return Err(SignError::Failed(format!("RSA with {other}"))),
    };
    Ok(sig.into_vec())
}

fn rsa_pss(k: &rsa::RsaPrivateKey, d: DigestAlgorithm, msg: &[u8]) -> Result<Vec<u8>, SignError> {
    use rsa::pss::SigningKey;
    let fail = |e: signature::Error| SignError::Failed(e.to_string());
    let mut rng = rsa::rand_core::UnwrapErr(getrandom::SysRng);
    let sig: Box<[u8]> = match d {
        DigestAlgorithm::Sha256 => SigningKey::<sha2::Sha256>::new(k.clone())
            .try_sign_with_rng(&mut rng, msg)
            .map_err(fail)?
            .into(),
        DigestAlgorithm::Sha384 => SigningKey::<sha2::Sha384>::new(k.clone())
            .try_sign_with_rng(&mut rng, msg)
            .map_err(fail)?
            .into(),
        DigestAlgorithm::Sha512 => SigningKey::<sha2::Sha512>::new(k.clone())
            .try_sign_with_rng(&mut rng, msg)
            .map_err(fail)?
            .into(),
        other => return Err(SignError::Failed(format!("RSA-PSS with {other}"))),
    };
    Ok(sig.into_vec())
}
