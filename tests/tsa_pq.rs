//! Post-quantum time-stamp tokens end to end: a dev server rotates to an ML-DSA-65 key (in
//! software, and generated non-extractable in kryoptic) and to a composite
//! ML-DSA-65 + ECDSA P-256 key; `kokuin verify` accepts the tokens and calls them quantum-safe,
//! and Python `cryptography` verifies the ML-DSA signature inside the token on its own.

mod common;
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

const MLDSA_VERIFY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/mldsa_verify.py");

/// `kokuin keys rotate --type KEY_TYPE` on the dev state: a new key, certified by the dev CA.
/// Token modules read their storage from the environment, as for the server.
fn rotate(state: &Path, key_type: &str) {
    let o = std::process::Command::new(KOKUIN)
        .args([
            "keys",
            "rotate",
            "--config",
            state.join("kokuin.toml").to_str().unwrap(),
        ])
        .args(["--type", key_type])
        .env("KRYOPTIC_CONF", state.join("hsm/kryoptic.conf"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

/// Requests tokens until one carries `algorithm` (the server follows the keyring within a
/// second); returns `kokuin verify --json` of it, saved as DIR/ALGORITHM.tsr.
fn request_until(srv: &Server, algorithm: &str, dir: &Path) -> serde_json::Value {
    let data = dir.join("invoice.xml");
    std::fs::write(&data, b"<invoice>post-quantum</invoice>\n").unwrap();
    let tsr = dir.join(format!("{algorithm}.tsr"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        request_token(&srv.http, &data, &tsr);
        let o = kokuin(&[
            "verify",
            tsr.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--trust",
            srv.root().to_str().unwrap(),
            "--json",
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        if v["signature_algorithm_name"] == algorithm {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not switch to {algorithm}: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The token's ML-DSA signature and its certificate, checked by `cryptography`.
fn cryptography_verifies(tsr: &Path, root: &Path, dir: &Path) {
    let bytes = std::fs::read(tsr).unwrap();
    let der = kokuin_tsa::ParsedResponse::from_der(&bytes)
        .unwrap()
        .into_token()
        .unwrap();
    let token = kokuin_tsa::TimeStampToken::from_der(&der).unwrap();
    let signer = &token.certificates()[0];
    let cert = dir.join("signer.pem");
    std::fs::write(
        &cert,
        kokuin_certs::pem::to_pem_chain(std::slice::from_ref(signer)).unwrap(),
    )
    .unwrap();
    let (data, sig) = (dir.join("signed.der"), dir.join("sig.bin"));
    std::fs::write(&data, token.signed_attributes_der()).unwrap();
    std::fs::write(&sig, token.signature_value()).unwrap();
    let args = [MLDSA_VERIFY, cert.to_str().unwrap(), root.to_str().unwrap()];
    let o = run(
        &python(),
        &[&args[..], &[data.to_str().unwrap(), sig.to_str().unwrap()]].concat(),
    );
    assert!(o.status.success(), "{}", text(&o));
    // And a tampered signature fails there too: the check is real.
    let mut bad = token.signature_value().to_vec();
    bad[100] ^= 1;
    std::fs::write(&sig, bad).unwrap();
    let o = run(
        &python(),
        &[&args[..], &[data.to_str().unwrap(), sig.to_str().unwrap()]].concat(),
    );
    assert!(!o.status.success(), "{}", text(&o));
}

#[test]
fn software_ml_dsa_and_composite_tokens_verify() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = Server::dev(&state);

    rotate(&state, "ml-dsa-65");
    let v = request_until(&srv, "ml-dsa-65", dir.path());
    assert_eq!(v["quantum_safe"], true, "{v}");
    assert_eq!(v["signature_algorithm"], "2.16.840.1.101.3.4.3.18", "{v}");
    cryptography_verifies(&dir.path().join("ml-dsa-65.tsr"), &srv.root(), dir.path());

    rotate(&state, "mldsa65-ecdsa-p256-sha512");
    let v = request_until(&srv, "mldsa65-ecdsa-p256-sha512", dir.path());
    assert_eq!(v["quantum_safe"], true, "{v}");
    assert_eq!(v["signature_algorithm"], "1.3.6.1.5.5.7.6.45", "{v}");
    // RFC 9882 / composite CMS: the digest is the algorithm's own (SHA-512 for both).
    assert!(srv.stop().success());
}

#[test]
fn ml_dsa_key_generated_in_kryoptic_signs_tokens() {
    let module = std::env::var("KOKUIN_KRYOPTIC_MODULE").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/kryoptic/release/libkryoptic_pkcs11.so"
        )
        .into()
    });
    assert!(
        Path::new(&module).exists(),
        "kryoptic is not built (scripts/build-kryoptic)"
    );
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = Server::spawn(
        &[
            "serve",
            "--dev",
            "--state-dir",
            state.to_str().unwrap(),
            "--pkcs11-module",
            &module,
            "--http",
            "127.0.0.1:0",
        ],
        &state,
    );
    rotate(&state, "ml-dsa-65");
    let ring = std::fs::read_to_string(state.join("state/keyring.toml")).unwrap();
    assert!(ring.matches("backend = \"pkcs11\"").count() >= 2, "{ring}");
    let v = request_until(&srv, "ml-dsa-65", dir.path());
    assert_eq!(v["quantum_safe"], true, "{v}");
    cryptography_verifies(&dir.path().join("ml-dsa-65.tsr"), &srv.root(), dir.path());
    let o = std::process::Command::new(KOKUIN)
        .args([
            "keys",
            "list",
            "--config",
            state.join("kokuin.toml").to_str().unwrap(),
        ])
        .env("KRYOPTIC_CONF", state.join("hsm/kryoptic.conf"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("ml-dsa-65"), "{}", text(&o));
}
