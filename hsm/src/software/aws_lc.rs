//! The signing half of software ECDSA and RSA keys, done by AWS-LC (`aws-lc-rs`).
//!
//! Why not RustCrypto here: measured on the 2-core reference machine, `p256` signs about
//! 20,000 P-256 signatures/s per core and AWS-LC about 50,000 (`cargo bench -p kokuin-hsm`),
//! and a software TSA's throughput is its signing rate. AWS-LC's RSA is also constant-time,
//! which RustCrypto `rsa` is not (RUSTSEC-2023-0071), and it has a FIPS 140-3 validated build.
//! RustCrypto keeps generating, encoding and verifying keys; AWS-LC only receives the
//! PKCS #8 encoding once, at load, and clears its copy when the key is dropped
//! (`OPENSSL_free` zeroes every allocation it frees).
//!
//! Pairs AWS-LC does not sign (P-256 with SHA-384, say) stay on RustCrypto.

use crate::algorithm::SignatureAlgorithm;
use crate::digest::DigestAlgorithm;
use crate::error::SignError;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as lc, EcdsaKeyPair, RsaEncoding, RsaKeyPair};

pub(super) enum FastKey {
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair, &'static dyn RsaEncoding),
}

/// How a key of this curve and algorithm is signed by AWS-LC, if it is.
enum Kind {
    Ecdsa(&'static lc::EcdsaSigningAlgorithm),
    Rsa(&'static dyn RsaEncoding),
}

fn kind(key_type: crate::key_type::KeyType, alg: SignatureAlgorithm) -> Option<Kind> {
    use crate::key_type::KeyType as K;
    use DigestAlgorithm as D;
    use SignatureAlgorithm as S;
    Some(match (key_type, alg) {
        (K::P256, S::Ecdsa(D::Sha256)) => Kind::Ecdsa(&lc::ECDSA_P256_SHA256_ASN1_SIGNING),
        (K::P384, S::Ecdsa(D::Sha384)) => Kind::Ecdsa(&lc::ECDSA_P384_SHA384_ASN1_SIGNING),
        (K::Rsa(_), S::RsaPkcs1v15(D::Sha256)) => Kind::Rsa(&lc::RSA_PKCS1_SHA256),
        (K::Rsa(_), S::RsaPkcs1v15(D::Sha384)) => Kind::Rsa(&lc::RSA_PKCS1_SHA384),
        (K::Rsa(_), S::RsaPkcs1v15(D::Sha512)) => Kind::Rsa(&lc::RSA_PKCS1_SHA512),
        // Salt length = the digest's length, as RustCrypto's and Kokuin's RSASSA-PSS-params.
        (K::Rsa(_), S::RsaPss(D::Sha256)) => Kind::Rsa(&lc::RSA_PSS_SHA256),
        (K::Rsa(_), S::RsaPss(D::Sha384)) => Kind::Rsa(&lc::RSA_PSS_SHA384),
        (K::Rsa(_), S::RsaPss(D::Sha512)) => Kind::Rsa(&lc::RSA_PSS_SHA512),
        _ => return None,
    })
}

impl FastKey {
    /// The AWS-LC key for `pkcs8` signing with `alg`; None where AWS-LC does not sign that
    /// pair or refuses the key (RustCrypto then signs, as before).
    pub(super) fn new(
        key_type: crate::key_type::KeyType,
        alg: SignatureAlgorithm,
        pkcs8: &[u8],
    ) -> Option<Self> {
        match kind(key_type, alg)? {
            Kind::Ecdsa(a) => EcdsaKeyPair::from_pkcs8(a, pkcs8).ok().map(Self::Ecdsa),
            Kind::Rsa(enc) => RsaKeyPair::from_pkcs8(pkcs8)
                .ok()
                .map(|k| Self::Rsa(k, enc)),
        }
    }

    pub(super) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let fail = |_| SignError::Failed("AWS-LC refused to sign".into());
        let rng = SystemRandom::new();
        match self {
            Self::Ecdsa(k) => Ok(k.sign(&rng, message).map_err(fail)?.as_ref().to_vec()),
            Self::Rsa(k, enc) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(*enc, &rng, message, &mut sig).map_err(fail)?;
                Ok(sig)
            }
        }
    }
}
