//! The e-seal service end to end on a dev server: seals from `kokuin seal` accepted by
//! OpenSSL and pyHanko, B-LT/B-LTA verified offline by `kokuin verify` (also after the signer
//! certificate expired), extension keeping the seal's bytes, refusals answered and audited,
//! a software key declared level 2 refused at start, and a 1 GiB document sealed in bounded
//! memory.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use kokuin_testkit as common;
use kokuin_testkit::seal_document as seal;
use std::path::Path;

const PYHANKO_CMS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/pyhanko_cms.py");

fn verify_json(
    seal: &Path,
    root: &Path,
    data: Option<&Path>,
    at: Option<&str>,
) -> (bool, serde_json::Value) {
    let mut args = vec![
        "verify",
        seal.to_str().unwrap(),
        "--trust",
        root.to_str().unwrap(),
        "--json",
    ];
    if let Some(d) = data {
        args.extend(["--data", d.to_str().unwrap()]);
    }
    if let Some(t) = at {
        args.extend(["--at", t]);
    }
    let o = kokuin(&args);
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    (o.status.success(), v)
}

fn audit_text(state: &Path) -> String {
    kokuin_audit::segment::list(&state.join("audit"))
        .unwrap()
        .iter()
        .map(|s| std::fs::read_to_string(s).unwrap())
        .collect()
}

#[test]
fn openssl_pyhanko_and_kokuin_accept_seals() {
    let dir = tempdir();
    let srv = Server::dev(dir.path());
    let doc = dir.path().join("invoice.xml");
    std::fs::write(
        &doc,
        b"<Invoice><ID>INV-1</ID><Total>11000</Total></Invoice>\n",
    )
    .unwrap();
    let other = dir.path().join("other.xml");
    std::fs::write(
        &other,
        b"<Invoice><ID>INV-1</ID><Total>99000</Total></Invoice>\n",
    )
    .unwrap();
    let root = srv.root();
    for level in ["B-B", "B-T"] {
        let detached = seal(&srv, &doc, level, false);
        let (ok, out) = openssl_cms_verify(&detached, &root, Some(&doc));
        assert!(ok, "openssl cms -verify {level} detached: {out}");
        let (ok, _) = openssl_cms_verify(&detached, &root, Some(&other));
        assert!(!ok, "openssl accepted a {level} seal over other data");
        let enveloping = seal(&srv, &doc, level, true);
        let (ok, out) = openssl_cms_verify(&enveloping, &root, None);
        assert!(ok, "openssl cms -verify {level} enveloping: {out}");
    }
    // pyHanko: the B-T seal and its signature time-stamp, trusted through the dev root.
    let bt = doc.with_extension("B-T.p7s");
    let py = |data: &Path| {
        run(
            &python(),
            &[
                PYHANKO_CMS,
                bt.to_str().unwrap(),
                root.to_str().unwrap(),
                data.to_str().unwrap(),
            ],
        )
    };
    let o = py(&doc);
    let out = text(&o);
    assert!(o.status.success() && out.contains("PYHANKO-OK"), "{out}");
    assert!(
        out.contains("signature time-stamp: intact=True valid=True trusted=True"),
        "{out}"
    );
    assert!(!py(&other).status.success(), "pyHanko accepted other data");

    // The dev CA's CRL, as published and as B-LT seals carry it, reads in OpenSSL.
    let crls = get(
        &agent(Some(&root)),
        &format!("{}/eseal/v1/crls", srv.https.trim_end_matches("/tsa")),
    );
    assert_eq!(crls.status, 200);
    let crl_path = dir.path().join("root.crl");
    std::fs::write(&crl_path, &crls.body).unwrap();
    let o = run(
        "openssl",
        &[
            "crl",
            "-noout",
            "-in",
            crl_path.to_str().unwrap(),
            "-CAfile",
            root.to_str().unwrap(),
        ],
    );
    assert!(
        o.status.success() && text(&o).contains("verify OK"),
        "{}",
        text(&o)
    );
    // kokuin verify reports what an auditor needs.
    let lt = seal(&srv, &doc, "B-LT", false);
    let (ok, v) = verify_json(&lt, &root, Some(&doc), None);
    assert!(ok, "{v}");
    assert_eq!(v["level"], "B-LT");
    assert_eq!(v["assurance_level"], 1);
    assert_eq!(v["corporate_number"], "7123456789012");
    assert_eq!(v["organization"], "Kokuin Development");
    assert_eq!(v["signature_timestamps"].as_array().unwrap().len(), 1);
    let (ok, _) = verify_json(&lt, &root, Some(&other), None);
    assert!(!ok);
}

