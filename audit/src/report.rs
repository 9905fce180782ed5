//! What a period of the log says, for the accreditation audit report (`kokuin audit report`):
//! every figure recomputed from the records, nothing taken from elsewhere.

use crate::event::kind;
use crate::record::Record;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::SystemTime;

pub use crate::report_rows::{
    Ceremony, ClockPoint, ClockWindow, InForce, KeyEvent, KeySpan, RoughtimeRow, TraceHour,
};

/// Points kept for the clock's curve, however long the period: a year of readings every
/// minute is thinned to this many, each the worst of its run.
pub const MAX_CLOCK_POINTS: usize = 2048;

/// The figures of a period.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// The first and last record time in the period.
    pub first: Option<String>,
    /// See `first`.
    pub last: Option<String>,
    /// Records in the period.
    pub records: u64,
    /// token.issued per UTC day and policy.
    pub tokens: BTreeMap<String, BTreeMap<String, u64>>,
    /// token.failed records (recorded tokens that never left).
    pub token_failures: u64,
    /// seal.issued per UTC day and CAdES level.
    pub seals: BTreeMap<String, BTreeMap<String, u64>>,
    /// seal.issued per client.
    pub seals_per_client: BTreeMap<String, u64>,
    /// Refusals per `event: reason`, single and aggregated records together.
    pub refusals: BTreeMap<String, u64>,
    /// The clock's refusal windows.
    pub clock_windows: Vec<ClockWindow>,
    /// Key lifecycle events.
    pub key_events: Vec<KeyEvent>,
    /// Key ceremonies, in the order first recorded.
    pub ceremonies: Vec<Ceremony>,
    /// Each key named by a token or lifecycle record.
    pub keys: BTreeMap<String, KeySpan>,
    /// The clock's error bound over time (`clock.reading`).
    pub clock_readings: Vec<ClockPoint>,
    /// token.issued records inside a clock refusal window: each one a finding.
    pub tokens_in_clock_windows: u64,
    /// The reference clock's offset to UTC(NICT), hour by hour (`clock.traceability`).
    pub traceability: Vec<TraceHour>,
    /// Hours beyond the alarm threshold: each one a finding.
    pub traceability_alarms: u64,
    /// Roughtime rounds (`clock.roughtime`).
    pub roughtime_rounds: u64,
    /// Each Roughtime server's replies and offsets, by name.
    pub roughtime: BTreeMap<String, RoughtimeRow>,
    /// Periods in which too few Roughtime servers agreed (state: `refuse` or `alarm`).
    pub roughtime_windows: Vec<ClockWindow>,
    /// Malfeasance reports recorded: each one a finding.
    pub roughtime_malfeasance: u64,
    /// Each policy's name, as the service's configuration gave it (service.start `in_force`).
    pub policy_names: BTreeMap<String, String>,
    /// token.issued records while the last clock reading before them had an error bound above
    /// the declared accuracy, or none: each one a finding.
    pub tokens_beyond_accuracy: u64,
    /// token.issued records after a service.start that did not require the clock to be
    /// synchronised (`clock.require_sync = false`): each one a finding.
    pub tokens_without_required_sync: u64,
    /// Whether the last clock reading exceeded the declared accuracy.
    #[serde(skip)]
    clock_exceeds: bool,
    /// Whether the last service.start required synchronisation (`None`: it does not say).
    #[serde(skip)]
    sync_required: Option<bool>,
    /// Whether the log records which key was in force (a service.start with `in_force`).
    #[serde(skip)]
    in_force_known: bool,
    /// Readings merged into each clock point, doubled at each thinning.
    #[serde(skip)]
    clock_stride: u64,
    /// Readings merged into the last point so far.
    #[serde(skip)]
    clock_pending: u64,
    /// Chained checkpoints in the period.
    pub checkpoints: u64,
    /// Service starts in the period.
    pub starts: u64,
}

