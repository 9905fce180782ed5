//! The audit log on a real PostgreSQL (a throwaway cluster, `kokuin_testkit::postgres`): per
//! node chains committed in batches, node id leases, export verified offline by the file
//! verifier, tampering in the database found at the right record, and a node that fails
//! closed while the database is down and resumes by itself.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

mod common;
use common::*;

use kokuin_audit::verify::{Damage, Report, verify_dir};
use kokuin_audit::{AuditConfig, AuditLog, Event, kind};
use kokuin_fleet::log_storage::PgStorage;
use kokuin_fleet::{DbConfig, FleetError, SyncDb, export};
use kokuin_testkit::audit_key::{Key, key};
use kokuin_testkit::postgres::Postgres;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn open(pg: &Postgres, node: u16, k: &Arc<Key>) -> AuditLog {
    open_on(db(pg), node, k)
}

/// Node `node`'s log on `db`, a checkpoint every 10 records.
fn open_on(db: SyncDb, node: u16, k: &Arc<Key>) -> AuditLog {
    let (storage, recovered) = PgStorage::open(db, node, signing(node, k)).unwrap();
    let mut cfg = AuditConfig::new("unused-by-the-database");
    cfg.checkpoint_every = 10;
    let (log, _) = AuditLog::open_on(cfg, Box::new(storage), recovered, Some(k.clone())).unwrap();
    log
}

fn tokens(log: &AuditLog, node: u16, n: u64) {
    for i in 0..n {
        log.append_blocking(
            Event::new(kind::TOKEN_ISSUED)
                .with("serial", format!("{node:04x}{i:08x}"))
                .with("policy", "2.25.1"),
        )
        .unwrap();
    }
}

fn export_and_verify(pg: &Postgres, k: &Key) -> (tempfile::TempDir, Vec<(i32, Report)>) {
    let out = tempfile::tempdir().unwrap();
    let nodes = export::export(&mut db(pg), out.path(), &mut |_| {}).unwrap();
    let reports = nodes
        .iter()
        .map(|n| (n.node_id, verify_dir(&n.dir, k, None, &mut |_| {}).unwrap()))
        .collect();
    (out, reports)
}

#[test]
fn nodes_chain_in_the_database_and_the_export_verifies_offline() {
    let pg = started();
    let k = key();
    // Two nodes writing at once, each its own chain, many records per commit.
    std::thread::scope(|s| {
        for node in [1u16, 2] {
            let (pg, k) = (&pg, &k);
            s.spawn(move || {
                let log = Arc::new(open(pg, node, k));
                let writers: Vec<_> = (0..8)
                    .map(|t| {
                        let log = log.clone();
                        std::thread::spawn(move || tokens(&log, node * 100 + t, 25))
                    })
                    .collect();
                for w in writers {
                    w.join().unwrap();
                }
                log.close(Some(Event::new(kind::SERVICE_STOP))).unwrap();
            });
        }
    });
    let (dir, reports) = export_and_verify(&pg, &k);
    assert_eq!(reports.len(), 2);
    for (node, r) in &reports {
        assert!(r.problem.is_none(), "node {node}: {:?}", r.problem);
        // 200 tokens, the stop, and the checkpoints among and after them.
        assert!(r.records > 201 && r.checkpoints >= 10, "node {node}: {r:?}");
    }
    assert!(dir.path().join("node-00002/checkpoint.json").exists());
    let batches: u64 = pg
        .psql("SELECT count(DISTINCT xmin::text) FROM kokuin_audit_records")
        .parse()
        .unwrap();
    let rows: u64 = pg
        .psql("SELECT count(*) FROM kokuin_audit_records")
        .parse()
        .unwrap();
    assert!(
        batches < rows,
        "group commit: {rows} records in {batches} commits"
    );
    let found = export::find_serial(&mut db(&pg), &format!("{:04x}{:08x}", 205, 7)).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, 2, "found on node 2");
}

