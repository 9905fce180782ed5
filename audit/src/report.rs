//! What a period of the log says, for the accreditation audit report (`kokuin audit report`):
//! every figure recomputed from the records, nothing taken from elsewhere.

use crate::event::kind;
use crate::record::Record;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::SystemTime;

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
    /// Chained checkpoints in the period.
    pub checkpoints: u64,
    /// Service starts in the period.
    pub starts: u64,
}

impl Summary {
    /// Adds `r` if its time is within `[from, to]`.
    pub fn add(&mut self, r: &Record, from: Option<SystemTime>, to: Option<SystemTime>) {
        let at = humantime::parse_rfc3339(&r.time).ok();
        if from.is_some_and(|f| at.is_none_or(|t| t < f))
            || to.is_some_and(|e| at.is_none_or(|t| t > e))
        {
            return;
        }
        self.records += 1;
        if self.first.is_none() {
            self.first = Some(r.time.clone());
        }
        self.last = Some(r.time.clone());
        let day = r.time.get(..10).unwrap_or("").to_string();
        let field = |k: &str| {
            r.fields
                .get(k)
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .unwrap_or_default()
        };
        match r.kind.as_str() {
            kind::TOKEN_ISSUED => {
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
            kind::KEY_LIFECYCLE => self.key_events.push(KeyEvent {
                time: r.time.clone(),
                key: field("key"),
                event: field("event"),
            }),
            kind::CHECKPOINT => self.checkpoints += 1,
            kind::SERVICE_START => self.starts += 1,
            _ => {}
        }
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