impl Summary {
    /// Adds `r` if its time is within `[from, to]`.
    pub fn add(&mut self, r: &Record, from: Option<SystemTime>, to: Option<SystemTime>) {
        let at = humantime::parse_rfc3339(&r.time).ok();
        if to.is_some_and(|e| at.is_none_or(|t| t > e)) {
            return;
        }
        if from.is_some_and(|f| at.is_none_or(|t| t < f)) {
            self.carry(r);
            return;
        }
        self.records += 1;
        // RFC 3339 UTC times of one format order as strings; a fleet's chains interleave.
        if self.first.as_ref().is_none_or(|f| r.time < *f) {
            self.first = Some(r.time.clone());
        }
        if self.last.as_ref().is_none_or(|l| r.time > *l) {
            self.last = Some(r.time.clone());
        }
        let day = r.time.get(..10).unwrap_or("").to_string();
        let field = |k: &str| text_field(r, k);
        match r.kind.as_str() {
            kind::TOKEN_ISSUED => {
                self.token_in_windows(r, &field("key"), &field("policy"), &field("gen_time"));
                *self
                    .tokens
                    .entry(day)
                    .or_default()
                    .entry(field("policy"))
                    .or_default() += 1;
            }
            kind::TOKEN_FAILED => self.token_failures += 1,
            kind::SEAL_ISSUED => {
                *self
                    .seals
                    .entry(day)
                    .or_default()
                    .entry(field("level"))
                    .or_default() += 1;
                *self.seals_per_client.entry(field("client")).or_default() += 1;
            }
            kind::REQUEST_REFUSED | kind::SEAL_REFUSED | kind::AUTH_FAILURE => {
                *self
                    .refusals
                    .entry(format!("{}: {}", r.kind, field("reason")))
                    .or_default() += 1;
            }
            kind::REFUSALS => {
                let n = r.fields.get("count").and_then(|v| v.as_u64()).unwrap_or(1);
                *self
                    .refusals
                    .entry(format!("{}: {}", field("event"), field("reason")))
                    .or_default() += n;
            }
            kind::CLOCK_STATE => {
                let state = field("to");
                if state == "ok" {
                    if let Some(w) = self.clock_windows.last_mut().filter(|w| w.to.is_none()) {
                        w.to = Some(r.time.clone());
                    }
                } else if self.clock_windows.last().is_none_or(|w| w.to.is_some()) {
                    self.clock_windows.push(ClockWindow {
                        from: r.time.clone(),
                        to: None,
                        state,
                        reason: field("reason"),
                    });
                }
            }
            kind::KEY_LIFECYCLE => {
                self.lifecycle_windows(r, &field);
                let (key, event) = (field("key"), field("event"));
                self.keys.entry(key.clone()).or_default();
                self.key_events.push(KeyEvent {
                    time: r.time.clone(),
                    key,
                    event,
                });
            }
            kind::CEREMONY => {
                let id = field("id");
                if !self.ceremonies.iter().any(|c| c.id == id) {
                    self.ceremonies.push(Ceremony {
                        time: r.time.clone(),
                        from_version: r
                            .fields
                            .get("from_version")
                            .and_then(|v| v.as_u64())
                            .unwrap_or(0),
                        id,
                        operations: field("operations"),
                        approved_by: field("approved_by"),
                    });
                }
            }
            kind::CLOCK_READING => self.clock_point(r),
            kind::CLOCK_TRACEABILITY => {
                let num = |k: &str| r.fields.get(k).and_then(|v| v.as_i64()).unwrap_or(0);
                let alarm = r.fields.get("alarm").and_then(|v| v.as_bool()) == Some(true);
                self.traceability_alarms += u64::from(alarm);
                self.traceability.push(TraceHour {
                    hour: field("hour"),
                    tracks: r.fields.get("tracks").and_then(|v| v.as_u64()).unwrap_or(0),
                    mean_01ns: num("mean_01ns"),
                    worst_01ns: num("min_01ns")
                        .unsigned_abs()
                        .max(num("max_01ns").unsigned_abs()),
                    alarm,
                });
            }
            kind::CLOCK_ROUGHTIME => self.roughtime_round(r),
            kind::CHECKPOINT => self.checkpoints += 1,
            kind::SERVICE_STOP => self.end_in_force(&r.time, None),
            kind::SERVICE_START => {
                self.starts += 1;
                self.started(r);
            }
            _ => {}
        }
    }

    /// The end of one node's chain in a fleet's report: what was open stays open for that node
    /// only (its end says so), and what the next node's records mean starts afresh.
    pub fn end_chain(&mut self, node: &str) {
        let end = format!("(end of {node}'s records)");
        for w in self
            .clock_windows
            .iter_mut()
            .chain(self.roughtime_windows.iter_mut())
            .filter(|w| w.to.is_none())
        {
            w.to = Some(end.clone());
        }
        self.clock_exceeds = false;
        self.sync_required = None;
    }

