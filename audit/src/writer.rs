//! Appending: one writer thread, group commit, durable before acknowledged.
//!
//! Callers hand an event and a completion; the writer takes every event waiting, writes them
//! as one batch, `fdatasync`s once and completes them all. Many concurrent requests therefore
//! share one sync. A completion with `Ok(seq)` means the record is on stable storage; the
//! service must not release what the record vouches for before that. On an I/O error the
//! batch is cut back off the file, every completion gets the error and the log reports itself
//! unhealthy until a later batch is written. A segment deleted, renamed or replaced under the
//! writer is different: records written on would be acknowledged and lost, so the writer
//! never writes again, and the next open refuses until the loss is accepted (`recover.rs`).
//!
//! The medium is a [`LogStorage`]: segment files by default (`file_storage.rs`).

use crate::checkpoint::{self, CheckpointSigner};
pub use crate::config::{AuditConfig, OpenReport, SyncObserver};
pub use crate::error::{AuditError, Completion};
use crate::event::{Event, kind};
use crate::file_storage::FileStorage;
use crate::inbox::{Alarm, Batch, Cmd};
use crate::note::TreeCheckpoint;
use crate::record::{Record, line_hash};
use crate::storage::{LogStorage, Recovered};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct Stats {
    /// Records written.
    pub records: AtomicU64,
    /// Batches synced.
    pub syncs: AtomicU64,
    /// Time spent writing and syncing, in µs, over all batches.
    pub sync_micros_total: AtomicU64,
    /// The last batch's write and sync, in µs.
    pub last_sync_micros: AtomicU64,
    /// Batches that failed.
    pub failures: AtomicU64,
}

/// The audit log: an append-only, hash-chained sequence of records, written by one thread
/// with group commit; a record acknowledged is durable.
pub struct AuditLog {
    tx: Mutex<Option<Sender<Cmd>>>,
    alarm: Arc<Alarm>,
    healthy: Arc<AtomicBool>,
    stats: Arc<Stats>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The newest signed tree checkpoint (`GET /audit/v1/checkpoint`).
    tree_note: Arc<Mutex<Option<String>>>,
}

impl AuditLog {
    /// Opens (creating if needed) the log in `cfg.dir`, cutting off a torn final record, and
    /// starts the writer. A log damaged anywhere but its torn tail is refused, never repaired:
    /// that is evidence.
    pub fn open(
        cfg: AuditConfig,
        signer: Option<Arc<dyn CheckpointSigner>>,
    ) -> Result<(Self, OpenReport), AuditError> {
        let (storage, recovered) = FileStorage::open(&cfg)?;
        Self::open_on(cfg, Box::new(storage), recovered, signer)
    }

