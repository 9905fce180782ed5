//! Opening a log that already exists: where its chain ends, a torn last record, and whether
//! the checkpoint it last published still holds.

use crate::checkpoint;
use crate::error::{AuditError, io};
use crate::record::{Record, line_hash};
use crate::segment;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A log must never start a new chain, or go on from an older head, while the checkpoint it
/// last published vouches for records its segments no longer hold (a deleted segment, a
/// restored old backup): that would hide the loss. Refused unless the operator accepts the
/// loss, in which case the old checkpoint is kept aside and the loss is returned.
pub(crate) fn check_published(
    dir: &Path,
    records: u64,
    accept_loss: bool,
) -> Result<Option<(u64, PathBuf)>, AuditError> {
    let path = dir.join(segment::CHECKPOINT_FILE);
    let published = match checkpoint::read_latest(&path) {
        Ok((_, r)) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AuditError::Damaged(format!("{}: {e}", path.display()))),
    };
    // The checkpoint record itself is record `seq`: the log must hold seq + 1 records.
    let covered = published.seq.saturating_add(1);
    if covered <= records {
        return Ok(None);
    }
    if !accept_loss {
        return Err(AuditError::Damaged(format!(
            "{} vouches for {covered} records but the segments hold {records}: records \
             {records} to {} are missing; refusing to start a new chain over them. If the loss \
             is real, record it with `kokuin audit accept-loss {} --reason TEXT`",
            path.display(),
            covered - 1,
            dir.display()
        )));
    }
    let kept = dir.join(format!("checkpoint.lost-{covered}.json"));
    std::fs::rename(&path, &kept).map_err(|e| io(&path, e))?;
    segment::sync_dir(dir).map_err(|e| io(dir, e))?;
    Ok(Some((covered, kept)))
}

/// Hash of the last line of a (complete) segment.
pub(crate) fn last_line_hash(path: &Path) -> Result<String, AuditError> {
    let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    let line = text
        .lines()
        .next_back()
        .ok_or_else(|| AuditError::Damaged(format!("{} is empty", path.display())))?;
    Ok(line_hash(line))
}

/// Walks the last segment: returns (length of the valid prefix, next seq, head, torn bytes,
/// file length). Zeros after the last record are preallocated space; other bytes there are
/// a torn record. Only a tail holding no further valid record is torn; anything else is
/// damage.
pub(crate) fn scan_tail(
    path: &Path,
    first_seq: u64,
    mut head: String,
) -> Result<(u64, u64, String, u64, u64), AuditError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| io(path, e))?;
    let mut pos = 0usize;
    let mut seq = first_seq;
    while let Some(nl) = bytes[pos..].iter().position(|b| *b == b'\n') {
        let line = &bytes[pos..pos + nl];
        let ok = std::str::from_utf8(line)
            .ok()
            .and_then(|l| Record::parse_line(l).ok().map(|r| (l, r)))
            .filter(|(_, r)| r.seq == seq && r.prev == head);
        match ok {
            Some((l, _)) => {
                head = line_hash(l);
                seq += 1;
                pos += nl + 1;
            }
            None => break,
        }
    }
    let rest = &bytes[pos..];
    // A complete, valid-looking record after the break means the log was altered.
    let later_record = rest
        .split(|b| *b == b'\n')
        .skip(1)
        .filter_map(|l| std::str::from_utf8(l).ok())
        .any(|l| Record::parse_line(l).is_ok());
    if later_record {
        return Err(AuditError::Damaged(format!(
            "{}: record {seq} does not continue the chain",
            path.display()
        )));
    }
    let torn = rest.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    Ok((pos as u64, seq, head, torn as u64, bytes.len() as u64))
}
