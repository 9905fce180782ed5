//! Tamper detection on real logs written by the writer, with checkpoints signed by a real
//! P-256 key: every kind of damage is reported at the right record.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_audit::verify::{Damage, Report, verify_dir};
use kokuin_audit::{AuditConfig, AuditError, AuditLog, Event, Record, kind, segment};
use kokuin_testkit::audit_key::{Key, key};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// 40 token events with a checkpoint every 10 records, closed with a final checkpoint.
fn write_log(dir: &Path, k: Arc<Key>, max_segment: u64) -> u64 {
    let mut cfg = AuditConfig::new(dir);
    cfg.checkpoint_every = 10;
    cfg.segment_max_bytes = max_segment;
    let (log, _) = AuditLog::open(cfg, Some(k.clone())).unwrap();
    for i in 0..40u64 {
        log.append_blocking(
            Event::new(kind::TOKEN_ISSUED)
                .with("serial", format!("{i:04x}"))
                .with("policy", "2.25.1"),
        )
        .unwrap();
    }
    log.close(Some(Event::new(kind::SERVICE_STOP))).unwrap();
    let r = verify(dir, &k);
    assert!(r.problem.is_none(), "{:?}", r.problem);
    r.records
}

fn verify(dir: &Path, k: &Key) -> Report {
    verify_dir(dir, k, None, &mut |_| {}).unwrap()
}

fn only_segment(dir: &Path) -> PathBuf {
    let s = segment::list(dir).unwrap();
    assert_eq!(s.len(), 1);
    s[0].clone()
}

fn edit(dir: &Path, f: impl FnOnce(&mut Vec<String>)) {
    let p = only_segment(dir);
    let mut lines: Vec<String> = std::fs::read_to_string(&p)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    f(&mut lines);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
}

fn fresh() -> (tempfile::TempDir, Arc<Key>) {
    let d = tempfile::tempdir().unwrap();
    let k = key();
    write_log(d.path(), k.clone(), u64::MAX);
    (d, k)
}

fn problem(dir: &Path, k: &Key) -> (u64, Damage) {
    let p = verify(dir, k).problem.expect("damage not detected");
    (p.index, p.damage)
}

#[test]
fn intact_log_verifies_with_checkpoints() {
    let (d, k) = fresh();
    let r = verify(d.path(), &k);
    // 40 tokens + 4 checkpoints + stop + final checkpoint.
    assert_eq!(r.records, 46);
    assert_eq!(r.checkpoints, 5);
}

#[test]
fn a_changed_field_is_found() {
    let (d, k) = fresh();
    edit(d.path(), |l| {
        l[7] = l[7].replace("\"serial\":\"0007\"", "\"serial\":\"0666\"")
    });
    assert_eq!(problem(d.path(), &k), (7, Damage::Modified));
}

#[test]
fn a_removed_record_is_found() {
    let (d, k) = fresh();
    edit(d.path(), |l| {
        l.remove(7);
    });
    assert_eq!(problem(d.path(), &k), (7, Damage::Removed));
}

#[test]
fn swapped_records_are_found() {
    let (d, k) = fresh();
    edit(d.path(), |l| l.swap(7, 8));
    assert_eq!(problem(d.path(), &k), (7, Damage::Reordered));
}

#[test]
fn a_duplicated_record_is_found() {
    let (d, k) = fresh();
    edit(d.path(), |l| {
        let x = l[7].clone();
        l.insert(8, x);
    });
    assert_eq!(problem(d.path(), &k), (8, Damage::Inserted));
}

#[test]
fn a_cut_off_tail_is_found() {
    let (d, k) = fresh();
    edit(d.path(), |l| l.truncate(30));
    assert_eq!(problem(d.path(), &k), (30, Damage::Truncated));
}

#[test]
fn a_rewritten_chain_fails_at_the_next_checkpoint() {
    // Change record 3 and recompute every later prev: the chain is whole again, but the
    // checkpoint at 10 signed the old head.
    let (d, k) = fresh();
    edit(d.path(), |l| {
        l[3] = l[3].replace("\"serial\":\"0003\"", "\"serial\":\"9999\"");
        for i in 4..l.len() {
            let mut r = Record::parse_line(&l[i]).unwrap();
            r.prev = kokuin_audit::record::line_hash(&l[i - 1]);
            if r.kind == kind::CHECKPOINT {
                r.fields.insert("head".into(), r.prev.clone().into());
            }
            l[i] = r.to_line().unwrap();
        }
    });
    assert_eq!(problem(d.path(), &k), (10, Damage::BadCheckpointSignature));
}

