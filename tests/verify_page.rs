//! The verification page in a real browser (Debian's headless Chromium, driven by selenium;
//! `tests/interop/verify_page.py`): a B-LTA seal with its document shows valid with the
//! organisation and three times on the timeline; a changed document shows invalid with the
//! reason; what the server was sent holds no byte of either document. `POST /verify/v1`'s
//! answers to bad input, and `kokuin verify --ui`, are checked here directly. Screenshots of
//! the page are kept under `target/screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use base64::Engine;
use common::*;
use kokuin_testkit as common;
use serde_json::Value;
use std::io::BufRead;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/verify_page.py");

fn post_json(agent: &ureq::Agent, url: &str, body: &str) -> (u16, Value) {
    let r = post(agent, url, "application/json", body.as_bytes());
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    )
}

#[test]
fn a_person_verifies_a_sealed_invoice_in_the_browser() {
    let dir = tempdir();
    let w = dir.path();
    let state = w.join("state");
    let srv = Server::dev(&state);
    let doc = w.join("invoice.xml");
    // A marker no other byte sequence in the requests could contain by chance.
    let marker = hex::encode(rand_bytes());
    std::fs::write(
        &doc,
        format!("<Invoice id=\"{marker}\">\n  <Total>10800</Total>\n</Invoice>\n"),
    )
    .unwrap();
    let changed = w.join("invoice-changed.xml");
    std::fs::write(
        &changed,
        format!("<Invoice id=\"{marker}\">\n  <Total>99800</Total>\n</Invoice>\n"),
    )
    .unwrap();
    let seal = seal_document(&srv, &doc, "B-LTA", false);
    // A PDF invoice sealed at B-T, and the same with one letter of its text changed.
    let pdf = w.join("invoice.pdf");
    std::fs::write(
        &pdf,
        common::pdf::pdf_with_text(&format!("Invoice {marker}")),
    )
    .unwrap();
    let o = run(
        kokuin_exe(),
        &[
            "seal",
            pdf.to_str().unwrap(),
            "--format",
            "pades",
            "--url",
            srv.https.trim_end_matches("/tsa"),
            "--key",
            "dev-seal",
            "--client-cert",
            state.join("pki/client.pem").to_str().unwrap(),
            "--client-key",
            state.join("pki/client.key").to_str().unwrap(),
            "--ca",
            state.join("pki/root.pem").to_str().unwrap(),
            "-o",
            w.join("invoice-sealed.pdf").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let sealed_pdf = w.join("invoice-sealed.pdf");
    let mut changed_bytes = std::fs::read(&sealed_pdf).unwrap();
    let at = changed_bytes
        .windows(7)
        .position(|x| x == b"Invoice")
        .unwrap();
    changed_bytes[at] = b'J';
    let changed_pdf = w.join("invoice-changed.pdf");
    std::fs::write(&changed_pdf, &changed_bytes).unwrap();

    let shots = screenshot_dir();
    let o = run(
        &python(),
        &[
            SCRIPT,
            srv.base().as_str(),
            seal.to_str().unwrap(),
            doc.to_str().unwrap(),
            changed.to_str().unwrap(),
            shots.to_str().unwrap(),
            sealed_pdf.to_str().unwrap(),
            changed_pdf.to_str().unwrap(),
            &marker,
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let seen: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));

    let good = &seen["valid"];
    assert_eq!(good["verdict"], "valid", "{seen}");
    assert!(good["heading"].as_str().unwrap().contains("Valid"));
    assert_eq!(
        good["details"]["Organisation"],
        kokuin_certs::dev::ORGANIZATION,
        "{seen}"
    );
    assert!(
        good["details"]["Corporate number"]
            .as_str()
            .is_some_and(|n| n.len() == 13),
        "{seen}"
    );
    assert_eq!(good["details"]["CAdES level"], "B-LTA");
    let times: Vec<&str> = good["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|k| !k.starts_with("cert-"))
        .collect();
    assert_eq!(
        times.len(),
        3,
        "signing time, signature time-stamp, archive time-stamp: {times:?}"
    );
    for k in ["signing-time", "signature-timestamp", "archive-timestamp"] {
        assert!(times.contains(&k), "{k} on the timeline: {times:?}");
    }
    assert!(
        good["focused_verdict"].as_bool().unwrap(),
        "the verdict takes focus"
    );

    let bad = &seen["changed"];
    assert_eq!(bad["verdict"], "invalid", "{seen}");
    assert!(bad["heading"].as_str().unwrap().contains("Not valid"));
    assert!(
        bad["detail"].as_str().unwrap().contains("digest"),
        "the technical detail names the digest: {seen}"
    );
    // The sealed PDF: valid with its organisation, every signature listed; the changed one not
    // valid, saying which signature and why; the same on a phone.
    let pdf = &seen["pdf"]["valid"];
    assert_eq!(pdf["verdict"], "valid", "{seen}");
    assert_eq!(
        pdf["details"]["Organisation"],
        kokuin_certs::dev::ORGANIZATION,
        "{seen}"
    );
    assert!(
        pdf["details"]["Signature 1"]
            .as_str()
            .is_some_and(|s| s.starts_with("有効 / valid") && s.contains("B-T")),
        "{seen}"
    );
    assert_eq!(pdf["details"]["PAdES level (signature)"], "B-T", "{seen}");
    let changed = &seen["pdf"]["changed"];
    assert_eq!(changed["verdict"], "invalid", "{seen}");
    assert!(
        changed["reason"].as_str().unwrap().contains("Signature 1"),
        "{seen}"
    );
    assert_eq!(seen["pdf"]["phone"]["verdict"], "valid", "{seen}");
    for f in [
        "verify-page-valid.png",
        "verify-page-invalid.png",
        "verify-page-pdf.png",
        "verify-page-pdf-phone.png",
    ] {
        assert!(
            std::fs::metadata(shots.join(f)).unwrap().len() > 10_000,
            "{f}"
        );
    }
}

fn rand_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).unwrap();
    b
}

#[test]
fn the_verification_api_answers_bad_input_precisely() {
    let dir = tempdir();
    let srv = Server::dev(&dir.path().join("state"));
    let agent = agent(None);
    let url = format!("{}/verify/v1", srv.base());
    let doc = dir.path().join("d.txt");
    std::fs::write(&doc, b"a document\n").unwrap();
    let tsr = dir.path().join("d.tsr");
    request_token(&srv.http, &doc, &tsr);
    let token = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&tsr).unwrap());
    let sha256 = hex::encode(kokuin_hsm::DigestAlgorithm::Sha256.digest(b"a document\n"));

    // The same verdict as `kokuin verify --json`.
    let (status, v) = post_json(
        &agent,
        &url,
        &format!(r#"{{"evidence":"{token}","digests":{{"sha256":"{sha256}"}}}}"#),
    );
    assert_eq!(status, 200, "{v}");
    let cli = verify_json(&tsr, &doc, &srv.root(), None);
    assert_eq!(v, cli, "the page and the command line give one verdict");

    let other = hex::encode(kokuin_hsm::DigestAlgorithm::Sha256.digest(b"another\n"));
    let (status, v) = post_json(
        &agent,
        &url,
        &format!(r#"{{"evidence":"{token}","digests":{{"sha256":"{other}"}}}}"#),
    );
    assert_eq!((status, v["valid"].as_bool()), (200, Some(false)), "{v}");

    for (body, want, says) in [
        (
            format!(r#"{{"evidence":"{token}"}}"#),
            422,
            "sha256 digest is needed",
        ),
        (
            r#"{"evidence":"AAAA","digests":{}}"#.to_string(),
            422,
            "neither a time-stamp token",
        ),
        (r#"{"evidence":"!!"}"#.to_string(), 400, "evidence"),
        (
            r#"{"evidence":"AAAA","digests":{"md5":"00"}}"#.to_string(),
            400,
            "unknown algorithm",
        ),
        (
            format!(r#"{{"evidence":"{token}","digests":{{"sha256":"zz"}}}}"#),
            400,
            "not hexadecimal",
        ),
        (
            format!(r#"{{"evidence":"{token}","digests":{{"sha256":"00"}}}}"#),
            422,
            "octets",
        ),
        (
            r#"{"evidence":"AAAA","document":"x"}"#.to_string(),
            400,
            "unknown field",
        ),
        ("not json".to_string(), 400, "the request"),
    ] {
        let (status, v) = post_json(&agent, &url, &body);
        assert_eq!(status, want, "{body}: {v}");
        assert_eq!(v["bad_input"], true, "{body}: {v}");
        assert!(v["error"].as_str().unwrap().contains(says), "{body}: {v}");
    }
    let r = post(&agent, &url, "text/plain", b"{}");
    assert_eq!(r.status, 415);
    let big = format!(r#"{{"evidence":"{}"}}"#, "A".repeat(6 << 20));
    let (status, v) = post_json(&agent, &url, &big);
    assert_eq!(status, 413, "{v}");
    let head = text(&run(
        "curl",
        &[
            "-sS",
            "-D",
            "-",
            "-o",
            "/dev/null",
            &format!("{}/verify", srv.base()),
        ],
    ));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
}

#[test]
fn verify_ui_serves_the_page_on_loopback() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = Server::dev(&state);
    let doc = dir.path().join("d.txt");
    std::fs::write(&doc, b"offline\n").unwrap();
    let tsr = dir.path().join("d.tsr");
    request_token(&srv.http, &doc, &tsr);
    let root = srv.root();
    drop(srv);

    let o = kokuin(&[
        "verify",
        "--ui",
        "--listen",
        "0.0.0.0:0",
        "--trust",
        root.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2, "a page off loopback is refused: {}", text(&o));

    let mut child = std::process::Command::new(kokuin_exe())
        .args([
            "verify",
            "--ui",
            "--listen",
            "127.0.0.1:0",
            "--trust",
            root.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/verify"),
        "{line}"
    );
    let agent = agent(None);
    assert_eq!(get(&agent, &url).status, 200);
    let token = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&tsr).unwrap());
    let sha256 = hex::encode(kokuin_hsm::DigestAlgorithm::Sha256.digest(b"offline\n"));
    let (status, v) = post_json(
        &agent,
        &format!("{url}/v1"),
        &format!(r#"{{"evidence":"{token}","digests":{{"sha256":"{sha256}"}}}}"#),
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!((status, v["valid"].as_bool()), (200, Some(true)), "{v}");
}
