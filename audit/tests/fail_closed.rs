//! The log fails closed (issue #21): a segment deleted or replaced under a running writer
//! stops every write, a start refuses to hide records its published checkpoint vouches for,
//! only an operator's `accept-loss` moves past that (recorded in the chain), and the verifier
//! names the place of a line that is not text, reads bounded, and refuses a checkpoint file
//! it cannot read instead of ignoring it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_audit::verify::{Damage, verify_dir};
use kokuin_audit::{AuditConfig, AuditError, AuditLog, Event, kind, segment};
use kokuin_testkit::audit_key::{Key, key};
use std::path::Path;
use std::sync::Arc;

fn token(log: &AuditLog, i: u64) -> Result<u64, AuditError> {
    log.append_blocking(Event::new(kind::TOKEN_ISSUED).with("serial", format!("{i:04x}")))
}

/// A closed log of `n` tokens with a published checkpoint.
fn closed_log(dir: &Path, k: &Arc<Key>, n: u64) {
    let (log, _) = AuditLog::open(AuditConfig::new(dir), Some(k.clone())).unwrap();
    for i in 0..n {
        token(&log, i).unwrap();
    }
    log.close(Some(Event::new(kind::SERVICE_STOP))).unwrap();
}

#[test]
fn a_deleted_active_segment_stops_every_write_and_the_next_start() {
    let d = tempfile::tempdir().unwrap();
    let k = key();
    closed_log(d.path(), &k, 10);
    let (log, _) = AuditLog::open(AuditConfig::new(d.path()), Some(k.clone())).unwrap();
    token(&log, 10).unwrap();
    let seg = segment::list(d.path()).unwrap().pop().unwrap();
    std::fs::remove_file(&seg).unwrap();
    // Before the fix, these were acknowledged as durable, into the unlinked inode.
    for i in 11..14 {
        let e = token(&log, i).unwrap_err();
        assert!(e.to_string().contains("was deleted"), "{e}");
    }
    assert!(!log.healthy());
    // A file put back at the path does not make the lost one whole again.
    std::fs::write(&seg, b"").unwrap();
    assert!(token(&log, 14).is_err());
    let _ = log.close(Some(Event::new(kind::SERVICE_STOP)));
    std::fs::remove_file(&seg).unwrap();

    // The published checkpoint vouches for records no segment holds: no new chain.
    let e = AuditLog::open(AuditConfig::new(d.path()), Some(k.clone()))
        .err()
        .unwrap();
    let msg = e.to_string();
    assert!(
        matches!(e, AuditError::Damaged(_)) && msg.contains("records 0 to 11 are missing"),
        "{msg}"
    );
    assert!(segment::list(d.path()).unwrap().is_empty());

    // Asked to accept a loss where there is none, nothing is written.
    let intact = tempfile::tempdir().unwrap();
    closed_log(intact.path(), &k, 3);
    let before = snapshot(intact.path());
    let mut cfg = AuditConfig::new(intact.path());
    cfg.accept_loss = Some("nothing to see".into());
    let e = AuditLog::open(cfg, Some(k.clone())).err().unwrap();
    assert!(matches!(e, AuditError::NothingLost(_)), "{e}");
    assert_eq!(before, snapshot(intact.path()));

    // The operator's explicit step: recorded as the first record of what follows, which
    // continues the numbering and the chain after the published checkpoint (record 11).
    let mut cfg = AuditConfig::new(d.path());
    cfg.accept_loss = Some("segment deleted by mistake; ticket 42".into());
    let (log, report) = AuditLog::open(cfg, Some(k.clone())).unwrap();
    let (covered, kept) = report.loss.clone().unwrap();
    assert_eq!(covered, 12);
    assert!(kept.exists());
    assert_eq!(
        token(&log, 100).unwrap(),
        13,
        "a lost record's number was reused"
    );
    log.close(None).unwrap();
    let segs = segment::list(d.path()).unwrap();
    assert_eq!(segs[0].file_name().unwrap(), segment::name(12).as_str());
    let text = std::fs::read_to_string(&segs[0]).unwrap();
    let first = kokuin_audit::Record::parse_line(text.lines().next().unwrap()).unwrap();
    assert_eq!((first.kind.as_str(), first.seq), (kind::LOSS, 12));
    assert_eq!(
        first.fields["reason"],
        "segment deleted by mistake; ticket 42"
    );
    assert_eq!(
        (
            first.fields["lost_from"].as_u64(),
            first.fields["lost_to"].as_u64()
        ),
        (Some(0), Some(11))
    );
    // The log verifies, with the loss as its finding; against the old checkpoint too, which
    // the new chain continues rather than contradicts.
    for latest in [None, Some(kept.as_path())] {
        let r = verify_dir(d.path(), k.as_ref(), latest, &mut |_| {}).unwrap();
        assert!(r.problem.is_none(), "{:?}", r.problem);
        assert_eq!(r.losses.len(), 1);
        assert_eq!((r.losses[0].lost_from, r.losses[0].lost_to), (0, 11));
    }
    // A loss record that claims another range, or is not chained to its checkpoint, is damage.
    let mut forged = text.clone();
    forged = forged.replacen("\"lost_from\":0", "\"lost_from\":1", 1);
    std::fs::write(&segs[0], &forged).unwrap();
    let r = verify_dir(d.path(), k.as_ref(), None, &mut |_| {}).unwrap();
    assert!(r.problem.is_some());
    std::fs::write(&segs[0], &text).unwrap();
    // And a plain start is fine again, going on from the loss's segment.
    let (log, _) = AuditLog::open(AuditConfig::new(d.path()), Some(k.clone())).unwrap();
    assert_eq!(token(&log, 101).unwrap(), 15);
    log.close(None).unwrap();
    let r = verify_dir(d.path(), k.as_ref(), None, &mut |_| {}).unwrap();
    assert!(r.problem.is_none(), "{:?}", r.problem);
}

