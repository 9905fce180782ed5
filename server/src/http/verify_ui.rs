//! `kokuin verify --ui`: the verification page alone, on a loopback address, for an auditor
//! without network. The same routes and handlers as the server's `/verify`; HTTP/1.1 only,
//! with the server's default deadlines and body limits, at most 64 connections.

use super::deadline::{Activity, DeadlineStream};
use super::verify::{RequestTag, Verifier, route};
use crate::config::ServerConfig;
use crate::error::HttpError;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Serves the page on `addr` until Ctrl-C or SIGTERM; prints its URL on stdout first.
pub async fn serve_ui(addr: SocketAddr, verifier: Verifier) -> Result<(), HttpError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(|source| HttpError::Setup {
        what: "the listener has no address",
        source,
    })?;
    announce!("verification page http://{local}/verify");
    let verifier = Arc::new(verifier);
    let limits = Arc::new(ServerConfig::default());
    let connections = Arc::new(Semaphore::new(64));
    let ids = Arc::new(AtomicU64::new(1));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|source| HttpError::Setup {
            what: "cannot install the SIGTERM handler",
            source,
        })?;
    loop {
        let permit = match connections.clone().acquire_owned().await {
            Ok(p) => p,
            Err(_) => return Ok(()),
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = term.recv() => return Ok(()),
        };
        let head = Duration::from_millis(limits.header_timeout_ms);
        let activity = Activity::new(head, Duration::from_millis(limits.idle_timeout_ms));
        let stream = DeadlineStream::new(stream, activity.clone());
        let (verifier, limits, ids) = (verifier.clone(), limits.clone(), ids.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let (v, l, ids) = (verifier.clone(), limits.clone(), ids.clone());
                let in_flight = activity.request();
                async move {
                    let tag = RequestTag {
                        id: ids.fetch_add(1, Ordering::Relaxed),
                        peer,
                    };
                    let r = route(&v, &l, req, tag).await.unwrap_or_else(|| {
                        let mut r = Response::new(http_body_util::Full::new(
                            bytes::Bytes::from_static(b"not found\n"),
                        ));
                        *r.status_mut() = StatusCode::NOT_FOUND;
                        r
                    });
                    drop(in_flight);
                    Ok::<_, std::convert::Infallible>(r)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(head)
                .serve_connection(TokioIo::new(stream), svc)
                .await;
            drop(permit);
        });
    }
}
