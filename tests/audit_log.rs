//! The audit log under a real server: every token a client received is in the log, through
//! kill -9 under load; a full disk stops issuance and issuance resumes with space; the CLI
//! names tampering.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use der::Encode;
use kokuin_testkit as common;
use kokuin_tsa::{ParsedResponse, TimeStampToken};
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn tsq(i: u32) -> Vec<u8> {
    let mut d = [0u8; 32];
    d[..4].copy_from_slice(&i.to_be_bytes());
    kokuin_tsa::request::build_request(kokuin_hsm::DigestAlgorithm::Sha256, &d, None, None, false)
        .unwrap()
        .to_der()
        .unwrap()
}

fn serial_of(body: &[u8]) -> Option<String> {
    let p = ParsedResponse::from_der(body).ok()?;
    let t = p.into_token().ok()?;
    let t = TimeStampToken::from_der(&t).ok()?;
    Some(hex::encode(t.tst_info.serial_number.as_bytes()))
}

/// Serials of every token.issued record in the log, read line by line.
fn logged_serials(audit: &Path) -> HashSet<String> {
    let mut out = HashSet::new();
    for seg in kokuin_audit::segment::list(audit).unwrap() {
        for line in std::fs::read_to_string(seg).unwrap().lines() {
            if let Ok(r) = kokuin_audit::Record::parse_line(line)
                && r.kind == kokuin_audit::kind::TOKEN_ISSUED
            {
                out.insert(r.fields["serial"].as_str().unwrap().to_string());
            }
        }
    }
    out
}

fn audit_verify(state: &Path) -> (i32, String) {
    let o = kokuin(&[
        "audit",
        "verify",
        state.join("audit").to_str().unwrap(),
        "--trust",
        state.join("pki/audit.pem").to_str().unwrap(),
    ]);
    (o.status.code().unwrap_or(-1), text(&o))
}

#[test]
fn every_received_token_survives_kill_9_under_load() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let mut received: Vec<String> = Vec::new();
    for round in 0..5 {
        let srv = Server::dev(&state);
        let stop = AtomicBool::new(false);
        let got: Vec<String> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|c| {
                    let (url, stop) = (&srv.http, &stop);
                    s.spawn(move || {
                        let ag = agent(None);
                        let mut mine = Vec::new();
                        let mut i = c * 1_000_000;
                        while !stop.load(Ordering::Relaxed) {
                            i += 1;
                            // Connection errors once the server is killed are expected.
                            let Ok(mut r) = ag
                                .post(url)
                                .header("Content-Type", "application/timestamp-query")
                                .send(&tsq(i)[..])
                            else {
                                break;
                            };
                            let body = r.body_mut().read_to_vec().unwrap_or_default();
                            if let Some(serial) = serial_of(&body) {
                                mine.push(serial);
                            }
                        }
                        mine
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_millis(700));
            // kill -9 while the clients are mid-flight.
            let st = std::process::Command::new("kill")
                .args(["-KILL", &srv.pid().to_string()])
                .status()
                .unwrap();
            assert!(st.success());
            stop.store(true, Ordering::Relaxed);
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        drop(srv);
        assert!(!got.is_empty(), "round {round}: no token received");
        received.extend(got);
        // The next start recovers; the chain verifies.
        let srv = Server::dev(&state);
        let (code, out) = audit_verify(&state);
        assert_eq!(code, 0, "round {round}: {out}");
        drop(srv);
    }
    let logged = logged_serials(&state.join("audit"));
    let missing: Vec<_> = received.iter().filter(|s| !logged.contains(*s)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} received tokens are not in the log: {:?}",
        missing.len(),
        received.len(),
        &missing[..missing.len().min(5)]
    );
    // And `kokuin audit find` finds them (a sample: each call reads the whole log).
    let step = (received.len() / 25).max(1);
    for s in received.iter().step_by(step) {
        let o = kokuin(&[
            "audit",
            "find",
            state.join("audit").to_str().unwrap(),
            "--serial",
            s,
        ]);
        assert!(
            o.status.success() && text(&o).contains(s.as_str()),
            "{s}: {}",
            text(&o)
        );
    }
    let o = kokuin(&[
        "audit",
        "find",
        state.join("audit").to_str().unwrap(),
        "--serial",
        "ffff",
    ]);
    assert_eq!(o.status.code(), Some(1));
}

