//! The traditional half of a composite: its parameters and verification from the raw
//! encodings of draft-ietf-lamps-pq-composite-sigs §5 (RSAPublicKey, an uncompressed EC
//! point, RFC 8032 keys; Ecdsa-Sig-Value, RFC 8017 and RFC 8032 signatures).

use crate::digest::DigestAlgorithm;
use signature::Verifier as _;
use signature::hazmat::PrehashVerifier;

/// ECDSA over a prehash with the key given as an uncompressed point, the only form the draft
/// allows (§5: "including the leading byte 0x04").
macro_rules! ecdsa_verify {
    ($curve:ty, $point:expr, $prehash:expr, $sig:expr) => {{
        let (point, prehash, sig): (&[u8], &[u8], &[u8]) = ($point, $prehash, $sig);
        point.first() == Some(&0x04)
            && match (
                ecdsa::VerifyingKey::<$curve>::from_sec1_bytes(point),
                ecdsa::Signature::<$curve>::from_der(sig),
            ) {
                (Ok(vk), Ok(sig)) => vk.verify_prehash(prehash, &sig).is_ok(),
                _ => false,
            }
    }};
}

/// The curves of the draft's ECDSA components (Appendix B).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Curve {
    /// NIST P-256.
    P256,
    /// NIST P-384.
    P384,
    /// NIST P-521.
    P521,
    /// brainpoolP256r1.
    BrainpoolP256,
    /// brainpoolP384r1.
    BrainpoolP384,
}

/// A traditional component with the parameters the draft fixes for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Trad {
    /// RSASSA-PSS with MGF1 of the same hash and salt = hash length (draft §7.1).
    RsaPss {
        /// Modulus size.
        bits: usize,
        /// The hash.
        hash: DigestAlgorithm,
    },
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1 {
        /// Modulus size.
        bits: usize,
        /// The hash.
        hash: DigestAlgorithm,
    },
    /// ECDSA.
    Ecdsa {
        /// The curve.
        curve: Curve,
        /// The hash.
        hash: DigestAlgorithm,
    },
    /// Ed25519 (verified only).
    Ed25519,
    /// Ed448 (verified only).
    Ed448,
}

impl Trad {
    pub(crate) fn verify(self, public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::RsaPss { bits, hash } => rsa_key(public_key, bits).is_some_and(|k| {
                let Ok(sig) = rsa::pss::Signature::try_from(signature) else {
                    return false;
                };
                let salt = hash.output_len();
                match hash {
                    DigestAlgorithm::Sha256 => {
                        rsa::pss::VerifyingKey::<sha2::Sha256>::new_with_salt_len(k, salt)
                            .verify(message, &sig)
                            .is_ok()
                    }
                    DigestAlgorithm::Sha384 => {
                        rsa::pss::VerifyingKey::<sha2::Sha384>::new_with_salt_len(k, salt)
                            .verify(message, &sig)
                            .is_ok()
                    }
                    _ => false,
                }
            }),
            Self::RsaPkcs1 { bits, hash } => rsa_key(public_key, bits).is_some_and(|k| {
                let Ok(sig) = rsa::pkcs1v15::Signature::try_from(signature) else {
                    return false;
                };
                match hash {
                    DigestAlgorithm::Sha256 => rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(k)
                        .verify(message, &sig)
                        .is_ok(),
                    DigestAlgorithm::Sha384 => rsa::pkcs1v15::VerifyingKey::<sha2::Sha384>::new(k)
                        .verify(message, &sig)
                        .is_ok(),
                    _ => false,
                }
            }),
            Self::Ecdsa { curve, hash } => {
                let prehash = hash.digest(message);
                match curve {
                    Curve::P256 => ecdsa_verify!(p256::NistP256, public_key, &prehash, signature),
                    Curve::P384 => ecdsa_verify!(p384::NistP384, public_key, &prehash, signature),
                    Curve::P521 => ecdsa_verify!(p521::NistP521, public_key, &prehash, signature),
                    Curve::BrainpoolP256 => {
                        ecdsa_verify!(bp256::BrainpoolP256r1, public_key, &prehash, signature)
                    }
                    Curve::BrainpoolP384 => {
                        ecdsa_verify!(bp384::BrainpoolP384r1, public_key, &prehash, signature)
                    }
                }
            }
            Self::Ed25519 => {
                let (Ok(pk), Ok(sig)) = (
                    <[u8; 32]>::try_from(public_key),
                    ed25519_dalek::Signature::from_slice(signature),
                ) else {
                    return false;
                };
                ed25519_dalek::VerifyingKey::from_bytes(&pk)
                    .is_ok_and(|vk| vk.verify(message, &sig).is_ok())
            }
            Self::Ed448 => {
                let (Ok(pk), Ok(sig)) = (
                    <[u8; 57]>::try_from(public_key),
                    ed448_goldilocks::Signature::from_slice(signature),
                ) else {
                    return false;
                };
                ed448_goldilocks::VerifyingKey::from_bytes(&pk)
                    .is_ok_and(|vk| vk.verify_raw(&sig, message).is_ok())
            }
        }
    }
}

fn rsa_key(der: &[u8], bits: usize) -> Option<rsa::RsaPublicKey> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::traits::PublicKeyParts;
    let k = rsa::RsaPublicKey::from_pkcs1_der(der).ok()?;
    (k.n().bits() as usize == bits).then_some(k)
}
