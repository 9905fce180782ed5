//! Verifying a log offline: every segment, the chain, every checkpoint signature, and the
//! tail against the latest checkpoint. Stops at the first bad record and says what kind of
//! damage explains it.

use crate::checkpoint::{self, CheckpointVerifier};
use crate::event::kind;
use crate::record::{GENESIS, Record, line_hash};
use crate::segment;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// What is wrong where the verifier stopped.
pub enum Damage {
    /// The record's bytes changed after it was written.
    Modified,
    /// One or more records are missing here.
    Removed,
    /// Records are out of order here.
    Reordered,
    /// A record that was never written by the log (e.g. a duplicate) stands here.
    Inserted,
    /// Records are missing from the end.
    Truncated,
    /// A checkpoint's signature does not verify.
    BadCheckpointSignature,
    /// A checkpoint signed by a key none of the given certificates certify: the log is not
    /// proven damaged, it cannot be verified without that key's certificate.
    UntrustedCheckpointKey,
    /// A line is not a record.
    Malformed,
}

impl Damage {
    /// Whether it proves the log changed (else the verifier lacks something: exit 2).
    pub fn proves_damage(self) -> bool {
        !matches!(self, Self::UntrustedCheckpointKey)
    }

    /// A stable name for reports and `--json`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Modified => "modified",
            Self::Removed => "removed",
            Self::Reordered => "reordered",
            Self::Inserted => "inserted",
            Self::Truncated => "truncated",
            Self::BadCheckpointSignature => "bad checkpoint signature",
            Self::UntrustedCheckpointKey => "checkpoint key not trusted",
            Self::Malformed => "malformed",
        }
    }
}

/// The first problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Position of the bad record in the log, counting from 0 across segments.
    pub index: u64,
    /// What kind of damage.
    pub damage: Damage,
    /// The segment holding the bad record.
    pub segment: PathBuf,
    /// 1-based line in that segment.
    pub line: u64,
    /// What exactly is wrong, for a person.
    pub detail: String,
}

#[derive(Clone, Debug, Default)]
/// What verifying a log found.
pub struct Report {
    /// Records read and chained.
    pub records: u64,
    /// Segment files read.
    pub segments: usize,
    /// Checkpoints whose signature verified.
    pub checkpoints: u64,
    /// `count` of the last checkpoint verified.
    pub last_checkpoint: Option<u64>,
    /// The hash of the last good record's line.
    pub head: String,
    /// The first problem, if any; `None`: intact.
    pub problem: Option<Finding>,
    /// Losses an operator accepted (`loss.rs`), each verified: the log is valid with these
    /// findings, never "intact".
    pub losses: Vec<crate::loss::AcceptedLoss>,
    /// The seq the next record would have.
    pub next_seq: u64,
}

/// One line of the log as read, bounded.
pub struct Line {
    /// Position in the log, counting from 0 across segments.
    pub index: u64,
    /// The segment it is in.
    pub segment: PathBuf,
    /// 1-based line in that segment.
    pub line_no: u64,
    /// Where the line starts in its segment.
    pub offset: u64,
    /// The line, or why it is not text: it is reported as damage at its place.
    pub text: Result<String, String>,
}

/// The longest line read as a record. Records are a few hundred bytes (an ML-DSA checkpoint
/// a few KiB); a longer "line" is damage, and is not held in memory whole.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Every line of every segment, in log order, streamed: memory is bounded by one line
/// whatever the segment holds (a segment replaced by a link to `/dev/zero` included).
pub struct Lines {
    segments: std::vec::IntoIter<PathBuf>,
    current: Option<(PathBuf, BufReader<std::fs::File>, u64, u64)>,
    index: u64,
}

/// Every line of every segment of the log in `dir`, in order, each read with a bound.
pub fn lines(dir: &Path) -> std::io::Result<Lines> {
    Ok(Lines {
        segments: segment::list(dir)?.into_iter(),
        current: None,
        index: 0,
    })
}

