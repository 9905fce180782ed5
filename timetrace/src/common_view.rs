//! GNSS common view: tracks the provider's receiver and NICT's both observed, matched on the
//! satellite, the start time and the frequency code, each giving the offset of the provider's
//! reference to UTC(NICT) at that time, and their hourly means.

use crate::files::{CggttsFile, TraceError};
use cggtts::prelude::{Epoch, ReferenceTime, Track};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One matched track.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackOffset {
    /// The satellite: constellation letter and PRN (`G08`, `E11`, `C23`).
    pub sat: String,
    /// The track's start (UTC, RFC 3339).
    pub start: String,
    /// The frequency code (`L1C`, `E1`, …).
    pub frc: String,
    /// `REFSYS_local − REFSYS_NICT`: the provider's reference minus UTC(NICT), in units of
    /// 0.1 ns, the format's resolution.
    pub offset_01ns: i64,
}

/// The tracks of one hour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HourOffset {
    /// The hour's start (UTC, RFC 3339).
    pub hour: String,
    /// Tracks matched in it.
    pub tracks: usize,
    /// Their mean offset, 0.1 ns (rounded).
    pub mean_01ns: i64,
    /// The smallest and largest, 0.1 ns.
    pub min_01ns: i64,
    /// See `min_01ns`.
    pub max_01ns: i64,
}

/// What a comparison found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Comparison {
    /// Every matched track, in time order.
    pub tracks: Vec<TrackOffset>,
    /// Hourly means, in time order.
    pub hours: Vec<HourOffset>,
    /// Local tracks with no reference track of the same satellite, start and code.
    pub local_only: usize,
    /// Reference tracks with no local one.
    pub reference_only: usize,
}

impl Comparison {
    /// The largest offset in absolute value, 0.1 ns; `None` when nothing matched.
    pub fn worst_01ns(&self) -> Option<i64> {
        self.tracks
            .iter()
            .map(|t| t.offset_01ns)
            .max_by_key(|o| o.unsigned_abs())
    }
}

/// What matches two tracks: satellite, start (whole seconds since 1970) and frequency code.
type Key = (String, i64, String);

fn key(t: &Track) -> Key {
    (format!("{:x}", t.sv), unix(&t.epoch), t.frc.clone())
}

fn unix(e: &Epoch) -> i64 {
    e.to_unix_seconds().round() as i64
}

/// REFSYS as the file wrote it: seconds back to units of 0.1 ns (exact for the format's 11
/// digits).
fn refsys_01ns(t: &Track) -> i64 {
    (t.data.refsys * 1e10).round() as i64
}

fn rfc3339(unix_seconds: i64) -> String {
    let (y, mo, d, h, mi, s, _) = Epoch::from_unix_seconds(unix_seconds as f64).to_gregorian_utc();
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Compares the provider's files with NICT's for the same days. Every reference file must say
/// `REF = UTC(NICT)`; a track is matched only on the same satellite, start and frequency code.
pub fn compare(local: &[CggttsFile], reference: &[CggttsFile]) -> Result<Comparison, TraceError> {
    let mut by_key: HashMap<Key, i64> = HashMap::new();
    for f in reference {
        match &f.data.header.reference_time {
            ReferenceTime::UTCk(lab) if lab == "NICT" => {}
            other => {
                return Err(TraceError::NotNict {
                    file: f.name.clone(),
                    found: other.to_string(),
                });
            }
        }
        for t in &f.data.tracks {
            by_key.entry(key(t)).or_insert_with(|| refsys_01ns(t));
        }
    }
    let mut out = Comparison::default();
    let mut matched: Vec<(i64, TrackOffset)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for f in local {
        for t in &f.data.tracks {
            let k = key(t);
            match by_key.get(&k) {
                Some(nict) if seen.insert(k.clone()) => matched.push((
                    k.1,
                    TrackOffset {
                        sat: k.0,
                        start: rfc3339(k.1),
                        frc: k.2,
                        offset_01ns: refsys_01ns(t) - nict,
                    },
                )),
                // The same track twice in the local files: counted once.
                Some(_) => {}
                None => out.local_only += 1,
            }
        }
    }
    out.reference_only = by_key.len() - seen.len();
    matched.sort_by(|a, b| (a.0, &a.1.sat, &a.1.frc).cmp(&(b.0, &b.1.sat, &b.1.frc)));
    let mut hours: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (start, t) in &matched {
        hours
            .entry(start.div_euclid(3600) * 3600)
            .or_default()
            .push(t.offset_01ns);
    }
    out.hours = hours
        .into_iter()
        .map(|(hour, offsets)| {
            let sum: i128 = offsets.iter().map(|o| i128::from(*o)).sum();
            HourOffset {
                hour: rfc3339(hour),
                tracks: offsets.len(),
                mean_01ns: (sum as f64 / offsets.len() as f64).round() as i64,
                min_01ns: offsets.iter().copied().min().unwrap_or(0),
                max_01ns: offsets.iter().copied().max().unwrap_or(0),
            }
        })
        .collect();
    out.tracks = matched.into_iter().map(|(_, t)| t).collect();
    Ok(out)
}
