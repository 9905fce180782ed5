//! The record format, version 1. This is the specification an auditor re-implements.
//!
//! A log is a sequence of *segment files* (`segment-<first seq, 12 digits>.jsonl`) read in name
//! order. Each line (terminated by one LF, 0x0A) is one record, a JSON object with exactly
//! these members, in this order, with no white space:
//!
//! ```text
//! {"v":1,"seq":N,"time":"2026-11-23T07:35:45.123Z","type":"token.issued","fields":{…},"prev":"<64 hex>"}
//! ```
//!
//! - `v` — the format version, 1.
//! - `seq` — 0 for the first record of the log, then +1 per record, across segments.
//! - `time` — when the record was written, UTC, RFC 3339 with milliseconds.
//! - `type` — the event type (see [`crate::event`]).
//! - `fields` — the event's fields, a JSON object whose keys are in ascending byte order.
//! - `prev` — the hash of the previous record, lower-case hex; 64 zeros for `seq` 0.
//!
//! **The hash of a record is SHA-256 over the bytes of its line, without the LF.** An auditor
//! needs no JSON canonicalisation to check the chain: hash each line as it is stored and
//! compare with the next line's `prev`. Any change to a stored record (a field, the order of
//! records, a removed or inserted line) breaks the chain at that point.
//!
//! A `checkpoint` record signs the chain head (see [`crate::checkpoint`]): its fields hold
//! `count` (its own `seq`, the number of records before it), `head` (equal to its `prev`),
//! the signature and the key. Truncating the tail is detected against the latest checkpoint,
//! which is also kept outside the segments (`checkpoint.json`) and should be shipped off-host.

use crate::error::RecordError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::SystemTime;

/// The record format version (`v`).
pub const VERSION: u64 = 1;
/// Event fields, kept sorted by key whatever features `serde_json` is built with.
pub type Fields = BTreeMap<String, Value>;

/// The `prev` of the first record: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One record, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Format version, [`VERSION`].
    pub v: u64,
    /// Position in the log, from 0, without gaps.
    pub seq: u64,
    /// When it was written, RFC 3339 UTC with microseconds.
    pub time: String,
    #[serde(rename = "type")]
    /// The event type (`type` in the line).
    pub kind: String,
    /// The event's fields.
    pub fields: Fields,
    /// SHA-256 (hex) of the previous record's line: the chain.
    pub prev: String,
}

impl Record {
    /// The record `seq` of an event, chained to `prev`.
    pub fn new(seq: u64, time: SystemTime, kind: &str, fields: Fields, prev: &str) -> Self {
        Self {
            v: VERSION,
            seq,
            time: humantime::format_rfc3339_millis(time).to_string(),
            kind: kind.to_string(),
            fields,
            prev: prev.to_string(),
        }
    }

    /// The canonical line, without LF: members in declaration order, fields in key order.
    pub fn to_line(&self) -> Result<String, RecordError> {
        // A record that cannot be written as it is is an error, never an empty line.
        serde_json::to_string(self).map_err(|e| RecordError::Json(e.to_string()))
    }

    /// Parses a stored line, refusing anything not in canonical form: a line that parses but
    /// re-encodes differently was not written by Kokuin.
    pub fn parse_line(line: &str) -> Result<Self, RecordError> {
        let r: Record = serde_json::from_str(line).map_err(|e| RecordError::Json(e.to_string()))?;
        if r.v != VERSION {
            return Err(RecordError::Version(r.v));
        }
        if r.to_line()? != line {
            return Err(RecordError::NotCanonical);
        }
        Ok(r)
    }
}

/// SHA-256 of a line's bytes, lower-case hex: the value the next record's `prev` holds.
pub fn line_hash(line: &str) -> String {
    hex::encode(Sha256::digest(line.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_line_and_hash() {
        let mut f = Fields::new();
        f.insert("z".into(), Value::from(1));
        f.insert("a".into(), Value::from("x"));
        let r = Record::new(
            0,
            SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_795_417_935_120),
            "test",
            f,
            GENESIS,
        );
        let line = r.to_line().unwrap();
        assert_eq!(
            line,
            format!(
                "{{\"v\":1,\"seq\":0,\"time\":\"2026-11-23T07:12:15.120Z\",\"type\":\"test\",\
                 \"fields\":{{\"a\":\"x\",\"z\":1}},\"prev\":\"{GENESIS}\"}}"
            )
        );
        assert_eq!(Record::parse_line(&line).unwrap(), r);
        assert!(Record::parse_line(&line.replace("\"seq\":0,", "\"seq\": 0,")).is_err());
        assert_eq!(line_hash(&line).len(), 64);
    }
}