impl Iterator for Lines {
    type Item = std::io::Result<Line>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let Some((seg, reader, line_no, offset)) = &mut self.current else {
                let seg = self.segments.next()?;
                // A device or FIFO posing as a segment would never end.
                match segment::open_regular(&seg) {
                    Ok(f) => self.current = Some((seg, BufReader::new(f), 0, 0)),
                    Err(e) => return Some(Err(e)),
                }
                continue;
            };
            let mut buf = Vec::new();
            let n = match reader
                .by_ref()
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut buf)
            {
                Ok(n) => n,
                Err(e) => return Some(Err(e)),
            };
            if n == 0 {
                self.current = None;
                continue;
            }
            *line_no += 1;
            let start = *offset;
            *offset += n as u64;
            let complete = buf.last() == Some(&b'\n');
            if complete {
                buf.pop();
            }
            // The active segment ends in preallocated zeros (read a bounded piece at a
            // time): not a line.
            if buf.iter().all(|b| *b == 0) {
                continue;
            }
            let (segment, line_no) = (seg.clone(), *line_no);
            let text = if buf.len() > MAX_LINE_BYTES {
                // Reading stops at a runaway line: verification stops at the first damage.
                self.current = None;
                Err(format!("a line longer than {MAX_LINE_BYTES} bytes"))
            } else {
                String::from_utf8(buf).map_err(|e| {
                    format!(
                        "invalid UTF-8 at byte {} of the line (byte {} of the segment)",
                        e.utf8_error().valid_up_to(),
                        start + e.utf8_error().valid_up_to() as u64
                    )
                })
            };
            let line = Line {
                index: self.index,
                segment,
                line_no,
                offset: start,
                text,
            };
            self.index += 1;
            return Some(Ok(line));
        }
    }
}