#[test]
fn lta_verifies_after_the_signer_certificate_expired() {
    let dir = tempdir();
    let srv = Server::dev(dir.path());
    let doc = dir.path().join("receipt.txt");
    std::fs::write(&doc, b"receipt 42\n").unwrap();
    let root = srv.root();
    let bb = seal(&srv, &doc, "B-B", false);
    let lta = seal(&srv, &doc, "B-LTA", false);
    // The dev seal certificate lasts two years, the TSU certificate four: three years on,
    // the signer has expired but the time-stamps still vouch for when it sealed.
    let later = humantime::format_rfc3339_seconds(
        std::time::SystemTime::now() + std::time::Duration::from_secs(3 * 365 * 86_400),
    )
    .to_string();
    let (ok, v) = verify_json(&lta, &root, Some(&doc), Some(&later));
    assert!(ok, "{v}");
    assert_eq!(v["level"], "B-LTA");
    assert_eq!(v["archive_timestamps"].as_array().unwrap().len(), 1);
    let (ok, v) = verify_json(&bb, &root, Some(&doc), Some(&later));
    assert!(
        !ok,
        "a B-B seal verified after its certificate expired: {v}"
    );
    assert!(v["error"].as_str().unwrap().contains("expired"), "{v}");

    // Extending the B-B seal over the API keeps every byte of its signer info.
    let agent = client_agent(&srv);
    let digest = kokuin_hsm::DigestAlgorithm::Sha256.digest(b"receipt 42\n");
    let hexd: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let base = srv.https.trim_end_matches("/tsa");
    let r = post(
        &agent,
        &format!("{base}/eseal/v1/extend?level=B-LTA&digest={hexd}"),
        "application/pkcs7-signature",
        &std::fs::read(&bb).unwrap(),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let extended = dir.path().join("extended.p7s");
    std::fs::write(&extended, &r.body).unwrap();
    let (ok, v) = verify_json(&extended, &root, Some(&doc), Some(&later));
    assert!(ok, "{v}");
    assert_eq!(v["level"], "B-LTA");
    let bb_der = std::fs::read(&bb).unwrap();
    let before = kokuin_eseal::raw::RawSignedData::parse(&bb_der).unwrap();
    let after = kokuin_eseal::raw::RawSignedData::parse(&r.body).unwrap();
    assert_eq!(before.signer.signed_attrs, after.signer.signed_attrs);
    assert_eq!(before.signer.signature, after.signer.signature);
    assert!(after.certificates.starts_with(&before.certificates));
    // Each of the service's own time-stamps is recorded as a client's is, before it is used:
    // the B-LTA seal's two and the extension's two.
    let log = audit_text(&srv.dir);
    let stamps = log
        .lines()
        .filter(|l| l.contains("\"token.issued\"") && l.contains("\"client\":\"eseal\""))
        .count();
    assert_eq!(stamps, 4, "{log}");
}

/// An HTTPS agent presenting the dev client certificate.
fn client_agent(srv: &Server) -> ureq::Agent {
    client_agent_in(&srv.dir)
}

/// Stops the dev server and restarts it on its configuration after `edit` changed it.
fn restart_with(srv: Server, edit: impl FnOnce(&Path, String) -> String) -> Server {
    let dir = srv.dir.clone();
    assert!(srv.stop().success());
    let cfg = dir.join("kokuin.toml");
    let text = edit(&dir, std::fs::read_to_string(&cfg).unwrap());
    std::fs::write(&cfg, text).unwrap();
    Server::spawn(
        &[
            "serve",
            "--config",
            cfg.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
            "--https",
            "127.0.0.1:0",
        ],
        &dir,
    )
}

#[test]
fn refusals_are_answered_and_audited() {
    let dir = tempdir();
    let srv = Server::dev(dir.path());
    let token = "kokuin-test-token-5b1f";
    let token_sha: String = kokuin_hsm::DigestAlgorithm::Sha256
        .digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // Another organisation's seal key on the same service, granted to nobody here.
    let srv = restart_with(srv, |state, cfg| {
        use kokuin_hsm::{KeyType, SoftwareSigner};
        let root_key = SoftwareSigner::load(&state.join("keys/root.key"), None, true).unwrap();
        let root = kokuin_certs::pem::load_certificates(&state.join("pki/root.pem"))
            .unwrap()
            .remove(0);
        let key = SoftwareSigner::generate(KeyType::P256, "other").unwrap();
        let now = std::time::SystemTime::now();
        let cert = kokuin_certs::dev::issue_eseal(
            &root,
            &root_key,
            &key,
            &kokuin_certs::eseal::SealSubject {
                country: "JP".into(),
                organization: "Other Trading KK".into(),
                organization_identifier: "NTRJP-7000012050002".into(),
                common_name: "Other Seal".into(),
            },
            kokuin_certs::oid::LEVEL_1_POLICY,
            (
                now - std::time::Duration::from_secs(60),
                now + std::time::Duration::from_secs(86_400),
            ),
            None,
        )
        .unwrap();
        key.write_pkcs8_pem(&state.join("keys/other.key")).unwrap();
        std::fs::write(
            state.join("pki/other.pem"),
            kokuin_certs::pem::to_pem_chain(&[cert]).unwrap(),
        )
        .unwrap();
        format!(
            "{cfg}\n[[eseal.keys]]\nname = \"other-seal\"\nlevel = 1\n\
             key = {{ backend = \"software\", path = \"keys/other.key\", certificate = \"pki/other.pem\" }}\n\n\
             [[eseal.clients]]\nname = \"token-client\"\ntoken_sha256 = \"{token_sha}\"\nkeys = [\"dev-seal\"]\n"
        )
    });
    let base = srv.https.trim_end_matches("/tsa").to_string();
    let url = |key: &str| format!("{base}/eseal/v1/seal?key={key}&level=B-B");
    let doc = b"document";
    // No credentials.
    let anonymous = agent(Some(&srv.root()));
    assert_eq!(
        post(
            &anonymous,
            &url("dev-seal"),
            "application/octet-stream",
            doc
        )
        .status,
        401
    );
    // A certificate from another PKI.
    let stranger_pki = kokuin_certs::dev::DevPki::generate(std::time::SystemTime::now()).unwrap();
    let stranger_dir = dir.path().join("stranger");
    std::fs::create_dir_all(stranger_dir.join("pki")).unwrap();
    std::fs::copy(srv.root(), stranger_dir.join("pki/root.pem")).unwrap();
    std::fs::write(
        stranger_dir.join("pki/client.pem"),
        kokuin_certs::pem::to_pem_chain(std::slice::from_ref(&stranger_pki.client)).unwrap(),
    )
    .unwrap();
    stranger_pki
        .client_key
        .write_pkcs8_pem(&stranger_dir.join("pki/client.key"))
        .unwrap();
    let stranger = client_agent_in(&stranger_dir);
    assert_eq!(
        post(&stranger, &url("dev-seal"), "application/octet-stream", doc).status,
        401
    );
    // The dev client: another organisation's key, an unknown key, its own key.
    let client = client_agent(&srv);
    assert_eq!(
        post(&client, &url("other-seal"), "application/octet-stream", doc).status,
        403
    );
    assert_eq!(
        post(
            &client,
            &url("no-such-key"),
            "application/octet-stream",
            doc
        )
        .status,
        404
    );
    let ok = post(&client, &url("dev-seal"), "application/octet-stream", doc);
    assert_eq!(ok.status, 200);
    assert_eq!(ok.content_type, "application/pkcs7-signature");
    // API tokens: the right one, a wrong one.
    let with_token = |t: &str| {
        let mut r = anonymous
            .post(&url("dev-seal"))
            .header("Authorization", format!("Bearer {t}"))
            .send(&doc[..])
            .unwrap();
        let _ = r.body_mut().read_to_vec();
        r.status().as_u16()
    };
    assert_eq!(with_token(token), 200);
    assert_eq!(with_token("guess"), 401);
    // Level 2 rules are per request too: a B-B seal from a level-1 key is fine, bad levels are 400.
    assert_eq!(
        post(
            &client,
            &format!("{base}/eseal/v1/seal?key=dev-seal&level=B-Z"),
            "application/octet-stream",
            doc
        )
        .status,
        400
    );
    let state = srv.dir.clone();
    assert!(srv.stop().success());
    let lines = audit_lines(&state);
    assert_eq!(refused(&lines, "auth.failure", "401 seal"), 3, "{lines:#?}");
    assert_eq!(refused(&lines, "seal.refused", "403 seal"), 1, "{lines:#?}");
    assert_eq!(refused(&lines, "seal.refused", "404 seal"), 1, "{lines:#?}");
    assert_eq!(refused(&lines, "seal.refused", "400 seal"), 1, "{lines:#?}");
    let log = audit_text(&state);
    let count = |needle: &str| log.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(count("\"seal.issued\""), 2, "{log}");
}

#[test]
fn software_key_declared_level_2_refuses_to_start() {
    let dir = tempdir();
    let srv = Server::dev(dir.path());
    let state = srv.dir.clone();
    assert!(srv.stop().success());
    let cfg = state.join("kokuin.toml");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("level = 1", "level = 2");
    std::fs::write(&cfg, text).unwrap();
    let o = kokuin(&[
        "serve",
        "--config",
        cfg.to_str().unwrap(),
        "--http",
        "127.0.0.1:0",
    ]);
    let out = common::text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("seal key \"dev-seal\""), "{out}");
    assert!(out.contains("level-2-hsm-key"), "{out}");
    assert!(out.contains("refusing to start"), "{out}");
}

