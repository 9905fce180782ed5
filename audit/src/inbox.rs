//! The writer's inbox: what callers queue, and when the writer gathering a batch must wake.
//!
//! A record that may wait for company ([`AuditLog::append_within`]) carries the latest moment
//! its sync may start. The writer sleeps until the earliest such moment of the batch it is
//! gathering, and a caller wakes it sooner only when its own record cannot wait that long. A
//! writer woken by every arrival switches in and out once per record only to sleep again, and
//! preempts the signing threads each time (measured on ML-DSA-65 tokens with five records per
//! sync: 1.7 writer context switches per token).
//!
//! [`AuditLog::append_within`]: crate::writer::AuditLog::append_within

use crate::error::{AuditError, Completion};
use crate::event::Event;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::thread::Thread;
use std::time::Instant;

pub(crate) enum Cmd {
    /// A record, its completion, and the latest moment its sync may start.
    Append(Event, Completion, Instant),
    Close(Sender<Result<(), AuditError>>),
}

/// Most records in one write and sync.
const MAX_BATCH: usize = 4096;

/// The writer is not sleeping on a deadline: it is writing, or blocked on the channel, which
/// a send wakes by itself.
const NO_PLAN: u64 = u64::MAX;

/// When the writer means to wake, for callers to compare their own deadline with.
pub(crate) struct Alarm {
    epoch: Instant,
    /// Nanoseconds since `epoch`, or [`NO_PLAN`].
    wakes_at: AtomicU64,
    writer: OnceLock<Thread>,
}

impl Alarm {
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
            wakes_at: AtomicU64::new(NO_PLAN),
            writer: OnceLock::new(),
        }
    }

    pub fn set_writer(&self, writer: Thread) {
        let _ = self.writer.set(writer);
    }

    fn nanos(&self, t: Instant) -> u64 {
        let n = t.saturating_duration_since(self.epoch).as_nanos();
        u64::try_from(n).unwrap_or(NO_PLAN - 1).min(NO_PLAN - 1)
    }

    /// Whether the writer is asleep holding records until a deadline.
    pub fn planned(&self) -> bool {
        self.wakes_at.load(Ordering::Acquire) != NO_PLAN
    }

    /// Called after queueing a command that must be taken up by `by`.
    pub fn queued(&self, by: Instant) {
        // Pairs with the fence in `gather`: either the writer's last look at the channel
        // before sleeping sees this command, or this load sees the writer's plan.
        fence(Ordering::SeqCst);
        let at = self.wakes_at.load(Ordering::Relaxed);
        if at != NO_PLAN
            && self.nanos(by) < at
            && let Some(w) = self.writer.get()
        {
            w.unpark();
        }
    }
}

pub(crate) struct Batch {
    pub records: Vec<(Event, Completion)>,
    pub close: Option<Sender<Result<(), AuditError>>>,
}

impl Batch {
    /// Adds `cmd`; returns the latest moment the batch may now be synced from its account.
    fn add(&mut self, cmd: Cmd) -> Instant {
        match cmd {
            Cmd::Append(e, done, latest) => {
                self.records.push((e, done));
                latest
            }
            Cmd::Close(r) => {
                self.close = Some(r);
                Instant::now()
            }
        }
    }
}

/// Gathers a batch beginning with `first`: everything already queued, then whatever arrives
/// until the earliest deadline among them, a close, or [`MAX_BATCH`] records.
pub(crate) fn gather(first: Cmd, rx: &Receiver<Cmd>, alarm: &Alarm) -> Batch {
    let mut batch = Batch {
        records: Vec::new(),
        close: None,
    };
    let mut sync_by = batch.add(first);
    while batch.close.is_none() && batch.records.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(cmd) => {
                sync_by = sync_by.min(batch.add(cmd));
                continue;
            }
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {}
        }
        let now = Instant::now();
        if now >= sync_by {
            break;
        }
        alarm
            .wakes_at
            .store(alarm.nanos(sync_by), Ordering::Relaxed);
        fence(Ordering::SeqCst);
        match rx.try_recv() {
            Ok(cmd) => sync_by = sync_by.min(batch.add(cmd)),
            Err(TryRecvError::Disconnected) => break,
            // A wake-up that comes early or for nothing only sends the loop round again.
            Err(TryRecvError::Empty) => std::thread::park_timeout(sync_by - now),
        }
    }
    alarm.wakes_at.store(NO_PLAN, Ordering::Relaxed);
    batch
}
