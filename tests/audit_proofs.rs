//! Issue #24 end to end on a dev server: `GET /audit/v1/checkpoint` serves the signed tree
//! checkpoint, `kokuin audit prove` writes a token's inclusion proof, `kokuin audit
//! verify-proof` accepts it offline with the audit certificate (and the token), refuses it
//! for another token, and checks with `--since` that the log only grew between two visits.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use kokuin_testkit as common;
use std::path::Path;
use std::time::{Duration, Instant};

/// The signed tree checkpoint the server serves, once it covers at least `size` records.
fn checkpoint_covering(srv: &Server, size: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = get(&agent(None), &format!("{}/audit/v1/checkpoint", srv.base()));
        if r.status == 200 {
            let note = String::from_utf8(r.body).unwrap();
            let n: u64 = note.lines().nth(1).unwrap().parse().unwrap();
            if n >= size {
                return note;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint covering {size} records"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Records in the log (the active segment ends in preallocated zeros, not records).
fn records(state: &Path) -> u64 {
    audit_lines(state)
        .iter()
        .filter(|l| l.starts_with('{'))
        .count() as u64
}

#[test]
fn proofs_of_tokens_verify_offline() {
    let dir = tempdir();
    let w = dir.path();
    let state = w.join("state");
    let srv = Server::dev(&state);
    let data = w.join("invoice.xml");
    std::fs::write(&data, b"<Invoice/>\n").unwrap();
    let (t1, t2) = (w.join("one.tsr"), w.join("two.tsr"));
    request_token(&srv.http, &data, &t1);
    request_token(&srv.http, &data, &t2);
    let serial = verify_json(&t1, &data, &srv.root(), None)["serial"]
        .as_str()
        .unwrap()
        .to_string();
    let early = checkpoint_covering(&srv, records(&state));
    let early_file = w.join("early.checkpoint");
    std::fs::write(&early_file, &early).unwrap();
    assert!(early.starts_with("kokuin/audit/"), "{early}");

    // More tokens, then a later checkpoint.
    for i in 0..5 {
        request_token(&srv.http, &data, &w.join(format!("more{i}.tsr")));
    }
    let want = records(&state);
    let _ = checkpoint_covering(&srv, want);
    // The server serves a checkpoint as soon as it is signed and writes it beside the log
    // moments later; `audit prove` reads that file, so `later` is the file's, once it
    // covers the records.
    let deadline = Instant::now() + Duration::from_secs(20);
    let later = loop {
        if let Ok(note) = std::fs::read_to_string(state.join("audit/checkpoint"))
            && note.lines().nth(1).and_then(|n| n.parse::<u64>().ok()) >= Some(want)
        {
            break note;
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint beside the log covers {want} records"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let later_file = w.join("later.checkpoint");
    std::fs::write(&later_file, &later).unwrap();

    let audit = state.join("audit");
    let (a, audit_pem) = (audit.to_str().unwrap(), state.join("pki/audit.pem"));
    let trust = audit_pem.to_str().unwrap();
    let proof = w.join("one.tlog-proof");
    let o = kokuin(&[
        "audit",
        "prove",
        a,
        "--serial",
        &serial,
        "-o",
        proof.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let p = std::fs::read_to_string(&proof).unwrap();
    assert!(p.starts_with("c2sp.org/tlog-proof@v1\nextra "), "{p}");

    let p = proof.to_str().unwrap();
    let o = kokuin(&[
        "audit",
        "verify-proof",
        p,
        "--trust",
        trust,
        "--token",
        t1.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("VALID"), "{}", text(&o));
    // Another token's proof is not this one's.
    let o = kokuin(&[
        "audit",
        "verify-proof",
        p,
        "--trust",
        trust,
        "--token",
        t2.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("serial"), "{}", text(&o));
    // Another audit key is not trusted.
    let foreign = srv.root();
    let o = kokuin(&[
        "audit",
        "verify-proof",
        p,
        "--trust",
        foreign.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));

    // The log only grew between the two visits.
    let o = kokuin(&[
        "audit",
        "consistency",
        a,
        early_file.to_str().unwrap(),
        later_file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let consistency = w.join("consistency");
    std::fs::write(&consistency, &o.stdout).unwrap();
    let since = |c: &Path| {
        kokuin(&[
            "audit",
            "verify-proof",
            p,
            "--trust",
            trust,
            "--since",
            early_file.to_str().unwrap(),
            "--consistency",
            c.to_str().unwrap(),
        ])
    };
    let o = since(&consistency);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("consistent"), "{}", text(&o));
    // A consistency proof with a changed hash proves nothing.
    let mut bad = String::from_utf8(o.stdout.clone()).unwrap();
    bad.clear();
    let lines = std::fs::read_to_string(&consistency).unwrap();
    let first = lines.lines().next().unwrap();
    let flipped = if first.starts_with('A') { 'B' } else { 'A' };
    bad.push(flipped);
    bad.push_str(&lines[1..]);
    let bad_file = w.join("bad-consistency");
    std::fs::write(&bad_file, bad).unwrap();
    let o = since(&bad_file);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));

    // The CLI prints the same checkpoint the server serves, from the files.
    drop(srv);
    let o = kokuin(&["audit", "checkpoint", a]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).starts_with("kokuin/audit/"), "{}", text(&o));
}
