//! The database's clock beside the node's, at every lease renewal (docs/fleet.md). The
//! database is not a time source — whether the node may issue is the trusted clock's decision
//! — but a node whose clock disagrees with the database's beyond what both claim is evidence
//! an assessor wants: a node an hour ahead would otherwise join the fleet and issue with a
//! future genTime unnoticed by its peers.
//!
//! Each renewal reads `clock_timestamp()` between the node's send and receive times. The
//! database's reading lies in that interval if both clocks are right, so the node's clock
//! agrees when |database − midpoint| ≤ declared accuracy + half the round trip. A change
//! either way, and every minute while they disagree, becomes a `clock.database` record
//! (offset, round trip, bound, agrees) and a log line; `offset` is also a gauge.

use kokuin_audit::{Event, kind};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// How often a lasting disagreement is recorded again.
const REPEAT: Duration = Duration::from_secs(60);

/// The node's clock against the database's, reading by reading.
pub struct ClockAgreement {
    accuracy: Duration,
    /// The last offset, database minus node, in µs (for `/metrics`).
    offset_us: Arc<AtomicI64>,
    agrees: Option<bool>,
    last_record: Option<Instant>,
    pending: Vec<Event>,
}

impl ClockAgreement {
    /// Judged against the service's declared accuracy.
    pub fn new(accuracy: Duration) -> Self {
        Self {
            accuracy,
            offset_us: Arc::default(),
            agrees: None,
            last_record: None,
            pending: Vec::new(),
        }
    }

    /// The last offset (database minus node, µs), kept up to date.
    pub fn offset(&self) -> Arc<AtomicI64> {
        self.offset_us.clone()
    }

    /// One reading: the database said `db_us` (µs since the epoch) between `sent` and
    /// `received` by the node's clock.
    pub fn observe(&mut self, sent: SystemTime, received: SystemTime, db_us: i64) {
        let us = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        };
        let (sent, received) = (us(sent), us(received));
        let rtt = received.saturating_sub(sent).max(0);
        let offset = db_us.saturating_sub(sent.saturating_add(rtt / 2));
        let bound = i64::try_from(self.accuracy.as_micros())
            .unwrap_or(i64::MAX)
            .saturating_add(rtt / 2);
        let agrees = offset.saturating_abs() <= bound;
        self.offset_us.store(offset, Ordering::Relaxed);
        let changed = self.agrees != Some(agrees);
        let again = !agrees && self.last_record.is_none_or(|t| t.elapsed() >= REPEAT);
        // The first reading is recorded only when it disagrees.
        if (changed && (self.agrees.is_some() || !agrees)) || (!changed && again) {
            if agrees {
                tracing::info!(
                    offset_us = offset,
                    "clock: the database's clock agrees again"
                );
            } else {
                tracing::error!(
                    offset_us = offset,
                    bound_us = bound,
                    "clock: the database's clock disagrees with this node's beyond the declared accuracy"
                );
            }
            self.pending.push(
                Event::new(kind::CLOCK_DATABASE)
                    .with("offset_us", offset)
                    .with("rtt_us", rtt)
                    .with("bound_us", bound)
                    .with("agrees", agrees),
            );
            self.last_record = Some(Instant::now());
        }
        self.agrees = Some(agrees);
    }

    /// The records to write.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_ahead_is_recorded_once_and_its_end_too() {
        let mut c = ClockAgreement::new(Duration::from_secs(1));
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let us = |t: SystemTime| {
            i64::try_from(
                t.duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_micros(),
            )
            .unwrap()
        };
        let rtt = Duration::from_millis(2);
        // In agreement: nothing recorded.
        c.observe(t, t + rtt, us(t + rtt / 2));
        assert!(c.take_events().is_empty());
        // The node an hour ahead of the database.
        let ahead = t + Duration::from_secs(3600);
        c.observe(ahead, ahead + rtt, us(t));
        c.observe(ahead, ahead + rtt, us(t));
        let e = c.take_events();
        assert_eq!(e.len(), 1, "recorded once while it lasts (within a minute)");
        assert_eq!(e[0].fields["agrees"], false);
        assert!(c.offset().load(Ordering::Relaxed) < -3_599_000_000);
        // Within accuracy plus half the round trip: agreeing again, recorded.
        c.observe(t, t + rtt, us(t + Duration::from_millis(900)));
        let e = c.take_events();
        assert_eq!(
            (e.len(), &e[0].fields["agrees"]),
            (1, &serde_json::json!(true))
        );
    }
}