    /// Once every record is added: a fleet's clock points in time order.
    pub fn finish(&mut self) {
        self.clock_readings.sort_by(|a, b| a.time.cmp(&b.time));
    }

    /// A Roughtime round: each server's offset, and the windows of disagreement.
    fn roughtime_round(&mut self, r: &Record) {
        self.roughtime_rounds += 1;
        let get = |k: &str| r.fields.get(k);
        let mut answered = std::collections::BTreeSet::new();
        for reply in get("replies")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            let name = reply["server"].as_str().unwrap_or("?").to_string();
            let offset = reply["offset_us"].as_i64().unwrap_or(0);
            let row = self.roughtime.entry(name.clone()).or_default();
            if row.replies == 0 {
                (row.min_us, row.max_us) = (offset, offset);
            }
            row.replies += 1;
            row.agreeing += u64::from(reply["agrees"].as_bool() == Some(true));
            row.min_us = row.min_us.min(offset);
            row.max_us = row.max_us.max(offset);
            row.sum_us += i128::from(offset);
            answered.insert(name);
        }
        for failure in get("failures")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            let name = failure["server"].as_str().unwrap_or("?").to_string();
            if answered.insert(name.clone()) {
                self.roughtime.entry(name).or_default().silent += 1;
            }
        }
        self.roughtime_malfeasance += u64::from(get("malfeasance").is_some_and(|m| !m.is_null()));
        let verdict = get("verdict").and_then(|v| v.as_str()).unwrap_or("?");
        let open = self.roughtime_windows.last_mut().filter(|w| w.to.is_none());
        match (verdict, open) {
            ("agree", Some(w)) => w.to = Some(r.time.clone()),
            ("agree", None) | (_, Some(_)) => {}
            (state, None) => self.roughtime_windows.push(ClockWindow {
                from: r.time.clone(),
                to: None,
                state: state.to_string(),
                reason: format!(
                    "{} of {} needed servers agreed",
                    get("agreeing").and_then(|v| v.as_u64()).unwrap_or(0),
                    get("min_agreeing").and_then(|v| v.as_u64()).unwrap_or(0)
                ),
            }),
        }
    }

    /// A service start: what it put in force, and whether it required the clock in sync.
    fn started(&mut self, r: &Record) {
        self.end_in_force(&r.time, None);
        self.sync_required = r.fields.get("require_sync").and_then(|v| v.as_bool());
        if let Some(list) = r.fields.get("in_force").and_then(|v| v.as_array()) {
            for k in list {
                let f = |n: &str| text_of(k.get(n));
                if !f("policy_name").is_empty() {
                    self.policy_names.insert(f("policy"), f("policy_name"));
                }
                self.begin_in_force(&r.time, &f("key"), &f("policy"), &f);
            }
        }
    }

    /// A key lifecycle record's effect on what is in force.
    fn lifecycle_windows(&mut self, r: &Record, field: &dyn Fn(&str) -> String) {
        let (key, event, policy) = (field("key"), field("event"), field("policy"));
        if !policy.is_empty() {
            self.end_in_force(&r.time, Some(&policy));
            if event.starts_with("in force") {
                self.begin_in_force(&r.time, &key, &policy, field);
            }
        }
    }

    /// Whether a clock reading's bound exceeds the declared accuracy (no bound: it does).
    fn reading_exceeds(r: &Record) -> bool {
        let acc = r
            .fields
            .get("accuracy_us")
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        let max = r.fields.get("max_error_us").and_then(|v| v.as_u64());
        acc > 0 && max.is_none_or(|e| e > acc)
    }

    /// A record before the period: nothing counted, but the state the period starts in is
    /// carried in — which key is in force for which policy and its usage window, an open clock
    /// refusal window, whether the clock's last reading was within the accuracy, whether
    /// synchronisation was required — so that a period report does not show "? – ?" windows
    /// and a green zero for tokens it cannot judge.
    fn carry(&mut self, r: &Record) {
        let field = |k: &str| text_field(r, k);
        match r.kind.as_str() {
            kind::KEY_LIFECYCLE => self.lifecycle_windows(r, &field),
            kind::SERVICE_START => self.started(r),
            kind::SERVICE_STOP => self.end_in_force(&r.time, None),
            kind::CLOCK_STATE => {
                let state = field("to");
                if state == "ok" {
                    self.clock_windows.retain(|w| w.to.is_some());
                } else if self.clock_windows.is_empty() {
                    self.clock_windows.push(ClockWindow {
                        from: r.time.clone(),
                        to: None,
                        state,
                        reason: field("reason"),
                    });
                }
            }
            kind::CLOCK_READING => self.clock_exceeds = Self::reading_exceeds(r),
            _ => {}
        }
    }

    fn token_in_windows(&mut self, r: &Record, key: &str, policy: &str, gen_time: &str) {
        if self.clock_windows.last().is_some_and(|w| w.to.is_none()) {
            self.tokens_in_clock_windows += 1;
        }
        if self.clock_exceeds {
            self.tokens_beyond_accuracy += 1;
        }
        if self.sync_required == Some(false) {
            self.tokens_without_required_sync += 1;
        }
        let known = self.in_force_known;
        let span = self.keys.entry(key.to_string()).or_default();
        span.tokens += 1;
        let t = if gen_time.is_empty() {
            &r.time
        } else {
            gen_time
        };
        if span.first_token.is_none() {
            span.first_token = Some(t.to_string());
        }
        span.last_token = Some(t.to_string());
        let at = humantime::parse_rfc3339(t).ok();
        let parse =
            |s: &Option<String>| s.as_deref().and_then(|s| humantime::parse_rfc3339(s).ok());
        let (from, until) = (parse(&span.usage_from), parse(&span.usage_until));
        if let Some(at) = at
            && (from.is_some_and(|f| at < f) || until.is_some_and(|u| at > u))
        {
            span.outside_usage += 1;
        }
        if known
            && !span
                .in_force
                .iter()
                .any(|w| w.to.is_none() && w.policy == policy)
        {
            span.outside_in_force += 1;
        }
    }

    fn begin_in_force(
        &mut self,
        time: &str,
        key: &str,
        policy: &str,
        field: &dyn Fn(&str) -> String,
    ) {
        self.in_force_known = true;
        let span = self.keys.entry(key.to_string()).or_default();
        let (from, until) = (field("usage_from"), field("usage_until"));
        if !from.is_empty() {
            span.usage_from = Some(from);
        }
        if !until.is_empty() {
            span.usage_until = Some(until);
        }
        let (cert, serial) = (field("certificate"), field("certificate_serial"));
        if !cert.is_empty() {
            span.certificate = Some(cert);
        }
        if !serial.is_empty() {
            span.certificate_serial = Some(serial);
        }
        match field("attested").as_str() {
            "true" => span.attested = Some(true),
            "false" => span.attested = Some(false),
            _ => {}
        }
        span.in_force.push(InForce {
            policy: policy.to_string(),
            from: time.to_string(),
            to: None,
        });
    }

    /// Ends what is in force for `policy` (every policy: `None`) at `time`.
    fn end_in_force(&mut self, time: &str, policy: Option<&str>) {
        for span in self.keys.values_mut() {
            for w in &mut span.in_force {
                if w.to.is_none() && policy.is_none_or(|p| p == w.policy) {
                    w.to = Some(time.to_string());
                }
            }
        }
    }

    fn clock_point(&mut self, r: &Record) {
        let max_error_us = r.fields.get("max_error_us").and_then(|v| v.as_u64());
        let accuracy_us = r
            .fields
            .get("accuracy_us")
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        let ok = r.fields.get("status").and_then(|v| v.as_str()) == Some("ok");
        self.clock_exceeds = Self::reading_exceeds(r);
        let stride = self.clock_stride.max(1);
        if self.clock_pending > 0
            && self.clock_pending < stride
            && let Some(p) = self.clock_readings.last_mut()
        {
            p.max_error_us = worst(p.max_error_us, max_error_us);
            p.ok &= ok;
            self.clock_pending += 1;
            return;
        }
        if self.clock_readings.len() == MAX_CLOCK_POINTS {
            // Halve: each pair becomes the worst of the two.
            let old = std::mem::take(&mut self.clock_readings);
            for pair in old.chunks(2) {
                let mut p = pair[0].clone();
                if let Some(q) = pair.get(1) {
                    p.max_error_us = worst(p.max_error_us, q.max_error_us);
                    p.ok &= q.ok;
                }
                self.clock_readings.push(p);
            }
            self.clock_stride = stride * 2;
        }
        self.clock_readings.push(ClockPoint {
            time: r.time.clone(),
            max_error_us,
            accuracy_us,
            ok,
        });
        self.clock_pending = 1;
    }

    /// Tokens in the period.
    pub fn token_count(&self) -> u64 {
        self.tokens.values().flat_map(|p| p.values()).sum()
    }

    /// Seals in the period.
    pub fn seal_count(&self) -> u64 {
        self.seals.values().flat_map(|p| p.values()).sum()
    }
}

