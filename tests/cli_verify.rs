//! `kokuin request`, `verify` and `inspect` as an auditor uses them: exit 0 only for a valid
//! token, and a precise reason for each way a token can fail.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use der::Encode;
use kokuin_certs::dev::{DevPki, issue_tsu};
use kokuin_certs::pem::{load_certificates, to_pem_chain};
use kokuin_hsm::{DigestAlgorithm, KeyType, SoftwareSigner};
use kokuin_testkit as common;
use kokuin_tsa::asn1::{GenTime, TstInfo};
use kokuin_tsa::request::build_request;
use kokuin_tsa::token::TokenSigner;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

fn verify(args: &[&str]) -> (i32, String) {
    let mut a = vec!["verify"];
    a.extend_from_slice(args);
    let o = kokuin(&a);
    (o.status.code().unwrap_or(-1), text(&o))
}

#[test]
fn verify_accepts_valid_tokens_and_names_each_failure() {
    let dir = tempdir();
    let w = dir.path();
    let srv = Server::dev(&w.join("state"));
    let data = w.join("invoice.xml");
    std::fs::write(&data, b"<Invoice><ID>42</ID></Invoice>\n").unwrap();
    let tsr = w.join("invoice.tsr");
    let root = srv.root();
    request_token(&srv.http, &data, &tsr);
    let tsq = w.join("invoice.tsq");
    let (t, r, q, d) = (
        tsr.to_str().unwrap(),
        root.to_str().unwrap(),
        tsq.to_str().unwrap(),
        data.to_str().unwrap(),
    );

    let (code, out) = verify(&[t, "--data", d, "--trust", r, "--request", q]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("VALID") && out.contains(DEV_POLICY), "{out}");
    let (code, out) = verify(&[t, "--data", d, "--trust", r, "--json"]);
    assert_eq!(code, 0);
    let j: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(j["valid"], true);
    assert_eq!(j["policy"], DEV_POLICY);
    // The verdict's fields (kokuin_eseal::verdict::Verdict), the page's script reads them.
    assert_eq!(j["kind"], "time-stamp token");
    for key in [
        "gen_time",
        "serial",
        "hash",
        "nonce",
        "accuracy",
        "signature_algorithm",
        "signature_algorithm_name",
        "quantum_safe",
        "chain",
        "certificate_validity",
    ] {
        assert!(j.get(key).is_some(), "no {key}: {out}");
    }
    assert!(
        j.get("error").is_none() && j.get("level").is_none(),
        "{out}"
    );

    // One changed byte in the data.
    let mut changed = std::fs::read(&data).unwrap();
    changed[10] ^= 0x01;
    let changed_path = w.join("changed.xml");
    std::fs::write(&changed_path, &changed).unwrap();
    let (code, out) = verify(&[t, "--data", changed_path.to_str().unwrap(), "--trust", r]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("message imprint does not match"), "{out}");
    // In plain words too, in English and in Japanese, before the detail.
    assert!(
        out.contains("This time-stamp is for another document") && out.contains("別の書類"),
        "{out}"
    );
    // Its verdict in JSON: judged (not bad input), with the reason; stdout holds only it.
    let o = kokuin(&[
        "verify",
        t,
        "--data",
        changed_path.to_str().unwrap(),
        "--trust",
        r,
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (&j["valid"], &j["bad_input"]),
        (&false.into(), &false.into()),
        "{j}"
    );
    assert!(j["error"].as_str().unwrap().contains("imprint"), "{j}");

    // A token for another digest.
    let other = DigestAlgorithm::Sha256.digest(b"another document");
    let hex: String = other.iter().map(|b| format!("{b:02x}")).collect();
    let (code, out) = verify(&[t, "--digest", &hex, "--trust", r]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("message imprint does not match"), "{out}");
    let (code, out) = verify(&[t, "--data", d, "--trust", r, "--json"]);
    assert_eq!(code, 0, "{out}");

    // A foreign trust anchor: the token is not proven wrong, the verifier lacks its root.
    // Cannot be verified (exit 2), saying what to supply.
    let foreign = DevPki::generate(SystemTime::now()).unwrap();
    let foreign_root = w.join("foreign.pem");
    std::fs::write(&foreign_root, to_pem_chain(&[foreign.root]).unwrap()).unwrap();
    let (code, out) = verify(&[t, "--data", d, "--trust", foreign_root.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("CANNOT BE VERIFIED") && out.contains("no issuer") && out.contains("--trust"),
        "{out}"
    );

    // A token without the TSA's certificate: cannot be verified until it is supplied.
    let bare = w.join("bare.tsr");
    let o = kokuin(&[
        "request",
        d,
        "--url",
        &srv.http,
        "-o",
        bare.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let b = bare.to_str().unwrap();
    let (code, out) = verify(&[b, "--data", d, "--trust", r]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("CANNOT BE VERIFIED") && out.contains("--untrusted"),
        "{out}"
    );
    let tsu = w.join("state/pki/tsu.pem");
    let (code, out) = verify(&[
        b,
        "--data",
        d,
        "--trust",
        r,
        "--untrusted",
        tsu.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");

    // A nonce mismatch against another request for the same data.
    let q2 = w.join("other.tsq");
    let o = run(
        "openssl",
        &[
            "ts",
            "-query",
            "-data",
            d,
            "-sha256",
            "-cert",
            "-out",
            q2.to_str().unwrap(),
        ],
    );
    assert!(o.status.success());
    let (code, out) = verify(&[
        t,
        "--data",
        d,
        "--trust",
        r,
        "--request",
        q2.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("nonce mismatch"), "{out}");
    let (code, out) = verify(&[
        t,
        "--data",
        d,
        "--trust",
        r,
        "--request",
        q2.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 1);
    let j: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(j["valid"], false);

    // A TSU certificate that had expired at genTime. No Kokuin server signs with one, so the
    // token is made here with the library, signed by the dev root's hierarchy.
    let state = w.join("state");
    let root_key = SoftwareSigner::load(&state.join("keys/root.key"), None, true).unwrap();
    let root_cert = load_certificates(&root).unwrap().remove(0);
    let old_key = SoftwareSigner::generate(KeyType::P256, "old").unwrap();
    let now = SystemTime::now();
    let expired = issue_tsu(
        &root_cert,
        &root_key,
        &old_key,
        "Expired TSU",
        now - Duration::from_secs(7200),
        now - Duration::from_secs(3600),
        now - Duration::from_secs(3600),
    )
    .unwrap();
    let req = build_request(
        DigestAlgorithm::Sha256,
        &DigestAlgorithm::Sha256.digest(&std::fs::read(&data).unwrap()),
        None,
        None,
        true,
    )
    .unwrap();
    let tst = TstInfo {
        version: der::asn1::Int::new(&[1]).unwrap(),
        policy: DEV_POLICY.parse().unwrap(),
        message_imprint: req.message_imprint,
        serial_number: der::asn1::Int::new(&[0x42]).unwrap(),
        gen_time: GenTime::from_system_time_millis(now).unwrap(),
        accuracy: None,
        ordering: None,
        nonce: None,
        tsa: None,
        extensions: None,
    };
    let token = TokenSigner::new(Arc::new(old_key), expired, &[])
        .unwrap()
        .sign(&tst.to_der().unwrap(), true)
        .unwrap();
    let expired_token = w.join("expired.token");
    std::fs::write(&expired_token, token).unwrap();
    let (code, out) = verify(&[expired_token.to_str().unwrap(), "--data", d, "--trust", r]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("had expired at"), "{out}");

    // A file that is no token at all: bad input, exit 2 with a reason, no panic.
    let (code, out) = verify(&[d, "--data", d, "--trust", r]);
    assert_eq!(code, 2, "{out}");
    assert!(!out.contains("panicked"), "{out}");

    // inspect reads both halves of the exchange.
    let o = kokuin(&["inspect", q]);
    assert!(
        o.status.success() && text(&o).contains("TimeStampReq"),
        "{}",
        text(&o)
    );
    let o = kokuin(&["inspect", t]);
    let s = text(&o);
    assert!(
        o.status.success() && s.contains("granted") && s.contains("signing-certificate-v2"),
        "{s}"
    );
}

/// `kokuin … | head` closes the pipe early: the command ends as a SIGPIPE'd process would
/// (exit 141), never with a panic, and never with success.
#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    let dir = tempdir();
    let q = dir.path().join("q.tsq");
    std::fs::write(&q, tsq(1)).unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = std::process::Command::new(common::kokuin_exe())
        .args(["inspect", q.to_str().unwrap()])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(o.status.code(), Some(141), "{stderr}");
}
