//! Dispatch: which handler answers which method and path, and the request's log span and
//! metrics.

use super::reply::{Body, method_not_allowed, text};
use super::state::{Conn, State};
use crate::metrics::RequestLabels;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use std::sync::Arc;
use tracing::Instrument;

pub async fn handle(state: Arc<State>, conn: Arc<Conn>, req: Request<Incoming>) -> Response<Body> {
    let id = state.next_request_id();
    let peer = conn.peer;
    // debug: at info, formatting the span's fields cost ~2% of a token's CPU; events that matter
    // carry request_id themselves.
    let span = tracing::debug_span!("request", request_id = id, peer = %peer);
    // A guard, not a decrement at the end: a client that goes away drops this future.
    let in_flight = InFlight::enter(&state.metrics.requests_in_flight);
    async move {
        let _in_flight = in_flight;
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        let get = matches!(method, Method::GET | Method::HEAD);
        let unknown = super::query::unknown(&path, req.uri().query());
        let (endpoint, resp, failure) = match path.as_str() {
            // The admin listener serves health and metrics, nothing else.
            p if conn.admin && !matches!(p, "/healthz" | "/readyz" | "/metrics") => {
                ("other", not_found(), None)
            }
            // hyper reads `gzip, chunked` as chunked and hands over still-compressed bytes;
            // a coding this server does not apply is refused, not misread (RFC 9112 §6.1).
            _ if !only_chunked(&req) => (
                "other",
                text(
                    StatusCode::NOT_IMPLEMENTED,
                    "text/plain",
                    "transfer codings other than chunked are not implemented\n".into(),
                ),
                None,
            ),
            // A parameter this server does not know would be silently ignored, and the caller
            // would get something other than what it asked for.
            _ if unknown.is_some() => (
                "other",
                text(
                    StatusCode::BAD_REQUEST,
                    "text/plain",
                    format!("{}\n", unknown.unwrap_or_default()),
                ),
                None,
            ),
            "/tsa" if method == Method::POST => {
                let (r, f) = super::tsa::tsa(&state, peer, id, req).await;
                ("/tsa", r, f)
            }
            "/tsa" => ("/tsa", method_not_allowed("POST"), None),
            "/eseal/v1/seal" if method == Method::POST => {
                let r = super::eseal::seal(&state, &conn, id, req).await;
                ("/eseal/v1/seal", r, None)
            }
            "/eseal/v1/extend" if method == Method::POST => {
                let r = super::eseal::extend(&state, &conn, id, req).await;
                ("/eseal/v1/extend", r, None)
            }
            "/eseal/v1/seal" | "/eseal/v1/extend" => ("other", method_not_allowed("POST"), None),
            "/eseal/v1/crls" if get => ("/eseal/v1/crls", super::eseal::crls(&state), None),
            p if p == "/verify" || p.starts_with("/verify/") => {
                ("/verify", verify_page(&state, peer, id, req).await, None)
            }
            "/tsa/certs" if get => (
                "/tsa/certs",
                super::policies::certs(&state, req.uri().query()),
                None,
            ),
            "/tsa/policies" if get => ("/tsa/policies", super::policies::policies(&state), None),
            "/audit/v1/checkpoint" if get => (
                "/audit/v1/checkpoint",
                super::ops::tree_checkpoint(&state),
                None,
            ),
            "/healthz" if get => {
                let r = text(StatusCode::OK, "text/plain", "ok\n".into());
                ("/healthz", r, None)
            }
            "/readyz" if get => ("/readyz", super::ops::readyz(&state), None),
            // With server.admin set, metrics are served there only.
            "/metrics" if get && (conn.admin || state.limits.admin.is_none()) => {
                let accept = req
                    .headers()
                    .get(hyper::header::ACCEPT)
                    .and_then(|v| v.to_str().ok());
                ("/metrics", super::ops::metrics(&state, accept), None)
            }
            "/metrics" if state.limits.admin.is_some() && !conn.admin => {
                ("other", not_found(), None)
            }
            "/tsa/certs"
            | "/eseal/v1/crls"
            | "/tsa/policies"
            | "/audit/v1/checkpoint"
            | "/healthz"
            | "/readyz"
            | "/metrics" => ("other", method_not_allowed("GET, HEAD"), None),
            _ => ("other", not_found(), None),
        };
        let status = resp.status().as_u16();
        // The e-seal API counts its own refusals (with their reasons); everything else
        // refused at the HTTP level is counted here.
        if status >= 400 && !endpoint.starts_with("/eseal/v1/") {
            state.refusals.add(
                crate::refusals::Refused::Http,
                peer.ip(),
                &format!("{status} {endpoint}"),
                &format!("{method} {}", path.chars().take(100).collect::<String>()),
            );
        }
        state
            .metrics
            .requests
            .get_or_create(&RequestLabels {
                endpoint,
                status,
                failure: failure.map_or("none", |f| f.name()),
            })
            .inc();
        tracing::debug!(%method, %path, status, "request");
        resp
    }
    .instrument(span)
    .await
}

struct InFlight(prometheus_client::metrics::gauge::Gauge);

impl InFlight {
    fn enter(g: &prometheus_client::metrics::gauge::Gauge) -> Self {
        g.inc();
        Self(g.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The verification page, when `[verify]` is configured; its POSTs share the e-seal API's
/// per-client rate, as a verification costs about what a seal does.
async fn verify_page(
    state: &State,
    peer: std::net::SocketAddr,
    id: u64,
    req: Request<Incoming>,
) -> Response<Body> {
    let Some(verifier) = &state.verifier else {
        return not_found();
    };
    if req.method() == Method::POST
        && let Some(limiter) = &state.seal_limiter
        && limiter.check_key(&peer.ip()).is_err()
    {
        return text(
            StatusCode::TOO_MANY_REQUESTS,
            "text/plain",
            "rate limit exceeded, retry later\n".into(),
        );
    }
    let tag = super::verify::RequestTag { id, peer };
    super::verify::route(verifier, &state.limits, req, tag)
        .await
        .unwrap_or_else(not_found)
}

fn not_found() -> Response<Body> {
    text(StatusCode::NOT_FOUND, "text/plain", "not found\n".into())
}

/// Whether every Transfer-Encoding coding is `chunked` (or there is none).
fn only_chunked(req: &Request<Incoming>) -> bool {
    req.headers()
        .get_all(hyper::header::TRANSFER_ENCODING)
        .iter()
        .all(|v| {
            v.to_str().is_ok_and(|v| {
                v.split(',')
                    .all(|c| c.trim().eq_ignore_ascii_case("chunked"))
            })
        })
}
