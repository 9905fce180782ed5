//! Software keys sign, `verify_signature` checks, for every classical pair; a changed message
//! or a key of the wrong type is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kokuin_hsm::algorithm::SignatureAlgorithm;
use kokuin_hsm::digest::DigestAlgorithm;
use kokuin_hsm::key_type::KeyType;
use kokuin_hsm::signer::Signer;
use kokuin_hsm::software::SoftwareSigner;
use kokuin_hsm::verify::{VerifyError, verify_signature};

fn round_trip(kt: KeyType, alg: SignatureAlgorithm) {
    let s = SoftwareSigner::generate(kt, "t").unwrap();
    let der = s.to_pkcs8_pem().unwrap();
    let (_, der) = der::pem::decode_vec(der.as_bytes()).unwrap();
    let s = SoftwareSigner::from_pkcs8_der(&der, Some(alg), "t").unwrap();
    let sig = s.sign(b"message").unwrap();
    let ai = alg.algorithm_identifier().unwrap();
    verify_signature(s.public_key(), &ai, None, b"message", &sig).unwrap();
    assert_eq!(
        verify_signature(s.public_key(), &ai, None, b"messagf", &sig),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn ecdsa_round_trips() {
    round_trip(
        KeyType::P256,
        SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256),
    );
    round_trip(
        KeyType::P256,
        SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha512),
    );
    round_trip(
        KeyType::P384,
        SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha384),
    );
}

#[test]
fn rsa_round_trips() {
    round_trip(
        KeyType::Rsa(2048),
        SignatureAlgorithm::RsaPss(DigestAlgorithm::Sha256),
    );
    round_trip(
        KeyType::Rsa(2048),
        SignatureAlgorithm::RsaPkcs1v15(DigestAlgorithm::Sha384),
    );
}

#[test]
fn wrong_key_type_is_refused() {
    let s = SoftwareSigner::generate(KeyType::P256, "t").unwrap();
    let pem = s.to_pkcs8_pem().unwrap();
    let (_, der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
    assert!(
        SoftwareSigner::from_pkcs8_der(
            &der,
            Some(SignatureAlgorithm::RsaPss(DigestAlgorithm::Sha256)),
            "t"
        )
        .is_err()
    );
}
