//! `/metrics` in Prometheus text (OpenMetrics) format: what an operator alerts on.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
/// Labels of `kokuin_requests_total`.
pub struct RequestLabels {
    /// The route (`/tsa`, `/eseal/v1/seal`, … or `other`).
    pub endpoint: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The PKIFailureInfo of a refused time-stamp request, else "none".
    pub failure: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
/// Labels of `kokuin_fleet_refused_total`.
pub struct RefusedLabels {
    /// Why rows were left out of the fleet's tree (`unsigned`, `chain`, `head`).
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
/// Labels of per-Roughtime-server metrics.
pub struct RoughtimeLabels {
    /// The server's configured name.
    pub server: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
/// Labels of per-witness metrics.
pub struct WitnessLabels {
    /// The witness's name (its vkey's).
    pub witness: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
/// Labels of `kokuin_witness_answers_total`.
pub struct WitnessAnswerLabels {
    /// The witness's name.
    pub witness: String,
    /// `cosigned` or `failed`.
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
/// Labels of `kokuin_roughtime_rounds_total`.
pub struct VerdictLabels {
    /// `agree` or `disagree`.
    pub verdict: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
/// Labels of per-key metrics.
pub struct KeyLabels {
    /// The key's name (never a path).
    pub key: String,
}

/// The service's Prometheus metrics (docs/operators.md lists what to alert on).
pub struct Metrics {
    registry: Registry,
    /// Requests answered, by route, status and failure.
    pub requests: Family<RequestLabels, Counter>,
    /// Time to sign, by key.
    pub signing_seconds: Family<KeyLabels, Histogram>,
    /// Signatures that failed, by key.
    pub signing_errors: Family<KeyLabels, Counter>,
    /// Time to write and sync one audit batch.
    pub audit_sync_seconds: Histogram,
    /// Audit records written.
    pub audit_records: Counter,
    /// 1 while the audit log can write.
    pub audit_healthy: Gauge,
    /// The clock's error bound.
    pub clock_max_error_seconds: Gauge<f64, AtomicU64>,
    /// 1 while the clock vouches for the time.
    pub clock_ok: Gauge,
    /// In a fleet: the database's clock minus this node's at the last lease renewal.
    pub database_clock_offset_seconds: Gauge<f64, AtomicU64>,
    /// In a fleet: findings of rows left out of the tree, by reason.
    pub fleet_refused: Family<RefusedLabels, Counter>,
    /// Keyring changes not followed (unreadable, or without a valid ceremony).
    pub keyring_refused: Counter,
    /// Days until each key's usage period ends.
    pub key_usage_seconds_left: Family<KeyLabels, Gauge<f64, AtomicU64>>,
    /// 1 while `/readyz` is 200.
    pub ready: Gauge,
    /// Requests refused by a rate limit.
    pub rate_limited: Counter,
    /// Requests being answered now.
    pub requests_in_flight: Gauge,
    /// In a fleet: how long this node's oldest record has waited for the fleet's tree.
    pub fleet_tree_lag_seconds: Gauge<f64, AtomicU64>,
    /// Servers that agreed in the last Roughtime round.
    pub roughtime_agreeing: Gauge,
    /// Each Roughtime server's time minus ours at its last valid reply.
    pub roughtime_offset_seconds: Family<RoughtimeLabels, Gauge<f64, AtomicU64>>,
    /// Roughtime rounds, by verdict.
    pub roughtime_rounds: Family<VerdictLabels, Counter>,
    /// Malfeasance reports made.
    pub roughtime_malfeasance: Counter,
    /// When each witness last cosigned a checkpoint (Unix seconds).
    pub witness_last_cosigned: Family<WitnessLabels, Gauge<f64, AtomicU64>>,
    /// Each witness's answers, by result.
    pub witness_answers: Family<WitnessAnswerLabels, Counter>,
}

fn latency_histogram() -> Histogram {
    // 50 µs to ~3 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric, registered under the `kokuin` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kokuin");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "HTTP requests by endpoint, status and PKIFailureInfo",
            requests.clone(),
        );
        let signing_seconds =
            Family::<KeyLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register(
            "signing_seconds",
            "Time to sign one token, per key",
            signing_seconds.clone(),
        );
        let signing_errors = Family::<KeyLabels, Counter>::default();
        registry.register(
            "signing_errors",
            "Signatures the key backend (HSM or software) failed to make",
            signing_errors.clone(),
        );
        let audit_sync_seconds = latency_histogram();
        registry.register(
            "audit_sync_seconds",
            "Time to write and fdatasync one batch of audit records",
            audit_sync_seconds.clone(),
        );
        let audit_records = Counter::default();
        registry.register(
            "audit_records",
            "Audit records made durable",
            audit_records.clone(),
        );
        let audit_healthy = Gauge::default();
        registry.register(
            "audit_healthy",
            "1 while the audit log accepts writes",
            audit_healthy.clone(),
        );
        let clock_max_error_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "clock_max_error_seconds",
            "The kernel's maximum clock error bound",
            clock_max_error_seconds.clone(),
        );
        let database_clock_offset_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "database_clock_offset_seconds",
            "In a fleet: the database's clock minus this node's at the last lease renewal",
            database_clock_offset_seconds.clone(),
        );
        let fleet_refused = Family::<RefusedLabels, Counter>::default();
        registry.register(
            "fleet_refused",
            "In a fleet: rows the integrator left out of the tree because no verified head vouches for them, one per finding",
            fleet_refused.clone(),
        );
        let keyring_refused = Counter::default();
        registry.register(
            "keyring_refused",
            "Keyring changes not followed: unreadable, naming what a database may not, or without a valid ceremony",
            keyring_refused.clone(),
        );
        let clock_ok = Gauge::default();
        registry.register(
            "clock_ok",
            "1 while the clock vouches for genTime within the declared accuracy",
            clock_ok.clone(),
        );
        let key_usage_seconds_left = Family::<KeyLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "key_usage_seconds_left",
            "Seconds until the signing key's usage period ends (negative: ended)",
            key_usage_seconds_left.clone(),
        );
        let ready = Gauge::default();
        registry.register("ready", "1 while /readyz is 200", ready.clone());
        let rate_limited = Counter::default();
        registry.register(
            "rate_limited",
            "Requests refused with 429 by the per-client limit",
            rate_limited.clone(),
        );
        let requests_in_flight = Gauge::default();
        registry.register(
            "requests_in_flight",
            "Requests being answered now (from the complete head to the answer)",
            requests_in_flight.clone(),
        );
        let fleet_tree_lag_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "fleet_tree_lag_seconds",
            "In a fleet: how long this node's oldest record not yet in the fleet's tree has waited",
            fleet_tree_lag_seconds.clone(),
        );
        let roughtime_agreeing = Gauge::default();
        registry.register(
            "roughtime_agreeing_servers",
            "Roughtime servers that agreed with the local clock in the last round",
            roughtime_agreeing.clone(),
        );
        let roughtime_offset_seconds = Family::<RoughtimeLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "roughtime_offset_seconds",
            "A Roughtime server's midpoint minus the local clock at its last valid reply",
            roughtime_offset_seconds.clone(),
        );
        let roughtime_rounds = Family::<VerdictLabels, Counter>::default();
        registry.register(
            "roughtime_rounds",
            "Roughtime rounds, by whether enough servers agreed",
            roughtime_rounds.clone(),
        );
        let roughtime_malfeasance = Counter::default();
        registry.register(
            "roughtime_malfeasance_reports",
            "Roughtime malfeasance reports: two servers' signed replies contradict each other",
            roughtime_malfeasance.clone(),
        );
        let witness_last_cosigned = Family::<WitnessLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "witness_last_cosigned_timestamp_seconds",
            "When the witness last cosigned one of this log's tree checkpoints (Unix time)",
            witness_last_cosigned.clone(),
        );
        let witness_answers = Family::<WitnessAnswerLabels, Counter>::default();
        registry.register(
            "witness_answers",
            "Witness answers to this log's tree checkpoints, by result (cosigned, failed)",
            witness_answers.clone(),
        );
        Self {
            registry,
            fleet_tree_lag_seconds,
            witness_last_cosigned,
            witness_answers,
            roughtime_agreeing,
            roughtime_offset_seconds,
            roughtime_rounds,
            roughtime_malfeasance,
            requests_in_flight,
            requests,
            signing_seconds,
            signing_errors,
            audit_sync_seconds,
            audit_records,
            audit_healthy,
            clock_max_error_seconds,
            clock_ok,
            database_clock_offset_seconds,
            fleet_refused,
            keyring_refused,
            key_usage_seconds_left,
            ready,
            rate_limited,
        }
    }

    /// Counts one durable audit batch.
    pub fn observe_sync(&self, took: Duration, records: usize) {
        self.audit_sync_seconds.observe(took.as_secs_f64());
        self.audit_records.inc_by(records as u64);
    }

    /// Counts a witness's answer: a cosignature kept, or a failure (no answer, refused,
    /// unusable).
    pub fn observe_witness(&self, witness: &str, cosigned: bool) {
        let result = if cosigned { "cosigned" } else { "failed" };
        self.witness_answers
            .get_or_create(&WitnessAnswerLabels {
                witness: witness.to_string(),
                result,
            })
            .inc();
        if cosigned {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            self.witness_last_cosigned
                .get_or_create(&WitnessLabels {
                    witness: witness.to_string(),
                })
                .set(now);
        }
    }

    /// Counts a Roughtime round.
    pub fn observe_roughtime(&self, round: &kokuin_roughtime::round::Round, agree: bool) {
        self.roughtime_agreeing
            .set(i64::try_from(round.agreeing).unwrap_or(i64::MAX));
        for r in &round.replies {
            self.roughtime_offset_seconds
                .get_or_create(&RoughtimeLabels {
                    server: r.server.clone(),
                })
                .set(r.offset_us as f64 / 1e6);
        }
        let verdict = if agree { "agree" } else { "disagree" };
        self.roughtime_rounds
            .get_or_create(&VerdictLabels { verdict })
            .inc();
        if round.malfeasance.is_some() {
            self.roughtime_malfeasance.inc();
        }
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// The same in the Prometheus text format (version 0.0.4), which Prometheus scrapes by
    /// default and `promtool check metrics` reads.
    pub fn encode_prometheus(&self) -> String {
        crate::metrics_text::prometheus_text(&self.encode())
    }
}
