//! `GET /readyz` and `GET /metrics`: whether the service can vouch for a token now, and the
//! figures an operator alerts on.

use super::reply::{Body, text};
use super::state::State;
use crate::metrics::KeyLabels;
use hyper::{Response, StatusCode};
use std::time::SystemTime;

/// Each component that must vouch for a token, and why it cannot.
pub struct Readiness {
    pub clock: Result<(), String>,
    pub key: Result<(), String>,
    pub audit: Result<(), String>,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.clock.is_ok() && self.key.is_ok() && self.audit.is_ok()
    }
}

pub fn readiness(state: &State) -> Readiness {
    let authority = &state.service.authority;
    let clock = authority.clock().status().0.map_err(|e| e.to_string());
    let now = SystemTime::now();
    // Every policy the server advertises must be able to sign: a node that would answer the
    // ML-DSA policy with systemFailure is not ready, even if the classical one works.
    let problems: Vec<String> = authority
        .config()
        .policies
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match authority.policy_key(i) {
            None => Some(format!("no signing key is active for {}", p.oid)),
            Some(k) => {
                let (from, until) = k.usage_window();
                (now < from || now > until)
                    .then(|| format!("the signing key of {} is outside its usage period", p.oid))
            }
        })
        .collect();
    let key = if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    };
    let audit = match &state.service.audit {
        None => Ok(()),
        Some(log) if !log.healthy() => Err("the audit log cannot be written".to_string()),
        Some(_) => match state.fleet_lag.lagging() {
            Some((lag, bound)) => Err(format!(
                "this node's records have waited {} s for the fleet's tree (bound {} s)",
                lag.as_secs(),
                bound.as_secs()
            )),
            None => Ok(()),
        },
    };
    Readiness { clock, key, audit }
}

/// 200 only while clock, key and audit log can all vouch for a token; 503 otherwise, with
/// the reason of each.
pub fn readyz(state: &State) -> Response<Body> {
    let r = readiness(state);
    let line = |name: &str, v: &Result<(), String>| match v {
        Ok(()) => format!("{name}: ok\n"),
        Err(e) => format!("{name}: {e}\n"),
    };
    let audit = if state.service.audit.is_none() {
        "audit: off (dev mode)\n".to_string()
    } else {
        line("audit", &r.audit)
    };
    let body = format!(
        "{}{}{}",
        line("clock", &r.clock),
        line("key", &r.key),
        audit
    );
    let status = if r.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    text(status, "text/plain", body)
}

/// `accept`: the request's Accept header. The Prometheus text format unless it asks for
/// OpenMetrics (as Prometheus does when it can read it).
pub fn metrics(state: &State, accept: Option<&str>) -> Response<Body> {
    let m = &state.metrics;
    let authority = &state.service.authority;
    let (clock, reading) = authority.clock().status();
    m.clock_ok.set(i64::from(clock.is_ok()));
    if let Some(bound) = reading.and_then(|r| r.max_error) {
        m.clock_max_error_seconds.set(bound.as_secs_f64());
    }
    let keys = (0..authority.config().policies.len()).filter_map(|i| authority.policy_key(i));
    for k in keys {
        let (_, until) = k.usage_window();
        let left = match until.duration_since(SystemTime::now()) {
            Ok(d) => d.as_secs_f64(),
            Err(e) => -e.duration().as_secs_f64(),
        };
        m.key_usage_seconds_left
            .get_or_create(&KeyLabels {
                key: k.token_signer().signer().label().to_string(),
            })
            .set(left);
    }
    m.audit_healthy.set(match &state.service.audit {
        Some(log) => i64::from(log.healthy()),
        None => 0,
    });
    if let Some(offset) = &state.service.database_clock_offset {
        m.database_clock_offset_seconds
            .set(offset.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6);
    }
    m.fleet_tree_lag_seconds
        .set(state.fleet_lag.waited().as_secs_f64());
    m.ready.set(i64::from(readiness(state).ready()));
    if accept.is_some_and(|a| a.contains("application/openmetrics-text")) {
        text(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            m.encode(),
        )
    } else {
        text(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            m.encode_prometheus(),
        )
    }
}

/// `GET /audit/v1/checkpoint`: the newest signed tree checkpoint of the audit log (a C2SP
/// `tlog-checkpoint` signed note), for auditors and witnesses.
pub fn tree_checkpoint(state: &State) -> Response<Body> {
    let mut r = checkpoint_reply(state);
    // A note is text for programs: never sniffed into anything a browser would run.
    r.headers_mut().insert(
        hyper::header::HeaderName::from_static("x-content-type-options"),
        hyper::header::HeaderValue::from_static("nosniff"),
    );
    r
}

fn checkpoint_reply(state: &State) -> Response<Body> {
    // A fleet's node serves the fleet's tree, which its integrator keeps (only notes a node
    // signed or whose signature it verified: `fleet_tree.rs`).
    if state.service.fleet_signer.is_some() {
        let note = state.fleet_note.lock().ok().and_then(|n| n.clone());
        return match note {
            Some(n) => text(StatusCode::OK, "text/plain; charset=utf-8", n),
            None => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                "no fleet tree checkpoint yet: one follows the first record within a second\n"
                    .into(),
            ),
        };
    }
    match state
        .service
        .audit
        .as_ref()
        .map(|log| log.tree_checkpoint())
    {
        Some(Some(note)) => text(StatusCode::OK, "text/plain; charset=utf-8", note),
        Some(None) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "no tree checkpoint signed yet: one follows the first record within a second\n".into(),
        ),
        None => text(
            StatusCode::NOT_FOUND,
            "text/plain",
            "this service keeps no audit log\n".into(),
        ),
    }
}