    /// Starts the writer on `storage`, opened by its own recovery: the seam for media other
    /// than segment files.
    pub fn open_on(
        cfg: AuditConfig,
        storage: Box<dyn LogStorage>,
        recovered: Recovered,
        signer: Option<Arc<dyn CheckpointSigner>>,
    ) -> Result<(Self, OpenReport), AuditError> {
        let cfg_accept_loss = cfg.accept_loss.clone();
        let report = recovered.report;
        let accepted_loss = recovered.accepted_loss;
        let state = State {
            cfg,
            signer,
            storage,
            next_seq: recovered.next_seq,
            head: recovered.head,
            since_checkpoint: 0,
            last_checkpoint: Instant::now(),
            noted: 0,
            last_note: Instant::now(),
            tree_note: Arc::default(),
            tree_start: recovered.tree_start,
        };
        let tree_note = state.tree_note.clone();
        let (tx, rx) = channel();
        let healthy = Arc::new(AtomicBool::new(true));
        let stats = Arc::new(Stats::default());
        let alarm = Arc::new(Alarm::new());
        let (a, h, s) = (alarm.clone(), healthy.clone(), stats.clone());
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || run(state, rx, &a, h, s))
            .map_err(|e| AuditError::Io(format!("cannot start the writer: {e}")))?;
        alarm.set_writer(thread.thread().clone());
        let log = Self {
            tx: Mutex::new(Some(tx)),
            alarm,
            healthy,
            stats,
            thread: Mutex::new(Some(thread)),
            tree_note,
        };
        if let (Some(loss), Some((_, kept)), Some(reason)) =
            (&accepted_loss, &report.loss, &cfg_accept_loss)
        {
            log.append_blocking(loss.event(reason, kept))?;
        }
        if report.torn_bytes > 0 {
            log.append_blocking(
                Event::new(kind::RECOVERY)
                    .with("torn_bytes", report.torn_bytes)
                    .with("records", report.records),
            )?;
        }
        Ok((log, report))
    }

    /// Queues `event`; `done` runs on the writer thread once it is durable (or failed).
    pub fn append(&self, event: Event, done: Completion) {
        self.append_within(event, Duration::ZERO, done);
    }

    /// Like [`Self::append`], for a caller that will not need the record durable for `slack`
    /// (it is signing the token the record vouches for): the writer may hold the record that
    /// long for others to share its sync. One `fdatasync` per record is most of the log's
    /// cost when tokens arrive slower than syncs finish.
    pub fn append_within(&self, event: Event, slack: Duration, done: Completion) {
        let tx = self.tx.lock().ok().and_then(|t| t.clone());
        let latest = Instant::now() + slack;
        match tx {
            Some(tx) => match tx.send(Cmd::Append(event, done, latest)) {
                Ok(()) => self.alarm.queued(latest),
                Err(std::sync::mpsc::SendError(Cmd::Append(_, done, _))) => {
                    done(Err(AuditError::Closed));
                }
                Err(_) => {}
            },
            None => done(Err(AuditError::Closed)),
        }
    }

    /// Appends and waits until the record is durable. Returns its seq.
    pub fn append_blocking(&self, event: Event) -> Result<u64, AuditError> {
        let (tx, rx) = channel();
        self.append(
            event,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx.recv().unwrap_or(Err(AuditError::Closed))
    }

    /// False after a failed write, until a write succeeds again.
    /// Whether the writer is holding records for company until a deadline (they are not yet
    /// durable): for metrics, and for tests that must reach that state rather than sleep.
    pub fn holding_records(&self) -> bool {
        self.alarm.planned()
    }

    /// Whether the last write succeeded (readiness: a service that cannot record does not issue).
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// The newest signed tree checkpoint (a C2SP signed note), once one was made.
    pub fn tree_checkpoint(&self) -> Option<String> {
        self.tree_note.lock().ok().and_then(|n| n.clone())
    }

    /// The write counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Writes `event` (e.g. service.stop), a final checkpoint, and stops the writer.
    pub fn close(&self, event: Option<Event>) -> Result<(), AuditError> {
        // The writer stops (and the log's lock is released) even when the last record
        // cannot be written.
        let appended = match event {
            Some(e) => self.append_blocking(e).map(|_| ()),
            None => Ok(()),
        };
        appended.and(self.stop_writer())
    }

    fn stop_writer(&self) -> Result<(), AuditError> {
        let tx = self.tx.lock().ok().and_then(|mut t| t.take());
        let Some(tx) = tx else {
            return Ok(());
        };
        let (rtx, rrx) = channel();
        tx.send(Cmd::Close(rtx)).map_err(|_| AuditError::Closed)?;
        self.alarm.queued(Instant::now());
        let r = rrx.recv().unwrap_or(Err(AuditError::Closed));
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
        r
    }
}

