//! What every e-seal request goes through besides its own work: admission (rate, credentials,
//! query), a signing slot, the trusted clock, and the reply — audited when a seal leaves,
//! counted when refused.

use super::auth::{authenticate, within_rate};
use super::refusal::Refusal;
use crate::eseal_service::SealService;
use crate::http::reply::{Body, text};
use crate::http::state::{Conn, State};
use crate::refusals::Refused;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use hyper::{Request, Response, StatusCode};
use kokuin_audit::Event;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

pub const SEAL_TYPE: &str = "application/pkcs7-signature";

/// What every e-seal call passes first, in this order: the per-address rate, credentials
/// (never over cleartext), a well-formed query.
pub(super) fn admit<'a>(
    state: &State,
    svc: &'a SealService,
    conn: &Conn,
    req: &Request<Incoming>,
) -> Result<(&'a crate::eseal_service::Client, HashMap<String, String>), Refusal> {
    within_rate(state, conn)?;
    let client = authenticate(svc, conn, req)?;
    Ok((client, query(req)?))
}

/// The query's parameters (`http::query`); a name given twice is a 400.
pub(super) fn query(req: &Request<Incoming>) -> Result<HashMap<String, String>, Refusal> {
    crate::http::query::parameters(req.uri().query())
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e))
}

pub(super) fn not_found() -> Response<Body> {
    text(
        StatusCode::NOT_FOUND,
        "text/plain",
        "the e-seal API is not configured\n".into(),
    )
}

/// A slot among `server.max_concurrency`, shared with `/tsa`: seals sign too.
pub(super) async fn permit(state: &State) -> Result<tokio::sync::OwnedSemaphorePermit, Refusal> {
    let queue = Duration::from_millis(state.limits.queue_timeout_ms);
    match tokio::time::timeout(queue, state.signing.clone().acquire_owned()).await {
        Ok(Ok(p)) => Ok(p),
        _ => Err(Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "busy, retry")),
    }
}

/// The trusted clock's time, or 503: every seal carries a signing-time, so none is made
/// while the clock cannot vouch (as `/tsa` answers timeNotAvailable).
pub(super) fn trusted_now(svc: &SealService) -> Result<SystemTime, Refusal> {
    svc.authority.clock().now().map_err(|e| {
        Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the clock cannot vouch for the time, so no seal is made: {e}"),
        )
    })
}

pub(super) async fn issue(
    state: &State,
    conn: &Conn,
    id: u64,
    client: &str,
    ev: Event,
    seal: Bytes,
    content_type: &'static str,
) -> Response<Body> {
    if let Some(log) = &state.service.audit
        && let Err(e) = crate::audit::record(log, ev).await
    {
        tracing::error!(request_id = id, client, peer = %conn.peer, error = %e, "audit log cannot record a seal; refusing");
        let mut r = text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "the audit log cannot record the seal, so it does not leave\n".into(),
        );
        r.headers_mut()
            .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    }
    let mut r = Response::new(Full::new(seal));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// Answers a refusal and counts it for the audit log (aggregated: see `refusals`), keyed by
/// status and operation; the caller's description and the message are its example.
pub(super) fn refuse(
    state: &State,
    id: u64,
    op: &str,
    conn: &Conn,
    client: &str,
    r: Refusal,
) -> Response<Body> {
    // A failure on this side is the operator's to see at once, with whom it happened to;
    // the caller's mistakes are counted, and logged once per interval (refusals.rs).
    if let Some(detail) = &r.detail {
        tracing::error!(request_id = id, client, peer = %conn.peer, status = r.status.as_u16(), detail = %detail, "e-seal request failed on this side");
    } else {
        tracing::debug!(request_id = id, client, status = r.status.as_u16(), reason = ?r.message, "e-seal request refused");
    }
    let what = if r.status == StatusCode::UNAUTHORIZED {
        Refused::Authentication
    } else {
        Refused::Seal
    };
    state.refusals.add(
        what,
        conn.peer.ip(),
        &format!("{} {op}", r.status.as_u16()),
        &format!("{} (client {client}, request {id})", r.message),
    );
    let mut resp = text(r.status, "text/plain", format!("{}\n", r.message));
    if r.status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"kokuin-eseal\""),
        );
    }
    // Over a rate, or the service unable to vouch for now (clock, key, log, a full queue):
    // when to ask again.
    if r.status == StatusCode::TOO_MANY_REQUESTS || r.status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut()
            .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    // Most refusals come before the body is read, and hyper then closes the connection: say
    // so, or a keep-alive client sends its next request into a closing socket (HTTP/1.1;
    // hyper leaves the header out of HTTP/2 replies).
    resp.headers_mut()
        .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
    resp
}
