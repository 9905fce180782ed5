//! The fleet's Merkle tree on a real PostgreSQL: two nodes write while two integrators take
//! turns; the tree holds every record once, each node's in seq order; its root, recomputed
//! here from the records alone, is the signed checkpoint's; a proof for a token of either
//! node verifies offline and a changed one does not.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

mod common;
use common::*;

use kokuin_audit::memory_tree::MemoryTree;
use kokuin_audit::merkle::{leaf_hash, root};
use kokuin_audit::note::TreeCheckpoint;
use kokuin_audit::{AuditConfig, AuditLog, Event, kind};
use kokuin_fleet::heads::HeadTrust;
use kokuin_fleet::integrator::{Integrator, latest_stored_checkpoint, prove};
use kokuin_fleet::log_storage::PgStorage;
use kokuin_testkit::audit_key::key;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[test]
fn the_fleet_tree_holds_every_record_and_proves_any_token() {
    let pg = started();
    let k = key();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        // Two integrators, as on two nodes, taking turns under the advisory lock.
        for _ in 0..2 {
            let (pg, k, done) = (&pg, &k, &done);
            s.spawn(move || {
                let mut i =
                    Integrator::new(db(pg), k.clone(), HeadTrust::new(ORIGIN.into(), k.clone()));
                while !done.load(Ordering::Relaxed) {
                    i.round(None).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            });
        }
        let writers: Vec<_> = [1u16, 2]
            .into_iter()
            .map(|node| {
                let (pg, k) = (&pg, &k);
                s.spawn(move || {
                    let (storage, rec) = PgStorage::open(db(pg), node, signing(node, k)).unwrap();
                    let (log, _) = AuditLog::open_on(
                        AuditConfig::new("unused"),
                        Box::new(storage),
                        rec,
                        Some(k.clone()),
                    )
                    .unwrap();
                    for i in 0..60u32 {
                        log.append_blocking(
                            Event::new(kind::TOKEN_ISSUED)
                                .with("serial", format!("{node:04x}{i:08x}")),
                        )
                        .unwrap();
                    }
                    log.close(None).unwrap();
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        done.store(true, Ordering::Relaxed);
    });
    let mut last = Integrator::new(db(&pg), k.clone(), HeadTrust::new(ORIGIN.into(), k.clone()));
    while last.round(None).unwrap().note.is_some() {}

    // Every record once; each node's in seq order, from 0.
    let leaves = pg.psql(
        "SELECT l.node_id || ' ' || l.seq || ' ' || r.line FROM kokuin_tree_leaves l
         JOIN kokuin_audit_records r USING (node_id, seq) ORDER BY l.idx",
    );
    let rows: Vec<(String, u64, String)> = leaves
        .lines()
        .map(|l| {
            let mut p = l.splitn(3, ' ');
            (
                p.next().unwrap().into(),
                p.next().unwrap().parse().unwrap(),
                p.next().unwrap().into(),
            )
        })
        .collect();
    let records: u64 = pg
        .psql("SELECT count(*) FROM kokuin_audit_records")
        .parse()
        .unwrap();
    assert_eq!(rows.len() as u64, records, "every record is a leaf");
    for node in ["1", "2"] {
        let seqs: Vec<u64> = rows.iter().filter(|r| r.0 == node).map(|r| r.1).collect();
        assert_eq!(
            seqs,
            (0..seqs.len() as u64).collect::<Vec<_>>(),
            "node {node}"
        );
    }
    // The root, recomputed from the record lines in leaf order, is the signed one.
    let mut mem = MemoryTree::default();
    for r in &rows {
        mem.push(leaf_hash(r.2.as_bytes()));
    }
    let note = latest_stored_checkpoint(&mut db(&pg)).unwrap().unwrap();
    let cp = kokuin_audit::note::verify(&note, k.as_ref()).unwrap();
    assert!(cp.fleet);
    assert_eq!(cp.size, records);
    assert_eq!(cp.root, root(&mem, cp.size).unwrap());

    // A proof for a token of node 2 verifies; one with a changed path does not.
    let proof = prove(&mut db(&pg), &format!("{:04x}{:08x}", 2, 41))
        .unwrap()
        .unwrap();
    let (c, record) = proof.verify(k.as_ref()).unwrap();
    assert_eq!(c.size, cp.size);
    assert_eq!(record.fields["serial"], format!("{:04x}{:08x}", 2, 41));
    let mut bad = proof.clone();
    bad.path[0][0] ^= 1;
    assert!(bad.verify(k.as_ref()).is_err());
    let mut bad = proof.clone();
    bad.index += 1;
    assert!(bad.verify(k.as_ref()).is_err());
    let text = note.rfind("\n\n").map_or(note.as_str(), |i| &note[..=i]);
    assert!(TreeCheckpoint::parse(text).unwrap().fleet);
    let _ = Arc::strong_count(&k);
}

/// The tree-state row: a round starts from it and moves it in its transaction; a tree made
/// under schema 2 (no row) gets one from `migrate`, built from the stored tree; a row changed
/// by hand stops the rounds (as a mismatch once a checkpoint was verified) and is named by the
/// auditor's recomputation.
#[test]
fn the_tree_state_row_is_made_by_migrate_moved_by_rounds_and_checked() {
    let pg = started();
    let k = key();
    // Node 3: the other test of this process writes as nodes 1 and 2, with the same key files.
    let (storage, rec) = PgStorage::open(db(&pg), 3, signing(3, &k)).unwrap();
    let (log, _) = AuditLog::open_on(
        AuditConfig::new("unused"),
        Box::new(storage),
        rec,
        Some(k.clone()),
    )
    .unwrap();
    let write = |from: u32, n: u32| {
        for i in from..from + n {
            log.append_blocking(Event::new(kind::TOKEN_ISSUED).with("serial", format!("{i:012x}")))
                .unwrap();
        }
    };
    // Records go into the tree up to a signed head, and the head covering the last is signed
    // once the writer is idle: round until the tree has `size` leaves.
    let integrate = |i: &mut Integrator, trusted: &TreeCheckpoint, size: u64| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut last = trusted.clone();
        loop {
            if let Some(note) = i.round((last.size > 0).then_some(&last)).unwrap().note {
                last = kokuin_audit::note::verify(&note, k.as_ref()).unwrap();
                if last.size == size {
                    return last;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no round took the records in"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let trust = || HeadTrust::new(ORIGIN.into(), k.clone());
    let mut i = Integrator::new(db(&pg), k.clone(), trust());
    let state = || pg.psql("SELECT size || ' ' || encode(root, 'hex') FROM kokuin_tree_state");
    assert_eq!(
        state(),
        format!("0 {}", hex(&kokuin_audit::merkle::empty_root()))
    );
    write(0, 7);
    let empty = TreeCheckpoint {
        origin: ORIGIN.into(),
        size: 0,
        root: kokuin_audit::merkle::empty_root(),
        chain_head: None,
        fleet: true,
        start: 0,
    };
    let cp = integrate(&mut i, &empty, 7);
    assert_eq!(state(), format!("{} {}", cp.size, hex(&cp.root)));

    // Schema 2 had no row: migrate makes it from the stored tree, and rounds go on.
    pg.psql("DELETE FROM kokuin_tree_state; UPDATE kokuin_schema SET version = 2");
    migrate(&mut db(&pg));
    assert_eq!(state(), format!("{} {}", cp.size, hex(&cp.root)));
    write(7, 5);
    let cp = integrate(&mut i, &cp, 12);
    assert_eq!(state(), format!("{} {}", cp.size, hex(&cp.root)));

    // A row changed by hand: nothing more is signed, and the auditor names it.
    pg.psql("UPDATE kokuin_tree_state SET root = decode(repeat('ab', 32), 'hex')");
    write(12, 3);
    match i.round(Some(&cp)) {
        Err(kokuin_fleet::FleetError::TreeMismatch(size, why)) => {
            assert_eq!(size, cp.size);
            assert!(why.contains("root"), "{why}");
        }
        other => panic!("{:?}", other.map(|r| r.note)),
    }
    assert!(matches!(
        Integrator::new(db(&pg), k.clone(), trust()).round(None),
        Err(kokuin_fleet::FleetError::TreeDamaged(_))
    ));
    let found = kokuin_fleet::tree_audit::audit(&mut db(&pg), k.clone(), &|n| {
        kokuin_audit::note::verify(n, k.as_ref()).ok()
    })
    .unwrap();
    assert!(
        found
            .findings
            .iter()
            .any(|f| f.detail.contains("tree-state row's root")),
        "{:?}",
        found.findings
    );
    log.close(None).unwrap();
}

fn hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}
