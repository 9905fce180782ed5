//! Post-quantum time-stamp tokens end to end: a dev server rotates to an ML-DSA-65 key (in
//! software, and generated non-extractable in kryoptic) and to a composite
//! ML-DSA-65 + ECDSA P-256 key; `kokuin verify` accepts the tokens and calls them quantum-safe,
//! and Python `cryptography` verifies the ML-DSA signature inside the token on its own.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use kokuin_testkit as common;
use std::path::Path;
use std::time::{Duration, Instant};

const MLDSA_VERIFY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/mldsa_verify.py");
const COMPOSITE_VERIFY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/interop/composite_verify.py"
);

/// `kokuin keys rotate --type KEY_TYPE` on the dev state: a new key, certified by the dev CA.
fn rotate(state: &Path, key_type: &str) {
    let o = dev_keys(state, &["rotate", "--type", key_type]);
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
        let v = verify_json(&tsr, &data, &srv.root(), None);
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

/// The token's signer certificate, signed attributes and signature, written to files in `dir`
/// for an independent verifier.
fn signed_parts(tsr: &Path, dir: &Path) -> [std::path::PathBuf; 3] {
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
    [cert, data, sig]
}

/// `script` (Python `cryptography`) accepts the token's signature, and refuses it with one
/// bit flipped at `flip`: the check is real.
fn python_verifies(script: &str, tsr: &Path, root: Option<&Path>, dir: &Path, flip: usize) {
    let [cert, data, sig] = signed_parts(tsr, dir);
    let mut args = vec![script, cert.to_str().unwrap()];
    args.extend(root.map(|r| r.to_str().unwrap()));
    args.extend([data.to_str().unwrap(), sig.to_str().unwrap()]);
    let o = run(&python(), &args);
    assert!(o.status.success(), "{}", text(&o));
    let mut bad = std::fs::read(&sig).unwrap();
    bad[flip] ^= 1;
    std::fs::write(&sig, bad).unwrap();
    let o = run(&python(), &args);
    assert!(!o.status.success(), "{}", text(&o));
}

/// The token's ML-DSA signature and its certificate, checked by `cryptography`.
fn cryptography_verifies(tsr: &Path, root: &Path, dir: &Path) {
    python_verifies(MLDSA_VERIFY, tsr, Some(root), dir, 100);
}

/// Both halves of the token's composite signature, checked by `cryptography`; the flipped
/// bit is in the ECDSA half, after the 3,309 octets of ML-DSA-65.
fn composite_halves_verify(tsr: &Path, dir: &Path) {
    python_verifies(COMPOSITE_VERIFY, tsr, None, dir, 3309 + 10);
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

/// With a token that has ML-DSA, dev mode keeps every policy's key in it, the composite's
/// two halves included; independent verifiers accept the tokens, and the composite rotates
/// and is destroyed half by half inside the token.
#[test]
fn every_policy_is_signed_by_keys_generated_in_kryoptic() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = serve_with_module(&state, &kryoptic());
    let ring = std::fs::read_to_string(state.join("state/keyring.toml")).unwrap();
    assert_eq!(ring.matches("backend = \"pkcs11\"").count(), 3, "{ring}");
    assert!(
        ring.contains("traditional_key = \"dev-tsu-composite.trad\""),
        "{ring}"
    );
    assert!(!state.join("keys/tsu-ml-dsa-65.key").exists());

    let v = token_for(&srv, Some(DEV_MLDSA_POLICY), dir.path(), "ml-dsa-65");
    assert_eq!(v["signature_algorithm_name"], "ml-dsa-65", "{v}");
    cryptography_verifies(&dir.path().join("ml-dsa-65.tsr"), &srv.root(), dir.path());
    let v = token_for(&srv, Some(DEV_COMPOSITE_POLICY), dir.path(), "composite");
    assert_eq!(
        v["signature_algorithm_name"], "mldsa65-ecdsa-p256-sha512",
        "{v}"
    );
    composite_halves_verify(&dir.path().join("composite.tsr"), dir.path());

    let o = dev_keys(&state, &["list"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("key=dev-tsu-composite + dev-tsu-composite.trad"),
        "{}",
        text(&o)
    );
    assert_eq!(
        text(&o)
            .matches("never extractable, generated in the token")
            .count(),
        3,
        "{}",
        text(&o)
    );

    // A new composite, both halves generated in the token, takes over its policy; the old
    // one is retired and destroyed, both halves (a missing half would fail the destroy).
    let before = srv.tsu_for(DEV_COMPOSITE_POLICY);
    let o = dev_keys(&state, &["rotate", "--policy", DEV_COMPOSITE_POLICY]);
    assert!(o.status.success(), "{}", text(&o));
    let deadline = Instant::now() + Duration::from_secs(10);
    while srv.tsu_for(DEV_COMPOSITE_POLICY) == before {
        assert!(
            Instant::now() < deadline,
            "the composite policy kept its key"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let v = token_for(&srv, Some(DEV_COMPOSITE_POLICY), dir.path(), "composite-2");
    assert_eq!(
        v["signature_algorithm_name"], "mldsa65-ecdsa-p256-sha512",
        "{v}"
    );
    composite_halves_verify(&dir.path().join("composite-2.tsr"), dir.path());
    for args in [
        &["retire", "--name", "dev-tsu-composite-1"][..],
        &["destroy", "--name", "dev-tsu-composite-1", "--yes"],
    ] {
        let o = dev_keys(&state, args);
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = dev_keys(
        &state,
        &["destroy", "--name", "dev-tsu-composite-1", "--yes"],
    );
    assert!(
        !o.status.success() && text(&o).contains("dev-tsu-composite.trad"),
        "a half survived: {}",
        text(&o)
    );

    // The default policy moves to ML-DSA-65, generated in the token.
    rotate(&state, "ml-dsa-65");
    let v = request_until(&srv, "ml-dsa-65", dir.path());
    assert_eq!(v["quantum_safe"], true, "{v}");
    assert!(srv.stop().success());
}

/// A token for `policy` (none: the default), checked against its request by `kokuin verify`.
fn token_for(srv: &Server, policy: Option<&str>, dir: &Path, name: &str) -> serde_json::Value {
    let data = dir.join("invoice.xml");
    std::fs::write(&data, b"<invoice>side by side</invoice>\n").unwrap();
    let tsr = dir.join(format!("{name}.tsr"));
    let mut args = vec!["request", data.to_str().unwrap(), "--url", &srv.http];
    args.extend(["--cert-req", "-o", tsr.to_str().unwrap()]);
    if let Some(p) = policy {
        args.extend(["--policy", p]);
    }
    let o = kokuin(&args);
    assert!(o.status.success(), "{}", text(&o));
    verify_json(&tsr, &data, &srv.root(), Some(&tsr.with_extension("tsq")))
}

#[test]
fn classical_ml_dsa_and_composite_policies_run_side_by_side() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = Server::dev(&state);
    let a = agent(None);

    let r = get(&a, &format!("{}/tsa/policies", srv.base()));
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "application/json")
    );
    let list: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let rows: Vec<(String, String, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["oid"].as_str().unwrap().to_string(),
                p["algorithm"].as_str().unwrap().to_string(),
                p["quantum_safe"].as_bool().unwrap(),
            )
        })
        .collect();
    let want = [
        (DEV_POLICY, "ecdsa-sha256", false),
        (DEV_MLDSA_POLICY, "ml-dsa-65", true),
        (DEV_COMPOSITE_POLICY, "mldsa65-ecdsa-p256-sha512", true),
    ];
    let want: Vec<(String, String, bool)> = want
        .iter()
        .map(|(o, a, q)| (o.to_string(), a.to_string(), *q))
        .collect();
    assert_eq!(rows, want, "{list}");
    assert_eq!(list[0]["default"], true);

    // reqPolicy picks the key; no reqPolicy gets the default.
    for (policy, algorithm, pq) in [
        (None, "ecdsa-sha256", false),
        (Some(DEV_POLICY), "ecdsa-sha256", false),
        (Some(DEV_MLDSA_POLICY), "ml-dsa-65", true),
        (
            Some(DEV_COMPOSITE_POLICY),
            "mldsa65-ecdsa-p256-sha512",
            true,
        ),
    ] {
        let v = token_for(&srv, policy, dir.path(), algorithm);
        assert_eq!(v["signature_algorithm_name"], algorithm, "{v}");
        assert_eq!(v["policy"], policy.unwrap_or(DEV_POLICY), "{v}");
        assert_eq!(v["quantum_safe"], pq, "{v}");
    }
    cryptography_verifies(&dir.path().join("ml-dsa-65.tsr"), &srv.root(), dir.path());
    // The classical token still passes OpenSSL against its request.
    let tsr = dir.path().join("ecdsa-sha256.tsr");
    let (ok, out) = openssl_ts_verify(
        Against::Request(&tsr.with_extension("tsq")),
        &tsr,
        &srv.root(),
        None,
    );
    assert!(ok, "{out}");

    // Each policy's chain is served; an unknown policy is a 404, not the default's chain.
    let chain = |p: &str| get(&a, &format!("{}/tsa/certs?policy={p}", srv.base()));
    let ml = chain(DEV_MLDSA_POLICY);
    assert_eq!(ml.status, 200);
    assert_ne!(ml.body, chain(DEV_POLICY).body);
    assert_eq!(
        get(&a, &format!("{}/tsa/certs", srv.base())).body,
        chain(DEV_POLICY).body
    );
    assert_eq!(chain("2.25.1").status, 404);

    // Rotating the ML-DSA policy's key replaces like with like and leaves the others alone.
    let classical_before = chain(DEV_POLICY).body;
    let o = kokuin(&[
        "keys",
        "rotate",
        "--config",
        state.join("kokuin.toml").to_str().unwrap(),
        "--policy",
        DEV_MLDSA_POLICY,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let deadline = Instant::now() + Duration::from_secs(10);
    while chain(DEV_MLDSA_POLICY).body == ml.body {
        assert!(Instant::now() < deadline, "the ML-DSA policy kept its key");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(chain(DEV_POLICY).body, classical_before);
    let v = token_for(&srv, Some(DEV_MLDSA_POLICY), dir.path(), "rotated");
    assert_eq!(v["signature_algorithm_name"], "ml-dsa-65", "{v}");
    let r = get(&a, &format!("{}/readyz", srv.base()));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(srv.stop().success());
}
