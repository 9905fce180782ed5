//! One writer per log, and bounded work at every edge (issue #31): a second `serve` on a
//! state directory, `audit accept-loss` on a live log, special files and link loops given to
//! the command line, a flood of refusals in the service log, unknown query parameters.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use kokuin_testkit as common;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn count(lines: &[String], kind: &str) -> usize {
    lines
        .iter()
        .filter_map(|l| kokuin_audit::Record::parse_line(l).ok())
        .filter(|r| r.kind == kind)
        .count()
}

/// Every file of the log and its bytes; the writer lock's text (who holds it) aside.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.ends_with(kokuin_audit::lock::LOCK_FILE))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

fn audit_verify(state: &Path) -> std::process::Output {
    kokuin(&[
        "audit",
        "verify",
        state.join("audit").to_str().unwrap(),
        "--trust",
        state.join("pki/audit.pem").to_str().unwrap(),
    ])
}

#[test]
fn a_second_serve_on_one_state_directory_is_refused_before_it_writes() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = Server::dev(&state);
    let ag = agent(None);
    assert!(granted(&tsa_post(&ag, &srv.http, &tsq(1))));
    let s = state.to_str().unwrap();
    let cfg = state.join("kokuin.toml");
    let holder = format!("pid {}", srv.pid());
    // The README's `serve --dev` started again in a second terminal.
    let o = kokuin_within(
        &[
            "serve",
            "--dev",
            "--state-dir",
            s,
            "--http",
            "127.0.0.1:0",
            "--https",
            "127.0.0.1:0",
        ],
        LIMIT,
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&holder) && text(&o).contains("one writer at a time"),
        "{}",
        text(&o)
    );
    // The same configuration started as a production server: the log's own lock refuses it.
    let o = kokuin_within(
        &[
            "serve",
            "--config",
            cfg.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
        ],
        LIMIT,
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("audit log") && text(&o).contains(&holder),
        "{}",
        text(&o)
    );
    // On the first one's port: it cannot listen, and so never opens the log.
    let port = srv
        .http
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches("/tsa");
    let o = kokuin_within(
        &[
            "serve",
            "--config",
            cfg.to_str().unwrap(),
            "--http",
            &format!("127.0.0.1:{port}"),
        ],
        LIMIT,
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("cannot listen"), "{}", text(&o));
    assert!(granted(&tsa_post(&ag, &srv.http, &tsq(2))));
    assert!(srv.stop().success());
    // Nothing of the refused starts is in the log, which verifies.
    let lines = audit_lines(&state);
    assert_eq!(count(&lines, kokuin_audit::kind::SERVICE_START), 1);
    assert_eq!(count(&lines, kokuin_audit::kind::CONFIG_LOADED), 1);
    assert_eq!(count(&lines, kokuin_audit::kind::SERVICE_STOP), 1);
    let o = audit_verify(&state);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // Stopped, the state directory is free again.
    let srv = Server::dev(&state);
    assert!(granted(&tsa_post(&ag, &srv.http, &tsq(3))));
    assert!(srv.stop().success());
}

