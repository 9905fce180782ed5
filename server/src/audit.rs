//! Wiring the audit log to the service: the records of tokens, opening the log with its
//! checkpoint key (`kokuin-audit-keys`), and the async bridge the server awaits before any
//! token leaves.

use crate::error::AuditOpenError;
use kokuin_audit::{AuditConfig, AuditError, AuditLog, Event};
pub use kokuin_audit_keys::{CheckpointKey, TrustedCheckpointCerts, cert_id};
use kokuin_hsm::{Signer, SoftwareSigner};
use std::sync::Arc;
use std::time::Duration;

/// The record of a token about to leave, for `/tsa` and for the time-stamps inside seals
/// alike: the one place its fields are decided (README, "Audit log").
/// A genTime that cannot be written is an error: a token record never has an empty one.
pub fn token_issued(
    i: &kokuin_tsa::Issued,
    client: &str,
    request_id: Option<u64>,
) -> Result<Event, der::Error> {
    let gen_time = kokuin_tsa::asn1::GenTime::from_system_time_millis(i.gen_time)?.to_rfc3339();
    let ev = Event::new(kokuin_audit::kind::TOKEN_ISSUED)
        .with("serial", hex::encode(i.serial.as_bytes()))
        .with("gen_time", gen_time)
        .with("policy", i.policy.to_string())
        .with("hash", i.request.digest.name())
        .with(
            "imprint",
            hex::encode(i.request.message_imprint.hashed_message.as_bytes()),
        )
        .with("key", i.key_label.clone())
        .with("client", client);
    Ok(match request_id {
        Some(id) => ev.with("request_id", id),
        None => ev,
    })
}

/// A token recorded by [`token_issued`] that was not signed after all and never left.
pub fn token_failed(
    serial: impl Into<serde_json::Value>,
    reason: &str,
    request_id: Option<u64>,
) -> Event {
    let ev = Event::new(kokuin_audit::kind::TOKEN_FAILED)
        .with("serial", serial)
        .with("reason", reason);
    match request_id {
        Some(id) => ev.with("request_id", id),
        None => ev,
    }
}

/// The log opened, and with a database, the serial epoch of this start (the node id's
/// lease).
pub struct Opened {
    /// The log; none when turned off (dev mode only).
    pub log: Option<Arc<AuditLog>>,
    /// With `audit.database`: the epoch this start issues serials in.
    pub epoch: Option<u32>,
    /// With `audit.database`: the audit key, for the fleet's tree checkpoints.
    pub fleet_signer: Option<Arc<dyn kokuin_audit::CheckpointSigner>>,
    /// With `audit.database`: the database's clock minus this node's at the last lease
    /// renewal, in µs (`kokuin_fleet::clock_agreement`).
    pub clock_offset: Option<Arc<std::sync::atomic::AtomicI64>>,
    /// With `audit.database`: how many records this node's chain holds, kept current.
    pub written: Option<Arc<std::sync::atomic::AtomicU64>>,
}

/// The audit log's checkpoint key (in the HSM, or a file in dev mode) with its certificate,
/// checked against it: what `open` signs checkpoints with and `kokuin config check` tries.
pub fn checkpoint_key(cfg: &crate::config::Config) -> Result<CheckpointKey, AuditOpenError> {
    let a = &cfg.audit;
    let key: Arc<dyn Signer> = match (&a.checkpoint, &a.checkpoint_key) {
        (Some(k), _) => crate::signing_key::open_key(cfg, k, None)
            .map_err(|e| AuditOpenError::Key(e.to_string()))?,
        (None, Some(_)) if cfg.tsa.require_hsm_key => {
            return Err(AuditOpenError::Key(
                "tsa.require_hsm_key: the audit key is a software key \
                 (audit.checkpoint_key); put it in the HSM (audit.checkpoint)"
                    .into(),
            ));
        }
        (None, Some(path)) => Arc::new(
            SoftwareSigner::load(&cfg.resolve(path), None, cfg.dev)
                .map_err(|e| AuditOpenError::Key(e.to_string()))?,
        ),
        (None, None) => return Err(AuditOpenError::Key("no audit key configured".into())),
    };
    let cert = kokuin_certs::pem::load_certificates(&cfg.audit_certificate())
        .map_err(|e| AuditOpenError::Certificate(e.to_string()))?
        .into_iter()
        .next()
        .ok_or_else(|| AuditOpenError::Certificate("the audit certificate file is empty".into()))?;
    CheckpointKey::new(key, &cert).map_err(|e| AuditOpenError::Certificate(e.to_string()))
}

