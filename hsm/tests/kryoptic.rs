//! The PKCS #11 suite (`token/mod.rs`) against kryoptic, a PKCS #11 3.2 token written in Rust
//! with ML-DSA. `scripts/build-kryoptic` builds it (the README's test command runs it) and
//! exports KOKUIN_KRYOPTIC_MODULE; without the module these tests fail, they are not skipped.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

mod token;

use std::path::PathBuf;
use std::sync::OnceLock;
use token::TokenEnv;

/// Slots for the tests of this binary, one token each; kryoptic offers only configured slots.
const SLOTS: u32 = 8;

/// kryoptic reads $KRYOPTIC_CONF when the module is initialised: a SQLite store per slot in a
/// temporary directory.
fn env() -> &'static TokenEnv {
    static ENV: OnceLock<TokenEnv> = OnceLock::new();
    ENV.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut conf = String::new();
        for slot in 0..SLOTS {
            conf.push_str(&format!(
                "[[slots]]\nslot = {slot}\ndbtype = \"sqlite\"\ndbargs = \"{}\"\n\n",
                dir.path().join(format!("slot{slot}.sql")).display()
            ));
        }
        let path = dir.path().join("kryoptic.conf");
        std::fs::write(&path, conf).unwrap();
        // SAFETY: runs once, inside the OnceLock, before any thread loads the module; no other
        // code of this test process reads the environment concurrently.
        #[allow(unsafe_code)]
        // one of the two documented exceptions (Cargo.toml, [workspace.lints])
        unsafe {
            std::env::set_var("KRYOPTIC_CONF", &path)
        };
        let module = std::env::var("KOKUIN_KRYOPTIC_MODULE")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../target/kryoptic/release/libkryoptic_pkcs11.so")
            });
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

#[test]
fn mldsa_keys_in_the_token_sign_attest_and_compose() {
    token::mldsa_keys_in_the_token_sign_attest_and_compose(env());
}