/// Unmounts on drop, so a failing test leaves no mount behind.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let o = run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                at.to_str().unwrap(),
            ],
        );
        assert!(
            o.status.success(),
            "mounting a tmpfs needs root (the test command runs as root in CI): {}",
            text(&o)
        );
        Tmpfs(at.to_path_buf())
    }
    fn resize(&self, size: &str) {
        let o = run(
            "mount",
            &[
                "-o",
                &format!("remount,size={size}"),
                self.0.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_stops_issuance_until_space_returns() {
    let dir = tempdir();
    let state = dir.path().join("state");
    drop(Server::dev(&state));
    let audit = state.join("audit");
    std::fs::remove_dir_all(&audit).unwrap();
    let fs = Tmpfs::mount(&audit, "64k");
    let srv = Server::dev(&state);
    let ag = agent(None);
    let mut granted = Vec::new();
    let mut refused = 0;
    for i in 0..2000 {
        let r = tsa_post(&ag, &srv.http, &tsq(i));
        assert_eq!(r.status, 200);
        match serial_of(&r.body) {
            Some(s) => granted.push(s),
            None => {
                let p = ParsedResponse::from_der(&r.body).unwrap();
                let bits =
                    kokuin_tsa::FailureInfo::from_bit_string(p.status.fail_info.as_ref().unwrap());
                assert_eq!(
                    bits,
                    vec![kokuin_tsa::FailureInfo::SystemFailure],
                    "{}",
                    p.describe_status()
                );
                refused += 1;
                if refused == 20 {
                    break;
                }
            }
        }
    }
    assert!(refused == 20, "the disk never filled");
    assert!(!granted.is_empty());
    // No token went out that the log does not hold.
    let logged = logged_serials(&audit);
    assert!(granted.iter().all(|s| logged.contains(s)));
    // Space returns: issuance resumes, the chain is whole.
    fs.resize("8m");
    let r = tsa_post(&ag, &srv.http, &tsq(9999));
    let s = serial_of(&r.body).expect("no token after space returned");
    assert!(logged_serials(&audit).contains(&s));
    assert!(srv.stop().success());
    let (code, out) = audit_verify(&state);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn audit_verify_names_tampering_in_a_server_log() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = Server::dev(&state);
    let ag = agent(None);
    for i in 0..10 {
        assert!(serial_of(&tsa_post(&ag, &srv.http, &tsq(i)).body).is_some());
    }
    assert!(srv.stop().success());
    let (code, out) = audit_verify(&state);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK:") && out.contains("checkpoint"), "{out}");
    let seg = kokuin_audit::segment::list(&state.join("audit"))
        .unwrap()
        .remove(0);
    let text0 = std::fs::read_to_string(&seg).unwrap();
    let mut lines: Vec<&str> = text0.lines().collect();
    let idx = lines
        .iter()
        .position(|l| l.contains("token.issued"))
        .unwrap();
    let changed = lines[idx].replace("\"hash\":\"sha256\"", "\"hash\":\"sha512\"");
    lines[idx] = &changed;
    std::fs::write(&seg, lines.join("\n") + "\n").unwrap();
    let (code, out) = audit_verify(&state);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("record #{idx}")) && out.contains("modified"),
        "{out}"
    );
    // A foreign checkpoint certificate is not trusted: the intact log cannot be verified
    // with it (exit 2), it is not damaged.
    std::fs::write(&seg, text0).unwrap();
    let o = kokuin(&[
        "audit",
        "verify",
        state.join("audit").to_str().unwrap(),
        "--trust",
        state.join("pki/tsu.pem").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let j: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    assert_eq!(j["problem"]["damage"], "checkpoint key not trusted");
    assert_eq!(j["bad_input"], true);
    assert!(text(&o).contains("CANNOT BE VERIFIED"), "{}", text(&o));
}
