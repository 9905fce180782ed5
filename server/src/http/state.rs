//! What every request handler shares: the service, the limits, the metrics, and one
//! connection's peer.

use crate::config::ServerConfig;
use crate::refusals;
use crate::service::Service;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Semaphore;

/// One connection's peer: its address and, over TLS, the client certificate it presented
/// (its key proved in the handshake; who it identifies is the e-seal API's decision).
pub struct Conn {
    pub peer: SocketAddr,
    pub client_certificate: Option<Vec<u8>>,
    /// Whether what the client sends is protected in transit: over TLS here, or on a plain
    /// listener the operator declared behind a TLS-terminating proxy
    /// (`server.http_behind_tls_proxy`). Credentials are taken only then.
    pub confidential: bool,
    /// Accepted on `server.admin`: metrics and health only.
    pub admin: bool,
}

/// Per-client request rate limit, keyed by client address.
pub type Limiter = governor::DefaultKeyedRateLimiter<std::net::IpAddr>;

pub struct State {
    pub service: Arc<Service>,
    pub limits: ServerConfig,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub limiter: Option<Arc<Limiter>>,
    /// The e-seal API's, apart: its calls cost far more than a token.
    pub seal_limiter: Option<Arc<Limiter>>,
    /// Requests being answered at once (`server.max_concurrency`).
    pub signing: Arc<Semaphore>,
    /// In a fleet: the newest signed checkpoint of the fleet's tree, kept by the integrator.
    pub fleet_note: Arc<std::sync::Mutex<Option<String>>>,
    /// In a fleet: how long this node's records have waited for the fleet's tree.
    pub fleet_lag: Arc<crate::fleet_tree::TreeLag>,
    /// The verification page, when `[verify]` is configured.
    pub verifier: Option<Arc<super::verify::Verifier>>,
    /// Refusals counted until their next aggregated audit record.
    pub refusals: Arc<refusals::Refusals>,
    pub(super) request_ids: AtomicU64,
}

impl State {
    pub(super) fn next_request_id(&self) -> u64 {
        self.request_ids.fetch_add(1, Ordering::Relaxed)
    }
}
