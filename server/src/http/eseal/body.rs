//! Request bodies of the e-seal API: hashed as they arrive (detached seals, any size), or
//! held whole (enveloped documents, seals to extend) within a budget across requests; either
//! way within a deadline that grows with what has arrived.

use super::refusal::Refusal;
use crate::eseal_service::SealService;
use crate::http::body_stream::BodyError;
use crate::http::state::State;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use kokuin_hsm::DigestAlgorithm;
use std::time::Duration;

/// Room left after a body held whole, for what a seal appends after an enveloped document
/// (certificates, the SignerInfo; validation data when raised to B-LT).
const TAILROOM: usize = 64 * 1024;

/// [`stream_body`], refused as the e-seal API words it.
async fn stream_body(
    body: Incoming,
    max: Option<u64>,
    limits: &crate::config::ServerConfig,
    sink: impl FnMut(&[u8]),
) -> Result<(), Refusal> {
    super::super::body_stream::stream_body(body, max, limits, sink)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => too_large(max.unwrap_or(u64::MAX)),
            e => Refusal::new(e.status(), e.to_string()),
        })
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