#[test]
fn accept_loss_on_a_live_log_is_refused_and_changes_nothing() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = Server::dev(&state);
    let audit = state.join("audit");
    let a = audit.to_str().unwrap();
    let (stop, issued) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let load = {
        let (stop, issued, url) = (stop.clone(), issued.clone(), srv.http.clone());
        std::thread::spawn(move || {
            let ag = agent(None);
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                if granted(&tsa_post(&ag, &url, &tsq(i))) {
                    issued.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
        })
    };
    for _ in 0..10 {
        let o = kokuin_within(&["audit", "accept-loss", a, "--reason", "probe"], LIMIT);
        assert_eq!(code(&o), 2, "{}", text(&o));
        assert!(
            text(&o).contains("being written by another process"),
            "{}",
            text(&o)
        );
    }
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    assert!(srv.stop().success());
    // Every token granted under load has its record; nothing was cut and no loss recorded.
    let lines = audit_lines(&state);
    let n = issued.load(Ordering::Relaxed);
    assert!(n > 0);
    assert_eq!(
        count(&lines, kokuin_audit::kind::TOKEN_ISSUED) as u64,
        n,
        "tokens granted without a record"
    );
    assert_eq!(count(&lines, kokuin_audit::kind::LOSS), 0);
    let o = audit_verify(&state);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).starts_with("OK:"), "{}", text(&o));

    // Stopped and intact: nothing to accept, and not a byte written.
    let before = snapshot(&audit);
    let o = kokuin(&["audit", "accept-loss", a, "--reason", "probe"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("nothing lost"), "{}", text(&o));
    assert_eq!(before, snapshot(&audit));
    // A path that is no log, and a database URL: refused, and no log is made.
    let missing = dir.path().join("no-log-here");
    let o = kokuin(&[
        "audit",
        "accept-loss",
        missing.to_str().unwrap(),
        "--reason",
        "x",
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(!missing.exists());
    let o = kokuin(&[
        "audit",
        "accept-loss",
        "postgres://kokuin@localhost/kokuin",
        "--reason",
        "x",
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("file log"), "{}", text(&o));
    assert!(!Path::new("postgres:").exists());
}

fn mkfifo(path: &Path) {
    let o = run("mkfifo", &[path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn special_files_and_link_loops_are_refused_not_waited_on() {
    let dir = tempdir();
    let w = dir.path();
    let state = w.join("state");
    let srv = Server::dev(&state);
    let data = w.join("data.txt");
    std::fs::write(&data, b"data").unwrap();
    let tsr = w.join("t.tsr");
    request_token(&srv.http, &data, &tsr);
    let root = srv.root();
    assert!(srv.stop().success());
    let fifo = w.join("fifo.tsr");
    mkfifo(&fifo);
    let (f, r, t) = (
        fifo.to_str().unwrap(),
        root.to_str().unwrap(),
        tsr.to_str().unwrap(),
    );
    let audit = state.join("audit");
    let (a, apem) = (
        audit.to_str().unwrap(),
        state.join("pki/audit.pem").to_str().unwrap().to_string(),
    );
    let cases: Vec<Vec<&str>> = vec![
        vec!["verify", f, "--trust", r],
        vec!["verify", t, "--data", f, "--trust", r],
        vec!["inspect", f],
        vec!["audit", "verify-proof", f, "--trust", &apem],
        vec!["audit", "verify", a, "--trust", &apem, "--checkpoint", f],
    ];
    for args in &cases {
        let o = kokuin_within(args, LIMIT);
        assert_eq!(code(&o), 2, "{args:?}: {}", text(&o));
        assert!(text(&o).contains("FIFO"), "{args:?}: {}", text(&o));
    }
    // A FIFO posing as a segment of a log.
    let copy = w.join("copy");
    std::fs::create_dir(&copy).unwrap();
    for e in std::fs::read_dir(&audit).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, copy.join(p.file_name().unwrap())).unwrap();
        }
    }
    mkfifo(&copy.join(kokuin_audit::segment::name(999_999)));
    let o = kokuin_within(
        &["audit", "verify", copy.to_str().unwrap(), "--trust", &apem],
        LIMIT,
    );
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("not a regular file"), "{}", text(&o));
    // A batch with a FIFO and two links back to its own directory: each directory is read
    // once, the FIFO is an input that cannot be read.
    let batch = w.join("batch");
    std::fs::create_dir(&batch).unwrap();
    std::fs::copy(&tsr, batch.join("t.tsr")).unwrap();
    std::fs::copy(&data, batch.join("t")).unwrap();
    mkfifo(&batch.join("f.tsr"));
    std::os::unix::fs::symlink(".", batch.join("loop1")).unwrap();
    std::os::unix::fs::symlink("..", batch.join("loop2")).unwrap();
    let o = kokuin_within(
        &["verify", "--batch", batch.to_str().unwrap(), "--trust", r],
        LIMIT,
    );
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains("2 verified: 1 valid, 0 invalid, 1 could not be read"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_flood_of_refusals_is_one_line_per_client_and_reason_in_the_service_log() {
    let dir = tempdir();
    let state = dir.path().join("state");
    drop(Server::dev(&state));
    let srv = Server::spawn_logging(
        &[
            "serve",
            "--dev",
            "--state-dir",
            state.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
            "--rate-limit",
            "0",
        ],
        &state,
        "info",
    );
    let ag = agent(None);
    // Let the start's lines be written, then count only what the flood adds.
    assert!(granted(&tsa_post(&ag, &srv.http, &tsq(0))));
    let before = srv.stderr().len();
    for _ in 0..2000 {
        let r = tsa_post(&ag, &srv.http, b"not a TimeStampReq");
        assert!(!granted(&r));
    }
    let flood = srv.stderr().len() - before;
    // Before: ~300 bytes a refusal, 600 KB for this flood.
    assert!(
        flood < 4096,
        "the flood added {flood} bytes to the service log: {}",
        srv.stderr()
    );
    assert!(srv.stop().success());
    let lines = audit_lines(&state);
    assert_eq!(
        refused(&lines, "request.refused", "badDataFormat"),
        2000,
        "every refusal is counted in the audit log"
    );
}

#[test]
fn an_unknown_query_parameter_is_a_400_that_names_it() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = Server::dev(&state);
    let ag = agent(None);
    let r = post(
        &ag,
        &format!("{}?format=pades", srv.http),
        "application/timestamp-query",
        &tsq(1),
    );
    assert_eq!(r.status, 400);
    let body = String::from_utf8_lossy(&r.body);
    assert!(body.contains("\"format\""), "{body}");
    let r = get(&ag, &format!("{}/tsa/certs?policy=1.2&x=1", srv.base()));
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("\"x\""));
    let r = get(
        &ag,
        &format!("{}/tsa/certs?policy={DEV_POLICY}", srv.base()),
    );
    assert_eq!(r.status, 200);
    assert!(srv.stop().success());
}

/// Inflates the token in `tsr` with `n` more copies of its first certificate (asn1crypto,
/// which pyHanko brings), returning the bare token's DER.
fn token_with_extra_certificates(tsr: &Path, n: usize) -> Vec<u8> {
    let script = r#"
import sys
from asn1crypto import tsp
resp = tsp.TimeStampResp.load(open(sys.argv[1], 'rb').read())
token = resp['time_stamp_token']
sd = token['content']
certs = list(sd['certificates'])
certs += [certs[0]] * int(sys.argv[2])
sd['certificates'] = certs
sys.stdout.buffer.write(token.dump(force=True))
"#;
    let o = run(
        &python(),
        &["-c", script, tsr.to_str().unwrap(), &n.to_string()],
    );
    assert!(o.status.success(), "{}", text(&o));
    o.stdout
}

/// #31.3: `/verify/v1` bounded in work: 10,000 certificates in one token are refused before
/// any of them is looked at; the same token with a few extra is judged as usual.
#[test]
fn a_token_stuffed_with_certificates_is_refused_before_any_signature_check() {
    use base64::Engine;
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = Server::dev(&state);
    let data = dir.path().join("data.txt");
    std::fs::write(&data, b"data").unwrap();
    let tsr = dir.path().join("t.tsr");
    request_token(&srv.http, &data, &tsr);
    let digest = hex::encode(kokuin_hsm::DigestAlgorithm::Sha256.digest(b"data"));
    let ag = agent(None);
    let ask = |token: &[u8]| {
        let body = serde_json::json!({
            "evidence": base64::engine::general_purpose::STANDARD.encode(token),
            "digests": { "sha256": digest },
        });
        post(
            &ag,
            &format!("{}/verify/v1", srv.base()),
            "application/json",
            body.to_string().as_bytes(),
        )
    };
    // 5,000 fit within verify.max_evidence_kb (4 MiB): refused by their number.
    let r = ask(&token_with_extra_certificates(&tsr, 5_000));
    let body = String::from_utf8_lossy(&r.body).to_string();
    assert_eq!(r.status, 422, "{body}");
    assert!(body.contains("at most 100"), "{body}");
    // 10,000 are over it: refused by their size, before the body is decoded.
    let r = ask(&token_with_extra_certificates(&tsr, 10_000));
    assert_eq!(r.status, 413, "{}", String::from_utf8_lossy(&r.body));
    let r = ask(&token_with_extra_certificates(&tsr, 5));
    let body = String::from_utf8_lossy(&r.body).to_string();
    assert_eq!(r.status, 200, "{body}");
    assert!(body.contains("\"valid\":true"), "{body}");
    assert!(srv.stop().success());
}
