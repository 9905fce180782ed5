//! The PKCS #11 backend against a real token: SoftHSM2 (Debian `softhsm2`), a fresh token per
//! test in a temporary directory. The README's test command installs SoftHSM2; without it
//! these tests fail, they are not skipped.

use kokuin_hsm::pkcs11::{PinSource, Pkcs11Signer, Pkcs11Token, init_token};
use kokuin_hsm::{
    DigestAlgorithm, KeyType, SignError, SignatureAlgorithm, Signer, verify_signature,
};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const USER_PIN: &str = "1234";

struct Env {
    dir: tempfile::TempDir,
    module: PathBuf,
}

/// SoftHSM2 reads $SOFTHSM2_CONF when the module is first loaded: one token directory for
/// this test process, one token per test.
fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
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
        std::fs::write(dir.path().join("pin"), format!("{USER_PIN}\n")).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            let p = dir.path().join("pin");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        // SAFETY: runs once, inside the OnceLock, before any thread loads the module; no other
        // code of this test process reads the environment concurrently.
        unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
        let module = PathBuf::from(
            std::env::var("KOKUIN_SOFTHSM_MODULE")
                .unwrap_or_else(|_| "/usr/lib/softhsm/libsofthsm2.so".into()),
        );
        assert!(
            module.exists(),
            "SoftHSM2 is not installed at {} (apt-get install softhsm2)",
            module.display()
        );
        Env { dir, module }
    })
}

fn token(label: &str) -> Arc<Pkcs11Token> {
    let e = env();
    init_token(&e.module, label, "5678", USER_PIN).unwrap();
    let pin = PinSource::File(e.dir.path().join("pin"));
    Arc::new(Pkcs11Token::open(&e.module, label, &pin).unwrap())
}

fn check_sign_verify(s: &dyn Signer) {
    let sig = s.sign(b"tbs").unwrap();
    let ai = s.algorithm().algorithm_identifier().unwrap();
    verify_signature(s.public_key(), &ai, None, b"tbs", &sig).unwrap();
    assert!(verify_signature(s.public_key(), &ai, None, b"tbz", &sig).is_err());
}

#[test]
fn ecdsa_and_rsa_keys_generated_in_the_token_sign_and_attest() {
    let t = token("kokuin-test-keys");
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

#[test]
fn an_extractable_key_fails_attestation_by_name() {
    use cryptoki::mechanism::Mechanism;
    use cryptoki::object::Attribute;
    let t = token("kokuin-test-extractable");
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

#[test]
fn lost_sessions_fail_fast_and_recover_within_a_second() {
    let t = token("kokuin-test-recovery");
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
