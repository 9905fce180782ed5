//! A request body read within bounds: at most so many octets, and within a deadline that
//! grows with what has arrived. The e-seal API and the verification page read theirs here.

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::StatusCode;
use hyper::body::Incoming;
use std::time::Duration;

/// Why a body was not read whole.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Over the limit.
    #[error("request body too large")]
    TooLarge,
    /// Not all there within its deadline.
    #[error("request body too slow")]
    TooSlow,
    /// The connection failed mid-body.
    #[error("cannot read request body")]
    Unreadable,
}

impl BodyError {
    /// 413, 408 or 400.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooSlow => StatusCode::REQUEST_TIMEOUT,
            Self::Unreadable => StatusCode::BAD_REQUEST,
        }
    }
}

/// Feeds the body's data to `sink` as it arrives, refusing a body over `max` octets
/// (`http_body_util::Limited` counts them). The whole body must arrive within
/// `server.body_timeout_ms`, plus a second per `server.body_min_bytes_per_second` bytes
/// received: a large document at a fair rate gets the time it needs, a trickle is cut off
/// (408) however patiently it keeps each frame coming.
pub async fn stream_body(
    body: Incoming,
    max: Option<u64>,
    limits: &crate::config::ServerConfig,
    mut sink: impl FnMut(&[u8]),
) -> Result<(), BodyError> {
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
                return Err(BodyError::TooSlow);
            }
            Ok(None) => return Ok(()),
            Ok(Some(Err(e))) if e.is::<LengthLimitError>() => {
                return Err(BodyError::TooLarge);
            }
            Ok(Some(Err(_))) => {
                return Err(BodyError::Unreadable);
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
