//! An accepted loss (`kokuin audit accept-loss`): how the log goes on when the checkpoint it
//! last published vouches for records its segments no longer hold.
//!
//! The log never reuses a lost record's number and never contradicts what it published. The
//! `log.loss` record takes the seq after the published checkpoint (`count + 1`), opens a
//! segment of its own, and is chained to that checkpoint: its `prev` is the hash of the
//! checkpoint's line, which it carries in its `checkpoint` field. A verifier therefore
//! checks the checkpoint's signature, that `prev` is its hash, and goes on from there; what
//! lies between the last surviving record and the checkpoint is the loss, named as a finding.
//!
//! The Merkle tree cannot go on: its lost leaves are unknown. A new tree *epoch* begins at
//! the `log.loss` record (its leaf 0), with an origin of its own (`<origin>/from-<seq>`) and
//! the extension line `start <seq>` (`note.rs`), so its checkpoints never contradict the
//! earlier tree's, and a consistency proof across the loss is refused with the reason.
//!
//! Fields of `log.loss`: `lost_from`, `lost_to` (the first and last seq missing), `checkpoint`
//! (the published checkpoint's line), `old_checkpoint` (the file it was kept as), `reason`.

use crate::checkpoint::{self, CheckpointVerifier};
use crate::event::{Event, kind};
use crate::record::{Record, line_hash};
use std::path::Path;

/// A loss found when opening a log, before anything is changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loss {
    /// Records the segments hold (the first lost seq).
    pub records: u64,
    /// Records the published checkpoint covers: its own seq + 1.
    pub covered: u64,
    /// The published checkpoint's line.
    pub checkpoint_line: String,
}

impl Loss {
    /// The `log.loss` event for this loss, accepted for `reason`, the old checkpoint kept as
    /// `kept`.
    pub fn event(&self, reason: &str, kept: &Path) -> Event {
        Event::new(kind::LOSS)
            .with("lost_from", self.records)
            .with("lost_to", self.covered - 1)
            .with("checkpoint", self.checkpoint_line.clone())
            .with(
                "old_checkpoint",
                kept.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )
            .with("reason", reason.to_string())
    }
}

/// A `log.loss` record as a verifier reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedLoss {
    /// The `log.loss` record's own seq.
    pub seq: u64,
    /// The first seq lost.
    pub lost_from: u64,
    /// The last seq lost (the published checkpoint's, whose line the record carries).
    pub lost_to: u64,
    /// The operator's reason.
    pub reason: String,
    /// When the loss was accepted (the record's time).
    pub time: String,
}

/// Whether `r` opens a new chain epoch (a `log.loss` carrying the checkpoint it continues).
pub fn opens_epoch(r: &Record) -> bool {
    r.kind == kind::LOSS && r.fields.contains_key("checkpoint")
}

/// Checks a `log.loss` record that continues after a gap: it carries a checkpoint signed by
/// a trusted key, placed just before it, and is chained to that checkpoint's line; the lost
/// range ends at the checkpoint and starts no earlier than `expected` (the seq the verified
/// chain had reached).
pub fn check(
    r: &Record,
    expected: u64,
    verifier: &dyn CheckpointVerifier,
) -> Result<AcceptedLoss, String> {
    let field = |k: &str| r.fields.get(k);
    let num = |k: &str| {
        field(k)
            .and_then(|v| v.as_u64())
            .ok_or_else(|| format!("log.loss without {k}"))
    };
    let text = |k: &str| {
        field(k)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("log.loss without {k}"))
    };
    let line = text("checkpoint")?;
    let cp = Record::parse_line(&line)
        .map_err(|e| format!("the checkpoint log.loss carries is not a record: {e}"))?;
    if cp.kind != kind::CHECKPOINT {
        return Err("log.loss carries a record that is not a checkpoint".into());
    }
    checkpoint::check(&cp, verifier)
        .map_err(|e| format!("the checkpoint log.loss carries does not verify: {e}"))?;
    if cp.seq.checked_add(1) != Some(r.seq) || line_hash(&line) != r.prev {
        return Err("log.loss is not chained to the checkpoint it carries".into());
    }
    let (lost_from, lost_to) = (num("lost_from")?, num("lost_to")?);
    if lost_to != cp.seq || lost_from != expected || lost_from > lost_to {
        return Err(format!(
            "log.loss names records {lost_from} to {lost_to} as lost; the chain reached \
             {expected} and the checkpoint is record {}",
            cp.seq
        ));
    }
    Ok(AcceptedLoss {
        seq: r.seq,
        lost_from,
        lost_to,
        reason: text("reason")?,
        time: r.time.clone(),
    })
}
