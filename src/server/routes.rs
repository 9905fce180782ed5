//! HTTP routes: `POST /tsa` (RFC 3161 §3.4 over HTTP), `GET /tsa/certs`, `GET /healthz`.
//!
//! Every TimeStampResp goes out with HTTP 200, refusals included: clients read the PKIStatus,
//! and a TSA answering anything else for a well-formed exchange has broken PDF signers.
//! Client mistakes at the HTTP layer get 4xx; 5xx only when the server itself cannot answer.

use super::State;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use kokuin_tsa::request::MAX_REQUEST_LEN;
use kokuin_tsa::{FailureInfo, Outcome, Rejection};
use std::sync::Arc;
use std::time::Duration;

pub const QUERY_TYPE: &str = "application/timestamp-query";
pub const REPLY_TYPE: &str = "application/timestamp-reply";

pub type Body = Full<Bytes>;

pub async fn handle(state: Arc<State>, req: Request<Incoming>) -> Response<Body> {
    let id = state.next_request_id();
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let resp = match (path.as_str(), &method) {
        ("/tsa", &Method::POST) => tsa(&state, req).await,
        ("/tsa", _) => method_not_allowed("POST"),
        ("/tsa/certs", &Method::GET | &Method::HEAD) => text(
            StatusCode::OK,
            "application/pem-certificate-chain",
            state.service.chain_pem.clone(),
        ),
        ("/tsa/certs", _) => method_not_allowed("GET, HEAD"),
        ("/healthz", &Method::GET | &Method::HEAD) => {
            text(StatusCode::OK, "text/plain", "ok\n".into())
        }
        ("/healthz", _) => method_not_allowed("GET, HEAD"),
        _ => text(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
    };
    tracing::debug!(request_id = id, %method, %path, status = resp.status().as_u16(), "request");
    resp
}

async fn tsa(state: &State, req: Request<Incoming>) -> Response<Body> {
    let ct_ok = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(QUERY_TYPE));
    if !ct_ok {
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "text/plain",
            format!("Content-Type must be {QUERY_TYPE}\n"),
        );
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_LEN as u64) {
        return too_large();
    }
    let body = Limited::new(req.into_body(), MAX_REQUEST_LEN);
    let timeout = Duration::from_millis(state.limits.body_timeout_ms);
    let bytes = match tokio::time::timeout(timeout, body.collect()).await {
        Err(_) => {
            return text(
                StatusCode::REQUEST_TIMEOUT,
                "text/plain",
                "request body too slow\n".into(),
            );
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
        Ok(Err(_)) => {
            return text(
                StatusCode::BAD_REQUEST,
                "text/plain",
                "cannot read request body\n".into(),
            );
        }
        Ok(Ok(c)) => c.to_bytes(),
    };
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
        return r;
    };
    let authority = state.service.authority.clone();
    // Signing is CPU- or HSM-bound: off the reactor.
    let joined = tokio::task::spawn_blocking(move || {
        let r = authority.respond(&bytes);
        drop(permit);
        r
    })
    .await;
    let (der, outcome) = match joined {
        Ok(r) => r,
        Err(e) => {
            let rej = Rejection::new(FailureInfo::SystemFailure, "internal error");
            tracing::error!(error = %e, "signing task failed");
            (rej.to_response_der(), Outcome::Rejected(rej))
        }
    };
    match &outcome {
        Outcome::Granted(i) => tracing::debug!(
            serial = %kokuin_tsa::verify::hex(i.serial.as_bytes()),
            policy = %i.policy,
            hash = %i.request.digest,
            "token issued"
        ),
        Outcome::Rejected(r) => {
            tracing::info!(failure = %r.info, reason = %r.text, "request refused")
        }
    }
    let mut resp = Response::new(Full::new(Bytes::from(der)));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(REPLY_TYPE));
    resp
}

fn too_large() -> Response<Body> {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        "text/plain",
        format!("request body exceeds {MAX_REQUEST_LEN} octets\n"),
    )
}

fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut r = text(
        StatusCode::METHOD_NOT_ALLOWED,
        "text/plain",
        "method not allowed\n".into(),
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    r
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}
