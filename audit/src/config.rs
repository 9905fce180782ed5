//! How a log is opened and kept: its directory, segment rotation, checkpoint cadence, and
//! what opening found.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Called after every durable batch with the time the write and sync took and the batch size
/// (for metrics).
pub type SyncObserver = Arc<dyn Fn(Duration, usize) + Send + Sync>;

#[derive(Clone)]
/// Where the log is kept and how it is cut and checkpointed.
pub struct AuditConfig {
    /// The directory of the segments and `checkpoint.json`.
    pub dir: PathBuf,
    /// Start a new segment past this size.
    pub segment_max_bytes: u64,
    /// Start a new segment when the UTC day changes.
    pub rotate_daily: bool,
    /// Write a checkpoint after this many records…
    pub checkpoint_every: u64,
    /// …or this long after the last one, whichever comes first (if records were written).
    pub checkpoint_interval: Duration,
    /// Told of every durable batch (for metrics).
    pub on_sync: Option<SyncObserver>,
    /// The operator's reason for accepting that `checkpoint.json` shows records the segments
    /// no longer hold. Without it such a log refuses to open; with it the loss is recorded
    /// (`log.loss`) as the first record written, and the old checkpoint kept aside.
    pub accept_loss: Option<String>,
    /// The tree checkpoints' origin line (c2sp.org/tlog-checkpoint); default
    /// `writer::default_origin` of the audit key.
    pub origin: Option<String>,
    /// Whether the Merkle tree is kept (default true). Off only to measure what it costs on
    /// the token path; turned on again, it is rebuilt from the segments.
    pub tree: bool,
}

impl AuditConfig {
    /// The defaults for a log in `dir`: 256 MiB segments, a new one each UTC day, a checkpoint
    /// every 10,000 records or minute.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            segment_max_bytes: 256 * 1024 * 1024,
            rotate_daily: true,
            checkpoint_every: 10_000,
            checkpoint_interval: Duration::from_secs(60),
            on_sync: None,
            accept_loss: None,
            origin: None,
            tree: true,
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