#[test]
fn a_node_id_in_use_is_refused_and_each_start_gets_a_new_epoch() {
    let pg = started();
    let k = key();
    let (first, _) = PgStorage::open(db(&pg), 7, signing(7, &k)).unwrap();
    let epoch = first.lease().epoch;
    match PgStorage::open(db(&pg), 7, signing(7, &k)) {
        Err(FleetError::NodeIdInUse {
            node_id, holder, ..
        }) => {
            assert_eq!(node_id, 7);
            assert!(
                holder.contains(&format!("pid {}", std::process::id())),
                "{holder}"
            );
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a second node took id 7"),
    }
    // A clean stop gives the id back; the next start issues serials in a new epoch.
    let (storage, recovered) = (
        first,
        kokuin_audit::storage::Recovered {
            next_seq: 0,
            head: kokuin_audit::record::GENESIS.into(),
            report: Default::default(),
            tree_start: 0,
            accepted_loss: None,
        },
    );
    let (log, _) = AuditLog::open_on(
        AuditConfig::new("unused"),
        Box::new(storage),
        recovered,
        Some(k.clone()),
    )
    .unwrap();
    log.close(None).unwrap();
    let (again, _) = PgStorage::open(db(&pg), 7, signing(7, &k)).unwrap();
    assert_eq!(again.lease().epoch, epoch + 1);
}

/// The node-1 log the tamper cases start from: 40 tokens, a checkpoint every 10 records.
fn tamper_base(pg: &Postgres, k: &Arc<Key>) {
    let log = open(pg, 1, k);
    tokens(&log, 1, 40);
    log.close(Some(Event::new(kind::SERVICE_STOP))).unwrap();
    pg.psql("CREATE TABLE saved AS SELECT * FROM kokuin_audit_records");
    pg.psql("CREATE TABLE saved_cp AS SELECT * FROM kokuin_audit_checkpoints");
}

fn restore(pg: &Postgres) {
    pg.psql(
        "BEGIN; DELETE FROM kokuin_audit_records; INSERT INTO kokuin_audit_records SELECT * FROM saved;
         DELETE FROM kokuin_audit_checkpoints;
         INSERT INTO kokuin_audit_checkpoints SELECT * FROM saved_cp; COMMIT",
    );
}

fn first_problem(pg: &Postgres, k: &Key) -> (u64, Damage, String) {
    let (_d, reports) = export_and_verify(pg, k);
    let (_, r) = &reports[0];
    let p = r.problem.clone().expect("damage not detected");
    (p.index, p.damage, p.detail)
}

/// The seq of the n-th checkpoint record.
fn checkpoint_seq(pg: &Postgres, after: u64) -> u64 {
    pg.psql(&format!(
        "SELECT min(seq) FROM kokuin_audit_records WHERE line LIKE '%\"type\":\"checkpoint\"%' AND seq > {after}"
    ))
    .parse()
    .unwrap()
}

#[test]
fn tampering_in_the_database_is_found_at_the_record() {
    let pg = started();
    let k = key();
    tamper_base(&pg, &k);
    let (_d, reports) = export_and_verify(&pg, &k);
    assert!(reports[0].1.problem.is_none());

    // An UPDATE of one field of record 7.
    pg.psql(
        "UPDATE kokuin_audit_records SET line = replace(line, '\"policy\":\"2.25.1\"', '\"policy\":\"2.25.9\"') WHERE seq = 7",
    );
    let (i, d, _) = first_problem(&pg, &k);
    assert_eq!((i, d), (7, Damage::Modified));
    restore(&pg);

    // A DELETE.
    pg.psql("DELETE FROM kokuin_audit_records WHERE seq = 12");
    let (i, d, _) = first_problem(&pg, &k);
    assert_eq!((i, d), (12, Damage::Removed));
    restore(&pg);

    // An INSERT: a copy of record 19 put in as record 20, the rest moved up.
    pg.psql(
        "BEGIN; UPDATE kokuin_audit_records SET seq = seq + 1000000 WHERE seq >= 20;
         UPDATE kokuin_audit_records SET seq = seq - 999999 WHERE seq >= 1000000;
         INSERT INTO kokuin_audit_records SELECT node_id, 20, line, serial FROM kokuin_audit_records WHERE seq = 19;
         COMMIT",
    );
    let (i, d, _) = first_problem(&pg, &k);
    assert_eq!((i, d), (20, Damage::Inserted));
    restore(&pg);

    // Two records' seqs swapped.
    pg.psql(
        "BEGIN; UPDATE kokuin_audit_records SET seq = -1 WHERE seq = 25;
         UPDATE kokuin_audit_records SET seq = 25 WHERE seq = 26;
         UPDATE kokuin_audit_records SET seq = 26 WHERE seq = -1; COMMIT",
    );
    let (i, d, _) = first_problem(&pg, &k);
    assert_eq!((i, d), (25, Damage::Reordered));
    restore(&pg);

    // A rewritten chain: record 30 changed and every later prev recomputed, so the chain
    // holds; the next checkpoint's signature does not.
    let rows: Vec<(u64, String)> = pg
        .psql("SELECT seq || ' ' || line FROM kokuin_audit_records WHERE node_id = 1 ORDER BY seq")
        .lines()
        .map(|l| {
            let (s, line) = l.split_once(' ').unwrap();
            (s.parse().unwrap(), line.to_string())
        })
        .collect();
    let mut head = kokuin_audit::record::line_hash(&rows[29].1);
    let mut sql = String::from("BEGIN;");
    for (seq, line) in rows.iter().skip(30) {
        let mut r = kokuin_audit::Record::parse_line(line).unwrap();
        if *seq == 30 {
            r.fields.insert("policy".into(), "2.25.666".into());
        }
        r.prev = head.clone();
        let new = r.to_line().unwrap();
        head = kokuin_audit::record::line_hash(&new);
        sql.push_str(&format!(
            "UPDATE kokuin_audit_records SET line = '{}' WHERE seq = {seq};",
            new.replace('\'', "''")
        ));
    }
    sql.push_str("COMMIT");
    pg.psql(&sql);
    let (i, d, _) = first_problem(&pg, &k);
    assert_eq!(
        (i, d),
        (checkpoint_seq(&pg, 30), Damage::BadCheckpointSignature)
    );
    restore(&pg);

    // The tail cut after the last published checkpoint was made.
    pg.psql("DELETE FROM kokuin_audit_records WHERE seq > 35");
    let (_, d, detail) = first_problem(&pg, &k);
    assert_eq!(d, Damage::Truncated, "{detail}");
    restore(&pg);
    let (_d, reports) = export_and_verify(&pg, &k);
    assert!(reports[0].1.problem.is_none(), "restored");
}

#[test]
fn a_node_fails_closed_while_the_database_is_down_and_resumes_by_itself() {
    let mut pg = started();
    let k = key();
    let log = open(&pg, 3, &k);
    tokens(&log, 3, 5);
    pg.stop();
    let t0 = Instant::now();
    let r = log.append_blocking(Event::new(kind::TOKEN_ISSUED).with("serial", "dead"));
    assert!(r.is_err(), "a record acknowledged with the database down");
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "the failure took {:?}",
        t0.elapsed()
    );
    assert!(!log.healthy());
    std::thread::sleep(Duration::from_secs(2));
    assert!(!log.healthy(), "healthy with the database still down");
    pg.start_again();
    let back = Instant::now();
    while !log.healthy() {
        assert!(back.elapsed() < Duration::from_secs(10), "did not resume");
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "resumed {:?} after the database accepted connections",
        back.elapsed()
    );
    tokens(&log, 30, 3);
    log.close(None).unwrap();
    let (_d, reports) = export_and_verify(&pg, &k);
    let r = &reports[0].1;
    assert!(r.problem.is_none(), "{:?}", r.problem);
    let resumed = pg.psql(
        "SELECT count(*) FROM kokuin_audit_records WHERE line LIKE '%\"type\":\"log.resumed\"%'",
    );
    assert_eq!(resumed, "1", "the gap is recorded");
    let dead = pg.psql("SELECT count(*) FROM kokuin_audit_records WHERE serial = 'dead'");
    assert_eq!(dead, "0", "the failed record is not in the log");
}

