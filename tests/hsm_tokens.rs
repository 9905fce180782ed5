//! The TSA with its key in a real PKCS #11 token — SoftHSM2, and kryoptic to show the backend is
//! token-neutral: `kokuin serve --dev --pkcs11-module` creates the token under the state
//! directory; openssl and rfc3161-client verify its tokens; a key policy requiring an HSM key
//! refuses software and extractable keys, naming why.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use kokuin_testkit as common;

fn serve_hsm(state: &std::path::Path) -> Server {
    serve_with_module(state, SOFTHSM2)
}

#[test]
fn tokens_signed_in_softhsm_verify_and_the_key_policy_holds() {
    tokens_signed_in_the_token_verify(SOFTHSM2);
}

#[test]
fn tokens_signed_in_kryoptic_verify_and_the_key_policy_holds() {
    tokens_signed_in_the_token_verify(&kryoptic());
}

fn tokens_signed_in_the_token_verify(module: &str) {
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = serve_with_module(&state, module);
    let cfg = std::fs::read_to_string(state.join("kokuin.toml")).unwrap()
        + &std::fs::read_to_string(state.join("state/keyring.toml")).unwrap();
    assert!(
        cfg.contains("backend = \"pkcs11\"") && cfg.contains("require_hsm_key = true"),
        "{cfg}"
    );
    assert!(
        !state.join("keys/tsu.key").exists(),
        "a software TSU key was written"
    );
    // The audit key is in the token too, and still verifies the log.
    assert!(
        !state.join("keys/audit.key").exists()
            && cfg.contains("checkpoint = { backend = \"pkcs11\""),
        "{cfg}"
    );
    let data = dir.path().join("doc.txt");
    std::fs::write(&data, b"signed inside the HSM\n").unwrap();
    let root = srv.root();
    for (i, cert) in [true, false].into_iter().enumerate() {
        let out = dir.path().join(format!("t{i}.tsr"));
        let mut args = vec![
            "request",
            data.to_str().unwrap(),
            "--url",
            &srv.http,
            "-o",
            out.to_str().unwrap(),
        ];
        if cert {
            args.push("--cert-req");
        }
        let o = kokuin(&args);
        assert!(o.status.success(), "{}", text(&o));
        let tsq = out.with_extension("tsq");
        let tsu = srv.tsu();
        let untrusted = (!cert).then_some(tsu.as_path());
        let (ok, msg) = openssl_ts_verify(Against::Data(&data), &out, &root, untrusted);
        assert!(ok, "{msg}");
        let o = rfc3161_client_verify(&out, &tsq, &data, &root, untrusted);
        assert!(o.status.success(), "{}", text(&o));
    }
    assert!(srv.stop().success());

    // A second start reuses the token.
    let srv = serve_with_module(&state, module);
    let r = tsa_post(
        &agent(None),
        &srv.http,
        &std::fs::read(dir.path().join("t0.tsq")).unwrap(),
    );
    assert!(
        kokuin_tsa::ParsedResponse::from_der(&r.body)
            .unwrap()
            .granted()
    );
    srv.stop();
    // The log's checkpoints, signed in the token, verify with the audit certificate.
    let o = kokuin(&[
        "audit",
        "verify",
        state.join("audit").to_str().unwrap(),
        "--trust",
        state.join("pki/audit.pem").to_str().unwrap(),
    ]);
    assert!(
        o.status.success() && !text(&o).contains("no checkpoint"),
        "{}",
        text(&o)
    );

    // The policy refuses a software key…
    let pki_dir = dir.path().join("sw");
    let sw = pki_dir.join("software.toml");
    drop(Server::dev(&pki_dir));
    let sw_cfg = std::fs::read_to_string(pki_dir.join("kokuin.toml"))
        .unwrap()
        .replace("require_hsm_key = false", "require_hsm_key = true");
    std::fs::write(&sw, sw_cfg).unwrap();
    let o = kokuin(&[
        "serve",
        "--config",
        sw.to_str().unwrap(),
        "--http",
        "127.0.0.1:0",
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("require_hsm_key") && text(&o).contains("software key"),
        "{}",
        text(&o)
    );
}

#[test]
fn an_extractable_key_in_the_token_is_refused_by_name() {
    let dir = tempdir();
    let state = dir.path().join("state");
    drop(serve_hsm(&state));
    // Put an extractable, non-sensitive key into the dev token with OpenSC's pkcs11-tool,
    // then point the TSA at it.
    let conf = state.join("hsm/softhsm2.conf");
    let pin = std::fs::read_to_string(state.join("keys/token.pin")).unwrap();
    let o = std::process::Command::new("pkcs11-tool")
        .args([
            "--module",
            SOFTHSM2,
            "--token-label",
            "kokuin-dev",
            "--login",
            "--pin",
            pin.trim(),
            "--keypairgen",
            "--key-type",
            "EC:prime256v1",
            "--label",
            "weak",
            "--extractable",
        ])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("pkcs11-tool (Debian opensc; the README's test command installs it)");
    assert!(o.status.success(), "{}", text(&o));
    let weak = outside_dual_control(&state, "weak", |ring| {
        ring.replace("key = \"dev-tsu\"", "key = \"weak\"")
    });
    let o = std::process::Command::new(common::kokuin_exe())
        .args([
            "serve",
            "--config",
            weak.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
        ])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let t = text(&o);
    assert!(
        t.contains("CKA_EXTRACTABLE is true") && t.contains("refusing to start"),
        "{t}"
    );
}

/// The fallback for a token without ML-DSA (SoftHSM2): `keys rotate --type ml-dsa-65 --wrap`
/// keeps the seed wrapped under an AES key of the token. A configuration requiring HSM keys
/// refuses it; without that requirement it signs tokens `kokuin verify` accepts, and
/// `keys list` says what it is.
#[test]
fn a_wrapped_ml_dsa_seed_signs_only_where_hsm_keys_are_not_required() {
    let dir = tempdir();
    let state = dir.path().join("state");
    drop(serve_hsm(&state));
    let config = state.join("kokuin.toml");
    let keys = |args: &[&str]| dev_keys(&state, args);
    let o = keys(&["rotate", "--type", "ml-dsa-65", "--wrap"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("require_hsm_key refuses a wrapped key"),
        "{}",
        text(&o)
    );
    let relaxed = std::fs::read_to_string(&config)
        .unwrap()
        .replace("require_hsm_key = true", "require_hsm_key = false");
    std::fs::write(&config, relaxed).unwrap();
    let o = keys(&["rotate", "--type", "ml-dsa-65", "--wrap"]);
    assert!(o.status.success(), "{}", text(&o));

    let ring = std::fs::read_to_string(state.join("state/keyring.toml")).unwrap();
    let blob = ring
        .lines()
        .find_map(|l| l.strip_prefix("wrapped = "))
        .map(|v| state.join(v.trim_matches('"')))
        .unwrap_or_else(|| panic!("no wrapped key: {ring}"));
    assert_eq!(
        std::fs::read(&blob).unwrap().len(),
        40,
        "a 32-octet seed, wrapped"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&blob).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let o = keys(&["list"]);
    assert!(
        o.status.success() && text(&o).contains("wrapping key=kokuin-wrap"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("assurance level 1 only"), "{}", text(&o));

    let srv = serve_hsm(&state);
    let data = dir.path().join("doc.txt");
    std::fs::write(&data, b"post-quantum, seed wrapped in the HSM\n").unwrap();
    let tsr = dir.path().join("wrapped.tsr");
    request_token(&srv.http, &data, &tsr);
    let v = verify_json(&tsr, &data, &srv.root(), None);
    assert_eq!(v["signature_algorithm_name"], "ml-dsa-65", "{v}");
    assert!(srv.stop().success());

    // A composite for this token: the ECDSA half generated in it, the ML-DSA half wrapped.
    let o = keys(&["rotate", "--type", "mldsa65-ecdsa-p256-sha512", "--wrap"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = keys(&["list"]);
    let listed = text(&o);
    let composite = listed
        .split("\n")
        .find(|l| l.contains("backend:") && l.contains(".trad"))
        .unwrap_or_else(|| panic!("no composite: {listed}"));
    assert!(composite.contains("wrapping key=kokuin-wrap"), "{listed}");
    assert!(
        listed.matches("assurance level 1 only").count() >= 2,
        "{listed}"
    );
    let srv = serve_hsm(&state);
    request_token(&srv.http, &data, &tsr);
    let v = verify_json(&tsr, &data, &srv.root(), None);
    assert_eq!(
        v["signature_algorithm_name"], "mldsa65-ecdsa-p256-sha512",
        "{v}"
    );
    assert!(srv.stop().success());
}
