//! Issue #21, trust and evidence, against a running server and the CLI: extension verifies
//! the seal it is given, no seal leaves without a trusted time, a lost audit segment stops
//! issuance and the next start, the offline verifiers fail closed on inputs they cannot
//! read, and a BouncyCastle certReq FALSE is granted.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use kokuin_testkit as common;
use std::path::Path;

const SEAL_TYPE: &str = "application/pkcs7-signature";

/// A seal of `doc` from the dev server over the API.
fn seal_over_api(srv: &Server, doc: &[u8], level: &str, detached: bool) -> Vec<u8> {
    let base = srv.https.trim_end_matches("/tsa");
    let r = post(
        &client_agent_in(&srv.dir),
        &format!("{base}/eseal/v1/seal?key=dev-seal&level={level}&detached={detached}"),
        "application/octet-stream",
        doc,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.body
}

fn extend(srv: &Server, seal: &[u8], query: &str) -> Reply {
    let base = srv.https.trim_end_matches("/tsa");
    post(
        &client_agent_in(&srv.dir),
        &format!("{base}/eseal/v1/extend?{query}"),
        SEAL_TYPE,
        seal,
    )
}

/// Flips the last bit of the first occurrence of `needle` in `der`.
fn flip_in(der: &[u8], needle: &[u8]) -> Vec<u8> {
    let at = der
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle in the seal");
    let mut out = der.to_vec();
    out[at + needle.len() - 1] ^= 1;
    out
}

/// #21.1: a broken signature, changed content and a forged signature time-stamp are each
/// refused with the reason (422), audited as refused, and no seal.issued is written for them.
#[test]
fn extend_verifies_the_seal_first() {
    let dir = tempdir();
    let srv = Server::dev(dir.path());
    let doc = b"<Invoice><ID>INV-21</ID><Total>11000</Total></Invoice>\n";
    let digest = hex::encode(kokuin_hsm::DigestAlgorithm::Sha256.digest(doc));

    let bb = seal_over_api(&srv, doc, "B-B", true);
    let raw = kokuin_eseal::raw::RawSignedData::parse(&bb).unwrap();
    let broken_signature = flip_in(&bb, raw.signer.signature_value());
    let enveloping = seal_over_api(&srv, doc, "B-B", false);
    let changed_content = flip_in(&enveloping, b"<Total>11000");
    let bt = seal_over_api(&srv, doc, "B-T", true);
    // The signature time-stamp's genTime (GeneralizedTime, tag 0x18) moved by a second.
    let gen_time = bt
        .windows(3)
        .position(|w| w[0] == 0x18 && w[1] >= 15 && w[2] == b'2')
        .unwrap();
    let mut forged_stamp = bt.clone();
    forged_stamp[gen_time + 2 + 13] ^= 1;

    let cases: [(&str, &[u8], String); 4] = [
        (
            "broken signature",
            &broken_signature,
            format!("level=B-LTA&digest={digest}"),
        ),
        ("changed content", &changed_content, "level=B-T".into()),
        (
            "forged signature time-stamp",
            &forged_stamp,
            format!("level=B-LTA&digest={digest}"),
        ),
        (
            "another document's digest",
            &bb,
            format!("level=B-T&digest={}", "00".repeat(32)),
        ),
    ];
    for (what, seal, query) in &cases {
        let r = extend(&srv, seal, query);
        let body = String::from_utf8_lossy(&r.body);
        assert_eq!(r.status, 422, "{what}: {body}");
        assert!(body.contains("does not verify"), "{what}: {body}");
    }
    // A good seal is still extended, with or without the document's digest.
    assert_eq!(extend(&srv, &bb, "level=B-T").status, 200);
    let r = extend(&srv, &bt, &format!("level=B-LTA&digest={digest}"));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    let state = srv.dir.clone();
    assert!(srv.stop().success());
    let log = audit_lines(&state);
    assert_eq!(refused(&log, "seal.refused", "422 extend"), 4, "{log:#?}");
    let extended = log
        .iter()
        .filter(|l| l.contains("\"seal.issued\"") && l.contains("\"extend\""))
        .count();
    assert_eq!(extended, 2, "{log:#?}");
    // #21.18: a seal's time-stamps are recorded as /tsa's are, genTime included.
    let stamps: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("\"token.issued\"") && l.contains("\"eseal\""))
        .collect();
    assert!(!stamps.is_empty());
    assert!(
        stamps.iter().all(|l| l.contains("\"gen_time\":\"20")),
        "{stamps:#?}"
    );
}

