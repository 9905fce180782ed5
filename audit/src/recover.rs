//! Opening a log that already exists: where its chain ends, a torn last record, whether the
//! checkpoint it last published still holds, and where the current tree epoch begins.

use crate::checkpoint;
use crate::error::{AuditError, io};
use crate::loss::{Loss, opens_epoch};
use crate::record::{GENESIS, Record, line_hash};
use crate::segment;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A log must never start a new chain, or go on from an older head, while the checkpoint it
/// last published vouches for records its segments no longer hold (a deleted segment, a
/// restored old backup): that would hide the loss. Finds such a loss without changing
/// anything; `None` when the segments hold every record the checkpoint covers.
pub fn assess(dir: &Path, records: u64) -> Result<Option<Loss>, AuditError> {
    let path = dir.join(segment::CHECKPOINT_FILE);
    let (latest, published) = match checkpoint::read_latest(&path) {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AuditError::Damaged(format!("{}: {e}", path.display()))),
    };
    // The checkpoint record itself is record `seq`: the log must hold seq + 1 records.
    let covered = published.seq.saturating_add(1);
    Ok((covered > records).then_some(Loss {
        records,
        covered,
        checkpoint_line: latest.line,
    }))
}

/// The refusal to open over `loss` unless the operator accepts it.
pub(crate) fn refusal(dir: &Path, loss: &Loss) -> AuditError {
    AuditError::Damaged(format!(
        "{} vouches for {} records but the segments hold {}: records {} to {} are missing; \
         refusing to start a new chain over them. If the loss is real, record it with \
         `kokuin audit accept-loss {} --reason TEXT`",
        dir.join(segment::CHECKPOINT_FILE).display(),
        loss.covered,
        loss.records,
        loss.records,
        loss.covered - 1,
        dir.display()
    ))
}

/// Keeps a copy of the published checkpoint of an accepted loss, as
/// `checkpoint.lost-N.json`, for the operator and the auditor.
pub(crate) fn keep_aside(dir: &Path, loss: &Loss) -> Result<PathBuf, AuditError> {
    let kept = dir.join(format!("checkpoint.lost-{}.json", loss.covered));
    let json = serde_json::to_string(&checkpoint::LatestCheckpoint {
        line: loss.checkpoint_line.clone(),
    })
    .map_err(|e| AuditError::Io(e.to_string()))?;
    crate::atomic::write(&kept, json.as_bytes()).map_err(|e| io(&kept, e))?;
    Ok(kept)
}

/// The head the records of `segments[i]` continue: the hash of the previous segment's last
/// line, or, for a segment opened by an accepted loss, the checkpoint its `log.loss` carries
/// (checked by the verifier, not here).
pub(crate) fn head_before(segments: &[PathBuf], i: usize) -> Result<String, AuditError> {
    if let Some(first) = first_record(&segments[i])?
        && opens_epoch(&first)
    {
        return Ok(first.prev);
    }
    match i {
        0 => Ok(GENESIS.to_string()),
        _ => last_line_hash(&segments[i - 1]),
    }
}

/// The segment where the current tree epoch begins (the newest opened by an accepted loss)
/// and its first seq; `None`: the tree covers the whole log.
pub(crate) fn epoch_start(segments: &[PathBuf]) -> Result<Option<(PathBuf, u64)>, AuditError> {
    for seg in segments.iter().rev() {
        if let Some(r) = first_record(seg)?
            && opens_epoch(&r)
        {
            return Ok(Some((seg.clone(), r.seq)));
        }
    }
    Ok(None)
}

/// The first record of a segment, if its first line is one (read bounded).
fn first_record(path: &Path) -> Result<Option<Record>, AuditError> {
    use std::io::BufRead;
    let f = segment::open_regular(path).map_err(|e| io(path, e))?;
    let mut line = Vec::new();
    std::io::BufReader::new(f)
        .take(crate::verify::MAX_LINE_BYTES as u64)
        .read_until(b'\n', &mut line)
        .map_err(|e| io(path, e))?;
    Ok(std::str::from_utf8(&line)
        .ok()
        .and_then(|l| Record::parse_line(l.trim_end_matches('\n')).ok()))
}

/// Hash of the last line of a (complete) segment.
pub(crate) fn last_line_hash(path: &Path) -> Result<String, AuditError> {
    let mut text = String::new();
    segment::open_regular(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|e| io(path, e))?;
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
    segment::open_regular(path)
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
