//! `kokuin verify --ui`: the verification page alone, on a loopback address, for an auditor
//! without network. The server's accept loop (`server.rs`) with the page's routes only
//! (`verify.rs`, the same as the server's `/verify`), the server's default limits and
//! deadlines, and the same graceful stop on Ctrl-C or SIGTERM.

use super::listen::Role;
use super::reply::{Body, text};
use super::server::{Signals, accept_loop};
use super::site::Site;
use super::state::Conn;
use super::verify::{RequestTag, Verifier, route};
use crate::config::ServerConfig;
use crate::error::HttpError;
use crate::refusals::Refused;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::server::graceful::GracefulShutdown;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The page's routes, numbered requests, the server's default limits.
struct Page {
    verifier: Arc<Verifier>,
    limits: ServerConfig,
    ids: AtomicU64,
}

impl Site for Page {
    fn limits(&self) -> &ServerConfig {
        &self.limits
    }

    /// Nothing to aggregate for the audit log (there is none here): said at debug.
    fn refused(&self, what: Refused, ip: IpAddr, event: &str, detail: &str) {
        tracing::debug!(%ip, ?what, event, detail, "connection refused");
    }

    async fn handle(self: Arc<Self>, conn: Arc<Conn>, req: Request<Incoming>) -> Response<Body> {
        let tag = RequestTag {
            id: self.ids.fetch_add(1, Ordering::Relaxed),
            peer: conn.peer,
        };
        route(&self.verifier, &self.limits, req, tag)
            .await
            .unwrap_or_else(|| text(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()))
    }
}

/// Serves the page on `addr` until Ctrl-C or SIGTERM; prints its URL on stdout first.
pub async fn serve_ui(addr: SocketAddr, verifier: Verifier) -> Result<(), HttpError> {
    let mut signals = Signals::install()?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(|source| HttpError::Setup {
        what: "the listener has no address",
        source,
    })?;
    announce!("verification page http://{local}/verify");
    let page = Arc::new(Page {
        verifier: Arc::new(verifier),
        limits: ServerConfig::default(),
        ids: AtomicU64::new(1),
    });
    let grace = Duration::from_millis(page.limits.shutdown_grace_ms);
    let graceful = Arc::new(GracefulShutdown::new());
    let (stop_tx, stop_rx) = watch::channel(false);
    let serving = tokio::spawn(accept_loop(
        listener,
        None,
        Role::PAGE,
        page,
        graceful.clone(),
        stop_rx,
    ));
    signals.shutdown().await;
    let _ = stop_tx.send(true);
    let _ = serving.await;
    if let Ok(graceful) = Arc::try_unwrap(graceful) {
        let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
    }
    Ok(())
}
