//! What an accept loop serves (`server.rs`): the service's routes (`State`), or the
//! verification page alone (`verify --ui`). One loop for both, so the page an auditor runs
//! offline has the server's connection limits, deadlines and HTTP versions.

use super::reply::Body;
use super::state::{Conn, State};
use crate::config::ServerConfig;
use crate::refusals::Refused;
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

/// A set of routes behind an accept loop.
pub trait Site: Send + Sync + 'static {
    /// The limits its connections are held to (connections, deadlines, PROXY senders).
    fn limits(&self) -> &ServerConfig;

    /// A connection refused before any request (a PROXY header, a TLS handshake).
    fn refused(&self, what: Refused, ip: IpAddr, event: &str, detail: &str);

    /// One request's answer.
    fn handle(
        self: Arc<Self>,
        conn: Arc<Conn>,
        req: Request<Incoming>,
    ) -> impl Future<Output = Response<Body>> + Send;
}

impl Site for State {
    fn limits(&self) -> &ServerConfig {
        &self.limits
    }

    fn refused(&self, what: Refused, ip: IpAddr, event: &str, detail: &str) {
        self.refusals.add(what, ip, event, detail);
    }

    fn handle(
        self: Arc<Self>,
        conn: Arc<Conn>,
        req: Request<Incoming>,
    ) -> impl Future<Output = Response<Body>> + Send {
        super::routes::handle(self, conn, req)
    }
}
