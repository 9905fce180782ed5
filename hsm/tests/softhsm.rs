//! The PKCS #11 suite (`token/mod.rs`) against SoftHSM2 (Debian `softhsm2`), a fresh token per
//! test in a temporary directory. The README's test command installs SoftHSM2; without it
//! these tests fail, they are not skipped.

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
        unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
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
