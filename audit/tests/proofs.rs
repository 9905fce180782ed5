//! Issue #24's acceptance on a log of 100,000 records: a proof for a random record verifies;
//! a changed record line, a changed path hash, a wrong index, a checkpoint signed by another
//! key and a checkpoint with another root each fail with a precise reason; a consistency
//! proof from an early checkpoint verifies, and one against a rewritten history fails.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_testkit::audit_key as common;

use kokuin_audit::merkle::{consistency_proof, inclusion_proof, verify_consistency};
use kokuin_audit::note::{self, TreeCheckpoint};
use kokuin_audit::tlog_proof::{TlogProof, TlogProofError};
use kokuin_audit::tree_files::TreeFiles;
use kokuin_audit::{AuditConfig, AuditLog, Event, segment};
use std::sync::mpsc::channel;

const RECORDS: u64 = 100_000;

/// Appends `n` events and waits until every one is durable.
fn append(log: &AuditLog, from: u64, n: u64) {
    let (tx, rx) = channel();
    for i in from..from + n {
        let tx = tx.clone();
        log.append(
            Event::new("token.issued").with("serial", format!("{i:x}")),
            Box::new(move |r| {
                let _ = tx.send(r.is_ok());
            }),
        );
    }
    for _ in 0..n {
        assert!(rx.recv().unwrap());
    }
}

#[test]
fn proofs_over_a_hundred_thousand_records() {
    let dir = tempfile::tempdir().unwrap();
    let key = common::key();
    let (log, _) = AuditLog::open(AuditConfig::new(dir.path()), Some(key.clone())).unwrap();
    append(&log, 0, 1_000);
    // A checkpoint kept from an early visit: the writer signs one at most once a second, so
    // records go on arriving until it has, however slow this machine is.
    let mut next = 1_000;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let early = loop {
        append(&log, next, 1);
        next += 1;
        if let Some(cp) = log.tree_checkpoint() {
            break cp;
        }
        assert!(std::time::Instant::now() < deadline, "no tree checkpoint");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    append(&log, next, RECORDS - next);
    log.close(None).unwrap();

    let latest = std::fs::read_to_string(dir.path().join(segment::TREE_CHECKPOINT_FILE)).unwrap();
    let cp = note::verify(&latest, key.as_ref()).unwrap();
    // Every record, and the close's own checkpoint records, are in the final tree.
    assert!(cp.size >= RECORDS, "{}", cp.size);
    let tree = TreeFiles::open_read_only(dir.path()).unwrap();
    assert_eq!(tree.size(), cp.size);

    let lines: Vec<String> = kokuin_audit::verify::lines(dir.path())
        .unwrap()
        .map(|l| l.unwrap().text.unwrap())
        .collect();
    let index = 73_894u64;
    let proof = TlogProof {
        record_line: lines[index as usize].clone(),
        index,
        path: inclusion_proof(&tree, index, cp.size).unwrap(),
        checkpoint: latest.clone(),
    };
    // As text and back, then verified.
    let proof = TlogProof::parse(&proof.to_text()).unwrap();
    let (got, record) = proof.verify(key.as_ref()).unwrap();
    assert_eq!((got.size, record.seq), (cp.size, index));
    assert!(
        proof.path.len() <= 17,
        "O(log n) hashes: {}",
        proof.path.len()
    );

    // A changed record line.
    let mut bad = proof.clone();
    bad.record_line = bad.record_line.replace("\"serial\":\"", "\"serial\":\"f");
    assert_ne!(bad.record_line, proof.record_line);
    assert!(matches!(
        bad.verify(key.as_ref()),
        Err(TlogProofError::Inclusion(_))
    ));
    // A changed path hash.
    let mut bad = proof.clone();
    bad.path[3][0] ^= 1;
    assert!(matches!(
        bad.verify(key.as_ref()),
        Err(TlogProofError::Inclusion(_))
    ));
    // A wrong index: the record says otherwise, and so would the path.
    let mut bad = proof.clone();
    bad.index += 1;
    let e = bad.verify(key.as_ref()).unwrap_err();
    assert!(e.to_string().contains("seq"), "{e}");
    // A checkpoint signed by another key.
    let other = common::key();
    let mut bad = proof.clone();
    bad.checkpoint = note::sign(&cp, other.as_ref()).unwrap();
    let e = bad.verify(key.as_ref()).unwrap_err();
    assert!(e.to_string().contains("trusted key"), "{e}");
    // A checkpoint with another root, signed by the right key (a forked log).
    let mut forked = cp.clone();
    forked.root[0] ^= 1;
    let mut bad = proof.clone();
    bad.checkpoint = note::sign(&forked, key.as_ref()).unwrap();
    let e = bad.verify(key.as_ref()).unwrap_err();
    assert!(e.to_string().contains("root"), "{e}");
    // A changed note text under the original signature.
    let mut bad = proof.clone();
    bad.checkpoint = latest.replacen(&cp.size.to_string(), &(cp.size + 1).to_string(), 1);
    assert!(matches!(
        bad.verify(key.as_ref()),
        Err(TlogProofError::Checkpoint(_))
    ));

    // Consistency from the early checkpoint.
    let old: TreeCheckpoint = note::verify(&early, key.as_ref()).unwrap();
    assert!(old.size >= 1_000 && old.size < cp.size, "{}", old.size);
    let c = consistency_proof(&tree, old.size, cp.size).unwrap();
    verify_consistency(old.size, cp.size, &c, &old.root, &cp.root).unwrap();
    // Against a rewritten history: a log whose first records differ has another old root.
    let mut rewritten = old.clone();
    rewritten.root = kokuin_audit::merkle::leaf_hash(b"rewritten history");
    let e = verify_consistency(old.size, cp.size, &c, &rewritten.root, &cp.root).unwrap_err();
    assert!(e.to_string().contains("old root"), "{e}");
}

/// The tree follows the log across restarts, and is rebuilt from the segments when it was
/// lost or damaged.
#[test]
fn the_tree_is_rebuilt_from_the_segments() {
    let dir = tempfile::tempdir().unwrap();
    let key = common::key();
    let (log, _) = AuditLog::open(AuditConfig::new(dir.path()), Some(key.clone())).unwrap();
    append(&log, 0, 500);
    log.close(None).unwrap();
    let size = TreeFiles::open_read_only(dir.path()).unwrap().size();
    let root =
        kokuin_audit::merkle::root(&TreeFiles::open_read_only(dir.path()).unwrap(), size).unwrap();
    std::fs::remove_dir_all(dir.path().join("tree")).unwrap();
    let (log, _) = AuditLog::open(AuditConfig::new(dir.path()), Some(key.clone())).unwrap();
    log.close(None).unwrap();
    let tree = TreeFiles::open_read_only(dir.path()).unwrap();
    assert!(tree.size() >= size);
    assert_eq!(kokuin_audit::merkle::root(&tree, size).unwrap(), root);
    let note = std::fs::read_to_string(dir.path().join(segment::TREE_CHECKPOINT_FILE)).unwrap();
    assert_eq!(note::verify(&note, key.as_ref()).unwrap().size, tree.size());
}
