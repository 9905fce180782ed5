//! The node's background work, apart from answering requests: the refusal flusher, the clock
//! recorder, the witness follower, the keyring follower and, in a fleet, the tree integrator.
//! Started together once the server listens, watched (a task that dies is said at once, not
//! found missing later), and stopped together: [`Node::stop`] returns once each has ended,
//! the integrator's thread joined, so the audit log closes after the last of their records.

use crate::config::Config;
use crate::error::StartError;
use crate::metrics::Metrics;
use crate::refusals::Refusals;
use crate::service::Service;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the node's tasks share with the request handlers.
pub struct Shared {
    /// The service's metrics.
    pub metrics: Arc<Metrics>,
    /// Refusals counted until their next aggregated audit record.
    pub refusals: Arc<Refusals>,
    /// In a fleet: the newest signed checkpoint of the fleet's tree, kept by the integrator.
    pub fleet_note: Arc<Mutex<Option<String>>>,
    /// In a fleet: how long this node's records have waited for the fleet's tree.
    pub fleet_lag: Arc<crate::fleet_tree::TreeLag>,
}

/// The running background work.
pub struct Node {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    integrating: Arc<AtomicBool>,
    integrator: Option<std::thread::JoinHandle<()>>,
}

impl Node {
    /// Starts every task the configuration calls for. `hangup` (SIGHUP) makes the keyring
    /// follower reread at once.
    pub fn start(
        cfg: &Config,
        service: Arc<Service>,
        shared: &Shared,
        hangup: Option<tokio::signal::unix::Signal>,
    ) -> Result<Self, StartError> {
        let (stop, stopped) = watch::channel(false);
        let mut node = Self {
            stop,
            tasks: Vec::new(),
            integrating: Arc::new(AtomicBool::new(true)),
            integrator: None,
        };
        node.spawn(
            "refusal flusher",
            shared.refusals.clone().run(
                service.audit.clone(),
                Duration::from_secs(cfg.audit.refusal_interval_s.max(1)),
                stopped.clone(),
            ),
        );
        if let (Some(db), Some(signer)) = (cfg.database(), service.fleet_signer.clone()) {
            let run = node.integrating.clone();
            node.integrator = Some(start_integrator(cfg, db, signer, &service, shared, run)?);
        }
        if let Some(log) = &service.audit {
            node.spawn(
                "clock recorder",
                record_clock(
                    log.clone(),
                    service.authority.clone(),
                    Duration::from_secs(cfg.clock.record_interval_s.max(1)),
                    stopped.clone(),
                ),
            );
        }
        if let (Some(log), Some(t)) = (&service.audit, &cfg.clock.traceability) {
            node.spawn(
                "traceability follower",
                crate::traceability::follow(
                    log.clone(),
                    t.clone(),
                    cfg.resolve(&t.local_dir),
                    cfg.resolve(&t.reference_dir),
                    stopped.clone(),
                ),
            );
        }
        if let (Some(r), Some(opinion)) = (&cfg.clock.roughtime, &service.roughtime) {
            let servers = r
                .trusted()
                .map_err(|(k, m)| StartError::Other(format!("{k}: {m}")))?;
            node.spawn(
                "Roughtime rounds",
                crate::roughtime::follow(
                    crate::roughtime::Rounds {
                        cfg: r.clone(),
                        servers,
                        accuracy: service.authority.clock().accuracy(),
                        malfeasance_dir: cfg.resolve(&r.malfeasance_dir),
                    },
                    opinion.clone(),
                    service.audit.clone(),
                    shared.metrics.clone(),
                    stopped.clone(),
                ),
            );
        }
        if let Some(log) = &service.audit
            && !cfg.audit.witnesses.is_empty()
        {
            let witnesses = cfg
                .audit
                .witnesses
                .iter()
                .filter_map(|w| {
                    kokuin_audit::cosignature::WitnessKey::parse_vkey(&w.vkey)
                        .ok()
                        .map(|k| crate::witness::Witness::new(&w.url, k))
                })
                .collect();
            let agent = kokuin_client::agent(kokuin_client::TlsOptions::default())
                .map_err(|e| StartError::Other(format!("witness client: {e}")))?;
            node.spawn(
                "witness follower",
                crate::witness::follow(
                    log.clone(),
                    cfg.resolve(&cfg.audit.dir),
                    witnesses,
                    agent,
                    shared.metrics.clone(),
                    stopped.clone(),
                ),
            );
        }
        if let Ok(Some(store)) = crate::keyring_store::open(cfg) {
            node.spawn(
                "keyring follower",
                crate::keyring_follow::follow_keyring(
                    Arc::new(cfg.clone()),
                    service,
                    shared.metrics.clone(),
                    store,
                    hangup,
                    stopped,
                ),
            );
        }
        Ok(node)
    }

