//! The key lifecycle through `kokuin keys`, and rotation without downtime: a new key takes
//! over under concurrent load with no failed request, tokens before and after carry the old
//! and the new certificate, and all verify.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use der::Encode;
use kokuin_testkit as common;
use kokuin_tsa::{ParsedResponse, TimeStampToken, VerifyOptions};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

fn tsq(i: u64) -> Vec<u8> {
    let mut d = [0u8; 32];
    d[..8].copy_from_slice(&i.to_be_bytes());
    kokuin_tsa::request::build_request(kokuin_hsm::DigestAlgorithm::Sha256, &d, None, None, true)
        .unwrap()
        .to_der()
        .unwrap()
}

/// The DER certificate that signs a token the server issues now.
fn signer_now(srv: &Server, i: u64) -> Option<Vec<u8>> {
    let r = tsa_post(&agent(None), &srv.http, &tsq(i));
    let token = ParsedResponse::from_der(&r.body).ok()?.into_token().ok()?;
    TimeStampToken::from_der(&token)
        .ok()?
        .certificates()
        .first()?
        .to_der()
        .ok()
}

/// Polls until `cond` holds, 30 s at most: the server follows the keyring by itself.
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn keys(args: &[&str]) -> (bool, String) {
    let mut a = vec!["keys"];
    a.extend_from_slice(args);
    let o = kokuin(&a);
    (o.status.success(), text(&o))
}

#[test]
fn rotation_under_load_fails_no_request() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = Server::dev(&state);
    let config = state.join("kokuin.toml");
    let c = config.to_str().unwrap();
    let stop = AtomicBool::new(false);
    let issued = AtomicUsize::new(0);
    let old = signer_now(&srv, 1 << 40).unwrap();
    let tokens: Vec<Vec<u8>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4u64)
            .map(|w| {
                let (url, stop, issued) = (&srv.http, &stop, &issued);
                s.spawn(move || {
                    let ag = agent(None);
                    let mut got = Vec::new();
                    let mut i = w << 32;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        let r = tsa_post(&ag, url, &tsq(i));
                        assert_eq!(r.status, 200);
                        let p = ParsedResponse::from_der(&r.body).unwrap();
                        assert!(
                            p.granted(),
                            "request failed during rotation: {}",
                            p.describe_status()
                        );
                        got.push(p.into_token().unwrap());
                        issued.fetch_add(1, Ordering::Relaxed);
                    }
                    got
                })
            })
            .collect();
        wait_until("load before the rotation", || {
            issued.load(Ordering::Relaxed) >= 100
        });
        let (ok, out) = keys(&["rotate", "--config", c]);
        assert!(ok, "{out}");
        wait_until("the new key in force", || {
            signer_now(&srv, 1 << 41).is_some_and(|s| s != old)
        });
        // And load after the switch, on every worker's connection.
        let at_switch = issued.load(Ordering::Relaxed);
        wait_until("load after the rotation", || {
            issued.load(Ordering::Relaxed) >= at_switch + 200
        });
        stop.store(true, Ordering::Relaxed);
        workers
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let root = kokuin_certs::pem::load_certificates(&srv.root()).unwrap();
    let mut signers = std::collections::BTreeSet::new();
    for t in &tokens {
        let t = TimeStampToken::from_der(t).unwrap();
        let v = t
            .verify(&VerifyOptions {
                trust_anchors: &root,
                ..Default::default()
            })
            .unwrap();
        signers.insert(v.chain[0].to_der().unwrap());
    }
    assert_eq!(
        signers.len(),
        2,
        "tokens from {} keys; expected old and new",
        signers.len()
    );
    // The new key is the one in force now, and in /tsa/certs.
    let pem = get(&agent(None), &format!("{}/tsa/certs", srv.base())).body;
    let served = kokuin_certs::pem::parse_certificates(&pem).unwrap();
    let last = TimeStampToken::from_der(tokens.last().unwrap()).unwrap();
    assert_eq!(last.certificates()[0], served[0]);
    let (ok, out) = keys(&["list", "--config", c]);
    assert!(
        ok && out.matches(": active").count() == 4 && out.contains("(in force: "),
        "{out}"
    );
    assert!(
        out.contains("under dual control: 2 of 3 officers (officer-1, officer-2, officer-3)"),
        "{out}"
    );
    // Each change is in the audit log.
    drop(srv);
    let audit = std::fs::read_to_string(
        kokuin_audit::segment::list(&state.join("audit"))
            .unwrap()
            .pop()
            .unwrap(),
    )
    .unwrap();
    assert!(
        audit.contains("\"type\":\"key.lifecycle\"") && audit.contains("in force"),
        "no key.lifecycle record"
    );
}

