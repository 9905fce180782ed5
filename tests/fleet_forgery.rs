//! #30.1: rows written into the fleet's database by someone who is not a node are never signed
//! into a checkpoint, with three nodes issuing under load and real PostgreSQL: records for a
//! node id no node holds, a record far ahead of a node's chain, a valid-looking extension of a
//! stopped node's chain without a head, a head row no certified key signed, and a record line
//! changed under a node's signed head before the tree took it in. Each is left out, said once
//! (`fleet.refused`, `/metrics`), the tree goes on growing with every genuine record, every
//! checkpoint's root is the one recomputed from the leaves, and tokens keep being issued.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_audit::memory_tree::MemoryTree;
use kokuin_audit::merkle::{leaf_hash, root};
use kokuin_audit::record::{Record, line_hash};
use kokuin_fleet::{DbConfig, SyncDb};
use kokuin_testkit::fleet::node;
use kokuin_testkit::postgres::Postgres;
use kokuin_testkit::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A canonical record line, as a forger with the format in hand writes one.
fn forged(seq: u64, prev: &str, serial: &str) -> String {
    let mut fields = std::collections::BTreeMap::new();
    fields.insert("serial".to_string(), serde_json::json!(serial));
    Record::new(
        seq,
        std::time::SystemTime::now(),
        "token.issued",
        fields,
        prev,
    )
    .to_line()
    .unwrap()
}

fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn insert(pg: &Postgres, node_id: i64, seq: u64, line: &str) {
    pg.psql(&format!(
        "INSERT INTO kokuin_audit_records (node_id, seq, line) VALUES ({node_id}, {seq}, {})",
        sql_text(line)
    ));
}