/// #21.4: with a clock that cannot vouch, `/tsa` says timeNotAvailable and no seal of any
/// level is made, B-B included.
#[test]
fn no_seal_without_a_trusted_time() {
    let dir = tempdir();
    let state = dir.path().join("state");
    drop(Server::dev(&state));
    let prod = unmeetable_production_config(&state);
    let srv = Server::spawn(
        &[
            "serve",
            "--config",
            prod.to_str().unwrap(),
            "--https",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
        ],
        &state,
    );
    let base = srv.https.trim_end_matches("/tsa");
    let client = client_agent_in(&state);
    for level in ["B-B", "B-T", "B-LT", "B-LTA"] {
        for detached in ["true", "false"] {
            let r = post(
                &client,
                &format!("{base}/eseal/v1/seal?key=dev-seal&level={level}&detached={detached}"),
                "application/octet-stream",
                b"invoice",
            );
            let body = String::from_utf8_lossy(&r.body);
            assert_eq!(r.status, 503, "{level} detached={detached}: {body}");
            assert!(body.contains("clock"), "{body}");
        }
    }
}

/// #21.2: the active segment deleted under a running server: no token is granted into the
/// deleted file, /readyz turns 503, a restart refuses to begin a new chain and names the
/// missing records, and only `kokuin audit accept-loss` (recorded in the log) lets it start.
#[test]
fn a_deleted_audit_segment_stops_issuance_and_the_next_start() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let cfg = state.join("kokuin.toml");
    let args = [
        "serve",
        "--config",
        cfg.to_str().unwrap(),
        "--http",
        "127.0.0.1:0",
    ];
    let ag = agent(None);
    // A log with history: its stop published a checkpoint, and a tree checkpoint an auditor
    // kept.
    let srv = Server::dev(&state);
    assert!(granted(&tsa_post(&ag, &srv.http, &tsq(0))));
    assert!(srv.stop().success());
    let old_tree = dir.path().join("old.checkpoint");
    std::fs::copy(state.join("audit/checkpoint"), &old_tree).unwrap();
    let srv = Server::spawn(&args, &state);
    for i in 1..5 {
        assert!(granted(&tsa_post(&ag, &srv.http, &tsq(i))));
    }
    for seg in kokuin_audit::segment::list(&state.join("audit")).unwrap() {
        std::fs::remove_file(seg).unwrap();
    }
    for i in 5..10 {
        let r = tsa_post(&ag, &srv.http, &tsq(i));
        assert!(!granted(&r), "a token was granted into a deleted segment");
    }
    let ready = get(&ag, &format!("{}/readyz", srv.base()));
    assert_eq!(
        ready.status,
        503,
        "{}",
        String::from_utf8_lossy(&ready.body)
    );
    let _ = srv.stop();

    let cfg = state.join("kokuin.toml");
    let args = [
        "serve",
        "--config",
        cfg.to_str().unwrap(),
        "--http",
        "127.0.0.1:0",
    ];
    let o = std::process::Command::new(common::kokuin_exe())
        .args(args)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = text(&o);
    assert!(
        err.contains("are missing") && err.contains("accept-loss"),
        "{err}"
    );

    let audit = state.join("audit");
    let o = kokuin(&[
        "audit",
        "accept-loss",
        audit.to_str().unwrap(),
        "--reason",
        "",
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let o = kokuin(&[
        "audit",
        "accept-loss",
        audit.to_str().unwrap(),
        "--reason",
        "test: segment deleted on purpose",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let srv = Server::spawn(&args, &state);
    let data = dir.path().join("after.txt");
    std::fs::write(&data, b"after the loss").unwrap();
    let tsr = dir.path().join("after.tsr");
    request_token(&srv.http, &data, &tsr);
    let serial = verify_json(&tsr, &data, &srv.root(), None)["serial"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(srv.stop().success());
    let log = audit_lines(&state);
    let loss = kokuin_audit::Record::parse_line(&log[0]).unwrap();
    assert!(
        loss.kind == "log.loss" && log[0].contains("on purpose"),
        "{}",
        log[0]
    );
    // The numbering goes on after the published checkpoint: no lost record's number is
    // reused.
    let lost_to = loss.fields["lost_to"].as_u64().unwrap();
    assert_eq!(loss.seq, lost_to + 1);
    let trust = state.join("pki/audit.pem");
    let t = trust.to_str().unwrap();
    let a = audit.to_str().unwrap();
    let o = kokuin(&["audit", "verify", a, "--trust", t]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(
        text(&o).starts_with("VALID WITH FINDINGS")
            && text(&o).contains(&format!("records 0 to {lost_to} were lost"))
            && text(&o).contains("on purpose"),
        "{}",
        text(&o)
    );
    let o = kokuin(&["audit", "verify", a, "--trust", t, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["findings"][0]["finding"], "accepted loss", "{v}");
    assert_eq!(v["findings"][0]["lost_to"], lost_to, "{v}");
    // A token after the loss is provable in the new tree epoch, whose origin is its own; the
    // tree from before cannot be extended across the loss, and says why.
    let proof = dir.path().join("after.tlog-proof");
    let o = kokuin(&[
        "audit",
        "prove",
        a,
        "--serial",
        &serial,
        "-o",
        proof.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(
        text(&o).contains(&format!("/from-{}", loss.seq)),
        "{}",
        text(&o)
    );
    let p = proof.to_str().unwrap();
    let o = kokuin(&[
        "audit",
        "verify-proof",
        p,
        "--trust",
        t,
        "--token",
        tsr.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = kokuin(&[
        "audit",
        "verify-proof",
        p,
        "--trust",
        t,
        "--since",
        old_tree.to_str().unwrap(),
        "--consistency",
        data.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains(&format!("new tree at record {}", loss.seq)),
        "{}",
        text(&o)
    );
}

/// #21.3, #21.6, #21.15: the offline verifiers read bounded, say when they cannot read an
/// input (exit 2, never OK), and keep exit 1 for an input that was read and is not valid.
#[test]
fn verifiers_fail_closed_on_inputs_they_cannot_read() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = Server::dev(&state);
    let data = dir.path().join("data.txt");
    std::fs::write(&data, b"data").unwrap();
    let tsr = dir.path().join("t.tsr");
    request_token(&srv.http, &data, &tsr);
    let root = srv.root();
    assert!(srv.stop().success());
    let audit = state.join("audit");
    let audit_pem = state.join("pki/audit.pem");
    let s = |p: &Path| p.to_str().unwrap().to_string();

    // A checkpoint the auditor names must be read: missing, empty and binary are exit 2.
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, b"").unwrap();
    let binary = dir.path().join("binary.json");
    std::fs::write(&binary, [0x30u8, 0x82, 0x01, 0xff, 0x00]).unwrap();
    for cp in [dir.path().join("missing.json"), empty, binary] {
        let o = kokuin(&[
            "audit",
            "verify",
            &s(&audit),
            "--trust",
            &s(&audit_pem),
            "--checkpoint",
            &s(&cp),
        ]);
        assert_eq!(code(&o), 2, "{}: {}", cp.display(), text(&o));
        assert!(!text(&o).contains("OK"), "{}", text(&o));
    }
    let o = kokuin(&[
        "audit",
        "verify",
        &s(&audit),
        "--trust",
        &s(&audit_pem),
        "--checkpoint",
        &s(&audit.join("checkpoint.json")),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));

    // Inputs that would never end: refused at the bound, not read to exhaustion.
    let zero = Path::new("/dev/zero");
    for args in [
        vec![
            "verify",
            "/dev/zero",
            "--data",
            &s(&data),
            "--trust",
            &s(&root),
        ],
        vec![
            "verify",
            &s(&tsr),
            "--data",
            &s(&data),
            "--trust",
            "/dev/zero",
        ],
        vec![
            "verify",
            &s(&tsr),
            "--data",
            &s(&data),
            "--trust",
            &s(&root),
            "--untrusted",
            "/dev/zero",
        ],
        vec![
            "verify",
            &s(&tsr),
            "--request",
            "/dev/zero",
            "--trust",
            &s(&root),
        ],
        vec!["audit", "verify", &s(&audit), "--trust", "/dev/zero"],
        vec![
            "audit",
            "verify",
            &s(&audit),
            "--trust",
            &s(&audit_pem),
            "--checkpoint",
            "/dev/zero",
        ],
    ] {
        let o = kokuin(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}", text(&o));
    }
    let linked = dir.path().join("linked");
    std::fs::create_dir(&linked).unwrap();
    for seg in kokuin_audit::segment::list(&audit).unwrap() {
        std::fs::copy(&seg, linked.join(seg.file_name().unwrap())).unwrap();
    }
    std::os::unix::fs::symlink(zero, linked.join(kokuin_audit::segment::name(1 << 40))).unwrap();
    let o = kokuin(&["audit", "verify", &s(&linked), "--trust", &s(&audit_pem)]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let o = kokuin(&["audit", "find", &s(&linked), "--serial", "01"]);
    assert_eq!(code(&o), 2, "{}", text(&o));

    // Garbage is bad input (2); a real token that does not match is invalid (1).
    let garbage = dir.path().join("garbage.tsr");
    std::fs::write(&garbage, b"not a token at all").unwrap();
    let o = kokuin(&[
        "verify",
        &s(&garbage),
        "--data",
        &s(&data),
        "--trust",
        &s(&root),
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let other = dir.path().join("other.txt");
    std::fs::write(&other, b"other").unwrap();
    let o = kokuin(&[
        "verify",
        &s(&tsr),
        "--data",
        &s(&other),
        "--trust",
        &s(&root),
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));

    // A byte that is not UTF-8 in a segment: the record and offset, in --json too.
    let seg = kokuin_audit::segment::list(&audit).unwrap().remove(0);
    let mut bytes = std::fs::read(&seg).unwrap();
    let second = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
    bytes[second + 3] = 0xc3;
    std::fs::write(&seg, &bytes).unwrap();
    let o = kokuin(&[
        "audit",
        "verify",
        &s(&audit),
        "--trust",
        &s(&audit_pem),
        "--json",
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["problem"]["index"], 1);
    assert_eq!(v["problem"]["damage"], "malformed");
    let detail = v["problem"]["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("byte {} of the segment", second + 3)),
        "{detail}"
    );
}

/// #21.17: an explicit `certReq FALSE` (BER, written by BouncyCastle clients) is read as the
/// default: the token is granted without certificates, and BouncyCastle validates the reply
/// against its own request.
#[test]
fn bouncycastle_certreq_false_is_granted() {
    let dir = tempdir();
    let srv = Server::dev(&dir.path().join("state"));
    let data = dir.path().join("doc.txt");
    std::fs::write(&data, b"doc").unwrap();
    let (tsq, tsr) = (dir.path().join("bc.tsq"), dir.path().join("bc.tsr"));
    let cp = "/usr/share/java/bcprov.jar:/usr/share/java/bcpkix.jar:/usr/share/java/bcutil.jar";
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/BcRequest.java");
    let java = |extra: &[&str]| {
        let mut args = vec![
            "-cp",
            cp,
            src,
            data.to_str().unwrap(),
            tsq.to_str().unwrap(),
        ];
        args.extend(extra);
        run("java", &args)
    };
    let o = java(&[]);
    assert!(o.status.success(), "{}", text(&o));
    let req = std::fs::read(&tsq).unwrap();
    assert!(
        req.ends_with(&[0x01, 0x01, 0x00]),
        "certReq FALSE not spelled out"
    );
    let reply = tsa_post(&agent(None), &srv.http, &req);
    assert!(granted(&reply), "refused");
    std::fs::write(&tsr, &reply.body).unwrap();
    let o = java(&[tsr.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("status 0 certificates 0"), "{}", text(&o));
}