/// A record's field as text (a string as it is, anything else in JSON); empty when absent.
fn text_field(r: &Record, k: &str) -> String {
    text_of(r.fields.get(k))
}

/// A JSON value as text: a string as it is, anything else in JSON; empty when absent.
fn text_of(v: Option<&serde_json::Value>) -> String {
    v.map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        .unwrap_or_default()
}

/// The worse of two error bounds: none stated is worse than any.
fn worst(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn reading(i: u64, err: u64, status: &str) -> Record {
        let mut f = crate::record::Fields::new();
        f.insert("max_error_us".into(), err.into());
        f.insert("accuracy_us".into(), 1_000_000u64.into());
        f.insert("status".into(), status.into());
        let t = UNIX_EPOCH + Duration::from_secs(1_800_000_000 + i * 60);
        Record::new(i, t, kind::CLOCK_READING, f, "")
    }

    #[test]
    fn a_year_of_clock_readings_is_thinned_keeping_the_worst() {
        let mut s = Summary::default();
        let n = 525_600;
        for i in 0..n {
            let (err, status) = match i {
                300_001 => (900_000, "ok"),
                400_000 => (2_000_000, "error_bound_exceeded"),
                _ => (1_000 + i % 7, "ok"),
            };
            s.add(&reading(i, err, status), None, None);
        }
        let pts = &s.clock_readings;
        assert!(pts.len() <= MAX_CLOCK_POINTS && pts.len() > MAX_CLOCK_POINTS / 4);
        let worst = pts.iter().filter_map(|p| p.max_error_us).max();
        assert_eq!(worst, Some(2_000_000));
        assert!(pts.iter().any(|p| p.max_error_us == Some(900_000)));
        assert_eq!(pts.iter().filter(|p| !p.ok).count(), 1);
        assert_eq!(pts[0].time, reading(0, 0, "ok").time);
    }

    #[test]
    fn a_period_starts_in_the_state_the_log_was_in() {
        let at = |i: u64| UNIX_EPOCH + Duration::from_secs(1_800_000_000 + i * 60);
        let rec = |i: u64, k: &str, fields: &[(&str, serde_json::Value)]| {
            let mut f = crate::record::Fields::new();
            for (n, v) in fields {
                f.insert((*n).into(), v.clone());
            }
            Record::new(i, at(i), k, f, "")
        };
        let start = rec(
            0,
            kind::SERVICE_START,
            &[
                ("require_sync", false.into()),
                (
                    "in_force",
                    serde_json::json!([{ "key": "k1", "policy": "1.2.3",
                        "usage_from": "2027-01-01T00:00:00Z", "usage_until": "2028-01-01T00:00:00Z" }]),
                ),
            ],
        );
        let token = rec(
            10,
            kind::TOKEN_ISSUED,
            &[
                ("key", "k1".into()),
                ("policy", "1.2.3".into()),
                ("gen_time", "2027-01-15T08:20:00Z".into()),
            ],
        );
        let mut s = Summary::default();
        // The period starts after the start record and after a reading without a bound.
        for r in [start, reading(5, 0, "unsynchronised"), token] {
            s.add(&r, Some(at(8)), None);
        }
        let mut unbounded = s.clone();
        assert_eq!(s.records, 1, "only the token is in the period");
        let k1 = &s.keys["k1"];
        assert_eq!(k1.usage_from.as_deref(), Some("2027-01-01T00:00:00Z"));
        assert_eq!(
            (k1.tokens, k1.outside_in_force, k1.outside_usage),
            (1, 0, 0)
        );
        assert_eq!(s.tokens_without_required_sync, 1);
        // The reading before the period stated a bound of 0: within the accuracy.
        assert_eq!(s.tokens_beyond_accuracy, 0);
        unbounded.add(&reading(11, 5_000_000, "ok"), None, None);
        unbounded.add(
            &rec(
                12,
                kind::TOKEN_ISSUED,
                &[("key", "k1".into()), ("policy", "1.2.3".into())],
            ),
            None,
            None,
        );
        assert_eq!(unbounded.tokens_beyond_accuracy, 1);
    }
}