/// Opens the configured log: segment files, or with `audit.database` this node's chain in the
/// fleet's database (claiming `tsa.node_id` there first; refused when another node holds it).
pub fn open(
    cfg: &crate::config::Config,
    on_sync: Option<kokuin_audit::writer::SyncObserver>,
) -> Result<Opened, AuditOpenError> {
    let a = &cfg.audit;
    if !a.enabled {
        tracing::warn!("DEV MODE: the audit log is off; tokens are not recorded");
        return Ok(Opened {
            log: None,
            epoch: None,
            fleet_signer: None,
            clock_offset: None,
            written: None,
        });
    }
    let signer = Arc::new(checkpoint_key(cfg)?);
    let mut ac = AuditConfig::new(cfg.resolve(&a.dir));
    ac.checkpoint_every = a.checkpoint_every;
    ac.origin = a.origin.clone();
    ac.tree = a.tree;
    ac.checkpoint_interval = Duration::from_secs(a.checkpoint_interval_s.max(1));
    ac.segment_max_bytes = a.segment_max_mb.saturating_mul(1024 * 1024);
    ac.rotate_daily = a.rotate_daily;
    ac.on_sync = on_sync;
    if let Some(db) = cfg.database() {
        let db = db?;
        let shown = db.shown().to_string();
        let db = kokuin_fleet::SyncDb::new(db)?;
        let origin = fleet_origin(cfg, signer.as_ref());
        let key = kokuin_fleet::node_key::NodeKey::load_or_make(
            &node_key_path(cfg),
            cfg.tsa.node_id,
            &origin,
            signer.as_ref(),
        )?;
        let node_cert = key.cert.text();
        let signing = kokuin_fleet::log_storage::Signing {
            key,
            trust: head_trust(cfg, origin)
                .map_err(|e| AuditOpenError::Certificate(format!("audit certificate: {e}")))?,
        };
        let (storage, recovered) =
            kokuin_fleet::log_storage::PgStorage::open(db, cfg.tsa.node_id, signing)?;
        let storage = storage.with_clock_accuracy(cfg.tsa.accuracy.duration());
        let clock_offset = Some(storage.clock_offset());
        let written = Some(storage.written());
        let epoch = storage.lease().epoch;
        let (log, _) = AuditLog::open_on(ac, Box::new(storage), recovered, Some(signer.clone()))?;
        // The certificate its heads verify under, in the node's own chain from its start.
        log.append(
            Event::new(kokuin_audit::kind::NODE_KEY).with("certificate", node_cert),
            Box::new(|r| {
                if let Err(e) = r {
                    tracing::error!(error = %e, "audit log cannot record the node key");
                }
            }),
        );
        tracing::info!(database = %shown, node_id = cfg.tsa.node_id, epoch, "audit log open");
        return Ok(Opened {
            log: Some(Arc::new(log)),
            epoch: Some(epoch),
            fleet_signer: Some(signer),
            clock_offset,
            written,
        });
    }
    let (log, report) = AuditLog::open(ac, Some(signer))?;
    if report.torn_bytes > 0 {
        tracing::warn!(
            torn_bytes = report.torn_bytes,
            "audit log: cut a torn final record after a crash (recorded as log.recovery)"
        );
    }
    tracing::info!(records = report.records, dir = %cfg.resolve(&a.dir).display(), "audit log open");
    Ok(Opened {
        log: Some(Arc::new(log)),
        epoch: None,
        fleet_signer: None,
        clock_offset: None,
        written: None,
    })
}

/// The fleet's tree origin: the log's origin with `/fleet` (never a file log's origin).
pub fn fleet_origin(
    cfg: &crate::config::Config,
    audit: &dyn kokuin_audit::CheckpointSigner,
) -> String {
    kokuin_fleet::integrator::fleet_origin(
        &cfg.audit
            .origin
            .clone()
            .unwrap_or_else(|| kokuin_audit::writer::default_origin(&audit.key_id())),
    )
}

/// Where a fleet node keeps its node key: beside its serial state, on its own disk, never in
/// the database.
pub fn node_key_path(cfg: &crate::config::Config) -> std::path::PathBuf {
    cfg.resolve(&cfg.tsa.serial_state)
        .with_file_name(format!("fleet-node-key-{}", cfg.tsa.node_id))
}

/// What the fleet's heads verify under: node keys the audit certificate certified for
/// `origin`.
pub fn head_trust(
    cfg: &crate::config::Config,
    origin: String,
) -> Result<kokuin_fleet::heads::HeadTrust, kokuin_certs::pem::PemError> {
    let certs = kokuin_certs::pem::load_certificates(&cfg.audit_certificate())?;
    Ok(kokuin_fleet::heads::HeadTrust::new(
        origin,
        Arc::new(TrustedCheckpointCerts(certs)),
    ))
}

/// Appends `event` and waits, without blocking the reactor, until it is on stable storage.
pub async fn record(log: &AuditLog, event: Event) -> Result<u64, AuditError> {
    submit(log, event).await
}

/// Appends `event` now and returns what waits for it to be on stable storage: the caller can
/// do other work (sign the token the record vouches for) while the log writes and syncs.
pub fn submit(
    log: &AuditLog,
    event: Event,
) -> impl Future<Output = Result<u64, AuditError>> + use<> {
    submit_within(log, event, std::time::Duration::ZERO)
}

/// [`submit`] for a caller busy for at least `slack` before it needs the record durable: the
/// log may hold the record that long so that others share its sync.
pub fn submit_within(
    log: &AuditLog,
    event: Event,
    slack: std::time::Duration,
) -> impl Future<Output = Result<u64, AuditError>> + use<> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    log.append_within(
        event,
        slack,
        Box::new(move |r| {
            let _ = tx.send(r);
        }),
    );
    async move { rx.await.unwrap_or(Err(AuditError::Closed)) }
}
