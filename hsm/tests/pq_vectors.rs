//! Published post-quantum vectors, copied from ../shared/reference/vectors:
//! - composite-sigs/testvectors.json (draft-ietf-lamps-pq-composite-sigs, Appendix E): every
//!   `s` and `sWithContext` verifies with `pk` and with the key of `x5c`, `x5c` verifies its own
//!   signature, and a flipped bit anywhere in a signature fails;
//! - ml-dsa-certificates (RFC 9881 Appendix C): the seed, expanded and both private keys load and
//!   match the published public key; the bad-* keys of §C.4 are refused; certificates verify.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use base64ct::{Base64, Encoding};
use der::{Decode, DecodePem, Encode};
use kokuin_hsm::{CompositeId, MlDsaKey, MlDsaLevel, composite, mldsa, verify_signature};
use spki::SubjectPublicKeyInfoOwned;
use std::path::PathBuf;
use x509_cert::Certificate;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

enum Alg {
    Pure(MlDsaLevel),
    Composite(CompositeId),
}

fn alg_of(tc_id: &str) -> Alg {
    match tc_id {
        "id-ML-DSA-44" => Alg::Pure(MlDsaLevel::L44),
        "id-ML-DSA-65" => Alg::Pure(MlDsaLevel::L65),
        "id-ML-DSA-87" => Alg::Pure(MlDsaLevel::L87),
        other => Alg::Composite(
            CompositeId::from_name(other).unwrap_or_else(|| panic!("unknown tcId {other}")),
        ),
    }
}

fn verify_raw(alg: &Alg, pk: &[u8], m: &[u8], ctx: &[u8], s: &[u8]) -> bool {
    match alg {
        Alg::Pure(l) => mldsa::verify(*l, pk, m, ctx, s),
        Alg::Composite(c) => composite::verify(*c, pk, m, ctx, s),
    }
}

fn self_verify(cert: &Certificate) -> Result<(), kokuin_hsm::VerifyError> {
    let tbs = cert.tbs_certificate().to_der().unwrap();
    verify_signature(
        cert.tbs_certificate().subject_public_key_info(),
        cert.signature_algorithm(),
        None,
        &tbs,
        cert.signature().raw_bytes(),
    )
}

