//! The fleet end to end, with real PostgreSQL and HAProxy started here: three nodes under
//! load survive a `kill -9` of one, and every token a client received is in the database log
//! under a serial no other token has; the database stopped for 5 s makes every node refuse
//! (systemFailure, `/readyz` 503) and issuance resume by itself; a second node with an id in
//! use refuses to start; a key rotated in the database keyring under load drops no request.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_testkit::fleet::{Haproxy, node, password, try_node};
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

fn kokuin_db(pg: &Postgres, args: &[&str]) -> std::process::Output {
    std::process::Command::new(kokuin_exe())
        .args(args)
        .env("KOKUIN_DATABASE_PASSWORD", password(pg))
        .output()
        .unwrap()
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
fn a_key_rotated_in_the_database_keyring_under_load_drops_no_request() {
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
        let o = kokuin_db(
            &pg,
            &["keys", "rotate", "--config", config.to_str().unwrap()],
        );
        assert!(o.status.success(), "{}", text(&o));
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
}

/// #30.5: behind HAProxy (`send-proxy-v2`), each client is itself. One client flooding a node
/// limited to 20 requests a second per client gets 429s; another client, through the same
/// HAProxy at the same time, gets every token it asks for; the refusals are recorded under
/// the flooding client's address, not HAProxy's. HAProxy's health checks (the LOCAL command)
/// keep the node in: it routes only to a node they found ready.
#[test]
fn behind_haproxy_one_client_flooding_does_not_throttle_another() {
    let pg = Postgres::start();
    let dir = tempdir();
    let state = dir.path().join("fleet");
    let port = free_port();
    let n = kokuin_testkit::fleet::try_node_limited(&state, &pg, 7, port, 20)
        .unwrap_or_else(|e| panic!("{e}"));
    let lb = Haproxy::start(&[("node1".to_string(), port)]);
    let body = dir.path().join("q.tsq");
    std::fs::write(&body, tsq(1)).unwrap();
    // Two clients with addresses of their own (loopback has them all): one floods, the other
    // asks ten times while it does.
    let script = r#"
import http.client, json, sys, threading, time
port, body = int(sys.argv[1]), open(sys.argv[2], 'rb').read()
def ask(source):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10, source_address=(source, 0))
    c.request('POST', '/tsa', body, {'Content-Type': 'application/timestamp-query'})
    r = c.getresponse(); r.read(); c.close()
    return r.status
flood, innocent = {}, {}
def flooder():
    for _ in range(400):
        s = ask('127.0.0.3'); flood[s] = flood.get(s, 0) + 1
t = threading.Thread(target=flooder); t.start()
time.sleep(0.2)
for _ in range(10):
    s = ask('127.0.0.4'); innocent[s] = innocent.get(s, 0) + 1
    time.sleep(0.05)
t.join()
print(json.dumps({'flood': flood, 'innocent': innocent}))
"#;
    let o = run(
        &python(),
        &["-c", script, &lb.port.to_string(), body.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        got["flood"]["429"].as_u64().unwrap_or(0) > 0,
        "the flooding client was limited: {got}"
    );
    assert_eq!(got["innocent"], serde_json::json!({ "200": 10 }), "{got}");
    drop(lb);
    n.stop();
    // Refusals name the real client: the flooder, never HAProxy's address or the other one.
    let clients = pg.psql(
        "SELECT DISTINCT line::json->'fields'->>'client' FROM kokuin_audit_records \
         WHERE line::json->>'type' = 'refusals'",
    );
    let clients: Vec<&str> = clients.lines().collect();
    assert!(clients.contains(&"127.0.0.3"), "{clients:?}");
    assert!(
        !clients
            .iter()
            .any(|c| *c == "127.0.0.4" || *c == kokuin_testkit::fleet::PROXY_SOURCE),
        "{clients:?}"
    );
}

/// libfaketime's multithreaded library, wherever Debian put it for this architecture.
fn libfaketime() -> String {
    let found = std::fs::read_dir("/usr/lib")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("faketime/libfaketimeMT.so.1"))
        .find(|p| p.exists());
    found
        .expect("libfaketime (the README's test command installs faketime)")
        .display()
        .to_string()
}

