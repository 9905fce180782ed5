//! Request bodies of the e-seal API: hashed as they arrive (detached seals, any size), or
//! held whole (enveloped documents, seals to extend) within a budget across requests; either
//! way within a deadline that grows with what has arrived.

use super::refusal::Refusal;
use crate::eseal_service::SealService;
use crate::http::state::State;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use kokuin_hsm::DigestAlgorithm;
use std::time::Duration;

/// Room left after a body held whole, for what a seal appends after an enveloped document
/// (certificates, the SignerInfo; validation data when raised to B-LT).
const TAILROOM: usize = 64 * 1024;

/// Feeds the body's data to `sink` as it arrives, refusing a body over `max` octets
/// (`http_body_util::Limited` counts them). The whole body must arrive within
/// `server.body_timeout_ms`, plus a second per `server.body_min_bytes_per_second` bytes
/// received: a large document at a fair rate gets the time it needs, a trickle is cut off
/// (408) however patiently it keeps each frame coming.
async fn stream_body(
    body: Incoming,
    max: Option<u64>,
    limits: &crate::config::ServerConfig,
    mut sink: impl FnMut(&[u8]),
) -> Result<(), Refusal> {
    let limit = max.map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
    let mut body = Limited::new(body, limit);
    let start = tokio::time::Instant::now();
    let base = Duration::from_millis(limits.body_timeout_ms);
    let rate = limits.body_min_bytes_per_second.max(1);
    let mut received = 0u64;
    loop {
        let deadline = start + base + Duration::from_secs(received / rate);
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => {
                return Err(Refusal::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request body too slow",
                ));
            }
            Ok(None) => return Ok(()),
            Ok(Some(Err(e))) if e.is::<LengthLimitError>() => {
                return Err(too_large(max.unwrap_or(u64::MAX)));
            }
            Ok(Some(Err(_))) => {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "cannot read request body",
                ));
            }
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    received += data.len() as u64;
                    sink(&data);
                }
            }
        }
    }
}

/// Hashes the body as it arrives: constant memory whatever the document's size.
pub async fn hash_body(
    body: Incoming,
    alg: DigestAlgorithm,
    limits: &crate::config::ServerConfig,
) -> Result<Vec<u8>, Refusal> {
    let mut h = alg.hasher();
    stream_body(body, None, limits, |d| h.update(d)).await?;
    Ok(h.finalize())
}

/// Reads a body of at most `max` octets that is held whole (an enveloped document, a seal to
/// extend), within `eseal.max_enveloping_in_flight_mb` across all requests: it waits up to
/// `server.queue_timeout_ms` for room for its Content-Length (for `max` without one), then
/// 503. The buffer is allocated once at the announced size, not doubled as it grows.
pub async fn read_held_body(
    state: &State,
    svc: &SealService,
    req: Request<Incoming>,
    max: u64,
    headroom: usize,
) -> Result<(Vec<u8>, tokio::sync::OwnedSemaphorePermit), Refusal> {
    let declared = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large(max));
    }
    let mib = declared.unwrap_or(max).div_ceil(1 << 20).max(1);
    let want = u32::try_from(mib).unwrap_or(u32::MAX).min(svc.in_memory_mb);
    let queue = Duration::from_millis(state.limits.queue_timeout_ms);
    let room =
        match tokio::time::timeout(queue, svc.in_memory.clone().acquire_many_owned(want)).await {
            Ok(Ok(p)) => p,
            _ => {
                return Err(Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy with other large documents, retry",
                ));
            }
        };
    let body = read_body(req.into_body(), max, declared, headroom, &state.limits).await?;
    Ok((body, room))
}

pub fn too_large(max: u64) -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("over {max} octets: seal large documents detached"),
    )
}

/// Reads a body of at most `max` octets after `headroom` zero octets, into a buffer of the
/// `declared` size (and a little more, for what a seal appends after the document).
async fn read_body(
    body: Incoming,
    max: u64,
    declared: Option<u64>,
    headroom: usize,
    limits: &crate::config::ServerConfig,
) -> Result<Vec<u8>, Refusal> {
    let expected = declared.map_or(0, |n| n.min(max)) as usize;
    let mut buf = Vec::with_capacity(headroom + expected + TAILROOM);
    buf.resize(headroom, 0);
    stream_body(body, Some(max), limits, |d| buf.extend_from_slice(d)).await?;
    Ok(buf)
}