#[test]
fn tls_to_the_database_with_the_configured_ca_and_no_quiet_downgrade() {
    let pg = Postgres::start_tls();
    let ca = pg.ca.clone().unwrap();
    let k = key();
    let mut tls =
        SyncDb::new(DbConfig::new(&pg.url(), Some(&pg.password_file), Some(&ca)).unwrap()).unwrap();
    migrate(&mut tls);
    let log = open_on(tls, 9, &k);
    tokens(&log, 9, 3);
    // The node's connection is TLS (psql here comes over the Unix socket).
    let ssl = pg.psql(
        "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
         WHERE a.application_name = 'kokuin' AND s.ssl",
    );
    assert!(ssl.parse::<u32>().unwrap() >= 1, "no TLS connection: {ssl}");
    log.close(None).unwrap();
    assert_eq!(
        pg.psql(
            "SELECT count(*) FROM kokuin_audit_records WHERE node_id = 9 AND serial IS NOT NULL"
        ),
        "3"
    );
    // The server takes TCP over TLS only: without the CA, no connection.
    match PgStorage::open(db(&pg), 10, signing(10, &k)) {
        Err(e) => assert!(e.to_string().contains("database"), "{e}"),
        Ok(_) => panic!("a plain connection was taken"),
    }
    // sslmode=require without a CA is refused, not downgraded to an unchecked TLS.
    let e = DbConfig::new(&format!("{}?sslmode=require", pg.url()), None, None)
        .err()
        .unwrap();
    assert!(e.to_string().contains("database_ca"), "{e}");
    // A CA that did not certify the server: refused.
    let other = Postgres::start_tls();
    let wrong = SyncDb::new(
        DbConfig::new(&pg.url(), Some(&pg.password_file), other.ca.as_deref()).unwrap(),
    )
    .unwrap();
    assert!(
        PgStorage::open(wrong, 11, signing(11, &k)).is_err(),
        "a server certificate from another CA was taken"
    );
    // A password in the URL is refused before anything is sent.
    let e = DbConfig::new(&pg.url().replace("kokuin@", "kokuin:secret@"), None, None)
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("password") && !e.to_string().contains("secret"),
        "{e}"
    );
}
