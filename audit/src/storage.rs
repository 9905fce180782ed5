//! Where the log's records are kept: the seam between the writer (chain, group commit,
//! checkpoints) and the medium: segment files ([`crate::file_storage::FileStorage`]), or
//! PostgreSQL for a fleet (`kokuin_fleet::log_storage`), with no change to the writer.

use crate::config::OpenReport;
use crate::error::AuditError;
use crate::merkle::Hash;

/// A medium for the log. The writer thread alone calls it, with lines already chained and
/// numbered; the storage never builds or changes a record.
pub trait LogStorage: Send {
    /// Makes `lines` (records `first_seq`, `first_seq + 1`, …, each ending in LF) durable
    /// after the records already stored, and returns only once they survive a crash. On an
    /// error nothing of the batch may remain, so the chain continues from the last durable
    /// record.
    fn append(&mut self, first_seq: u64, lines: &str) -> Result<(), AuditError>;

    /// Called every second while the log is idle: fails while the medium cannot take
    /// records. For files: the active segment deleted, renamed or replaced, and then for good,
    /// since records written on would be acknowledged and lost. For a database
    /// (`kokuin_fleet`): unreachable (until it answers again), or the node id lost to
    /// another node (for good).
    fn check(&mut self) -> Result<(), AuditError>;

    /// Keeps `line`, the newest checkpoint, where auditors look first (for files:
    /// `checkpoint.json`); may complete later. Returns an earlier publication's failure.
    fn publish_checkpoint(&mut self, line: String) -> Result<(), AuditError>;

    /// The Merkle tree over the records stored: its size and root; `None` when this medium
    /// keeps no tree.
    fn tree_head(&self) -> Option<(u64, Hash)> {
        None
    }

    /// Keeps `note`, the newest signed tree checkpoint, where auditors and
    /// `GET /audit/v1/checkpoint` find it (for files: `checkpoint`).
    fn publish_tree_checkpoint(&mut self, note: String) -> Result<(), AuditError> {
        let _ = note;
        Ok(())
    }

    /// Records the medium itself has to make (for a database: its clock disagreeing with the
    /// node's, `kokuin_fleet::clock_agreement`); the writer writes them after a batch or an idle
    /// check.
    fn take_events(&mut self) -> Vec<crate::event::Event> {
        Vec::new()
    }

    /// Ends writing: the last checkpoint published and whatever the medium holds in reserve
    /// released. Returns a publication's failure.
    fn close(&mut self) -> Result<(), AuditError>;
}

/// What a storage holds when it is opened: where the chain continues.
pub struct Recovered {
    /// The seq the next record gets.
    pub next_seq: u64,
    /// The hash of the last record's line (`record::GENESIS` for an empty log).
    pub head: String,
    /// What recovery found and did.
    pub report: OpenReport,
    /// The seq of the tree's leaf 0: 0, or the `log.loss` record that began a new tree
    /// epoch (`loss.rs`).
    pub tree_start: u64,
    /// A loss the operator accepted in this open: the writer records it first.
    pub accepted_loss: Option<crate::loss::Loss>,
}
