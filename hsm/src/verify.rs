//! Signature verification for every algorithm Kokuin signs with, and the usual CMS spellings
//! of them by other implementations (e.g. `rsaEncryption` as a SignerInfo signatureAlgorithm
//! with the hash taken from digestAlgorithm, RFC 5652 §5.3 / RFC 3370 §3.2).

use crate::algorithm::{oid, pss_params};
use crate::composite::id::CompositeId;
use crate::digest::DigestAlgorithm;
use crate::mldsa::level::MlDsaLevel;
use der::Encode;
use signature::Verifier as _;
use signature::hazmat::PrehashVerifier;
use spki::{AlgorithmIdentifierOwned, DecodePublicKey, SubjectPublicKeyInfoOwned};

/// Why a signature does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// An algorithm Kokuin does not verify.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// A public key of another kind than the algorithm needs.
    #[error("public key is not usable with {0}")]
    KeyMismatch(String),
    /// The signature is not one of this key over this message.
    #[error("the signature does not verify")]
    BadSignature,
}

/// RSA moduli accepted for verification. Below 2048 bits a signature proves little today.
const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 8192;

/// Verifies `signature` over `message` with the key in `spki`.
///
/// `digest_hint` is the SignerInfo digestAlgorithm; it is consulted only for identifiers that
/// do not name a hash themselves (`rsaEncryption`).
pub fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    digest_hint: Option<DigestAlgorithm>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    let unsupported = || VerifyError::UnsupportedAlgorithm(algorithm.oid.to_string());
    match algorithm.oid {
        oid::ECDSA_WITH_SHA256 => verify_ecdsa(spki, DigestAlgorithm::Sha256, message, signature),
        oid::ECDSA_WITH_SHA384 => verify_ecdsa(spki, DigestAlgorithm::Sha384, message, signature),
        oid::ECDSA_WITH_SHA512 => verify_ecdsa(spki, DigestAlgorithm::Sha512, message, signature),
        oid::SHA256_WITH_RSA => verify_pkcs1(spki, DigestAlgorithm::Sha256, message, signature),
        oid::SHA384_WITH_RSA => verify_pkcs1(spki, DigestAlgorithm::Sha384, message, signature),
        oid::SHA512_WITH_RSA => verify_pkcs1(spki, DigestAlgorithm::Sha512, message, signature),
        oid::RSA_ENCRYPTION => verify_pkcs1(
            spki,
            digest_hint.ok_or_else(unsupported)?,
            message,
            signature,
        ),
        oid::RSASSA_PSS => {
            let (d, salt) = pss_params(algorithm.parameters.as_ref()).ok_or_else(unsupported)?;
            verify_pss(spki, d, salt, message, signature)
        }
        other => {
            // ML-DSA and composites: one identifier for key and signature, parameters absent
            // (RFC 9881 §2, composite draft §7); the key must carry the very same identifier.
            if algorithm.parameters.is_some() {
                return Err(unsupported());
            }
            let raw_key = || {
                if spki.algorithm.oid != other || spki.algorithm.parameters.is_some() {
                    return Err(VerifyError::KeyMismatch(other.to_string()));
                }
                Ok(spki.subject_public_key.raw_bytes())
            };
            let ok = if let Some(level) = MlDsaLevel::from_oid(&other) {
                crate::mldsa::verify(level, raw_key()?, message, b"", signature)
            } else if let Some(id) = CompositeId::from_oid(&other) {
                crate::composite::verify(id, raw_key()?, message, b"", signature)
            } else {
                return Err(unsupported());
            };
            ok.then_some(()).ok_or(VerifyError::BadSignature)
        }
    }
}

fn verify_ecdsa(
    spki: &SubjectPublicKeyInfoOwned,
    d: DigestAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    let mismatch = || VerifyError::KeyMismatch("ECDSA".into());
    let der = spki.to_der().map_err(|_| mismatch())?;
    let prehash = d.digest(message);
    match crate::algorithm::ec_curve(spki) {
        Some(oid::SECP256R1) => {
            let vk =
                p256::ecdsa::VerifyingKey::from_public_key_der(&der).map_err(|_| mismatch())?;
            let sig = p256::ecdsa::Signature::from_der(signature)
                .map_err(|_| VerifyError::BadSignature)?;
            vk.verify_prehash(&prehash, &sig)
                .map_err(|_| VerifyError::BadSignature)
        }
        Some(oid::SECP384R1) => {
            let vk =
                p384::ecdsa::VerifyingKey::from_public_key_der(&der).map_err(|_| mismatch())?;
            let sig = p384::ecdsa::Signature::from_der(signature)
                .map_err(|_| VerifyError::BadSignature)?;
            vk.verify_prehash(&prehash, &sig)
                .map_err(|_| VerifyError::BadSignature)
        }
        _ => Err(mismatch()),
    }
}

fn rsa_key(spki: &SubjectPublicKeyInfoOwned) -> Result<rsa::RsaPublicKey, VerifyError> {
    let mismatch = || VerifyError::KeyMismatch("RSA".into());
    if spki.algorithm.oid != oid::RSA_ENCRYPTION {
        return Err(mismatch());
    }
    let der = spki.to_der().map_err(|_| mismatch())?;
    let k = rsa::RsaPublicKey::from_public_key_der(&der).map_err(|_| mismatch())?;
    let bits = rsa::traits::PublicKeyParts::n(&k).bits() as usize;
    if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
        return Err(VerifyError::KeyMismatch(format!("RSA key of {bits} bits")));
    }
    Ok(k)
}

fn verify_pkcs1(
    spki: &SubjectPublicKeyInfoOwned,
    d: DigestAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    let k = rsa_key(spki)?;
    let sig = Signature::try_from(signature).map_err(|_| VerifyError::BadSignature)?;
    let r = match d {
        DigestAlgorithm::Sha256 => VerifyingKey::<sha2::Sha256>::new(k).verify(message, &sig),
        DigestAlgorithm::Sha384 => VerifyingKey::<sha2::Sha384>::new(k).verify(message, &sig),
        DigestAlgorithm::Sha512 => VerifyingKey::<sha2::Sha512>::new(k).verify(message, &sig),
        other => {
            return Err(VerifyError::UnsupportedAlgorithm(format!(
                "RSA PKCS #1 v1.5 with {other}"
            )));
        }
    };
    r.map_err(|_| VerifyError::BadSignature)
}

fn verify_pss(
    spki: &SubjectPublicKeyInfoOwned,
    d: DigestAlgorithm,
    salt_len: usize,
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    use rsa::pss::{Signature, VerifyingKey};
    let k = rsa_key(spki)?;
    let sig = Signature::try_from(signature).map_err(|_| VerifyError::BadSignature)?;
    let r = match d {
        DigestAlgorithm::Sha256 => {
            VerifyingKey::<sha2::Sha256>::new_with_salt_len(k, salt_len).verify(message, &sig)
        }
        DigestAlgorithm::Sha384 => {
            VerifyingKey::<sha2::Sha384>::new_with_salt_len(k, salt_len).verify(message, &sig)
        }
        DigestAlgorithm::Sha512 => {
            VerifyingKey::<sha2::Sha512>::new_with_salt_len(k, salt_len).verify(message, &sig)
        }
        other => {
            return Err(VerifyError::UnsupportedAlgorithm(format!(
                "RSA-PSS with {other}"
            )));
        }
    };
    r.map_err(|_| VerifyError::BadSignature)
}
