//! Verifying a log offline: every segment, the chain, every checkpoint signature, and the
//! tail against the latest checkpoint. Stops at the first bad record and says what kind of
//! damage explains it.

use crate::checkpoint::{self, CheckpointVerifier, LatestCheckpoint};
use crate::event::kind;
use crate::record::{GENESIS, Record, line_hash};
use crate::segment;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// A line is not a record.
    Malformed,
}

impl Damage {
    pub fn name(self) -> &'static str {
        match self {
            Self::Modified => "modified",
            Self::Removed => "removed",
            Self::Reordered => "reordered",
            Self::Inserted => "inserted",
            Self::Truncated => "truncated",
            Self::BadCheckpointSignature => "bad checkpoint signature",
            Self::Malformed => "malformed",
        }
    }
}

/// The first problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Position of the bad record in the log, counting from 0 across segments.
    pub index: u64,
    pub damage: Damage,
    pub segment: PathBuf,
    /// 1-based line in that segment.
    pub line: u64,
    pub detail: String,
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub records: u64,
    pub segments: usize,
    pub checkpoints: u64,
    /// `count` of the last checkpoint verified.
    pub last_checkpoint: Option<u64>,
    pub head: String,
    pub problem: Option<Finding>,
}

struct Line {
    index: u64,
    segment: PathBuf,
    line_no: u64,
    text: String,
}

/// Every line of every segment, in log order.
fn lines(dir: &Path) -> std::io::Result<impl Iterator<Item = std::io::Result<Line>>> {
    let segments = segment::list(dir)?;
    let mut index = 0u64;
    let iter = segments.into_iter().flat_map(move |seg| {
        let reader = std::fs::File::open(&seg).map(BufReader::new);
        let seg2 = seg.clone();
        let it: Box<dyn Iterator<Item = std::io::Result<Line>>> = match reader {
            // The active segment ends in preallocated zeros: not a line.
            Ok(r) => Box::new(
                r.lines()
                    .enumerate()
                    .filter(|(_, l)| !l.as_ref().is_ok_and(|t| t.bytes().all(|b| b == 0)))
                    .map(move |(n, l)| {
                        l.map(|text| Line {
                            index: 0,
                            segment: seg2.clone(),
                            line_no: n as u64 + 1,
                            text,
                        })
                    }),
            ),
            Err(e) => Box::new(std::iter::once(Err(e))),
        };
        it
    });
    Ok(iter.map(move |l| {
        l.map(|mut l| {
            l.index = index;
            index += 1;
            l
        })
    }))
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
    for l in lines(dir)? {
        let l = l?;
        // Every record before this one was good, so its seq must be its position.
        let expected = l.index;
        let finding = |damage: Damage, at: &Line, detail: String| Finding {
            index: at.index,
            damage,
            segment: at.segment.clone(),
            line: at.line_no,
            detail,
        };
        let r = match Record::parse_line(&l.text) {
            Ok(r) => r,
            Err(e) => {
                report.problem = Some(finding(Damage::Malformed, &l, e));
                return Ok(report);
            }
        };
        if r.seq != expected {
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
                report.problem = Some(finding(Damage::BadCheckpointSignature, &l, e));
                return Ok(report);
            }
            report.checkpoints += 1;
            report.last_checkpoint = Some(r.seq);
            seen_checkpoint_lines.insert(r.seq, l.text.clone());
        }
        report.head = line_hash(&l.text);
        report.records += 1;
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
    if let Ok(text) = std::fs::read_to_string(&latest_path) {
        let cp: Option<LatestCheckpoint> = serde_json::from_str(&text).ok();
        let rec = cp.as_ref().and_then(|c| Record::parse_line(&c.line).ok());
        match (cp, rec) {
            (Some(cp), Some(rec)) => {
                let seg = prev_line
                    .as_ref()
                    .map(|p| p.segment.clone())
                    .unwrap_or_default();
                if rec.seq >= report.records {
                    report.problem = Some(Finding {
                        index: report.records,
                        damage: Damage::Truncated,
                        segment: seg,
                        line: prev_line.as_ref().map_or(0, |p| p.line_no + 1),
                        detail: format!(
                            "the latest checkpoint covers {} records; the log ends after {}",
                            rec.seq + 1,
                            report.records
                        ),
                    });
                } else if seen_checkpoint_lines.get(&rec.seq) != Some(&cp.line) {
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
                        detail: e,
                    });
                }
            }
            _ => {
                report.problem = Some(Finding {
                    index: report.records,
                    damage: Damage::Malformed,
                    segment: latest_path.clone(),
                    line: 1,
                    detail: "the latest checkpoint file is unreadable".into(),
                });
            }
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
        if l.index > here.index && Record::parse_line(&l.text).is_ok_and(|x| x.seq == expected) {
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
