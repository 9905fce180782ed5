//! The HTTP(S) server itself: listeners bound and served until SIGTERM or Ctrl-C, the accept
//! loop (connection limits, PROXY protocol, TLS, deadlines) and the graceful shutdown that
//! lets in-flight requests finish. What each route does is in its own file.

use super::listen::bind;
use super::listen::{Listeners, Role};
use super::site::Site;
use super::state::{Conn, Limiter, State};
use super::{deadline, proxy_protocol, tls, verify};
use crate::config::Config;
use crate::error::HttpError;
use crate::service::Service;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// Binds every listener, prints where it listens, and serves until SIGTERM or Ctrl-C.
pub async fn run(
    cfg: Config,
    service: Service,
    metrics: Arc<crate::metrics::Metrics>,
) -> Result<(), HttpError> {
    run_with(cfg, service, metrics, None).await
}

/// A server run in-process (tests, embedding): it stops when `stop` turns true, reports its
/// listeners' addresses on `listening`, and installs no signal handler.
pub struct InProcess {
    /// Set to true to stop gracefully.
    pub stop: watch::Receiver<bool>,
    /// Receives `(scheme, address)` of every listener once bound.
    pub listening: tokio::sync::oneshot::Sender<Vec<(&'static str, SocketAddr)>>,
}

/// [`run`], or with `in_process` stopped and observed by the caller instead of by signals.
pub async fn run_with(
    cfg: Config,
    service: Service,
    metrics: Arc<crate::metrics::Metrics>,
    in_process: Option<InProcess>,
) -> Result<(), HttpError> {
    match bind(&cfg.server).await {
        Ok(listeners) => run_bound(cfg, listeners, service, metrics, in_process).await,
        Err(e) => {
            close_unstarted(&service);
            Err(e)
        }
    }
}

/// A service that will not serve: its log closed with nothing recorded for this start.
fn close_unstarted(service: &Service) {
    if let Some(log) = &service.audit
        && let Err(c) = log.close(None)
    {
        tracing::error!(error = %c, "audit log: closing after a failed start");
    }
}

/// Serves on listeners bound by [`bind`]: the service's start recorded first.
pub async fn run_bound(
    cfg: Config,
    listeners: Listeners,
    mut service: Service,
    metrics: Arc<crate::metrics::Metrics>,
    in_process: Option<InProcess>,
) -> Result<(), HttpError> {
    let limits = cfg.server.clone();
    let (stopper, mut listening) = match in_process {
        Some(p) => (Some(p.stop), Some(p.listening)),
        None => (None, None),
    };
    let started = async {
        // Installed before the first "listening" line: a signal sent as soon as the server is
        // seen up must reach these handlers, not the default action, which kills the process.
        let signals = match stopper {
            Some(stop) => Stop::Told(stop),
            None => Stop::Signals(Signals::install()?),
        };
        let client_hints = service.eseal.as_ref().map(|e| {
            e.client_cas
                .iter()
                .filter_map(|c| der::Encode::to_der(c.tbs_certificate().subject()).ok())
                .map(rustls::DistinguishedName::from)
                .collect()
        });
        let tls = match (&limits.tls_certificate, &limits.tls_key) {
            (Some(c), Some(k)) if !limits.https.is_empty() => {
                Some(tokio_rustls::TlsAcceptor::from(tls::server_config(
                    &cfg.resolve(c),
                    &cfg.resolve(k),
                    client_hints,
                )?))
            }
            _ => None,
        };
        let bound: Bound = listeners
            .into_inner()
            .into_iter()
            .map(|(l, is_tls, role)| (l, if is_tls { tls.clone() } else { None }, role))
            .collect();
        // The first records of this start, now that it will serve.
        if let Some(log) = &service.audit {
            for ev in std::mem::take(&mut service.start_records) {
                log.append_blocking(ev)?;
            }
        }
        Ok::<_, HttpError>((signals, bound))
    };
    let (mut signals, bound) = match started.await {
        Ok(b) => b,
        Err(e) => {
            close_unstarted(&service);
            return Err(e);
        }
    };
    let limiter = per_address_limiter(limits.rate_limit_per_second, limits.rate_limit_burst, 1);
    let seal_limiter = per_address_limiter(
        limits.seal_rate_limit_per_second,
        limits.seal_rate_limit_burst,
        2,
    );
    let state = Arc::new(State {
        metrics,
        limiter,
        seal_limiter,
        signing: Arc::new(Semaphore::new(limits.max_concurrency)),
        refusals: Arc::default(),
        verifier: verifier(&cfg)?,
        fleet_note: Arc::default(),
        fleet_lag: Arc::new(crate::fleet_tree::TreeLag::new(Duration::from_secs(
            cfg.audit.tree_lag_bound_s.max(1),
        ))),
        limits: limits.clone(),
        service: Arc::new(service),
        request_ids: AtomicU64::new(0),
    });
    let graceful = Arc::new(GracefulShutdown::new());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    for l in state.limiter.iter().chain(&state.seal_limiter) {
        tasks.push(tokio::spawn(forget_idle_clients(
            l.clone(),
            stop_rx.clone(),
        )));
    }
    let mut addresses = Vec::new();
    for (listener, tls, role) in bound {
        let local = listener.local_addr().map_err(|source| HttpError::Setup {
            what: "a bound listener has no address",
            source,
        })?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        addresses.push((if role.admin { "admin" } else { scheme }, local));
        // One line per listener on stdout, for people and for scripts that use port 0.
        if role.admin {
            announce!("admin http://{local}/metrics");
        } else {
            announce!("listening {scheme}://{local}/tsa");
        }
        tasks.push(tokio::spawn(accept_loop(
            listener,
            tls,
            role,
            state.clone(),
            graceful.clone(),
            stop_rx.clone(),
        )));
    }
    // Every URL a person may want, after the lines scripts read (`listening …`).
    for (kind, local) in &addresses {
        if *kind == "https" && state.service.eseal.is_some() {
            announce!("e-seal API https://{local}/eseal/v1/seal");
        }
        if *kind != "admin" && state.verifier.is_some() {
            announce!("verification page {kind}://{local}/verify");
        }
    }
    if let Some(tx) = listening.take() {
        let _ = tx.send(addresses);
    }
    let shared = crate::node::Shared {
        metrics: state.metrics.clone(),
        refusals: state.refusals.clone(),
        fleet_note: state.fleet_note.clone(),
        fleet_lag: state.fleet_lag.clone(),
    };
    let node = crate::node::Node::start(&cfg, state.service.clone(), &shared, signals.hangup())?;
    signals.shutdown().await;
    tracing::info!("shutting down: no new connections, finishing requests in flight");
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    let grace = Duration::from_millis(limits.shutdown_grace_ms);
    // The accept loops, the only other holders, have ended.
    if let Ok(graceful) = Arc::try_unwrap(graceful)
        && tokio::time::timeout(grace, graceful.shutdown())
            .await
            .is_err()
    {
        tracing::warn!("grace period over; closing remaining connections");
    }
    // After the last request: its refusals and the keyring's changes are still recorded.
    node.stop().await;
    if let Some(log) = &state.service.audit {
        let st = log.stats();
        let (records, syncs, us) = (
            st.records.load(Ordering::Relaxed),
            st.syncs.load(Ordering::Relaxed),
            st.sync_micros_total.load(Ordering::Relaxed),
        );
        tracing::info!(
            records,
            syncs,
            mean_batch = records as f64 / syncs.max(1) as f64,
            mean_write_sync_us = us as f64 / syncs.max(1) as f64,
            "audit log"
        );
        state.refusals.flush(Some(log));
        let stop = kokuin_audit::Event::new(kokuin_audit::kind::SERVICE_STOP);
        if let Err(e) = log.close(Some(stop)) {
            tracing::error!(error = %e, "audit log: final checkpoint failed");
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// Forgets idle clients every minute, so a rate limiter's table stays as small as the set of
/// active ones.
async fn forget_idle_clients(limiter: Arc<Limiter>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = stop.changed() => return,
        }
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
}

/// The verification page's anchors, read once at start: a page that cannot read them does
/// not start, rather than judge against fewer.
fn verifier(cfg: &Config) -> Result<Option<Arc<verify::Verifier>>, HttpError> {
    let Some(v) = &cfg.verify else {
        return Ok(None);
    };
    let mut anchors = Vec::new();
    for p in &v.trust {
        anchors.extend(
            kokuin_certs::pem::load_certificates(&cfg.resolve(p))
                .map_err(|e| HttpError::Config(format!("verify.trust: {e}")))?,
        );
    }
    let verifier = verify::Verifier::new(anchors, v.max_evidence_kb.saturating_mul(1024)).map_err(
        |source| HttpError::Setup {
            what: "cannot start the verification threads",
            source,
        },
    )?;
    Ok(Some(Arc::new(verifier)))
}

/// A per-address token bucket of `per_second` (0: none), bursting to `burst`, or to
/// `default_burst` seconds' worth.
fn per_address_limiter(
    per_second: u32,
    burst: Option<std::num::NonZeroU32>,
    default_burst: u32,
) -> Option<Arc<Limiter>> {
    let rate = std::num::NonZeroU32::new(per_second)?;
    let burst = burst
        .or_else(|| std::num::NonZeroU32::new(per_second.saturating_mul(default_burst)))
        .unwrap_or(rate);
    Some(Arc::new(Limiter::keyed(
        governor::Quota::per_second(rate).allow_burst(burst),
    )))
}

/// Bound listeners, each with its TLS acceptor and what its connections may do.
type Bound = Vec<(TcpListener, Option<tokio_rustls::TlsAcceptor>, Role)>;

/// Accepts connections on `listener` until `stop`, each served for `site`: at most
/// `max_connections` at once, a PROXY header read first from listed proxies, TLS, deadlines.
pub(super) async fn accept_loop<S: Site>(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    role: Role,
    site: Arc<S>,
    graceful: Arc<GracefulShutdown>,
    mut stop: watch::Receiver<bool>,
) {
    let connections = Arc::new(Semaphore::new(site.limits().max_connections));
    loop {
        let permit = tokio::select! {
            p = connections.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            _ = stop.changed() => return,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let site = site.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            serve_connection(stream, peer, tls, role, site, watcher).await;
            drop(permit);
        });
    }
}

async fn serve_connection<S: Site>(
    mut stream: TcpStream,
    peer: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
    role: Role,
    site: Arc<S>,
    watcher: Watcher,
) {
    let limits = site.limits();
    let head_timeout = Duration::from_millis(limits.header_timeout_ms);
    // Behind a listed proxy, the client is who its PROXY v2 header says: read before TLS,
    // within the header deadline, or the connection is dropped.
    let peer = if limits.proxy_protocol_from.contains(&peer.ip()) {
        let read = proxy_protocol::read_header(&mut stream, peer);
        match tokio::time::timeout(head_timeout, read).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "PROXY header refused");
                site.refused(
                    crate::refusals::Refused::Http,
                    peer.ip(),
                    "PROXY header",
                    &e.to_string(),
                );
                return;
            }
            Err(_) => {
                site.refused(
                    crate::refusals::Refused::Http,
                    peer.ip(),
                    "PROXY header",
                    "no PROXY header within the header deadline",
                );
                return;
            }
        }
    } else {
        peer
    };
    let activity =
        deadline::Activity::new(head_timeout, Duration::from_millis(limits.idle_timeout_ms));
    let stream = deadline::DeadlineStream::new(stream, activity.clone());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(head_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256u32)
        .keep_alive_interval(Duration::from_secs(30));
    let service = |conn: Conn| {
        let conn = Arc::new(conn);
        let site = site.clone();
        let activity = activity.clone();
        service_fn(move |req| {
            let (s, c) = (site.clone(), conn.clone());
            let in_flight = activity.request();
            async move {
                let r = S::handle(s, c, req).await;
                drop(in_flight);
                Ok::<_, std::convert::Infallible>(r)
            }
        })
    };
    let result = match tls {
        None => {
            let svc = service(Conn {
                peer,
                client_certificate: None,
                confidential: role.confidential,
                admin: role.admin,
            });
            let conn = builder.serve_connection(TokioIo::new(stream), svc);
            watcher.watch(conn.into_owned()).await
        }
        Some(acceptor) => {
            let tls_stream = match tokio::time::timeout(head_timeout, acceptor.accept(stream)).await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    let detail = e.to_string();
                    site.refused(
                        crate::refusals::Refused::Tls,
                        peer.ip(),
                        "handshake failed",
                        &detail,
                    );
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    site.refused(
                        crate::refusals::Refused::Tls,
                        peer.ip(),
                        "handshake timed out",
                        "",
                    );
                    return;
                }
            };
            let client_certificate = tls_stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.to_vec());
            let svc = service(Conn {
                peer,
                client_certificate,
                confidential: true,
                admin: false,
            });
            let conn = builder.serve_connection(TokioIo::new(tls_stream), svc);
            watcher.watch(conn.into_owned()).await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// What ends the server: signals, or the in-process owner.
enum Stop {
    Signals(Signals),
    Told(watch::Receiver<bool>),
}

impl Stop {
    fn hangup(&mut self) -> Option<tokio::signal::unix::Signal> {
        match self {
            Self::Signals(s) => s.hangup.take(),
            Self::Told(_) => None,
        }
    }

    async fn shutdown(&mut self) {
        match self {
            Self::Signals(s) => s.shutdown().await,
            Self::Told(rx) => {
                let _ = rx.wait_for(|stop| *stop).await;
            }
        }
    }
}

pub(super) struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
    /// SIGHUP: reread the keyring (taken by the keyring follower).
    hangup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    pub(super) fn install() -> Result<Self, HttpError> {
        use tokio::signal::unix::{SignalKind, signal};
        let on = |k: SignalKind| {
            signal(k).map_err(|source| HttpError::Setup {
                what: "signal handler",
                source,
            })
        };
        Ok(Self {
            terminate: on(SignalKind::terminate())?,
            interrupt: on(SignalKind::interrupt())?,
            hangup: Some(on(SignalKind::hangup())?),
        })
    }

    /// SIGTERM or SIGINT (Ctrl-C).
    pub(super) async fn shutdown(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {},
            _ = self.interrupt.recv() => {},
        }
    }
}