/// #30.6: a node whose clock is an hour ahead of the database's joins (the database is not a
/// time source: refusing is the trusted clock's job), and its disagreement is evidence: a
/// `clock.database` record in its chain and the offset on `/metrics`.
#[test]
fn a_node_an_hour_ahead_of_the_database_is_recorded_and_alarmed() {
    let pg = Postgres::start();
    let dir = tempdir();
    let state = dir.path().join("fleet");
    // The dev state made with a true clock: its certificates start now.
    node(&state, &pg, 1, free_port()).stop();
    let lib = libfaketime();
    let port = free_port();
    let n = kokuin_testkit::fleet::try_node_with(
        &state,
        &pg,
        2,
        port,
        0,
        &[
            ("LD_PRELOAD", lib.as_str()),
            ("FAKETIME", "+1h"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let records = || {
        pg.psql(
            "SELECT line FROM kokuin_audit_records \
             WHERE node_id = 2 AND line::json->>'type' = 'clock.database'",
        )
    };
    // Renewed every second: the first renewals find it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while records().trim().is_empty() {
        assert!(Instant::now() < deadline, "not recorded: {}", n.stderr());
        std::thread::sleep(Duration::from_millis(100));
    }
    let metrics = get(&agent(None), &format!("http://127.0.0.1:{port}/metrics"));
    let body = String::from_utf8_lossy(&metrics.body).to_string();
    let offset: f64 = body
        .lines()
        .find_map(|l| l.strip_prefix("kokuin_database_clock_offset_seconds "))
        .unwrap_or_else(|| panic!("{body}"))
        .trim()
        .parse()
        .unwrap();
    assert!((-3700.0..-3500.0).contains(&offset), "{offset}");
    n.stop();
    let line = records();
    let r = kokuin_audit::Record::parse_line(line.lines().next().unwrap().trim()).unwrap();
    assert_eq!(r.fields["agrees"], false, "{line}");
    assert!(
        r.fields["offset_us"].as_i64().unwrap() < -3_500_000_000,
        "{line}"
    );
}

/// #30.2, in part: checkpoint rows written into the database by hand — one not a note at all
/// (with `<script>` in it), one a real note with a bigger size but its signature no longer
/// over it — are neither served by the nodes (only notes a node signed or verified, with
/// `nosniff`) nor taken by `audit prove` on the database.
#[test]
fn checkpoint_rows_written_by_hand_are_neither_served_nor_proved_against() {
    let pg = Postgres::start();
    let dir = tempdir();
    let state = dir.path().join("fleet");
    let port = free_port();
    let first = node(&state, &pg, 1, port);
    let data = dir.path().join("invoice.xml");
    std::fs::write(&data, b"<Invoice/>\n").unwrap();
    let tsr = dir.path().join("t.tsr");
    request_token(&first.http, &data, &tsr);
    let serial = verify_json(&tsr, &data, &first.root(), None)["serial"]
        .as_str()
        .unwrap()
        .to_string();
    let served = |port: u16| {
        get(
            &agent(None),
            &format!("http://127.0.0.1:{port}/audit/v1/checkpoint"),
        )
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let genuine = loop {
        let r = served(port);
        if r.status == 200 {
            break String::from_utf8_lossy(&r.body).to_string();
        }
        assert!(Instant::now() < deadline, "no checkpoint served");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut lines: Vec<&str> = genuine.lines().collect();
    lines[1] = "999999";
    let forged = lines.join("\n") + "\n";
    pg.psql(&format!(
        "INSERT INTO kokuin_tree_checkpoints (size, note) VALUES \
         (1000000, '<script>alert(1)</script>'), (999999, '{}')",
        forged.replace('\'', "''")
    ));
    // A node that joins now reads the database's newest checkpoint once it has nothing of
    // its own to add.
    let second_port = free_port();
    let second = node(&state, &pg, 2, second_port);
    std::thread::sleep(Duration::from_secs(3));
    for p in [port, second_port] {
        let r = served(p);
        let body = String::from_utf8_lossy(&r.body).to_string();
        assert_eq!(r.status, 200, "{body}");
        assert!(
            !body.contains("script") && !body.contains("\n999999\n"),
            "{body}"
        );
        let raw = agent(None)
            .get(&format!("http://127.0.0.1:{p}/audit/v1/checkpoint"))
            .call()
            .unwrap();
        assert_eq!(
            raw.headers()
                .get("x-content-type-options")
                .and_then(|v| v.to_str().ok()),
            Some("nosniff")
        );
    }
    second.stop();
    first.stop();
    let proof = dir.path().join("t.tlog-proof");
    let o = kokuin_db(
        &pg,
        &[
            "audit",
            "prove",
            &pg.url(),
            "--serial",
            &serial,
            "-o",
            proof.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = kokuin(&[
        "audit",
        "verify-proof",
        proof.to_str().unwrap(),
        "--trust",
        state.join("pki/audit.pem").to_str().unwrap(),
        "--token",
        tsr.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

/// #30.2: a right-edge tree node changed in the database (the probe's case: the integrator
/// went on signing over a tree that no longer extended the earlier ones). The node proves
/// consistency with the newest checkpoint it verified before it signs: it signs nothing over
/// the changed tree, keeps serving the checkpoint it verified, records `tree.mismatch`, and
/// keeps issuing tokens.
#[test]
fn a_tree_node_changed_in_the_database_is_never_signed_over() {
    let pg = Postgres::start();
    let dir = tempdir();
    let state = dir.path().join("fleet");
    let port = free_port();
    let n = node(&state, &pg, 1, port);
    let data = dir.path().join("invoice.xml");
    std::fs::write(&data, b"<Invoice/>\n").unwrap();
    for i in 0..5 {
        request_token(&n.http, &data, &dir.path().join(format!("t{i}.tsr")));
    }
    let size = || -> u64 {
        pg.psql("SELECT coalesce(max(idx) + 1, 0) FROM kokuin_tree_leaves")
            .trim()
            .parse()
            .unwrap()
    };
    let signed = || -> u64 {
        pg.psql("SELECT coalesce(max(size), 0) FROM kokuin_tree_checkpoints")
            .trim()
            .parse()
            .unwrap()
    };
    let served = || {
        let r = get(
            &agent(None),
            &format!("http://127.0.0.1:{port}/audit/v1/checkpoint"),
        );
        String::from_utf8_lossy(&r.body).to_string()
    };
    // Wait for the tree to hold every record so far under a served checkpoint.
    let deadline = Instant::now() + Duration::from_secs(20);
    let before = loop {
        let s = size();
        if s > 0 && signed() == s && served().lines().nth(1) == Some(&s.to_string()) {
            break s;
        }
        assert!(Instant::now() < deadline, "the tree never caught up");
        std::thread::sleep(Duration::from_millis(100));
    };
    // The highest complete subtree on the right edge: every later root is built on it.
    let level = 63 - before.leading_zeros();
    pg.psql(&format!(
        "UPDATE kokuin_tree_nodes SET hash = decode(repeat('ab', 32), 'hex') \
         WHERE level = {level} AND idx = {}",
        (before >> level) - 1
    ));
    for i in 5..10 {
        request_token(&n.http, &data, &dir.path().join(format!("t{i}.tsr")));
    }
    let mismatch = || {
        pg.psql(
            "SELECT count(*) FROM kokuin_audit_records \
             WHERE node_id = 1 AND line::json->>'type' = 'tree.mismatch'",
        )
        .trim()
        .to_string()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while mismatch() == "0" {
        assert!(
            Instant::now() < deadline,
            "no tree.mismatch: {}",
            n.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        signed(),
        before,
        "a checkpoint was signed over the changed tree"
    );
    assert_eq!(served().lines().nth(1), Some(before.to_string().as_str()));
    // Tokens are still issued.
    request_token(&n.http, &data, &dir.path().join("after.tsr"));
    n.stop();
}
