//! The rows of a period's summary (`report`): clock windows and readings, key events and
//! spans, ceremonies, hours of traceability, Roughtime servers — what the audit report lists, one type each.

use serde::Serialize;

/// A period in which the trusted clock refused (a clock.state away from `ok` and back).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClockWindow {
    /// When the clock stopped vouching (record time).
    pub from: String,
    /// When it vouched again; `None`: not within the period.
    pub to: Option<String>,
    /// The state it was in (`unsynchronised`, `error_bound_exceeded`, …).
    pub state: String,
    /// Why, as recorded.
    pub reason: String,
}

/// One step of a key's life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyEvent {
    /// Record time.
    pub time: String,
    /// The key's name.
    pub key: String,
    /// What happened (`added as pending`, `in force for …`, `active -> retired`, …).
    pub event: String,
}

/// One key ceremony (dual control, `key.ceremony`): once, however many nodes recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ceremony {
    /// Record time: when a node first followed it.
    pub time: String,
    /// The plan's id.
    pub id: String,
    /// The keyring version it applied to.
    pub from_version: u64,
    /// What it did, in words.
    pub operations: String,
    /// The officers whose approvals counted.
    pub approved_by: String,
}

/// One hour of the reference clock's offset to UTC(NICT) (`clock.traceability`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceHour {
    /// The hour (UTC, RFC 3339).
    pub hour: String,
    /// Common-view tracks in it.
    pub tracks: u64,
    /// Their mean offset, 0.1 ns.
    pub mean_01ns: i64,
    /// The largest offset in absolute value, 0.1 ns.
    pub worst_01ns: u64,
    /// Beyond the alarm threshold the service was configured with.
    pub alarm: bool,
}

/// One Roughtime server across the period (`clock.roughtime`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RoughtimeRow {
    /// Valid replies.
    pub replies: u64,
    /// Of which agreed with the local clock.
    pub agreeing: u64,
    /// Smallest offset (its time minus ours), µs.
    pub min_us: i64,
    /// Largest offset, µs.
    pub max_us: i64,
    /// Sum of offsets, µs (for the mean).
    pub sum_us: i128,
    /// Rounds in which it gave no valid reply.
    pub silent: u64,
}

impl RoughtimeRow {
    /// The mean offset, µs.
    pub fn mean_us(&self) -> i64 {
        if self.replies == 0 {
            return 0;
        }
        i64::try_from(self.sum_us / i128::from(self.replies)).unwrap_or(0)
    }
}

/// One point of the clock's error curve: a `clock.reading`, or the worst of several once
/// the period holds more than [`crate::report::MAX_CLOCK_POINTS`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClockPoint {
    /// Record time (of the first reading merged into it).
    pub time: String,
    /// The largest error bound read; `None`: the source stated none.
    pub max_error_us: Option<u64>,
    /// The accuracy tokens declared.
    pub accuracy_us: u64,
    /// Whether the clock vouched at every reading merged into it.
    pub ok: bool,
}

/// A key's time in force for one policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InForce {
    /// The policy OID.
    pub policy: String,
    /// From (record time).
    pub from: String,
    /// Until; `None`: still in force at the end of the period.
    pub to: Option<String>,
}

/// One key over the period: its usage window, when it was in force, the tokens it signed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KeySpan {
    /// The usage window (certificate validity narrowed by privateKeyUsagePeriod), as the
    /// service recorded it when it put the key in force.
    pub usage_from: Option<String>,
    /// See `usage_from`.
    pub usage_until: Option<String>,
    /// When it was in force, per policy.
    pub in_force: Vec<InForce>,
    /// Its certificate's subject and serial (hex), as the service started with it.
    pub certificate: Option<String>,
    /// See `certificate`.
    pub certificate_serial: Option<String>,
    /// Whether its token attested it sensitive, generated there and never extractable.
    pub attested: Option<bool>,
    /// token.issued records naming it.
    pub tokens: u64,
    /// The first and last of their genTimes.
    pub first_token: Option<String>,
    /// See `first_token`.
    pub last_token: Option<String>,
    /// Tokens whose genTime is outside the usage window: each one a finding.
    pub outside_usage: u64,
    /// Tokens recorded while the log says the key was not in force for their policy: each
    /// one a finding. Counted only where the log records what was in force (service.start's
    /// `in_force`, key.lifecycle's `policy`).
    pub outside_in_force: u64,
}
