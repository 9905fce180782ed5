//! The published post-quantum CMS examples, copied from ../shared/reference/vectors:
//! RFC 9882 Appendix (ML-DSA-44/65/87 SignedData with signed attributes, signed by the RFC 9881
//! example certificates) and draft-ietf-lamps-cms-composite-sigs (MLDSA65-ECDSA-P256-SHA512).
//! Each verifies with the generic SignedData verifier; a changed content or signature fails.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use der::DecodePem;
use kokuin_cms::signed_data::{SignedDataError, verify_signed_data};
use kokuin_hsm::DigestAlgorithm;
use std::path::PathBuf;
use x509_cert::Certificate;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn cms_der(path: &str) -> Vec<u8> {
    let pem = std::fs::read_to_string(vectors().join(path)).unwrap();
    der::pem::decode_vec(pem.as_bytes()).unwrap().1
}

fn cert(path: &str) -> Certificate {
    Certificate::from_pem(std::fs::read(vectors().join(path)).unwrap()).unwrap()
}

fn check(cms: &str, signer: &str, algorithm: &str, digest: DigestAlgorithm) {
    let der = cms_der(cms);
    let signer = cert(signer);
    let v = verify_signed_data(&der, None, std::slice::from_ref(&signer))
        .unwrap_or_else(|e| panic!("{cms}: {e}"));
    assert_eq!(v.signature_algorithm.to_string(), algorithm, "{cms}");
    assert_eq!(v.digest_algorithm, digest, "{cms}");
    assert_eq!(v.signer, signer);

    // A flipped bit in the signature value (the DER ends with it) must fail.
    let mut bad = der.clone();
    let at = bad.len() - 3;
    bad[at] ^= 1;
    assert!(
        matches!(
            verify_signed_data(&bad, None, std::slice::from_ref(&signer)),
            Err(SignedDataError::Signature(_))
        ),
        "{cms}: tampered signature"
    );
    // Without the signer's certificate there is nothing to verify against.
    assert_eq!(
        verify_signed_data(&der, None, &[]).unwrap_err(),
        SignedDataError::SignerCertificateMissing
    );
}

#[test]
fn rfc9882_ml_dsa_examples_verify() {
    for (n, oid) in [
        (44, "2.16.840.1.101.3.4.3.17"),
        (65, "2.16.840.1.101.3.4.3.18"),
        (87, "2.16.840.1.101.3.4.3.19"),
    ] {
        check(
            &format!("cms-ml-dsa/mldsa{n}-signed-attrs.pem"),
            &format!("ml-dsa-certificates/ML-DSA-{n}.crt"),
            oid,
            DigestAlgorithm::Sha512,
        );
    }
}

#[test]
fn composite_cms_example_verifies() {
    check(
        "cms-composite/id-MLDSA65-ECDSA-P256-SHA512-signed-attrs.pem",
        "cms-composite/id-MLDSA65-ECDSA-P256-SHA512.crt",
        "1.3.6.1.5.5.7.6.45",
        DigestAlgorithm::Sha512,
    );
}