#[test]
fn generate_csr_install_rotate_retire_destroy() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = Server::dev(&state);
    let config = state.join("kokuin.toml");
    let c = config.to_str().unwrap();
    let (ok, out) = keys(&[
        "generate", "--config", c, "--name", "tsu-2027", "--type", "p384",
    ]);
    assert!(ok, "{out}");
    // Not certified yet: cannot be put in force.
    let (ok, out) = keys(&["rotate", "--config", c, "--name", "tsu-2027"]);
    assert!(!ok && out.contains("no certificate"), "{out}");
    let csr_path = dir.path().join("tsu-2027.csr");
    let (ok, out) = keys(&[
        "csr",
        "--config",
        c,
        "--name",
        "tsu-2027",
        "--subject",
        "CN=Kokuin TSU 2027,O=Kokuin Development,C=JP",
        "-o",
        csr_path.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    // The CA: checks proof of possession, certifies the requested key.
    let now = std::time::SystemTime::now();
    let issue = |kind| common::ceremony::certify(&state, &csr_path, kind);
    let wrong = dir.path().join("wrong.pem");
    std::fs::write(
        &wrong,
        kokuin_certs::pem::to_pem_chain(&[issue(kokuin_certs::CertKind::TlsClient)]).unwrap(),
    )
    .unwrap();
    let (ok, out) = keys(&[
        "install-cert",
        "--config",
        c,
        "--name",
        "tsu-2027",
        "--cert",
        wrong.to_str().unwrap(),
    ]);
    assert!(!ok && out.contains("extendedKeyUsage"), "{out}");
    let other_key = state.join("pki/tsu.pem");
    let (ok, out) = keys(&[
        "install-cert",
        "--config",
        c,
        "--name",
        "tsu-2027",
        "--cert",
        other_key.to_str().unwrap(),
    ]);
    assert!(!ok && out.contains("another key"), "{out}");
    let good = dir.path().join("good.pem");
    let cert = issue(kokuin_certs::CertKind::TimeStamping {
        key_usage_until: now + Duration::from_secs(86_400 * 365),
    });
    std::fs::write(
        &good,
        kokuin_certs::pem::to_pem_chain(std::slice::from_ref(&cert)).unwrap(),
    )
    .unwrap();
    let (ok, out) = keys(&[
        "install-cert",
        "--config",
        c,
        "--name",
        "tsu-2027",
        "--cert",
        good.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let (ok, out) = keys(&["rotate", "--config", c, "--name", "tsu-2027"]);
    assert!(ok, "{out}");
    // The server switches: tokens now carry the new certificate.
    let new = cert.to_der().unwrap();
    wait_until("tsu-2027 in force", || {
        signer_now(&srv, 1 << 42).is_some_and(|s| s == new)
    });
    let r = tsa_post(&agent(None), &srv.http, &tsq(1));
    let t = TimeStampToken::from_der(
        &ParsedResponse::from_der(&r.body)
            .unwrap()
            .into_token()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(t.certificates()[0], cert);
    // Retiring the key in force leaves none: requests are refused, the service is not ready.
    let (ok, out) = keys(&["retire", "--config", c, "--name", "tsu-2027"]);
    assert!(ok, "{out}");
    let (ok, out) = keys(&["retire", "--config", c, "--name", "dev-tsu-1"]);
    assert!(ok, "{out}");
    wait_until("no key in force", || signer_now(&srv, 1 << 43).is_none());
    let p = ParsedResponse::from_der(&tsa_post(&agent(None), &srv.http, &tsq(2)).body).unwrap();
    assert!(
        !p.granted() && p.describe_status().contains("systemFailure"),
        "{}",
        p.describe_status()
    );
    let ready = get(&agent(None), &format!("{}/readyz", srv.base()));
    assert_eq!(ready.status, 503);
    // Destroy asks for confirmation; --yes skips it.
    let (ok, out) = keys(&["destroy", "--config", c, "--name", "tsu-2027", "--yes"]);
    assert!(ok, "{out}");
    assert!(!state.join("keys/tsu-2027.key").exists());
    let (ok, out) = keys(&["list", "--config", c]);
    assert!(ok && out.contains("tsu-2027: destroyed"), "{out}");
}