#[test]
fn a_gibibyte_seals_in_bounded_memory() {
    let dir = tempdir();
    let srv = Server::dev(dir.path());
    let big = dir.path().join("archive.bin");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let s = seal(&srv, &big, "B-T", false);
    let status = std::fs::read_to_string(format!("/proc/{}/status", srv.pid())).unwrap();
    let hwm_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    println!(
        "server peak RSS after sealing 1 GiB: {} MiB",
        hwm_kib / 1024
    );
    assert!(hwm_kib < 100 * 1024, "peak RSS {hwm_kib} KiB");
    let (ok, v) = verify_json(&s, &srv.root(), Some(&big), None);
    assert!(ok, "{v}");
    assert_eq!(v["level"], "B-T");
}

/// A level-2 seal key: generated non-extractable in SoftHSM2, certified with the level-2
/// policy, chaining to a CA marked accredited. Without the accredited CA the service refuses
/// to start naming the rule; with it, it seals at B-T and refuses B-B.
#[test]
fn level_2_key_in_softhsm_seals_at_b_t_and_up() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let serve = [
        "serve",
        "--dev",
        "--state-dir",
        state.to_str().unwrap(),
        "--pkcs11-module",
        SOFTHSM2,
        "--http",
        "127.0.0.1:0",
        "--https",
        "127.0.0.1:0",
    ];
    let srv = Server::spawn(&serve, &state);
    assert!(srv.stop().success());
    let cfg = state.join("kokuin.toml");
    let keys = |args: &[&str]| {
        let o = dev_keys(&state, args);
        assert!(o.status.success(), "{}", text(&o));
    };
    keys(&["generate", "--name", "seal-l2", "--type", "p256"]);
    let csr_path = dir.path().join("seal.csr");
    keys(&[
        "csr",
        "--name",
        "seal-l2",
        "--subject",
        "CN=x",
        "-o",
        csr_path.to_str().unwrap(),
    ]);
    let csr = kokuin_certs::csr::parse_csr(&std::fs::read(&csr_path).unwrap()).unwrap();
    let root_key =
        kokuin_hsm::SoftwareSigner::load(&state.join("keys/root.key"), None, true).unwrap();
    let root = kokuin_certs::pem::load_certificates(&state.join("pki/root.pem"))
        .unwrap()
        .remove(0);
    let now = std::time::SystemTime::now();
    let cert = kokuin_certs::issue(
        &kokuin_certs::CertRequest {
            subject: kokuin_certs::dev::seal_subject("Kokuin Dev Seal L2")
                .to_name()
                .unwrap(),
            public_key: csr.info.public_key.clone(),
            not_before: now - std::time::Duration::from_secs(60),
            not_after: now + std::time::Duration::from_secs(365 * 86_400),
            kind: kokuin_certs::CertKind::ESeal {
                policy: kokuin_certs::oid::LEVEL_2_POLICY,
                crl_url: None,
            },
        },
        Some(&root),
        &root_key,
    )
    .unwrap();
    std::fs::write(
        state.join("pki/seal-l2.pem"),
        kokuin_certs::pem::to_pem_chain(&[cert]).unwrap(),
    )
    .unwrap();
    let token = "level-2-client-token";
    let token_sha: String = kokuin_hsm::DigestAlgorithm::Sha256
        .digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let text_cfg = std::fs::read_to_string(&cfg).unwrap()
        + &format!(
            "\n[[eseal.keys]]\nname = \"seal-l2\"\nlevel = 2\n\
             key = {{ backend = \"pkcs11\", module = \"{SOFTHSM2}\", token = \"kokuin-dev\", key = \"seal-l2\", \
             pin_file = \"keys/token.pin\", certificate = \"pki/seal-l2.pem\" }}\n\n\
             [[eseal.clients]]\nname = \"l2-client\"\ntoken_sha256 = \"{token_sha}\"\nkeys = [\"seal-l2\"]\n"
        );
    std::fs::write(&cfg, &text_cfg).unwrap();
    // No accredited CA configured: refused, naming the rule.
    let o = kokuin(&serve);
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("level-2-accredited-ca"), "{out}");
    assert!(
        !out.contains("level-2-hsm-key"),
        "the token key counts as an HSM key: {out}"
    );
    std::fs::write(
        &cfg,
        text_cfg.replace(
            "[eseal]\n",
            "[eseal]\naccredited_cas = [\"pki/root.pem\"]\n",
        ),
    )
    .unwrap();
    let srv = Server::spawn(&serve, &state);
    // An API token crosses only TLS.
    let base = srv.https.trim_end_matches("/tsa").to_string();
    let agent = agent(Some(&srv.root()));
    let post_level = |level: &str| {
        let mut r = agent
            .post(&format!("{base}/eseal/v1/seal?key=seal-l2&level={level}"))
            .header("Authorization", format!("Bearer {token}"))
            .send(&b"level two"[..])
            .unwrap();
        (
            r.status().as_u16(),
            r.body_mut().read_to_vec().unwrap_or_default(),
        )
    };
    assert_eq!(post_level("B-B").0, 400, "level 2 seals need at least B-T");
    let (status, seal) = post_level("B-T");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&seal));
    let doc = dir.path().join("doc");
    std::fs::write(&doc, b"level two").unwrap();
    let sp = dir.path().join("l2.p7s");
    std::fs::write(&sp, &seal).unwrap();
    let (ok, v) = verify_json(&sp, &srv.root(), Some(&doc), None);
    assert!(ok, "{v}");
    assert_eq!(v["assurance_level"], 2);
    assert_eq!(v["level"], "B-T");
}
