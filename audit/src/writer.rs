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
//! The active segment is preallocated in chunks and written in place, so that a sync flushes
//! data only: appending would change the file size with every batch, and each `fdatasync`
//! would then commit the file-system journal too (measured here: 157 µs against 93 µs per
//! sync, idle). Until a segment is finished (rotation, close) it therefore ends in zero
//! bytes after its last record; readers stop there, and recovery trims them.

use crate::checkpoint::{self, CheckpointSigner, LatestCheckpoint};
use crate::error::io;
pub use crate::error::{AuditError, Completion};
use crate::event::{Event, kind};
use crate::inbox::{Alarm, Batch, Cmd};
use crate::publish::Publisher;
use crate::record::{GENESIS, Record, line_hash};
use crate::recover::{check_published, last_line_hash, scan_tail};
use crate::segment;
use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Called after every durable batch with the time the write and sync took and the batch size
/// (for metrics).
pub type SyncObserver = Arc<dyn Fn(Duration, usize) + Send + Sync>;

#[derive(Clone)]
pub struct AuditConfig {
    pub dir: PathBuf,
    /// Start a new segment past this size.
    pub segment_max_bytes: u64,
    /// Start a new segment when the UTC day changes.
    pub rotate_daily: bool,
    /// Write a checkpoint after this many records…
    pub checkpoint_every: u64,
    /// …or this long after the last one, whichever comes first (if records were written).
    pub checkpoint_interval: Duration,
    pub on_sync: Option<SyncObserver>,
    /// The operator's reason for accepting that `checkpoint.json` shows records the segments
    /// no longer hold. Without it such a log refuses to open; with it the loss is recorded
    /// (`log.loss`) as the first record written, and the old checkpoint kept aside.
    pub accept_loss: Option<String>,
}

impl AuditConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            segment_max_bytes: 256 * 1024 * 1024,
            rotate_daily: true,
            checkpoint_every: 10_000,
            checkpoint_interval: Duration::from_secs(60),
            on_sync: None,
            accept_loss: None,
        }
    }
}

/// What opening found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Records already in the log.
    pub records: u64,
    /// Bytes of a torn final record cut off.
    pub torn_bytes: u64,
    /// Records the last published checkpoint covers that the segments lack, accepted by the
    /// operator (`AuditConfig::accept_loss`): (records it covers, where the old checkpoint
    /// was moved).
    pub loss: Option<(u64, PathBuf)>,
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct Stats {
    pub records: AtomicU64,
    pub syncs: AtomicU64,
    pub sync_micros_total: AtomicU64,
    pub last_sync_micros: AtomicU64,
    pub failures: AtomicU64,
}