/// Verifies the log in `dir`. `latest` is a checkpoint kept outside the log (defaults to
/// `dir/checkpoint.json`); `progress` gets (records read so far).
pub fn verify_dir(
    dir: &Path,
    verifier: &dyn CheckpointVerifier,
    latest: Option<&Path>,
    progress: &mut dyn FnMut(u64),
) -> std::io::Result<Report> {
    let mut report = Report {
        segments: segment::list(dir)?.len(),
        head: GENESIS.to_string(),
        ..Default::default()
    };
    let mut prev_line: Option<Line> = None;
    let mut seen_checkpoint_lines = std::collections::HashMap::new();
    // Seqs skipped by accepted losses so far: a record's seq is its position plus these.
    let mut skipped = 0u64;
    for l in lines(dir)? {
        let l = l?;
        // Every record before this one was good, so its seq must be its position (after the
        // records accepted as lost).
        let expected = l.index + skipped;
        let shift = skipped;
        let finding = |damage: Damage, at: &Line, detail: String| Finding {
            index: at.index + shift,
            damage,
            segment: at.segment.clone(),
            line: at.line_no,
            detail,
        };
        let parsed = l.text.as_deref().map_err(Clone::clone).and_then(|t| {
            Record::parse_line(t)
                .map_err(|e| format!("{e} (line at byte {} of the segment)", l.offset))
        });
        let r = match parsed {
            Ok(r) => r,
            Err(e) => {
                report.problem = Some(finding(Damage::Malformed, &l, e));
                return Ok(report);
            }
        };
        // An accepted loss: a segment opened by a log.loss that carries the checkpoint it
        // continues. Verified like any record, then the chain goes on from it.
        if r.seq > expected && l.line_no == 1 && crate::loss::opens_epoch(&r) {
            match crate::loss::check(&r, expected, verifier) {
                Ok(loss) => {
                    skipped += r.seq - expected;
                    if let Some(cp) = r.fields.get("checkpoint").and_then(|v| v.as_str()) {
                        seen_checkpoint_lines.insert(r.seq - 1, Ok(cp.to_string()));
                    }
                    report.head = r.prev.clone();
                    // The checkpoint the loss carries was verified by `loss::check`.
                    report.checkpoints += 1;
                    report.last_checkpoint = Some(r.seq - 1);
                    report.losses.push(loss);
                }
                Err(e) => {
                    report.problem = Some(finding(Damage::BadCheckpointSignature, &l, e));
                    return Ok(report);
                }
            }
        } else if r.seq != expected {
            let (damage, detail) = classify_seq(dir, &r, expected, prev_line.as_ref(), &l)?;
            report.problem = Some(finding(damage, &l, detail));
            return Ok(report);
        }
        if r.prev != report.head {
            // The chain breaks between the previous record and this one: the previous record
            // is not what was written (or, for the first record, this one is not).
            let (at, detail) = match &prev_line {
                Some(p) => (
                    p,
                    format!(
                        "record {} no longer hashes to what record {} holds",
                        expected.saturating_sub(1),
                        r.seq
                    ),
                ),
                None => (&l, "the first record does not start the chain".into()),
            };
            report.problem = Some(finding(Damage::Modified, at, detail));
            return Ok(report);
        }
        if r.kind == kind::CHECKPOINT {
            if let Err(e) = checkpoint::check(&r, verifier) {
                let damage = match e {
                    crate::error::CheckpointError::UntrustedKey(_) => {
                        Damage::UntrustedCheckpointKey
                    }
                    _ => Damage::BadCheckpointSignature,
                };
                report.problem = Some(finding(damage, &l, e.to_string()));
                return Ok(report);
            }
            report.checkpoints += 1;
            report.last_checkpoint = Some(r.seq);
            seen_checkpoint_lines.insert(r.seq, l.text.clone());
        }
        report.head = line_hash(l.text.as_deref().unwrap_or_default());
        report.records += 1;
        report.next_seq = r.seq + 1;
        if report.records.is_multiple_of(4096) {
            progress(report.records);
        }
        prev_line = Some(l);
    }
    progress(report.records);
    // The tail, against the latest checkpoint published outside the segments.
    let latest_path = latest
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join(segment::CHECKPOINT_FILE));
    let published = match checkpoint::read_latest(&latest_path) {
        Ok(p) => Some(p),
        // The log's own checkpoint.json may be absent (a log copied without it); a checkpoint
        // the auditor names must be read, or nothing is vouched for.
        Err(e) if latest.is_none() && e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) if latest.is_some() => {
            return Err(std::io::Error::new(
                e.kind(),
                format!("checkpoint {}: {e}", latest_path.display()),
            ));
        }
        Err(e) => {
            report.problem = Some(Finding {
                index: report.next_seq,
                damage: Damage::Malformed,
                segment: latest_path.clone(),
                line: 1,
                detail: format!("the latest checkpoint file is unreadable: {e}"),
            });
            return Ok(report);
        }
    };
    if let Some((cp, rec)) = published {
        let seg = prev_line
            .as_ref()
            .map(|p| p.segment.clone())
            .unwrap_or_default();
        if rec.seq >= report.next_seq {
            report.problem = Some(Finding {
                index: report.next_seq,
                damage: Damage::Truncated,
                segment: seg,
                line: prev_line.as_ref().map_or(0, |p| p.line_no + 1),
                detail: format!(
                    "the latest checkpoint covers {} records; the log ends after {}",
                    rec.seq + 1,
                    report.next_seq
                ),
            });
        } else if seen_checkpoint_lines.get(&rec.seq) != Some(&Ok(cp.line.clone())) {
            report.problem = Some(Finding {
                index: rec.seq,
                damage: Damage::Modified,
                segment: seg,
                line: 0,
                detail: "the record at the latest checkpoint differs from it".into(),
            });
        } else if let Err(e) = checkpoint::check(&rec, verifier) {
            report.problem = Some(Finding {
                index: rec.seq,
                damage: Damage::BadCheckpointSignature,
                segment: latest_path.clone(),
                line: 1,
                detail: e.to_string(),
            });
        }
    }
    Ok(report)
}

/// A record whose seq is not the next one: missing, swapped or extra records.
fn classify_seq(
    dir: &Path,
    r: &Record,
    expected: u64,
    prev: Option<&Line>,
    here: &Line,
) -> std::io::Result<(Damage, String)> {
    if r.seq < expected {
        let dup = prev.is_some_and(|p| p.text == here.text);
        let damage = if dup {
            Damage::Inserted
        } else {
            Damage::Reordered
        };
        let what = if dup { "a copy of" } else { "out of order:" };
        return Ok((
            damage,
            format!("record {} here is {what} record {}", expected, r.seq),
        ));
    }
    // Ahead of itself: is the expected record somewhere later (swapped) or gone (removed)?
    for l in lines(dir)? {
        let l = l?;
        let seq = l
            .text
            .as_deref()
            .ok()
            .and_then(|t| Record::parse_line(t).ok())
            .map(|x| x.seq);
        if l.index > here.index && seq == Some(expected) {
            return Ok((
                Damage::Reordered,
                format!("record {expected} stands later, at position {}", l.index),
            ));
        }
    }
    Ok((
        Damage::Removed,
        format!("records {expected} to {} are missing", r.seq - 1),
    ))
}