#[test]
fn composite_sigs_test_vectors() {
    let text = std::fs::read_to_string(vectors().join("composite-sigs/testvectors.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let m = Base64::decode_vec(doc["m"].as_str().unwrap()).unwrap();
    let ctx = Base64::decode_vec(doc["ctx"].as_str().unwrap()).unwrap();
    let tests = doc["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 21, "3 pure ML-DSA + 18 composites");
    let mut composites = std::collections::BTreeSet::new();
    for tc in tests {
        let id = tc["tcId"].as_str().unwrap();
        let field = |k: &str| Base64::decode_vec(tc[k].as_str().unwrap()).unwrap();
        let alg = alg_of(id);
        if let Alg::Composite(c) = alg {
            composites.insert(c);
        }
        let (pk, s, sc) = (field("pk"), field("s"), field("sWithContext"));
        assert!(verify_raw(&alg, &pk, &m, b"", &s), "{id}: s");
        assert!(verify_raw(&alg, &pk, &m, &ctx, &sc), "{id}: sWithContext");
        assert!(
            !verify_raw(&alg, &pk, &m, b"", &sc),
            "{id}: context ignored"
        );
        assert!(
            !verify_raw(&alg, &pk, b"The quick brown fox", b"", &s),
            "{id}: message ignored"
        );
        // A flipped bit in the ML-DSA half, in the traditional half, and in the last byte.
        for i in [0, s.len() / 2, s.len() - 1] {
            let mut bad = s.clone();
            bad[i] ^= 0x01;
            assert!(
                !verify_raw(&alg, &pk, &m, b"", &bad),
                "{id}: bit flipped at {i}"
            );
        }

        let cert = Certificate::from_der(&field("x5c")).unwrap();
        let spki: &SubjectPublicKeyInfoOwned = cert.tbs_certificate().subject_public_key_info();
        assert_eq!(
            spki.subject_public_key.raw_bytes(),
            &pk[..],
            "{id}: x5c key"
        );
        self_verify(&cert).unwrap_or_else(|e| panic!("{id}: x5c self-signature: {e}"));
        // The signature value ends the certificate: flip a bit near its end.
        let mut der = cert.to_der().unwrap();
        let at = der.len() - 5;
        der[at] ^= 0x80;
        let tampered = Certificate::from_der(&der).unwrap();
        assert!(self_verify(&tampered).is_err(), "{id}: tampered x5c");

        // And through the SPKI path every CMS and X.509 verifier uses.
        let ai = spki.algorithm.clone();
        verify_signature(spki, &ai, None, &m, &s).unwrap_or_else(|e| panic!("{id}: {e}"));
    }
    assert_eq!(
        composites.len(),
        18,
        "every composite algorithm of the draft"
    );
}

fn read_pem(name: &str) -> Vec<u8> {
    let pem = std::fs::read_to_string(vectors().join("ml-dsa-certificates").join(name)).unwrap();
    der::pem::decode_vec(pem.as_bytes()).unwrap().1
}

#[test]
fn rfc9881_private_keys_load_in_all_three_forms() {
    for (level, n) in [
        (MlDsaLevel::L44, 44),
        (MlDsaLevel::L65, 65),
        (MlDsaLevel::L87, 87),
    ] {
        let public =
            SubjectPublicKeyInfoOwned::from_der(&read_pem(&format!("ML-DSA-{n}.pub"))).unwrap();
        assert_eq!(public.algorithm.oid, level.oid());
        for form in ["seed", "expanded", "both"] {
            let key = MlDsaKey::from_pkcs8_der(&read_pem(&format!("ML-DSA-{n}-{form}.priv")))
                .unwrap_or_else(|e| panic!("ML-DSA-{n}-{form}: {e}"));
            assert_eq!(key.level(), level);
            assert_eq!(
                key.public_key(),
                public.subject_public_key.raw_bytes(),
                "{n} {form}"
            );
            let sig = key.sign(b"kokuin", b"").unwrap();
            assert!(mldsa::verify(level, key.public_key(), b"kokuin", b"", &sig));
        }
        let cert = Certificate::from_pem(
            std::fs::read(vectors().join(format!("ml-dsa-certificates/ML-DSA-{n}.crt"))).unwrap(),
        )
        .unwrap();
        self_verify(&cert).unwrap_or_else(|e| panic!("ML-DSA-{n}.crt: {e}"));
    }
}

#[test]
fn rfc9881_inconsistent_keys_are_refused() {
    use kokuin_hsm::mldsa::MlDsaKeyError;
    let e1 = MlDsaKey::from_pkcs8_der(&read_pem("bad-ML-DSA-44-1.priv")).unwrap_err();
    assert_eq!(e1, MlDsaKeyError::SeedMismatch);
    for bad in ["bad-ML-DSA-44-2.priv", "bad-ML-DSA-44-3.priv"] {
        let e = MlDsaKey::from_pkcs8_der(&read_pem(bad)).unwrap_err();
        assert!(matches!(e, MlDsaKeyError::Inconsistent(_)), "{bad}: {e}");
    }
}

/// Appendix E step 3: load `sk_pkcs8` and sign anew; the published key verifies the result.
/// Kokuin signs with the ECDSA P-256/P-384 and RSA composites; the others are verify-only.
#[test]
fn composite_private_keys_sign_anew() {
    use kokuin_hsm::Signer;
    use kokuin_hsm::software::composite as software;
    let text = std::fs::read_to_string(vectors().join("composite-sigs/testvectors.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut signed = 0;
    for tc in doc["tests"].as_array().unwrap() {
        let id = tc["tcId"].as_str().unwrap();
        let Some(c) = CompositeId::from_name(id) else {
            continue;
        };
        if kokuin_hsm::SignatureAlgorithm::for_trad(c.spec().trad).is_none() {
            continue;
        }
        let sk = Base64::decode_vec(tc["sk_pkcs8"].as_str().unwrap()).unwrap();
        let pk = Base64::decode_vec(tc["pk"].as_str().unwrap()).unwrap();
        let signer = software::from_pkcs8_der(&sk, id).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(
            signer.public_key().subject_public_key.raw_bytes(),
            &pk[..],
            "{id}"
        );
        let sig = signer.sign(b"kokuin").unwrap();
        assert!(composite::verify(c, &pk, b"kokuin", b"", &sig), "{id}");
        let sig = signer.sign_with_context(b"kokuin", b"ctx").unwrap();
        assert!(composite::verify(c, &pk, b"kokuin", b"ctx", &sig), "{id}");
        signed += 1;
    }
    assert_eq!(signed, 12, "4 ECDSA P-256/P-384 + 8 RSA composites");
}

#[test]
fn generated_composite_keys_round_trip() {
    use kokuin_hsm::Signer;
    use kokuin_hsm::software::composite as software;
    let id = CompositeId::from_name("MLDSA65-ECDSA-P256-SHA512").unwrap();
    let (signer, der) = software::generate(id, "t").unwrap();
    let back = software::from_pkcs8_der(&der, "t").unwrap();
    assert_eq!(back.public_key(), signer.public_key());
    let sig = back.sign(b"m").unwrap();
    let spki = signer.public_key();
    verify_signature(spki, &spki.algorithm, None, b"m", &sig).unwrap();
}
