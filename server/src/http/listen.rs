//! The listeners, bound before anything else happens: a start that cannot listen (a port
//! taken, say by another `serve`) ends before the audit log is opened or written.

use crate::config::ServerConfig;
use crate::error::HttpError;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Every configured listener bound, the admin one last; called before the service is built.
pub async fn bind(limits: &ServerConfig) -> Result<Listeners, HttpError> {
    let mut bound = Vec::new();
    for addr in &limits.http {
        let role = Role {
            confidential: limits.http_behind_tls_proxy.contains(addr),
            admin: false,
        };
        bound.push((bind_one(*addr).await?, false, role));
    }
    for addr in &limits.https {
        let role = Role {
            confidential: true,
            admin: false,
        };
        bound.push((bind_one(*addr).await?, true, role));
    }
    if let Some(addr) = limits.admin {
        let role = Role {
            confidential: false,
            admin: true,
        };
        bound.push((bind_one(addr).await?, false, role));
    }
    if bound.is_empty() {
        return Err(HttpError::NoListener);
    }
    Ok(Listeners(bound))
}

/// Listeners bound by [`bind`]: each with whether it serves TLS and what its connections may
/// do.
pub struct Listeners(Vec<(TcpListener, bool, Role)>);

impl Listeners {
    /// Each listener, whether it serves TLS, and its role.
    pub(super) fn into_inner(self) -> Vec<(TcpListener, bool, Role)> {
        self.0
    }
}

async fn bind_one(addr: SocketAddr) -> Result<TcpListener, HttpError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })
}

/// What a listener's connections may do.
#[derive(Clone, Copy)]
pub(super) struct Role {
    pub(super) confidential: bool,
    pub(super) admin: bool,
}

impl Role {
    /// A listener for the verification page alone (`verify --ui`): loopback, no credentials.
    pub(super) const PAGE: Self = Self {
        confidential: false,
        admin: false,
    };
}