/// Every file of a directory and its bytes, to show that nothing changed.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn a_second_writer_is_refused_before_it_changes_a_byte() {
    let d = tempfile::tempdir().unwrap();
    let k = key();
    closed_log(d.path(), &k, 4);
    let (log, _) = AuditLog::open(AuditConfig::new(d.path()), Some(k.clone())).unwrap();
    token(&log, 4).unwrap();
    let before = snapshot(d.path());
    let e = AuditLog::open(AuditConfig::new(d.path()), Some(k.clone()))
        .err()
        .unwrap();
    assert!(matches!(e, AuditError::InUse(_)), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("pid {}", std::process::id())),
        "{e}"
    );
    // Not even accepting a loss gets past the lock.
    let mut cfg = AuditConfig::new(d.path());
    cfg.accept_loss = Some("under load".into());
    assert!(matches!(
        AuditLog::open(cfg, Some(k.clone())),
        Err(AuditError::InUse(_))
    ));
    assert_eq!(before, snapshot(d.path()));
    token(&log, 5).unwrap();
    log.close(None).unwrap();
    assert!(
        verify_dir(d.path(), k.as_ref(), None, &mut |_| {})
            .unwrap()
            .problem
            .is_none()
    );
}

/// A crash right after an accepted loss opened its segment, before its record: the loss is
/// still to be accepted, not hidden, and the empty segment does not derail the chain.
#[test]
fn a_crash_before_the_loss_record_leaves_the_loss_to_accept() {
    let d = tempfile::tempdir().unwrap();
    let k = key();
    closed_log(d.path(), &k, 6);
    let segs = segment::list(d.path()).unwrap();
    // Half of the log survives in a segment of its own; the other half is gone.
    let text = std::fs::read_to_string(&segs[0]).unwrap();
    let kept: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(&segs[0], kept).unwrap();
    std::fs::write(d.path().join(segment::name(8)), b"").unwrap();
    let e = AuditLog::open(AuditConfig::new(d.path()), Some(k.clone()))
        .err()
        .unwrap();
    assert!(e.to_string().contains("records 3 to 7 are missing"), "{e}");
    let mut cfg = AuditConfig::new(d.path());
    cfg.accept_loss = Some("disk replaced".into());
    let (log, _) = AuditLog::open(cfg, Some(k.clone())).unwrap();
    assert_eq!(token(&log, 9).unwrap(), 9);
    log.close(None).unwrap();
    let r = verify_dir(d.path(), k.as_ref(), None, &mut |_| {}).unwrap();
    assert!(r.problem.is_none(), "{:?}", r.problem);
    assert_eq!((r.losses[0].lost_from, r.losses[0].lost_to), (3, 7));
    assert_eq!(
        r.records,
        3 + 1 + 1 + 1,
        "3 kept, log.loss, a token, a checkpoint"
    );

    // The same with every segment gone: the empty one is the only file.
    let d = tempfile::tempdir().unwrap();
    closed_log(d.path(), &k, 6);
    for seg in segment::list(d.path()).unwrap() {
        std::fs::remove_file(seg).unwrap();
    }
    std::fs::write(d.path().join(segment::name(8)), b"").unwrap();
    let e = AuditLog::open(AuditConfig::new(d.path()), Some(k.clone()))
        .err()
        .unwrap();
    assert!(e.to_string().contains("records 0 to 7 are missing"), "{e}");
}

