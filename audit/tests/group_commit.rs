//! Group commit: records that arrive while others wait share one `fdatasync`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_audit::{AuditConfig, AuditError, AuditLog, Event, kind};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Appends a record that may wait an hour for its sync; the receiver gets its completion.
fn append_with_an_hour_of_slack(log: &AuditLog) -> Receiver<Result<u64, AuditError>> {
    let (tx, rx) = channel();
    log.append_within(
        Event::new(kind::RECOVERY),
        Duration::from_secs(3600),
        Box::new(move |r| {
            let _ = tx.send(r);
        }),
    );
    rx
}

/// A record with slack waits for the next one and shares its sync; a record without slack
/// syncs at once, so the pair is one batch and nothing waits for the slack to end.
#[test]
fn a_record_with_slack_shares_the_next_ones_sync() {
    let dir = tempfile::tempdir().unwrap();
    let batches = Arc::new(Mutex::new(Vec::new()));
    let mut cfg = AuditConfig::new(dir.path());
    let seen = batches.clone();
    cfg.on_sync = Some(Arc::new(move |_, n| seen.lock().unwrap().push(n)));
    let (log, _) = AuditLog::open(cfg, None).unwrap();
    let rx = append_with_an_hour_of_slack(&log);
    let second = log.append_blocking(Event::new(kind::RECOVERY)).unwrap();
    let first = rx.recv().unwrap().unwrap();
    assert_eq!(first + 1, second);
    assert_eq!(*batches.lock().unwrap(), [2]);
}

/// Closing the log does not wait out the slack of a record the writer is holding: the record
/// is written with the close.
#[test]
fn close_wakes_a_writer_holding_a_record() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = AuditLog::open(AuditConfig::new(dir.path()), None).unwrap();
    let rx = append_with_an_hour_of_slack(&log);
    // Until the writer has taken the record and sleeps on its deadline: the path under test.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !log.holding_records() {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer never held the record"
        );
        std::thread::yield_now();
    }
    log.close(None).unwrap();
    assert!(rx.recv().unwrap().is_ok());
}
