//! The token-neutral PKCS #11 suite: every function runs against any token that offers the
//! mechanisms (SoftHSM2 in `softhsm.rs`, kryoptic in `kryoptic.rs`), which is how Kokuin
//! proves its backend is not tied to one vendor.
#![allow(dead_code)] // each test binary uses the part of the suite its token supports

use kokuin_hsm::pkcs11::{PinSource, Pkcs11Signer, Pkcs11Token, init_token};
use kokuin_hsm::{
    DigestAlgorithm, KeyType, SignError, SignatureAlgorithm, Signer, verify_signature,
};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const USER_PIN: &str = "1234";

/// A module and a directory holding the user PIN file (0600).
pub struct TokenEnv {
    pub dir: tempfile::TempDir,
    pub module: PathBuf,
}

impl TokenEnv {
    pub fn new(dir: tempfile::TempDir, module: PathBuf) -> Self {
        assert!(
            module.exists(),
            "PKCS #11 module {} is missing",
            module.display()
        );
        let pin = dir.path().join("pin");
        std::fs::write(&pin, format!("{USER_PIN}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pin, std::fs::Permissions::from_mode(0o600)).unwrap();
        Self { dir, module }
    }
}

pub fn token(e: &TokenEnv, label: &str) -> Arc<Pkcs11Token> {
    init_token(&e.module, label, "56781234", USER_PIN).unwrap();
    let pin = PinSource::File(e.dir.path().join("pin"));
    Arc::new(Pkcs11Token::open(&e.module, label, &pin).unwrap())
}

pub fn check_sign_verify(s: &dyn Signer) {
    let sig = s.sign(b"tbs").unwrap();
    let ai = s.algorithm().algorithm_identifier().unwrap();
    verify_signature(s.public_key(), &ai, None, b"tbs", &sig).unwrap();
    assert!(verify_signature(s.public_key(), &ai, None, b"tbz", &sig).is_err());
}

pub fn ecdsa_and_rsa_keys_generated_in_the_token_sign_and_attest(e: &TokenEnv) {
    let t = token(e, "kokuin-test-keys");
    let cases = [
        (KeyType::P256, None),
        (KeyType::P384, None),
        (
            KeyType::P256,
            Some(SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha512)),
        ),
        (
            KeyType::Rsa(2048),
            Some(SignatureAlgorithm::RsaPss(DigestAlgorithm::Sha256)),
        ),
        (
            KeyType::Rsa(2048),
            Some(SignatureAlgorithm::RsaPkcs1v15(DigestAlgorithm::Sha384)),
        ),
        (
            KeyType::Rsa(3072),
            Some(SignatureAlgorithm::RsaPss(DigestAlgorithm::Sha512)),
        ),
    ];
    for (i, (kt, alg)) in cases.into_iter().enumerate() {
        let label = format!("key-{i}");
        t.generate(&label, kt).unwrap();
        let s = Pkcs11Signer::new(t.clone(), &label, alg, 2).unwrap();
        assert_eq!(s.key_type(), kt);
        assert!(
            s.attestation().failures().is_empty(),
            "{:?}",
            s.attestation()
        );
        check_sign_verify(&s);
    }
    // The same label twice is refused; destroy removes both halves.
    assert!(t.generate("key-0", KeyType::P256).is_err());
    t.destroy("key-0").unwrap();
    assert!(Pkcs11Signer::new(t.clone(), "key-0", None, 1).is_err());
}

pub fn an_extractable_key_fails_attestation_by_name(e: &TokenEnv) {
    use cryptoki::mechanism::Mechanism;
    use cryptoki::object::Attribute;
    let t = token(e, "kokuin-test-extractable");
    let s = t.session().unwrap();
    let label = b"weak".to_vec();
    let params = der::Encode::to_der(&kokuin_hsm::algorithm::oid::SECP256R1).unwrap();
    s.generate_key_pair(
        &Mechanism::EccKeyPairGen,
        &[
            Attribute::Token(true),
            Attribute::Label(label.clone()),
            Attribute::EcParams(params),
        ],
        &[
            Attribute::Token(true),
            Attribute::Label(label),
            Attribute::Private(true),
            Attribute::Sensitive(false),
            Attribute::Extractable(true),
            Attribute::Sign(true),
        ],
    )
    .unwrap();
    let signer = Pkcs11Signer::new(t, "weak", None, 1).unwrap();
    let f = signer.attestation().failures();
    assert!(f.contains(&"CKA_EXTRACTABLE is true"), "{f:?}");
    assert!(f.contains(&"CKA_SENSITIVE is false"), "{f:?}");
    assert!(
        f.iter().any(|x| x.starts_with("CKA_NEVER_EXTRACTABLE")),
        "{f:?}"
    );
}

pub fn lost_sessions_fail_fast_and_recover_within_a_second(e: &TokenEnv) {
    let t = token(e, "kokuin-test-recovery");
    t.generate("tsu", KeyType::P256).unwrap();
    let s = Arc::new(Pkcs11Signer::new(t, "tsu", None, 4).unwrap());
    check_sign_verify(s.as_ref());
    s.close_sessions();
    let lost_at = Instant::now();
    let mut failures = 0;
    let recovered = loop {
        let t0 = Instant::now();
        match s.sign(b"m") {
            Ok(_) => break lost_at.elapsed(),
            Err(SignError::Unavailable(_)) => failures += 1,
            Err(e) => panic!("{e}"),
        }
        // Failing is quick: a request never hangs on a lost token.
        assert!(
            t0.elapsed() < Duration::from_millis(600),
            "{:?}",
            t0.elapsed()
        );
        assert!(
            lost_at.elapsed() < Duration::from_secs(1),
            "no recovery within 1 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(recovered < Duration::from_secs(1));
    let _ = failures;
    // Concurrent signers after recovery all succeed.
    std::thread::scope(|sc| {
        for _ in 0..4 {
            let s = s.clone();
            sc.spawn(move || {
                for _ in 0..50 {
                    check_sign_verify(s.as_ref());
                }
            });
        }
    });
}

/// ML-DSA-65 generated non-extractable in the token signs (CKM_ML_DSA, hedged), attests like
/// any other key, and serves as the ML-DSA half of a composite whose ECDSA half is in the same
/// token: both halves in hardware, the composite verifies.
pub fn mldsa_keys_in_the_token_sign_attest_and_compose(e: &TokenEnv) {
    use kokuin_hsm::{CompositeId, CompositeSigner, MlDsaLevel};
    let t = token(e, "kokuin-test-mldsa");
    t.generate("mldsa", KeyType::MlDsa(MlDsaLevel::L65))
        .unwrap();
    let s = Pkcs11Signer::new(t.clone(), "mldsa", None, 2).unwrap();
    assert_eq!(s.key_type(), KeyType::MlDsa(MlDsaLevel::L65));
    assert_eq!(s.algorithm(), SignatureAlgorithm::MlDsa(MlDsaLevel::L65));
    assert!(
        s.attestation().failures().is_empty(),
        "{:?}",
        s.attestation()
    );
    check_sign_verify(&s);

    t.generate("ecdsa", KeyType::P256).unwrap();
    let id = CompositeId::from_name("MLDSA65-ECDSA-P256-SHA512").unwrap();
    let composite = CompositeSigner::new(
        id,
        Box::new(s.into_mldsa_component().unwrap()),
        Box::new(Pkcs11Signer::new(t, "ecdsa", None, 2).unwrap()),
        "both halves in the token",
    )
    .unwrap();
    assert_eq!(composite.backend(), kokuin_hsm::KeyBackend::Pkcs11);
    check_sign_verify(&composite);
}
