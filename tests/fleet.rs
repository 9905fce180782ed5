//! The fleet end to end, with real PostgreSQL and HAProxy started here: three nodes under
//! load survive a `kill -9` of one, and every token a client received is in the database log
//! under a serial no other token has; the database stopped for 5 s makes every node refuse
//! (systemFailure, `/readyz` 503) and issuance resume by itself; a second node with an id in
//! use refuses to start; a key rotated in the database keyring through two ceremonies (generate;
//! install the certificate and put it in force), approved by two officers, under load drops no
//! request, and both ceremonies are in the log, re-verified, and in the assessor's report.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_testkit::fleet::{Haproxy, kokuin_db, node, try_node};
use kokuin_testkit::postgres::Postgres;
use kokuin_testkit::*;
use kokuin_tsa::{FailureInfo, ParsedResponse, TimeStampToken};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What one request got.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    /// A token: its serial (hex) and its first certificate (the TSU's), DER.
    Token(String, Vec<u8>),
    /// A TimeStampResp refusing, with its failure bits.
    Refused(Vec<FailureInfo>),
    /// Another HTTP status.
    Http(u16),
    /// No answer at all.
    Nothing,
}

fn ask(agent: &ureq::Agent, url: &str, i: u32) -> Got {
    let r = agent
        .post(url)
        .header("Content-Type", "application/timestamp-query")
        .send(&tsq(i)[..]);
    let mut r = match r {
        Ok(r) => r,
        Err(_) => return Got::Nothing,
    };
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_vec().unwrap_or_default();
    if status != 200 {
        return Got::Http(status);
    }
    let p = ParsedResponse::from_der(&body).unwrap();
    match p.token.clone() {
        Some(t) => {
            let t = TimeStampToken::from_der(&t).unwrap();
            let signer = t
                .certificates()
                .first()
                .and_then(|c| der::Encode::to_der(c).ok())
                .unwrap_or_default();
            Got::Token(hex::encode(t.tst_info.serial_number.as_bytes()), signer)
        }
        None => Got::Refused(FailureInfo::from_bit_string(
            p.status.fail_info.as_ref().expect("failInfo"),
        )),
    }
}

