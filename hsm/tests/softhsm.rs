//! The PKCS #11 suite (`token/mod.rs`) against SoftHSM2 (Debian `softhsm2`), a fresh token per
//! test in a temporary directory. The README's test command installs SoftHSM2; without it
//! these tests fail, they are not skipped.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

mod token;

use std::path::PathBuf;
use std::sync::OnceLock;
use token::TokenEnv;

/// SoftHSM2 reads $SOFTHSM2_CONF when the module is first loaded: one token directory for
/// this test process, one token per test.
fn env() -> &'static TokenEnv {
    static ENV: OnceLock<TokenEnv> = OnceLock::new();
    ENV.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tokens")).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.path().join("tokens").display()
            ),
        )
        .unwrap();
        // SAFETY: runs once, inside the OnceLock, before any thread loads the module; no other
        // code of this test process reads the environment concurrently.
        #[allow(unsafe_code)]
        // one of the two documented exceptions (Cargo.toml, [workspace.lints])
        unsafe {
            std::env::set_var("SOFTHSM2_CONF", &conf)
        };
        let module = PathBuf::from(
            std::env::var("KOKUIN_SOFTHSM_MODULE")
                .unwrap_or_else(|_| "/usr/lib/softhsm/libsofthsm2.so".into()),
        );
        TokenEnv::new(dir, module)
    })
}

#[test]
fn ecdsa_and_rsa_keys_generated_in_the_token_sign_and_attest() {
    token::ecdsa_and_rsa_keys_generated_in_the_token_sign_and_attest(env());
}

#[test]
fn an_extractable_key_fails_attestation_by_name() {
    token::an_extractable_key_fails_attestation_by_name(env());
}

#[test]
fn lost_sessions_fail_fast_and_recover_within_a_second() {
    token::lost_sessions_fail_fast_and_recover_within_a_second(env());
}

/// No SoftHSM2 release implements ML-DSA: the token must say so, and Kokuin must refuse
/// cleanly rather than create something else.
#[test]
fn ml_dsa_generation_is_refused_by_a_token_without_it() {
    let t = token::token(env(), "kokuin-test-no-mldsa");
    let e = t
        .generate(
            "mldsa",
            kokuin_hsm::KeyType::MlDsa(kokuin_hsm::MlDsaLevel::L65),
        )
        .unwrap_err();
    assert!(e.to_string().contains("C_GenerateKeyPair"), "{e}");
}

/// The fallback for tokens without ML-DSA: a seed born in the token, out of it only wrapped
/// under a non-extractable AES key, unwrapped into locked memory where it signs. A changed
/// blob or another wrapping key fails.
#[test]
fn wrapped_ml_dsa_seed_signs_and_fails_when_tampered() {
    use cryptoki::object::{Attribute, AttributeType, ObjectClass};
    use kokuin_hsm::MlDsaLevel;
    use kokuin_hsm::pkcs11::wrapped::wrapped_mldsa_signer;
    let t = token::token(env(), "kokuin-test-wrapped");
    t.ensure_wrapping_key("kek").unwrap();
    t.ensure_wrapping_key("kek").unwrap(); // idempotent
    let s = t.session().unwrap();
    let kek = s
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(b"kek".to_vec()),
        ])
        .unwrap();
    assert_eq!(kek.len(), 1);
    let attrs = s
        .get_attributes(
            kek[0],
            &[AttributeType::Sensitive, AttributeType::Extractable],
        )
        .unwrap();
    assert!(attrs.contains(&Attribute::Sensitive(true)), "{attrs:?}");
    assert!(attrs.contains(&Attribute::Extractable(false)), "{attrs:?}");

    let blob = t.wrap_new_seed("kek").unwrap();
    assert_eq!(blob.len(), 40, "RFC 5649: 32 octets wrap to 40");
    let a = wrapped_mldsa_signer(&t, "kek", &blob, MlDsaLevel::L65, "pq").unwrap();
    token::check_sign_verify(&a);
    let b = wrapped_mldsa_signer(&t, "kek", &blob, MlDsaLevel::L65, "pq").unwrap();
    assert_eq!(
        kokuin_hsm::Signer::public_key(&a),
        kokuin_hsm::Signer::public_key(&b)
    );
    assert_ne!(
        blob,
        t.wrap_new_seed("kek").unwrap(),
        "a new seed each time"
    );

    let mut bad = blob.clone();
    bad[10] ^= 1;
    assert!(wrapped_mldsa_signer(&t, "kek", &bad, MlDsaLevel::L65, "pq").is_err());
    t.ensure_wrapping_key("other").unwrap();
    assert!(wrapped_mldsa_signer(&t, "other", &blob, MlDsaLevel::L65, "pq").is_err());
    assert!(wrapped_mldsa_signer(&t, "absent", &blob, MlDsaLevel::L65, "pq").is_err());
}

/// SoftHSM2's CKM_AES_KEY_WRAP_PAD is RFC 5649 (what PKCS #11 3.0 calls
/// CKM_AES_KEY_WRAP_KWP) for values whose length is a multiple of 8, as a 32-octet seed is:
/// the expected blob was computed by Python `cryptography`'s `aes_key_wrap_with_padding`
/// with RFC 5649 §6's KEK. (For other lengths SoftHSM2 2.6.1 first zero-pads the value to a
/// multiple of 8, so the RFC's 20- and 7-octet vectors do not come out; Kokuin wraps only
/// 32-octet seeds.)
#[test]
fn the_token_wraps_a_seed_as_rfc_5649_does() {
    use cryptoki::mechanism::Mechanism;
    use cryptoki::object::{Attribute, KeyType, ObjectClass};
    let t = token::token(env(), "kokuin-test-rfc5649");
    let s = t.session().unwrap();
    let hex = |h: &str| {
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect::<Vec<u8>>()
    };
    let secret = |class, key_type, value: Vec<u8>, extra: Attribute| {
        s.create_object(&[
            Attribute::Class(class),
            Attribute::KeyType(key_type),
            Attribute::Token(false),
            Attribute::Value(value),
            extra,
        ])
        .unwrap()
    };
    let kek = secret(
        ObjectClass::SECRET_KEY,
        KeyType::AES,
        hex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8"),
        Attribute::Wrap(true),
    );
    let seed = secret(
        ObjectClass::SECRET_KEY,
        KeyType::GENERIC_SECRET,
        (0u8..32).collect(),
        Attribute::Extractable(true),
    );
    let got = s.wrap_key(&Mechanism::AesKeyWrapPad, kek, seed).unwrap();
    assert_eq!(
        got,
        hex("fe6a0320617d94d5abcd3cadbb5a15ee23574ad2a6509b3f5a2b3b9d96fda766e6d1204253503895")
    );
}
