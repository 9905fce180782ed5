//! Inclusion proofs of audit records in the C2SP `tlog-proof@v1` text format
//! (c2sp.org/tlog-proof, files `.tlog-proof`): the record's line as `extra`, its index, the
//! inclusion path, and the signed checkpoint verbatim, so the proof stands alone.
//!
//! An auditor re-implements the check in a page: base64-decode `extra` (the record line,
//! without newline); leaf = SHA-256(0x00 ‖ line); verify the checkpoint note's signature with
//! the audit certificate's key (`note.rs`); run RFC 9162 §2.1.3.2 with the leaf, the index,
//! the path and the checkpoint's size and root.

use crate::checkpoint::CheckpointVerifier;
use crate::error::CheckpointError;
use crate::merkle::{Hash, ProofError, leaf_hash, verify_inclusion};
use crate::note::{MAX_NOTE_BYTES, TreeCheckpoint};
use crate::record::Record;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The format's first line.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A proof as written and read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// The record's line (the `extra` data).
    pub record_line: String,
    /// The record's index in the log (its seq).
    pub index: u64,
    /// The inclusion path, from the leaf's sibling up.
    pub path: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

/// Why a proof file cannot be read, or does not prove what it says.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlogProofError {
    /// Not a `tlog-proof@v1` text.
    #[error("not a tlog proof: {0}")]
    Malformed(String),
    /// The checkpoint is not signed by a trusted audit key, or not a checkpoint.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The path does not lead from the record to the checkpoint's root.
    #[error("inclusion: {0}")]
    Inclusion(#[from] ProofError),
    /// The record line is not a record, or not the one at that index.
    #[error("record: {0}")]
    Record(String),
}

impl TlogProof {
    /// The proof as text.
    pub fn to_text(&self) -> String {
        let mut t = format!(
            "{HEADER}\nextra {}\nindex {}\n",
            STANDARD.encode(self.record_line.as_bytes()),
            self.index
        );
        for h in &self.path {
            t.push_str(&STANDARD.encode(h));
            t.push('\n');
        }
        t.push('\n');
        t.push_str(&self.checkpoint);
        t
    }

    /// Reads a proof.
    pub fn parse(text: &str) -> Result<Self, TlogProofError> {
        let bad = |why: &str| TlogProofError::Malformed(why.to_string());
        if text.len() > MAX_NOTE_BYTES + (1 << 20) {
            return Err(bad("too large"));
        }
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(bad("the first line is not c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next().ok_or_else(|| bad("no index"))?;
        let mut record_line = None;
        if let Some(e) = line.strip_prefix("extra ") {
            let raw = STANDARD.decode(e).map_err(|_| bad("extra is not base64"))?;
            record_line = Some(String::from_utf8(raw).map_err(|_| bad("extra is not text"))?);
            line = lines.next().ok_or_else(|| bad("no index"))?;
        }
        let idx = line
            .strip_prefix("index ")
            .ok_or_else(|| bad("no index line"))?;
        if idx.len() > 1 && idx.starts_with('0') {
            return Err(bad("an index with leading zeroes"));
        }
        let index = idx.parse().map_err(|_| bad("the index is not a number"))?;
        let path = lines
            .map(|l| {
                STANDARD
                    .decode(l)
                    .ok()
                    .and_then(|h| Hash::try_from(h).ok())
                    .ok_or_else(|| bad("a path line is not a base64 SHA-256 hash"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            record_line: record_line
                .ok_or_else(|| bad("no extra line: Kokuin proofs carry the record"))?,
            index,
            path,
            checkpoint: checkpoint.to_string(),
        })
    }

    /// Verifies the proof offline: the checkpoint's signature by a trusted audit key, the
    /// record line is a record with this index, and the path leads from it to the root.
    /// Returns the checkpoint and the record.
    pub fn verify(
        &self,
        verifier: &dyn CheckpointVerifier,
    ) -> Result<(TreeCheckpoint, Record), TlogProofError> {
        let cp = crate::note::verify(&self.checkpoint, verifier)?;
        let record = Record::parse_line(&self.record_line)
            .map_err(|e| TlogProofError::Record(e.to_string()))?;
        // In one node's log a record's place is its seq (counted from the tree epoch's first
        // record, `loss.rs`); a fleet's tree interleaves nodes.
        if !cp.fleet && Some(record.seq) != self.index.checked_add(cp.start) {
            return Err(TlogProofError::Record(format!(
                "the record has seq {}, the proof index {} in a tree from record {}",
                record.seq, self.index, cp.start
            )));
        }
        verify_inclusion(
            &leaf_hash(self.record_line.as_bytes()),
            self.index,
            cp.size,
            &self.path,
            &cp.root,
        )?;
        Ok((cp, record))
    }
}