/// `clients` threads asking `urls` (each its own, round robin) until `stop`; every answer.
fn load(urls: &[String], clients: usize, stop: &AtomicBool) -> Vec<(Instant, String, Got)> {
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..clients)
            .map(|c| {
                s.spawn(move || {
                    let agent = agent(None);
                    let mut out = Vec::new();
                    let mut i = 0u32;
                    while !stop.load(Ordering::Relaxed) {
                        let url = &urls[(c + i as usize) % urls.len()];
                        let got = ask(&agent, url, i);
                        out.push((Instant::now(), url.clone(), got));
                        i += 1;
                    }
                    out
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

fn serials(answers: &[(Instant, String, Got)]) -> Vec<String> {
    answers
        .iter()
        .filter_map(|(_, _, g)| match g {
            Got::Token(s, _) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// Every serial the database log holds.
fn logged(pg: &Postgres) -> HashSet<String> {
    pg.psql("SELECT serial FROM kokuin_audit_records WHERE serial IS NOT NULL")
        .lines()
        .map(str::to_string)
        .collect()
}

fn audit_verifies(pg: &Postgres, state: &Path) {
    let trust = state.join("pki/audit.pem");
    let o = kokuin_db(
        pg,
        &[
            "audit",
            "verify",
            &pg.url(),
            "--trust",
            trust.to_str().unwrap(),
        ],
    );
    assert!(
        o.status.success(),
        "audit verify on the database: {}",
        text(&o)
    );
    let out = tempdir();
    let copy = out.path().join("export");
    let o = kokuin_db(pg, &["audit", "export", &pg.url(), copy.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    // Offline: no database, no password.
    let o = kokuin(&[
        "audit",
        "verify",
        copy.to_str().unwrap(),
        "--trust",
        trust.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "the exported copy: {}", text(&o));

    // The audit report of the whole fleet, straight from the database: every node's chain
    // verified, the fleet tree's newest checkpoint named and its signature checked.
    let html = out.path().join("report.html");
    let o = kokuin_db(
        pg,
        &[
            "audit",
            "report",
            &pg.url(),
            "--trust",
            trust.to_str().unwrap(),
            "-o",
            html.to_str().unwrap(),
        ],
    );
    assert!(
        o.status.success(),
        "audit report on the database: {}",
        text(&o)
    );
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(html.contains(" nodes)"), "the log is the fleet");
    assert!(html.contains("node-00001: Intact"), "each chain verified");
    assert!(html.contains("Chain head</span> (node-00001)"));
    assert!(
        html.contains("signature verified"),
        "the fleet tree's checkpoint"
    );
    assert!(!html.contains("DAMAGED"));
}

#[test]
fn three_nodes_survive_a_kill_and_every_token_is_logged_once() {
    let pg = Postgres::start();
    let dir = tempdir();
    let state = dir.path().join("fleet");
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut nodes: Vec<Option<Server>> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        nodes.push(Some(node(&state, &pg, i as u16 + 1, *p)));
    }
    let backends: Vec<(String, u16)> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("node{}", i + 1), *p))
        .collect();
    let lb = Haproxy::start(&backends);
    let stop = AtomicBool::new(false);
    let answers = std::thread::scope(|s| {
        let h = s.spawn(|| load(std::slice::from_ref(&lb.url), 4, &stop));
        std::thread::sleep(Duration::from_millis(1500));
        // kill -9 node 2 mid-load (Server's drop kills).
        drop(nodes[1].take());
        std::thread::sleep(Duration::from_millis(2500));
        stop.store(true, Ordering::Relaxed);
        h.join().unwrap()
    });
    let got = serials(&answers);
    let failed: Vec<_> = answers
        .iter()
        .filter(|(_, _, g)| !matches!(g, Got::Token(..)))
        .collect();
    eprintln!(
        "{} tokens, {} other answers: {:?}",
        got.len(),
        failed.len(),
        failed.iter().take(5).collect::<Vec<_>>()
    );
    assert!(got.len() > 500, "{} tokens", got.len());
    let unique: HashSet<&String> = got.iter().collect();
    assert_eq!(
        unique.len(),
        got.len(),
        "a serial repeated across the fleet"
    );
    // Tokens came from the three nodes (the serial's first two octets are the node id).
    let per_node: HashMap<&str, usize> = got.iter().fold(HashMap::new(), |mut m, s| {
        *m.entry(&s[..4]).or_default() += 1;
        m
    });
    assert_eq!(per_node.len(), 3, "{per_node:?}");

    // The last token's record is in the fleet's signed tree within 2 s of its commit, and its
    // proof verifies offline.
    let (received, last) = answers
        .iter()
        .filter_map(|(at, _, g)| match g {
            Got::Token(s, _) => Some((*at, s.clone())),
            _ => None,
        })
        .max()
        .unwrap();
    let proof = dir.path().join("last.tlog-proof");
    let trust = state.join("pki/audit.pem");
    loop {
        let o = kokuin_db(
            &pg,
            &[
                "audit",
                "prove",
                &pg.url(),
                "--serial",
                &last,
                "-o",
                proof.to_str().unwrap(),
            ],
        );
        if o.status.success() {
            break;
        }
        assert!(
            received.elapsed() < Duration::from_secs(2),
            "no proof 2 s after the token: {}",
            text(&o)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "proof of the last token available {:?} after it was received",
        received.elapsed()
    );
    let o = kokuin(&[
        "audit",
        "verify-proof",
        proof.to_str().unwrap(),
        "--trust",
        trust.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let note = get(
        &agent(None),
        &format!("http://127.0.0.1:{}/audit/v1/checkpoint", ports[0]),
    );
    assert_eq!(note.status, 200);
    let note = String::from_utf8_lossy(&note.body).to_string();
    assert!(note.contains("\nfleet\n"), "the fleet's tree");
    // An origin of its own (#30.7): never the one a file log signed by the same key has.
    let origin = note.lines().next().unwrap();
    assert!(origin.ends_with("/fleet"), "{note}");
    for n in nodes.into_iter().flatten() {
        n.stop();
    }
    let log = logged(&pg);
    let missing: Vec<_> = got.iter().filter(|s| !log.contains(*s)).collect();
    assert!(
        missing.is_empty(),
        "{} tokens received but not in the log: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    audit_verifies(&pg, &state);
}

fn readyz(port: u16) -> (u16, String) {
    let r = try_get(&agent(None), &format!("http://127.0.0.1:{port}/readyz"))
        .expect("the node answers");
    (r.status, String::from_utf8_lossy(&r.body).into_owned())
}

#[test]
fn the_database_down_for_5_s_under_load_fails_closed_and_issuance_resumes() {
    let mut pg = Postgres::start();
    let dir = tempdir();
    let state = dir.path().join("fleet");
    let ports: Vec<u16> = (0..2).map(|_| free_port()).collect();
    let nodes: Vec<Server> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| node(&state, &pg, i as u16 + 1, *p))
        .collect();
    let urls: Vec<String> = nodes.iter().map(|n| n.http.clone()).collect();
    let stop = AtomicBool::new(false);
    let (answers, down, restarting, back, refused_ready) = std::thread::scope(|s| {
        let h = s.spawn(|| load(&urls, 4, &stop));
        std::thread::sleep(Duration::from_millis(1000));
        pg.stop();
        let down = Instant::now();
        // Meanwhile every node is drained by its /readyz, with the reason.
        std::thread::sleep(Duration::from_millis(2500));
        let ready: Vec<(u16, String)> = ports.iter().map(|p| readyz(*p)).collect();
        std::thread::sleep(Duration::from_millis(2500));
        let restarting = Instant::now();
        pg.start_again();
        let back = Instant::now();
        std::thread::sleep(Duration::from_millis(3000));
        stop.store(true, Ordering::Relaxed);
        (h.join().unwrap(), down, restarting, back, ready)
    });
    for (status, body) in &refused_ready {
        assert_eq!(*status, 503, "{body}");
        assert!(body.contains("audit"), "{body}");
    }
    // From half a second after the stop until the restart: only systemFailure, never a
    // token.
    for (at, url, got) in &answers {
        if *at > down + Duration::from_millis(500) && *at < restarting {
            assert_eq!(
                got,
                &Got::Refused(vec![FailureInfo::SystemFailure]),
                "{url} during the outage"
            );
        }
    }
    for url in &urls {
        let first = answers
            .iter()
            .filter(|(at, u, g)| u == url && *at > back && matches!(g, Got::Token(..)))
            .map(|(at, _, _)| *at)
            .min()
            .expect("issuance resumed");
        let after = first - back;
        eprintln!("{url}: first token {after:?} after PostgreSQL accepted connections again");
        assert!(
            after < Duration::from_secs(2),
            "{url} resumed after {after:?}"
        );
    }
    let got = serials(&answers);
    let log = logged(&pg);
    assert!(
        got.iter().all(|s| log.contains(s)),
        "a token without its record"
    );
    let gaps = pg.psql(
        "SELECT count(*) FROM kokuin_audit_records WHERE line LIKE '%\"type\":\"log.resumed\"%'",
    );
    assert!(
        gaps.parse::<u32>().unwrap() >= 2,
        "each node recorded its gap: {gaps}"
    );
    for n in nodes {
        n.stop();
    }
    audit_verifies(&pg, &state);
}

#[test]
fn a_second_node_with_an_id_in_use_refuses_to_start() {
    let pg = Postgres::start();
    let dir = tempdir();
    let state = dir.path().join("fleet");
    let first = node(&state, &pg, 4, free_port());
    let err = match try_node(&state, &pg, 4, free_port()) {
        Ok(_) => panic!("two nodes run with id 4"),
        Err(e) => e,
    };
    assert!(err.contains("node id 4 is in use by"), "{err}");
    assert!(
        err.contains(&format!("pid {}", first.pid())),
        "names the holder: {err}"
    );
    // A clean stop frees the id at once.
    first.stop();
    let again = node(&state, &pg, 4, free_port());
    again.stop();
}

#[test]
fn a_key_rotated_by_ceremony_in_the_database_keyring_under_load_drops_no_request() {
    let pg = Postgres::start();
    let dir = tempdir();
    let state = dir.path().join("fleet");
    let ports: Vec<u16> = (0..2).map(|_| free_port()).collect();
    let nodes: Vec<Server> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| node(&state, &pg, i as u16 + 1, *p))
        .collect();
    let backends: Vec<(String, u16)> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("node{}", i + 1), *p))
        .collect();
    let lb = Haproxy::start(&backends);
    let config = state.join("kokuin-fleet.toml");
    let stop = AtomicBool::new(false);
    let (answers, rotated) = std::thread::scope(|s| {
        let h = s.spawn(|| load(std::slice::from_ref(&lb.url), 4, &stop));
        std::thread::sleep(Duration::from_millis(1000));
        kokuin_testkit::ceremony::rotate_in_two_ceremonies(
            &|a| kokuin_db(&pg, a),
            &state,
            &config,
            dir.path(),
            "tsu-2027",
        );
        let rotated = Instant::now();
        std::thread::sleep(Duration::from_millis(3000));
        stop.store(true, Ordering::Relaxed);
        (h.join().unwrap(), rotated)
    });
    let failed: Vec<_> = answers
        .iter()
        .filter(|(_, _, g)| !matches!(g, Got::Token(..)))
        .collect();
    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(3)]
    );
    let cert_at = |pick: &dyn Fn(&Instant) -> bool| -> HashMap<String, HashSet<Vec<u8>>> {
        let mut m: HashMap<String, HashSet<Vec<u8>>> = HashMap::new();
        for (at, _, g) in &answers {
            if let Got::Token(serial, cert) = g
                && pick(at)
            {
                m.entry(serial[..4].to_string())
                    .or_default()
                    .insert(cert.clone());
            }
        }
        m
    };
    let before = cert_at(&|at| *at < rotated - Duration::from_millis(200));
    let after = cert_at(&|at| *at > rotated + Duration::from_millis(1500));
    assert_eq!(
        before.len(),
        2,
        "both nodes served before: {:?}",
        before.keys()
    );
    assert_eq!(
        after.len(),
        2,
        "both nodes served after: {:?}",
        after.keys()
    );
    let old: HashSet<&Vec<u8>> = before.values().flatten().collect();
    let new: HashSet<&Vec<u8>> = after.values().flatten().collect();
    assert_eq!(old.len(), 1);
    assert_eq!(
        new.len(),
        1,
        "every node signs with the one new certificate"
    );
    assert!(old.is_disjoint(&new), "the certificate changed");
    // Each node recorded its own switch.
    let switches = pg.psql(
        "SELECT count(DISTINCT node_id) FROM kokuin_audit_records WHERE line LIKE '%in force for%'",
    );
    assert_eq!(switches, "2");
    for n in nodes {
        n.stop();
    }
    audit_verifies(&pg, &state);
    // The assessor's view: the two ceremonies, each approved by officer-1 and officer-2.
    let export = dir.path().join("export");
    let o = kokuin_db(
        &pg,
        &["audit", "export", &pg.url(), export.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let node1 = export.join("node-00001");
    let trust = state.join("pki/audit.pem");
    let o = kokuin(&[
        "audit",
        "verify",
        node1.to_str().unwrap(),
        "--trust",
        trust.to_str().unwrap(),
    ]);
    assert!(
        o.status.success() && text(&o).contains("3 key ceremonies, every approval valid"),
        "{}",
        text(&o)
    );
    let report = dir.path().join("report.html");
    let o = kokuin(&[
        "audit",
        "report",
        node1.to_str().unwrap(),
        "-o",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("generate key tsu-2027")
            && html.contains("put key tsu-2027 in force")
            && html.contains("officer-1, officer-2"),
        "the report's ceremonies section"
    );
}