pub struct AuditLog {
    tx: Mutex<Option<Sender<Cmd>>>,
    alarm: Arc<Alarm>,
    healthy: Arc<AtomicBool>,
    stats: Arc<Stats>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl AuditLog {
    /// Opens (creating if needed) the log in `cfg.dir`, cutting off a torn final record, and
    /// starts the writer. A log damaged anywhere but its torn tail is refused, never repaired:
    /// that is evidence.
    pub fn open(
        cfg: AuditConfig,
        signer: Option<Arc<dyn CheckpointSigner>>,
    ) -> Result<(Self, OpenReport), AuditError> {
        std::fs::create_dir_all(&cfg.dir).map_err(|e| io(&cfg.dir, e))?;
        let cfg_accept_loss = cfg.accept_loss.clone();
        let (state, report) = State::recover(&cfg, signer)?;
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
        };
        if let (Some((covered, kept)), Some(reason)) = (&report.loss, &cfg_accept_loss) {
            log.append_blocking(
                Event::new(kind::LOSS)
                    .with("checkpoint_records", *covered)
                    .with("records", report.records)
                    .with(
                        "old_checkpoint",
                        kept.file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                    )
                    .with("reason", reason.clone()),
            )?;
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

    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Writes `event` (e.g. service.stop), a final checkpoint, and stops the writer.
    pub fn close(&self, event: Option<Event>) -> Result<(), AuditError> {
        if let Some(e) = event {
            self.append_blocking(e)?;
        }
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
    fn drop(&mut self) {
        if let Ok(mut t) = self.tx.lock() {
            t.take();
        }
    }
}

/// Preallocation step for the active segment.
const CHUNK: u64 = 8 * 1024 * 1024;

/// The writer's view of the log.
struct State {
    cfg: AuditConfig,
    signer: Option<Arc<dyn CheckpointSigner>>,
    file: File,
    path: PathBuf,
    /// End of the last record: where the next batch is written.
    len: u64,
    /// Bytes the file holds (records, then zeros).
    allocated: u64,
    day: u64,
    next_seq: u64,
    head: String,
    since_checkpoint: u64,
    last_checkpoint: Instant,
    publisher: Publisher,
    /// Why the active segment is gone, once the writer has seen that it is.
    lost: Option<String>,
}

fn run(
    mut st: State,
    rx: Receiver<Cmd>,
    alarm: &Alarm,
    healthy: Arc<AtomicBool>,
    stats: Arc<Stats>,
) {
    loop {
        let first = match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(c) => c,
            Err(RecvTimeoutError::Timeout) => {
                // An idle log notices a lost segment too, so readiness drops before the
                // next record would fail.
                if st.check_identity().is_err() {
                    healthy.store(false, Ordering::Release);
                    continue;
                }
                // After a failure, find out by itself when writing works again, so that a
                // service that stopped taking requests can become ready again.
                if !healthy.load(Ordering::Acquire)
                    && st.write(vec![Event::new(kind::RESUMED)]).is_ok()
                {
                    healthy.store(true, Ordering::Release);
                }
                if st.checkpoint_due() {
                    let _ = st.checkpoint();
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => {
                let _ = st.final_checkpoint();
                st.finish_segment();
                return;
            }
        };
        let Batch { records, close } = crate::inbox::gather(first, &rx, alarm);
        if !records.is_empty() {
            let (events, dones): (Vec<_>, Vec<_>) = records.into_iter().unzip();
            let t0 = Instant::now();
            match st.write(events) {
                Ok(first_seq) => {
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
                    healthy.store(false, Ordering::Release);
                    for d in dones {
                        d(Err(e.clone()));
                    }
                }
            }
            if st.checkpoint_due() {
                let _ = st.checkpoint();
            }
        }
        if let Some(r) = close {
            let result = st.final_checkpoint();
            st.finish_segment();
            let _ = r.send(result);
            return;
        }
    }
}

fn utc_day(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0)
}

impl State {
    fn recover(
        cfg: &AuditConfig,
        signer: Option<Arc<dyn CheckpointSigner>>,
    ) -> Result<(Self, OpenReport), AuditError> {
        let dir = &cfg.dir;
        let segments = segment::list(dir).map_err(|e| io(dir, e))?;
        let mut report = OpenReport::default();
        let (path, next_seq, head, len) = match segments.last() {
            None => {
                let p = dir.join(segment::name(0));
                (p, 0, GENESIS.to_string(), 0)
            }
            Some(last) => {
                let head_before = match segments.len() {
                    1 => GENESIS.to_string(),
                    n => last_line_hash(&segments[n - 2])?,
                };
                let first = segment::first_seq(last).unwrap_or(0);
                let (good_len, next, head, torn, file_len) = scan_tail(last, first, head_before)?;
                if file_len > good_len {
                    // A torn record and/or the zeros of preallocation after the last record.
                    let f = OpenOptions::new()
                        .write(true)
                        .open(last)
                        .map_err(|e| io(last, e))?;
                    f.set_len(good_len).map_err(|e| io(last, e))?;
                    f.sync_all().map_err(|e| io(last, e))?;
                }
                report.torn_bytes = torn;
                (last.clone(), next, head, good_len)
            }
        };
        report.records = next_seq;
        report.loss = check_published(dir, next_seq, cfg.accept_loss.is_some())?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        if len == 0 {
            segment::sync_dir(dir).map_err(|e| io(dir, e))?;
        }
        Ok((
            Self {
                cfg: cfg.clone(),
                signer,
                file,
                path,
                len,
                allocated: len,
                day: utc_day(SystemTime::now()),
                next_seq,
                head,
                since_checkpoint: 0,
                last_checkpoint: Instant::now(),
                lost: None,
                publisher: Publisher::start(dir.clone()).map_err(|e| io(dir, e))?,
            },
            report,
        ))
    }

    fn checkpoint_due(&self) -> bool {
        self.signer.is_some()
            && self.since_checkpoint > 0
            && (self.since_checkpoint >= self.cfg.checkpoint_every
                || self.last_checkpoint.elapsed() >= self.cfg.checkpoint_interval)
    }

    /// Appends a signed checkpoint and hands it to the publisher for `checkpoint.json`.
    fn checkpoint(&mut self) -> Result<(), AuditError> {
        let Some(signer) = self.signer.clone() else {
            return Ok(());
        };
        if self.since_checkpoint == 0 && self.next_seq > 0 {
            return Ok(());
        }
        let ev = checkpoint::event(signer.as_ref(), self.next_seq, &self.head)
            .map_err(|e| AuditError::Io(e.to_string()))?;
        let (line, _) = self.write_lines(vec![ev])?;
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
        let latest = LatestCheckpoint { line };
        let json = serde_json::to_string(&latest).unwrap_or_default();
        self.publisher.publish(json)
    }

    /// The last checkpoint, then `checkpoint.json` written: the log is ready to close.
    fn final_checkpoint(&mut self) -> Result<(), AuditError> {
        let r = self.checkpoint();
        let published = self.publisher.finish();
        r.and(published)
    }

    fn write(&mut self, events: Vec<Event>) -> Result<u64, AuditError> {
        let first = self.next_seq;
        let n = events.len() as u64;
        self.write_lines(events)?;
        self.since_checkpoint += n;
        Ok(first)
    }

    /// Writes the events as consecutive records and syncs. Returns the last line.
    fn write_lines(&mut self, events: Vec<Event>) -> Result<(String, u64), AuditError> {
        // Before rotating too: a new segment must not paper over a lost one.
        self.check_identity()?;
        self.maybe_rotate()?;
        let now = SystemTime::now();
        let mut buf = String::with_capacity(events.len() * 320);
        let mut seq = self.next_seq;
        let mut head = self.head.clone();
        let mut last = String::new();
        for ev in events {
            let line = Record::new(seq, now, &ev.kind, ev.fields, &head).to_line();
            head = line_hash(&line);
            buf.push_str(&line);
            buf.push('\n');
            last = line;
            seq += 1;
        }
        let end = self.len + buf.len() as u64;
        let r = self
            .reserve(end)
            .and_then(|()| write_all_at(&self.file, buf.as_bytes(), self.len))
            .and_then(|()| self.file.sync_data());
        if let Err(e) = r {
            // Cut off whatever of the batch reached the file (truncating needs no space), so
            // the chain continues from the last durable record; preallocation starts again
            // with the next batch.
            let _ = self.file.set_len(self.len);
            self.allocated = self.len;
            return Err(io(&self.path, e));
        }
        self.len = end;
        self.next_seq = seq;
        self.head = head;
        Ok((last, seq))
    }

    /// Makes sure the file holds `end` bytes: preallocates a chunk at a time, or just what
    /// is needed when a chunk does not fit (a nearly full disk) or the file system cannot
    /// preallocate.
    fn reserve(&mut self, end: u64) -> std::io::Result<()> {
        if end <= self.allocated {
            return Ok(());
        }
        let want = (end.div_ceil(CHUNK) * CHUNK).min(self.cfg.segment_max_bytes.max(end));
        if preallocate(&self.file, want).is_ok() {
            self.allocated = want;
            return Ok(());
        }
        // Plain writes extend the file as needed.
        self.allocated = self.allocated.max(self.len);
        Ok(())
    }

    /// Fails while the active segment is no longer the file at its path (deleted, renamed,
    /// replaced): records written into an unlinked inode would be acknowledged as durable yet
    /// be lost at the next start. Once lost, the segment stays lost: the writer never writes
    /// again, and the next start refuses until an operator accepts the loss.
    fn check_identity(&mut self) -> Result<(), AuditError> {
        use std::os::unix::fs::MetadataExt;
        if self.lost.is_none() {
            let open = self.file.metadata().map_err(|e| io(&self.path, e))?;
            let problem = match std::fs::symlink_metadata(&self.path) {
                Ok(m) if (m.dev(), m.ino()) != (open.dev(), open.ino()) => Some("was replaced"),
                Ok(_) => None,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(if open.nlink() == 0 {
                    "was deleted"
                } else {
                    "was renamed away"
                }),
                Err(e) => return Err(io(&self.path, e)),
            };
            self.lost = problem.map(|p| format!("the active segment {} {p}", self.path.display()));
        }
        match &self.lost {
            Some(why) => Err(AuditError::Damaged(format!(
                "{why} while the log was open; records written since are lost; nothing more is written"
            ))),
            None => Ok(()),
        }
    }

    /// Trims the zeros after the last record of the active segment.
    fn finish_segment(&mut self) {
        if self.allocated > self.len {
            if self.file.set_len(self.len).is_ok() {
                let _ = self.file.sync_all();
            }
            self.allocated = self.len;
        }
    }

    fn maybe_rotate(&mut self) -> Result<(), AuditError> {
        let today = utc_day(SystemTime::now());
        let due =
            self.len >= self.cfg.segment_max_bytes || (self.cfg.rotate_daily && today != self.day);
        if !due || self.len == 0 {
            self.day = today;
            return Ok(());
        }
        self.finish_segment();
        let path = self.cfg.dir.join(segment::name(self.next_seq));
        let file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        segment::sync_dir(&self.cfg.dir).map_err(|e| io(&self.cfg.dir, e))?;
        self.file = file;
        self.path = path;
        self.len = 0;
        self.allocated = 0;
        self.day = today;
        Ok(())
    }
}

fn write_all_at(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(buf, offset)
}

#[cfg(target_os = "linux")]
fn preallocate(file: &File, len: u64) -> std::io::Result<()> {
    rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), 0, len)
        .map_err(std::io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn preallocate(_: &File, _: u64) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}
