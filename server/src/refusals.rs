//! Refusals in the audit log, aggregated so that the log records every one and cannot be
//! flooded by them. Per interval (`audit.refusal_interval_s`), every refusal with the same
//! event, client address and reason adds to one count; at the end of the interval each
//! count becomes one `refusals` record: event, client, reason, count, first, last, and the
//! first refusal's detail as an example. A flood from one address therefore costs one record
//! per reason per interval, and a flood from many at most `MAX_KEYS` records (beyond that,
//! addresses are counted together under client `*`). Issued tokens and seals are never
//! aggregated: each has its own record, durable before it leaves.
//!
//! Refusals grant nothing, so their records are not awaited before the answer.
//!
//! The service log is spared the same way: a refused request is logged at `debug` only, and
//! each interval's counts become one `info` line each, so that a flood grows the service log
//! by a line per client and reason per interval, not per request.

use kokuin_audit::{AuditLog, Event, kind};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Distinct (event, client, reason) counted per interval before clients are merged.
const MAX_KEYS: usize = 1024;
/// The example detail kept per count.
const MAX_EXAMPLE: usize = 200;

/// What was refused: the event the audit log names it by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refused {
    /// A TimeStampReq answered with status rejection.
    TimeStampRequest,
    /// An e-seal call refused after authentication (or for a reason not about credentials).
    Seal,
    /// An e-seal call without valid credentials.
    Authentication,
    /// Refused at the HTTP level before any handler looked at it (405, 408, 413, 415, 429,
    /// 501, 503 when busy).
    Http,
    /// A TLS handshake that failed or did not finish in time.
    Tls,
}

impl Refused {
    /// The event named in the `refusals` record.
    pub fn name(self) -> &'static str {
        match self {
            Self::TimeStampRequest => kind::REQUEST_REFUSED,
            Self::Seal => kind::SEAL_REFUSED,
            Self::Authentication => kind::AUTH_FAILURE,
            Self::Http => "http.refused",
            Self::Tls => "tls.failed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    what: Refused,
    client: Option<IpAddr>,
    reason: String,
}

struct Count {
    count: u64,
    first: SystemTime,
    last: SystemTime,
    example: String,
}

/// Refusals counted since the last aggregated record.
#[derive(Default)]
pub struct Refusals {
    counts: Mutex<HashMap<Key, Count>>,
}

impl Refusals {
    /// Counts one refusal. `reason` is the aggregation key (a failure name, a status and
    /// operation): keep it from a small set. `detail` is free text, kept once as an example.
    pub fn add(&self, what: Refused, client: IpAddr, reason: &str, detail: &str) {
        let now = SystemTime::now();
        let Ok(mut counts) = self.counts.lock() else {
            return;
        };
        let mut key = Key {
            what,
            client: Some(client),
            reason: reason.to_string(),
        };
        if counts.len() >= MAX_KEYS && !counts.contains_key(&key) {
            key.client = None;
        }
        counts
            .entry(key)
            .and_modify(|c| {
                c.count += 1;
                c.last = now;
            })
            .or_insert_with(|| Count {
                count: 1,
                first: now,
                last: now,
                example: detail.chars().take(MAX_EXAMPLE).collect(),
            });
    }

    /// The records for what was counted since the last call, and a fresh count.
    fn take(&self) -> Vec<Event> {
        let Ok(mut counts) = self.counts.lock() else {
            return Vec::new();
        };
        let mut taken: Vec<(Key, Count)> = counts.drain().collect();
        drop(counts);
        taken.sort_by_key(|(_, c)| c.first);
        let time = |t: SystemTime| humantime::format_rfc3339_millis(t).to_string();
        taken
            .into_iter()
            .map(|(k, c)| {
                Event::new(kind::REFUSALS)
                    .with("event", k.what.name())
                    .with(
                        "client",
                        k.client.map_or("*".to_string(), |a| a.to_string()),
                    )
                    .with("reason", k.reason)
                    .with("count", c.count)
                    .with("first", time(c.first))
                    .with("last", time(c.last))
                    .with("example", c.example)
            })
            .collect()
    }

    /// Writes what was counted: to the service log, and to the audit log when there is one.
    /// Not awaited by any request: a log that cannot write is reported here and by /readyz,
    /// and then refuses every token anyway.
    pub fn flush(&self, log: Option<&AuditLog>) {
        for ev in self.take() {
            let f = |k: &str| {
                ev.fields
                    .get(k)
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), String::from))
                    .unwrap_or_default()
            };
            tracing::info!(
                event = f("event"),
                client = f("client"),
                reason = f("reason"),
                count = f("count"),
                first = f("first"),
                last = f("last"),
                example = f("example"),
                "refusals"
            );
            if let Some(log) = log {
                log.append(
                    ev,
                    Box::new(|r| {
                        if let Err(e) = r {
                            tracing::error!(error = %e, "audit log cannot record refusals");
                        }
                    }),
                );
            }
        }
    }

    /// Flushes every `interval` until `stop` changes.
    pub async fn run(
        self: Arc<Self>,
        log: Option<Arc<AuditLog>>,
        interval: std::time::Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => self.flush(log.as_deref()),
                _ = stop.changed() => return,
            }
        }
    }
}
