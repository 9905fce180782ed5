//! `POST /tsa`: RFC 3161 §3.4 over HTTP.
//!
//! Every TimeStampResp goes out with HTTP 200, refusals included: clients read the PKIStatus,
//! and a TSA answering anything else for a well-formed exchange has broken PDF signers.
//! Client mistakes at the HTTP layer get 4xx (415, 413, 408, 429); 503 when the server is
//! saturated.

use super::reply::{Body, text};
use super::state::State;
use crate::issuance::Caller;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Request, Response, StatusCode};

use kokuin_tsa::FailureInfo;
use kokuin_tsa::request::MAX_REQUEST_LEN;
use kokuin_tsa::transport::{QUERY_TYPE, REPLY_TYPE};
use std::net::SocketAddr;
use std::time::Duration;

/// `POST /tsa`; also returns the PKIFailureInfo of a refusal, for metrics.
pub async fn tsa(
    state: &State,
    peer: SocketAddr,
    id: u64,
    req: Request<Incoming>,
) -> (Response<Body>, Option<FailureInfo>) {
    if let Some(limiter) = &state.limiter
        && limiter.check_key(&peer.ip()).is_err()
    {
        state.metrics.rate_limited.inc();
        let mut r = text(
            StatusCode::TOO_MANY_REQUESTS,
            "text/plain",
            "request rate over this client's limit\n".into(),
        );
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        return (r, None);
    }
    let ct_ok = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(QUERY_TYPE));
    if !ct_ok {
        let r = text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "text/plain",
            format!("Content-Type must be {QUERY_TYPE}\n"),
        );
        return (r, None);
    }
    // The slot before the body: what is buffered is bounded by server.max_concurrency.
    let queue = Duration::from_millis(state.limits.queue_timeout_ms);
    let Ok(Ok(permit)) = tokio::time::timeout(queue, state.signing.clone().acquire_owned()).await
    else {
        let mut r = text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "busy, retry\n".into(),
        );
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        return (r, None);
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let timeout = Duration::from_millis(state.limits.body_timeout_ms);
    let bytes = match read_body(req.into_body(), declared, timeout).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return (too_large(), None),
        Err(BodyError::Timeout) => {
            let r = text(
                StatusCode::REQUEST_TIMEOUT,
                "text/plain",
                "request body too slow\n".into(),
            );
            return (r, None);
        }
        Err(BodyError::Broken) => {
            let r = text(
                StatusCode::BAD_REQUEST,
                "text/plain",
                "cannot read request body\n".into(),
            );
            return (r, None);
        }
    };
    let (der, failure) = issue(state, peer, id, &bytes).await;
    drop(permit);
    let mut resp = Response::new(Full::new(Bytes::from(der)));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(REPLY_TYPE));
    (resp, failure)
}

/// One request to one TimeStampResp: refusals counted here, tokens issued by
/// [`crate::issuance`].
async fn issue(
    state: &State,
    peer: SocketAddr,
    id: u64,
    request: &[u8],
) -> (Vec<u8>, Option<FailureInfo>) {
    let prepared = match state.service.authority.prepare(request) {
        Ok(p) => p,
        Err(r) => {
            // Counted, and logged once per interval with the others (refusals.rs).
            tracing::debug!(request_id = id, client = %peer.ip(), failure = %r.info, reason = ?r.text, "request refused");
            state.refusals.add(
                crate::refusals::Refused::TimeStampRequest,
                peer.ip(),
                r.info.name(),
                &r.text,
            );
            return (r.to_response_der(), Some(r.info));
        }
    };
    let client = peer.ip().to_string();
    let caller = Caller {
        client: &client,
        request_id: Some(id),
    };
    match state.service.issuance.issue(prepared, caller).await {
        Ok(der) => (der, None),
        Err(r) => (r.to_response_der(), Some(r.info)),
    }
}

enum BodyError {
    TooLarge,
    Timeout,
    Broken,
}

/// Past this, an oversized body is no longer drained: the connection is just closed.
const DRAIN_LIMIT: usize = 4 * 1024 * 1024;

/// Reads at most MAX_REQUEST_LEN octets. An oversized body is read on and discarded (up to
/// DRAIN_LIMIT, within the timeout) before the 413 goes out: closing a socket with unread
/// data makes the kernel reset it, and the client would see a broken pipe, not the 413.
async fn read_body(
    mut body: Incoming,
    declared: Option<u64>,
    timeout: Duration,
) -> Result<Bytes, BodyError> {
    let too_big = declared.is_some_and(|n| n > MAX_REQUEST_LEN as u64);
    let read = async {
        let mut buf = Vec::new();
        let mut total = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| BodyError::Broken)?;
            if let Ok(data) = frame.into_data() {
                total += data.len();
                if total > DRAIN_LIMIT {
                    return Err(BodyError::TooLarge);
                }
                if !too_big && total <= MAX_REQUEST_LEN {
                    buf.extend_from_slice(&data);
                }
            }
        }
        if too_big || total > MAX_REQUEST_LEN {
            return Err(BodyError::TooLarge);
        }
        Ok(Bytes::from(buf))
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(r) => r,
        Err(_) if too_big => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Timeout),
    }
}

fn too_large() -> Response<Body> {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        "text/plain",
        format!("request body exceeds {MAX_REQUEST_LEN} octets\n"),
    )
}