    /// Runs `task`; if it ends other than by being stopped (a panic), the error is logged as
    /// it happens.
    fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        let running = tokio::spawn(task);
        let stop = self.stop.subscribe();
        self.tasks.push(tokio::spawn(async move {
            match running.await {
                Err(e) if e.is_panic() => {
                    tracing::error!(
                        task = name,
                        "a background task failed; the node goes on without it"
                    );
                }
                _ if !*stop.borrow() => {
                    tracing::error!(
                        task = name,
                        "a background task ended before the node stopped"
                    );
                }
                _ => {}
            }
        }));
    }

    /// Stops every task and waits for each to end.
    pub async fn stop(self) {
        self.integrating.store(false, Ordering::Relaxed);
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        if let Some(thread) = self.integrator {
            // The integrator notices within a round; joined off the reactor.
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// The fleet's tree integrator, on a thread of its own (its database client blocks).
fn start_integrator(
    cfg: &Config,
    db: Result<kokuin_fleet::DbConfig, kokuin_fleet::FleetError>,
    signer: Arc<dyn kokuin_audit::CheckpointSigner>,
    service: &Service,
    shared: &Shared,
    run: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, StartError> {
    let refuse = |what: &str, e: String| StartError::Other(format!("{what}: {e}"));
    let origin = crate::audit::fleet_origin(cfg, signer.as_ref());
    let db = db
        .and_then(kokuin_fleet::SyncDb::new)
        .map_err(|e| refuse("audit.database", e.to_string()))?;
    let heads = crate::audit::head_trust(cfg, origin)
        .map_err(|e| StartError::Other(format!("audit certificate: {e}")))?;
    let trusted = crate::audit::TrustedCheckpointCerts(
        kokuin_certs::pem::load_certificates(&cfg.audit_certificate())
            .map_err(|e| refuse("audit certificate", e.to_string()))?,
    );
    // Beside the node's serial state: the node's own disk, never the database.
    let local = cfg
        .resolve(&cfg.tsa.serial_state)
        .with_file_name(format!("fleet-checkpoint-node-{}", cfg.tsa.node_id));
    let node = crate::fleet_tree::TreeNode {
        signer,
        heads,
        trusted,
        local,
        log: service.audit.clone(),
        metrics: shared.metrics.clone(),
        node_id: cfg.tsa.node_id,
        written: service.fleet_written.clone(),
        lag: shared.fleet_lag.clone(),
    };
    let slot = shared.fleet_note.clone();
    std::thread::Builder::new()
        .name("fleet-tree".into())
        .spawn(move || crate::fleet_tree::integrate(db, node, slot, &run))
        .map_err(|e| refuse("cannot start the fleet's tree integrator", e.to_string()))
}

/// A `clock.reading` record every `every`: the trusted clock's error bound over time, for the
/// audit report (EN 319 421: the TSA shows its clock stayed within the declared accuracy).
async fn record_clock(
    log: Arc<kokuin_audit::AuditLog>,
    authority: Arc<kokuin_tsa::TimeStampAuthority>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        let ev = crate::service::clock_reading(authority.clock());
        log.append(
            ev,
            Box::new(|r| {
                if let Err(e) = r {
                    tracing::error!(error = %e, "audit log cannot record the clock reading");
                }
            }),
        );
    }
}