fn leaves(pg: &Postgres, node_id: i64) -> u64 {
    pg.psql(&format!(
        "SELECT count(*) FROM kokuin_tree_leaves WHERE node_id = {node_id}"
    ))
    .parse()
    .unwrap()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn rows_no_node_signed_are_never_signed_into_a_checkpoint() {
    let pg = Postgres::start();
    let dir = tempdir();
    let state = dir.path().join("fleet");
    let ports = [free_port(), free_port(), free_port()];
    let mut nodes: Vec<_> = (0..3)
        .map(|i| Some(node(&state, &pg, i as u16 + 1, ports[i])))
        .collect();
    let issued = AtomicU64::new(0);
    let mut last3 = 0;
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        // Load on nodes 1 and 2 for the whole test.
        for port in &ports[..2] {
            let (issued, stop) = (&issued, &stop);
            s.spawn(move || {
                let agent = agent(None);
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let r = agent
                        .post(format!("http://127.0.0.1:{port}/tsa"))
                        .header("Content-Type", "application/timestamp-query")
                        .send(&tsq(i)[..]);
                    if r.is_ok_and(|r| r.status() == 200) {
                        issued.fetch_add(1, Ordering::Relaxed);
                    }
                    i += 1;
                }
            });
        }
        let data = dir.path().join("invoice.xml");
        std::fs::write(&data, b"<Invoice/>\n").unwrap();
        request_token(
            &nodes[2].as_ref().unwrap().http,
            &data,
            &dir.path().join("n3.tsr"),
        );
        wait_for("node 3's records in the tree", || {
            let n3: u64 = pg
                .psql("SELECT count(*) FROM kokuin_audit_records WHERE node_id = 3")
                .parse()
                .unwrap();
            n3 > 0 && leaves(&pg, 3) == n3
        });
        // Node 3 stops cleanly: its head covers its last record.
        nodes[2].take().unwrap().stop();
        let (l3, line3): (u64, String) = {
            let r = pg.psql(
                "SELECT seq || ' ' || line FROM kokuin_audit_records WHERE node_id = 3 \
                 ORDER BY seq DESC LIMIT 1",
            );
            let (seq, line) = r.split_once(' ').unwrap();
            (seq.parse().unwrap(), line.to_string())
        };
        last3 = l3;

        // While the integrators are held off (the test holds their lock), node 2 writes and
        // signs heads; one of its records is then changed before any tree takes it in.
        let mut lock =
            SyncDb::new(DbConfig::new(&pg.url(), Some(&pg.password_file), None).unwrap()).unwrap();
        let key = kokuin_fleet::integrator::LOCK_KEY;
        lock.call(|c| async move {
            c.execute("SELECT pg_advisory_lock($1)", &[&key]).await?;
            Ok(())
        })
        .unwrap();
        let held_from: u64 = pg
            .psql("SELECT max(seq) FROM kokuin_tree_leaves WHERE node_id = 2")
            .parse()
            .unwrap();
        // Node 2 signs a head at least once a second while it writes.
        wait_for("node 2's head past the tree", || {
            pg.psql("SELECT coalesce(max(seq), 0) FROM kokuin_node_heads WHERE node_id = 2")
                .parse::<u64>()
                .unwrap()
                > held_from + 3
        });
        let changed = held_from + 2;
        pg.psql(&format!(
            "UPDATE kokuin_audit_records SET line = replace(line, '\"seq\":{changed}', \
             '\"seq\":{changed},\"x\":1') WHERE node_id = 2 AND seq = {changed}"
        ));
        // A node id no node holds, from the genesis; node 1 far ahead; node 3's chain
        // extended as a node would, without a head; a head row for it no key signed.
        let genesis = kokuin_audit::record::GENESIS;
        insert(&pg, 777, 0, &forged(0, genesis, "0777deadbeef"));
        insert(
            &pg,
            1,
            100_000_000,
            &forged(100_000_000, genesis, "0001deadbeef"),
        );
        let ext = forged(last3 + 1, &line_hash(&line3), "0003deadbeef");
        insert(&pg, 3, last3 + 1, &ext);
        pg.psql(&format!(
            "INSERT INTO kokuin_node_heads (node_id, seq, epoch, hash, cert, signature) \
             SELECT node_id, {}, epoch, {}, cert, signature FROM kokuin_node_heads \
             WHERE node_id = 3 ORDER BY seq DESC LIMIT 1",
            last3 + 1,
            sql_text(&line_hash(&ext))
        ));
        lock.call(|c| async move {
            c.execute("SELECT pg_advisory_unlock($1)", &[&key]).await?;
            Ok(())
        })
        .unwrap();

        // Each forgery said, by reason, in some node's chain.
        let said = |reason: &str, node_id: u32| {
            pg.psql(&format!(
                "SELECT count(*) FROM kokuin_audit_records \
                 WHERE line::json->>'type' = 'fleet.refused' \
                 AND line::json->'fields'->>'reason' = '{reason}' \
                 AND line::json->'fields'->>'node_id' = '{node_id}'"
            )) != "0"
        };
        wait_for("every forgery reported", || {
            said("unsigned", 777)
                && said("unsigned", 1)
                && said("unsigned", 3)
                && said("head", 3)
                && said("chain", 2)
        });
        // Node 1's genuine records go on into the tree past the forged row.
        let now1: u64 = pg
            .psql("SELECT max(seq) FROM kokuin_audit_records WHERE node_id = 1 AND seq < 100000000")
            .parse()
            .unwrap();
        wait_for("node 1's records in the tree", || leaves(&pg, 1) > now1);
        stop.store(true, Ordering::Relaxed);
    });

    // None of the forged rows is a leaf; node 2's records stop before the changed one.
    assert_eq!(leaves(&pg, 777), 0);
    let at = |q: &str| pg.psql(q);
    assert_eq!(
        at("SELECT count(*) FROM kokuin_tree_leaves WHERE node_id = 1 AND seq = 100000000"),
        "0"
    );
    assert_eq!(
        at(
            "SELECT count(*) FROM kokuin_tree_leaves l JOIN kokuin_audit_records r \
            USING (node_id, seq) WHERE r.line LIKE '%deadbeef%' OR r.line LIKE '%\"x\":1%'"
        ),
        "0"
    );
    // Every signed checkpoint is the tree of the leaves' lines in order: none was signed over
    // a row no node vouched for, and each extends the ones before it.
    let lines: Vec<String> = at("SELECT r.line FROM kokuin_tree_leaves l \
         JOIN kokuin_audit_records r USING (node_id, seq) ORDER BY l.idx")
    .lines()
    .map(str::to_string)
    .collect();
    let mut tree = MemoryTree::default();
    for l in &lines {
        tree.push(leaf_hash(l.as_bytes()));
    }
    let sizes = at("SELECT size FROM kokuin_tree_checkpoints ORDER BY size");
    assert!(!sizes.is_empty(), "no checkpoint signed");
    for size in sizes.lines() {
        let size: u64 = size.parse().unwrap();
        let note = at(&format!(
            "SELECT note FROM kokuin_tree_checkpoints WHERE size = {size}"
        ));
        let want = base64_root(root(&tree, size).unwrap());
        assert_eq!(
            note.lines().nth(2),
            Some(want.as_str()),
            "the checkpoint of {size} leaves"
        );
    }
    assert!(issued.load(Ordering::Relaxed) > 0);
    // Tokens are still issued after all of it, and /metrics counts the findings.
    let data = dir.path().join("after.xml");
    std::fs::write(&data, b"<Invoice/>\n").unwrap();
    request_token(
        &nodes[0].as_ref().unwrap().http,
        &data,
        &dir.path().join("after.tsr"),
    );
    let refused: u64 = ports[..2]
        .iter()
        .map(|p| {
            let m = get(&agent(None), &format!("http://127.0.0.1:{p}/metrics"));
            String::from_utf8_lossy(&m.body)
                .lines()
                .filter(|l| l.starts_with("kokuin_fleet_refused_total{"))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
                .sum::<u64>()
        })
        .sum();
    assert!(refused >= 5, "findings on /metrics: {refused}");
    for n in nodes.into_iter().flatten() {
        n.stop();
    }
    // The auditor's recomputation names each forged row; node 2's changed record breaks its
    // chain (not valid); the tree and its checkpoints are intact.
    let o = kokuin_testkit::fleet::audit_verify(&pg, &state);
    let out = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    for named in [
        "node 777: records up to seq 0, and no head of it verifies",
        "to 100000000 are beyond its newest verified head",
        &format!("node 3: records from seq {} to {}", last3 + 1, last3 + 1),
        &format!("node 3: the head row for seq {}", last3 + 1),
        "node-00002: DAMAGED",
    ] {
        assert!(out.contains(named), "{named:?} not in: {out}");
    }
    assert!(!out.contains("fleet tree: DAMAGED"), "{out}");
}

fn base64_root(root: [u8; 32]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(root)
}