#[test]
fn a_replaced_segment_is_noticed_while_idle() {
    let d = tempfile::tempdir().unwrap();
    let (log, _) = AuditLog::open(AuditConfig::new(d.path()), None).unwrap();
    token(&log, 0).unwrap();
    let seg = segment::list(d.path()).unwrap().pop().unwrap();
    let copy = d.path().join("copy");
    std::fs::copy(&seg, &copy).unwrap();
    std::fs::rename(&copy, &seg).unwrap();
    // No record is written: the writer's idle tick finds it (within about a second).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while log.healthy() {
        assert!(std::time::Instant::now() < deadline, "never noticed");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let e = token(&log, 1).unwrap_err();
    assert!(e.to_string().contains("was replaced"), "{e}");
}

#[test]
fn a_line_that_is_not_utf8_is_named_with_its_offset() {
    let d = tempfile::tempdir().unwrap();
    let k = key();
    closed_log(d.path(), &k, 5);
    let seg = segment::list(d.path()).unwrap().remove(0);
    let mut bytes = std::fs::read(&seg).unwrap();
    let second = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
    bytes[second + 10] = 0xff;
    std::fs::write(&seg, &bytes).unwrap();
    let r = verify_dir(d.path(), k.as_ref(), None, &mut |_| {}).unwrap();
    let p = r.problem.unwrap();
    assert_eq!((p.index, p.line, p.damage), (1, 2, Damage::Malformed));
    assert!(
        p.detail.contains(&format!(
            "byte 10 of the line (byte {} of the segment)",
            second + 10
        )),
        "{}",
        p.detail
    );
}

#[test]
fn a_segment_that_is_a_device_is_refused_not_read_forever() {
    let d = tempfile::tempdir().unwrap();
    let k = key();
    closed_log(d.path(), &k, 2);
    std::os::unix::fs::symlink("/dev/zero", d.path().join(segment::name(1000))).unwrap();
    let e = verify_dir(d.path(), k.as_ref(), None, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
}

#[test]
fn a_checkpoint_file_that_cannot_be_read_is_an_error_not_ok() {
    let d = tempfile::tempdir().unwrap();
    let k = key();
    closed_log(d.path(), &k, 3);
    let missing = d.path().join("no-such-checkpoint.json");
    let empty = d.path().join("empty.json");
    std::fs::write(&empty, b"").unwrap();
    let binary = d.path().join("binary.json");
    std::fs::write(&binary, [0x30u8, 0x82, 0xff, 0x00, 0x9c]).unwrap();
    let not_checkpoint = d.path().join("other.json");
    std::fs::write(&not_checkpoint, br#"{"line":"{\"v\":1}"}"#).unwrap();
    for f in [&missing, &empty, &binary, &not_checkpoint] {
        let e = verify_dir(d.path(), k.as_ref(), Some(f), &mut |_| {});
        assert!(e.is_err(), "{} was accepted: {:?}", f.display(), e.ok());
    }
    // The log's own checkpoint.json may be absent, but not damaged.
    std::fs::write(d.path().join(segment::CHECKPOINT_FILE), b"\xff\xfe").unwrap();
    let r = verify_dir(d.path(), k.as_ref(), None, &mut |_| {}).unwrap();
    assert_eq!(r.problem.unwrap().damage, Damage::Malformed);
}