#[test]
fn a_checkpoint_from_another_key_is_refused() {
    let (d, _) = fresh();
    // Verified against a key that did not sign it.
    let other = key();
    assert_eq!(
        problem(d.path(), &other),
        (10, Damage::BadCheckpointSignature)
    );
}

#[test]
fn torn_tail_is_cut_and_recorded_mid_log_damage_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let k = key();
    write_log(d.path(), k.clone(), u64::MAX);
    let p = only_segment(d.path());
    let mut bytes = std::fs::read(&p).unwrap();
    bytes.extend_from_slice(b"{\"v\":1,\"seq\":46,\"time\":\"2026-11-23T0");
    std::fs::write(&p, &bytes).unwrap();
    let (log, report) = AuditLog::open(AuditConfig::new(d.path()), Some(k.clone())).unwrap();
    assert_eq!(report.records, 46);
    assert!(report.torn_bytes > 0);
    log.close(None).unwrap();
    let r = verify(d.path(), &k);
    assert!(r.problem.is_none(), "{:?}", r.problem);
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(kind::RECOVERY));

    // A broken record with whole records after it is damage, not a torn tail: refused.
    edit(d.path(), |l| l[5] = l[5].replace("0005", "0555"));
    let r = AuditLog::open(AuditConfig::new(d.path()), Some(k));
    assert!(matches!(r, Err(AuditError::Damaged(_))), "{:?}", r.err());
}

#[test]
fn the_chain_runs_across_segments() {
    let d = tempfile::tempdir().unwrap();
    let k = key();
    let n = write_log(d.path(), k.clone(), 2048);
    assert!(segment::list(d.path()).unwrap().len() > 2);
    assert_eq!(verify(d.path(), &k).records, n);
    // Reopening continues the chain in the last segment.
    let (log, report) = AuditLog::open(AuditConfig::new(d.path()), Some(k.clone())).unwrap();
    assert_eq!(report.records, n);
    log.append_blocking(Event::new(kind::SERVICE_START))
        .unwrap();
    log.close(None).unwrap();
    assert!(verify(d.path(), &k).problem.is_none());
}

#[test]
fn concurrent_appends_share_syncs_and_get_distinct_seqs() {
    let d = tempfile::tempdir().unwrap();
    let (log, _) = AuditLog::open(AuditConfig::new(d.path()), None).unwrap();
    let log = Arc::new(log);
    let seqs: Vec<u64> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let log = log.clone();
                s.spawn(move || {
                    (0..200)
                        .map(|_| log.append_blocking(Event::new(kind::TOKEN_ISSUED)).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = seqs.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 1600);
    let st = log.stats();
    let syncs = st.syncs.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        syncs < 1600,
        "no group commit: {syncs} syncs for 1600 records"
    );
}

#[test]
fn preallocated_zeros_after_the_last_record_are_neither_damage_nor_torn() {
    let d = tempfile::tempdir().unwrap();
    let k = key();
    write_log(d.path(), k.clone(), u64::MAX);
    let p = only_segment(d.path());
    let mut bytes = std::fs::read(&p).unwrap();
    bytes.extend_from_slice(&[0u8; 8192]);
    std::fs::write(&p, &bytes).unwrap();
    // A live log (as a crash leaves it) verifies…
    assert!(verify(d.path(), &k).problem.is_none());
    // …and opening trims the zeros without calling them a torn record.
    let (log, report) = AuditLog::open(AuditConfig::new(d.path()), Some(k.clone())).unwrap();
    assert_eq!(report.torn_bytes, 0);
    log.append_blocking(Event::new(kind::SERVICE_START))
        .unwrap();
    log.close(None).unwrap();
    let text = std::fs::read(&p).unwrap();
    assert!(!text.contains(&0u8));
    assert!(verify(d.path(), &k).problem.is_none());
}