impl Drop for AuditLog {
    /// Stops the writer and waits for it, so that the log's lock is free once this returns.
    fn drop(&mut self) {
        if let Ok(mut t) = self.tx.lock() {
            t.take();
        }
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

/// A time the log could not write, for the `log.resumed` record that ends it.
#[derive(Default)]
struct Outage {
    since: Option<SystemTime>,
    failed_batches: u64,
    first_error: String,
}

impl Outage {
    /// A batch failed, or (`check`) the medium cannot take records.
    fn failed(&mut self, e: &AuditError) {
        if self.since.is_none() {
            self.since = Some(SystemTime::now());
            self.first_error = e.to_string();
        }
        self.failed_batches += 1;
    }

    /// `log.resumed`: when writing stopped, how many batches failed (their records were
    /// refused, none written), and the first error.
    fn resumed(&self) -> Event {
        let ev = Event::new(kind::RESUMED).with("failed_batches", self.failed_batches);
        match self.since {
            Some(t) => ev
                .with("since", humantime::format_rfc3339_millis(t).to_string())
                .with("error", self.first_error.clone()),
            None => ev,
        }
    }
}

/// The writer's view of the log: the chain and when to checkpoint; the medium is `storage`.
struct State {
    cfg: AuditConfig,
    signer: Option<Arc<dyn CheckpointSigner>>,
    storage: Box<dyn LogStorage>,
    next_seq: u64,
    head: String,
    since_checkpoint: u64,
    last_checkpoint: Instant,
    /// `next_seq` when the last tree checkpoint was signed, and when it was.
    noted: u64,
    last_note: Instant,
    /// Shared with [`AuditLog::tree_checkpoint`].
    tree_note: Arc<Mutex<Option<String>>>,
    /// The seq of the tree's leaf 0 (`Recovered::tree_start`).
    tree_start: u64,
}

fn run(
    mut st: State,
    rx: Receiver<Cmd>,
    alarm: &Alarm,
    healthy: Arc<AtomicBool>,
    stats: Arc<Stats>,
) {
    let mut outage = Outage::default();
    loop {
        let first = match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(c) => c,
            Err(RecvTimeoutError::Timeout) => {
                // An idle log notices a lost segment too, so readiness drops before the
                // next record would fail.
                if let Err(e) = st.storage.check() {
                    outage.failed(&e);
                    healthy.store(false, Ordering::Release);
                    continue;
                }
                // After a failure, find out by itself when writing works again, so that a
                // service that stopped taking requests can become ready again.
                if !healthy.load(Ordering::Acquire) && st.write(vec![outage.resumed()]).is_ok() {
                    outage = Outage::default();
                    healthy.store(true, Ordering::Release);
                }
                st.write_storage_events();
                if st.checkpoint_due() {
                    let _ = st.checkpoint();
                }
                st.tree_checkpoint(false);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => {
                let _ = st.final_checkpoint();
                return;
            }
        };
        let Batch { records, close } = crate::inbox::gather(first, &rx, alarm);
        if !records.is_empty() {
            let (mut events, dones): (Vec<_>, Vec<_>) = records.into_iter().unzip();
            // The first batch after a failure opens with the gap's record, so a log that
            // recovers under load records its outage too.
            let resumed = !healthy.load(Ordering::Acquire);
            if resumed {
                events.insert(0, outage.resumed());
            }
            let t0 = Instant::now();
            match st.write(events) {
                Ok(first_seq) => {
                    let first_seq = first_seq + u64::from(resumed);
                    if resumed {
                        outage = Outage::default();
                    }
                    let us = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
                    stats.syncs.fetch_add(1, Ordering::Relaxed);
                    stats.sync_micros_total.fetch_add(us, Ordering::Relaxed);
                    stats.last_sync_micros.store(us, Ordering::Relaxed);
                    stats
                        .records
                        .fetch_add(dones.len() as u64, Ordering::Relaxed);
                    if let Some(f) = &st.cfg.on_sync {
                        f(t0.elapsed(), dones.len());
                    }
                    healthy.store(true, Ordering::Release);
                    for (i, d) in dones.into_iter().enumerate() {
                        d(Ok(first_seq + i as u64));
                    }
                }
                Err(e) => {
                    stats.failures.fetch_add(1, Ordering::Relaxed);
                    outage.failed(&e);
                    healthy.store(false, Ordering::Release);
                    for d in dones {
                        d(Err(e.clone()));
                    }
                }
            }
            st.write_storage_events();
            if st.checkpoint_due() {
                let _ = st.checkpoint();
            }
            st.tree_checkpoint(false);
        }
        if let Some(r) = close {
            let result = st.final_checkpoint();
            let _ = r.send(result);
            return;
        }
    }
}

impl State {
    fn checkpoint_due(&self) -> bool {
        self.signer.is_some()
            && self.since_checkpoint > 0
            && (self.since_checkpoint >= self.cfg.checkpoint_every
                || self.last_checkpoint.elapsed() >= self.cfg.checkpoint_interval)
    }

    /// Appends a signed checkpoint and hands it to the storage to publish.
    fn checkpoint(&mut self) -> Result<(), AuditError> {
        let Some(signer) = self.signer.clone() else {
            return Ok(());
        };
        if self.since_checkpoint == 0 && self.next_seq > 0 {
            return Ok(());
        }
        let ev = checkpoint::event(signer.as_ref(), self.next_seq, &self.head)
            .map_err(|e| AuditError::Io(e.to_string()))?;
        let line = self.write_lines(vec![ev])?;
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
        self.storage.publish_checkpoint(line)
    }

    /// The last checkpoint, then `checkpoint.json` written: the log is ready to close.
    fn final_checkpoint(&mut self) -> Result<(), AuditError> {
        let r = self.checkpoint();
        self.tree_checkpoint(true);
        let closed = self.storage.close();
        r.and(closed)
    }

    /// Signs and publishes a C2SP tree checkpoint (`note.rs`) when the tree grew, at most
    /// once a second unless `now`: a proof for a record is available within a second of it.
    fn tree_checkpoint(&mut self, now: bool) {
        let Some(signer) = self.signer.clone() else {
            return;
        };
        // Decided before the tree is read: the root costs O(log n) reads, and this runs after
        // every batch. The tree holds exactly the records written since its epoch began.
        if self.next_seq == self.noted
            || (!now && self.last_note.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        let Some((size, root)) = self.storage.tree_head() else {
            return;
        };
        let origin = self
            .cfg
            .origin
            .clone()
            .unwrap_or_else(|| default_origin(&signer.key_id()));
        let cp = TreeCheckpoint {
            origin: crate::note::epoch_origin(&origin, self.tree_start),
            size,
            root,
            chain_head: Some(self.head.clone()),
            fleet: false,
            start: self.tree_start,
        };
        self.noted = self.next_seq;
        self.last_note = Instant::now();
        // A key that cannot sign notes (not ECDSA) leaves the log without tree checkpoints;
        // a failed publication is reported by the next one and by close.
        if let Ok(note) = crate::note::sign(&cp, signer.as_ref()) {
            if let Ok(mut slot) = self.tree_note.lock() {
                *slot = Some(note.clone());
            }
            let _ = self.storage.publish_tree_checkpoint(note);
        }
    }

    /// Writes what the medium asked to record (`LogStorage::take_events`); a failure is the
    /// next batch's to report.
    fn write_storage_events(&mut self) {
        let events = self.storage.take_events();
        if !events.is_empty() {
            let _ = self.write(events);
        }
    }

    fn write(&mut self, events: Vec<Event>) -> Result<u64, AuditError> {
        let first = self.next_seq;
        let n = events.len() as u64;
        self.write_lines(events)?;
        self.since_checkpoint += n;
        Ok(first)
    }

    /// Chains the events into consecutive records and makes them durable. Returns the last
    /// line.
    fn write_lines(&mut self, events: Vec<Event>) -> Result<String, AuditError> {
        let now = SystemTime::now();
        let mut buf = String::with_capacity(events.len() * 320);
        let mut seq = self.next_seq;
        let mut head = self.head.clone();
        let mut last = String::new();
        for ev in events {
            let line = Record::new(seq, now, &ev.kind, ev.fields, &head)
                .to_line()
                .map_err(|e| AuditError::Unrecordable(e.to_string()))?;
            head = line_hash(&line);
            buf.push_str(&line);
            buf.push('\n');
            last = line;
            seq += 1;
        }
        self.storage.append(self.next_seq, &buf)?;
        self.next_seq = seq;
        self.head = head;
        Ok(last)
    }
}

/// The origin of tree checkpoints unless configured: `kokuin/audit/` and the first 16 hex
/// digits of the audit certificate's SHA-256.
pub fn default_origin(key_id: &str) -> String {
    format!("kokuin/audit/{}", key_id.get(..16).unwrap_or(key_id))
}
