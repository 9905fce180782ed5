//! The fleet trusts nothing its database holds that a node did not sign or verify (issue
//! #30), with real PostgreSQL and HAProxy started here: real client addresses through PROXY
//! protocol v2, the database's clock beside the node's, checkpoint rows written by hand
//! neither served nor proved against, and a tree changed with SQL never signed over.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_testkit::fleet::{Haproxy, audit_verify, kokuin_db, node};
use kokuin_testkit::postgres::Postgres;
use kokuin_testkit::*;
use std::time::{Duration, Instant};

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
    // The auditor's recomputation names both rows; the signed evidence is intact.
    let o = audit_verify(&pg, &state);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for size in ["1000000", "999999"] {
        assert!(
            out.contains(&format!("the checkpoint row of size {size} is not signed")),
            "{out}"
        );
    }
    assert!(out.contains("VALID WITH FINDINGS"), "{out}");
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
    // The auditor's recomputation names the changed row: not valid.
    let o = audit_verify(&pg, &state);
    let out = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains(&format!(
            "the tree row at level {level}, index {} was changed",
            (before >> level) - 1
        )),
        "{out}"
    );
}

/// #30.2: the tree's rows deleted back to an older genuine checkpoint (its checkpoint rows
/// kept). The node holds the newest checkpoint it verified in its own file: it signs nothing
/// over the shorter tree, records `tree.mismatch`, keeps issuing; the auditor's recomputation
/// names the rollback.
#[test]
fn tree_rows_deleted_back_to_an_older_checkpoint_are_never_signed_over() {
    let pg = Postgres::start();
    let dir = tempdir();
    let state = dir.path().join("fleet");
    let n = node(&state, &pg, 1, free_port());
    let data = dir.path().join("invoice.xml");
    std::fs::write(&data, b"<Invoice/>\n").unwrap();
    let signed = || -> u64 {
        pg.psql("SELECT coalesce(max(size), 0) FROM kokuin_tree_checkpoints")
            .parse()
            .unwrap()
    };
    let mut sizes = Vec::new();
    for i in 0..2 {
        request_token(&n.http, &data, &dir.path().join(format!("t{i}.tsr")));
        let deadline = Instant::now() + Duration::from_secs(20);
        let last = sizes.last().copied().unwrap_or(0);
        while signed() <= last {
            assert!(Instant::now() < deadline, "no checkpoint: {}", n.stderr());
            std::thread::sleep(Duration::from_millis(100));
        }
        sizes.push(signed());
    }
    // Give the node the newest checkpoint (it adopts what it signs at once), then roll the
    // tree back to the first.
    let old = sizes[0];
    pg.psql(&format!(
        "DELETE FROM kokuin_tree_leaves WHERE idx >= {old}; \
         DELETE FROM kokuin_tree_nodes WHERE (idx + 1) * (1::bigint << level) > {old}"
    ));
    request_token(&n.http, &data, &dir.path().join("after.tsr"));
    let mismatch = || {
        pg.psql(
            "SELECT count(*) FROM kokuin_audit_records \
             WHERE node_id = 1 AND line::json->>'type' = 'tree.mismatch'",
        )
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
        sizes[1],
        "a checkpoint was signed over the shorter tree"
    );
    request_token(&n.http, &data, &dir.path().join("still.tsr"));
    n.stop();
    let o = audit_verify(&pg, &state);
    let out = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains(&format!(
            "the audit key signed a checkpoint of {} leaves; the stored tree has only {old}",
            sizes[1]
        )),
        "{out}"
    );
}

/// #30.4: a node runs with exactly the documented role: after `kokuin fleet migrate` by the
/// tables' owner, a node connecting as a role with the node grants issues tokens and keeps
/// its chain and the tree, and that role cannot change or delete a record, delete a tree row,
/// or create a table — PostgreSQL refuses.
#[test]
fn a_node_runs_with_the_least_privilege_role_and_that_role_can_change_nothing() {
    let pg = Postgres::start();
    let dir = tempdir();
    let state = dir.path().join("fleet");
    // The dev state and keyring made by a dev node as the owner.
    node(&state, &pg, 1, free_port()).stop();
    pg.psql("CREATE ROLE kokuin_node LOGIN PASSWORD 'node-secret'");
    let o = kokuin_db(
        &pg,
        &["fleet", "migrate", &pg.url(), "--node-role", "kokuin_node"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let version = format!("version {}", kokuin_fleet::schema::VERSION);
    assert!(text(&o).contains(&version), "{}", text(&o));
    let port = free_port();
    let (url, addr) = (pg.url_as("kokuin_node"), format!("127.0.0.1:{port}"));
    let n = Server::try_spawn_env(
        &[
            "serve",
            "--dev",
            "--state-dir",
            state.to_str().unwrap(),
            "--database",
            &url,
            "--node-id",
            "2",
            "--http",
            &addr,
        ],
        &state,
        "warn",
        &[("KOKUIN_DATABASE_PASSWORD", "node-secret")],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("invoice.xml");
    std::fs::write(&data, b"<Invoice/>\n").unwrap();
    request_token(&n.http, &data, &dir.path().join("t.tsr"));
    // Its records are integrated into the tree under its role too.
    let deadline = Instant::now() + Duration::from_secs(20);
    while pg.psql("SELECT count(*) FROM kokuin_tree_leaves WHERE node_id = 2") == "0" {
        assert!(Instant::now() < deadline, "{}", n.stderr());
        std::thread::sleep(Duration::from_millis(100));
    }
    for sql in [
        "UPDATE kokuin_audit_records SET line = 'x' WHERE node_id = 2",
        "UPDATE kokuin_node_heads SET seq = 0 WHERE node_id = 2",
        "DELETE FROM kokuin_node_heads",
        "DELETE FROM kokuin_audit_records WHERE node_id = 2",
        "DELETE FROM kokuin_tree_nodes",
        "UPDATE kokuin_keyring SET text = ''",
        "CREATE TABLE kokuin_evil (x integer)",
    ] {
        let e = pg.psql_as("kokuin_node", sql).unwrap_err();
        assert!(e.contains("permission denied"), "{sql}: {e}");
    }
    n.stop();
    let o = audit_verify(&pg, &state);
    assert!(o.status.success(), "{}", text(&o));
}
