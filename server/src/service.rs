//! Builds the running time-stamp authority from a [`Config`]: keys, certificates, serial
//! state, clock. Every check that can be made before the first request is made here, so a
//! misconfigured service refuses to start instead of refusing requests.

use crate::config::Config;
use crate::error::StartError;
use crate::signing_key::{LoadedKey, load_key};
use kokuin_tsa::asn1::Accuracy;
use kokuin_tsa::clock::kernel::KernelClock;
use kokuin_tsa::clock::{ClockStatus, Observer, TrustedClock, status_name};
use kokuin_tsa::serial::SerialGenerator;
use kokuin_tsa::{AuthorityConfig, Policy, TimeStampAuthority};
use std::sync::Arc;

/// The running service: the TSA, its keys in force, the audit log and the e-seal API.
pub struct Service {
    /// The time-stamp authority.
    pub authority: Arc<TimeStampAuthority>,
    /// None only when turned off in dev mode.
    pub audit: Option<Arc<kokuin_audit::AuditLog>>,
    /// Tokens signed and recorded: `/tsa`'s and the seal service's own.
    pub issuance: Arc<crate::issuance::Issuance>,
    /// For each policy, in the order of `tsa.policies`: its key in force and what
    /// `GET /tsa/certs` serves for it.
    served: Vec<std::sync::RwLock<Served>>,
    /// The e-seal API, when `[eseal]` is configured.
    pub eseal: Option<Arc<crate::eseal_service::SealService>>,
    /// In a fleet (`audit.database`): the audit key, with which this node's integrator signs
    /// the fleet's tree checkpoints.
    pub fleet_signer: Option<Arc<dyn kokuin_audit::CheckpointSigner>>,
    /// `config.loaded` and `service.start`, recorded by the server once it is listening.
    pub start_records: Vec<kokuin_audit::Event>,
    /// In a fleet: the database's clock minus this node's at the last lease renewal, µs.
    pub database_clock_offset: Option<Arc<std::sync::atomic::AtomicI64>>,
    /// In a fleet: how many records this node's chain holds (for the tree's lag).
    pub fleet_written: Option<Arc<std::sync::atomic::AtomicU64>>,
    /// The keyring as loaded at start (empty without `tsa.keyring`): where following it
    /// begins.
    pub keyring: crate::keyring::Keyring,
    /// One process issues serials from a serial state file at a time.
    _serial_lock: Option<kokuin_audit::lock::WriterLock>,
    /// With `[clock.roughtime]`: the rounds' verdict, which the clock reads for every genTime.
    pub roughtime: Option<Arc<crate::roughtime::Opinion>>,
}

/// A policy's key in force, as the server describes it.
#[derive(Clone, Default)]
pub struct Served {
    /// The keyring entry's name, "tsa.key", or empty: none.
    pub key_name: String,
    /// PEM of the TSU certificate and its chain.
    pub chain_pem: String,
    /// Whether its token attested the key (sensitive, generated there, never extractable).
    pub attested: bool,
}

impl Service {
    /// Puts `key` in force (or none) for the policy at `index`: requests already signing
    /// finish with the old one.
    pub fn install(&self, index: usize, key: Option<LoadedKey>) {
        let (active, served) = match key {
            Some(k) => (
                Some(k.active),
                Served {
                    key_name: k.name,
                    chain_pem: k.chain_pem,
                    attested: k.attested,
                },
            ),
            None => (None, Served::default()),
        };
        self.authority.set_policy_key(index, active);
        if let Some(Ok(mut s)) = self.served.get(index).map(|s| s.write()) {
            *s = served;
        }
    }

    /// What policy `index` is served with now.
    pub fn served(&self, index: usize) -> Served {
        self.served
            .get(index)
            .and_then(|s| s.read().ok().map(|s| s.clone()))
            .unwrap_or_default()
    }

    /// The key in force for policy `index`, ready to install for another policy that the
    /// same keyring entry serves (one key opened once, whatever it serves).
    pub fn loaded(&self, index: usize) -> Option<LoadedKey> {
        let s = self.served(index);
        self.authority.policy_key(index).map(|active| LoadedKey {
            active,
            chain_pem: s.chain_pem,
            name: s.key_name,
            attested: s.attested,
        })
    }
}

/// The key in force at start for each policy: `[tsa.key]` for all, or the keyring's (which
/// is returned too, for the keyring follower to start from). A key serving several policies
/// is opened once.
fn initial_keys(
    cfg: &Config,
    records: &mut Vec<kokuin_audit::Event>,
) -> Result<(Vec<Option<LoadedKey>>, crate::keyring::Keyring), StartError> {
    // EN 319 421: no one person may put a key in force. Dev mode alone runs without a quorum.
    if !cfg.dev && (cfg.tsa.officers.is_none() || cfg.tsa.keyring.is_none()) {
        return Err(StartError::Other(
            "a production service needs dual control over its keys: a keyring (tsa.keyring) \
             under officers pinned in tsa.officers, two approvals or more (kokuin ceremony \
             init; docs/ceremonies.md)"
                .into(),
        ));
    }
    match (&cfg.tsa.key, &cfg.tsa.keyring) {
        (Some(k), _) => {
            let key = load_key(cfg, k, "tsa.key")?;
            Ok((
                cfg.tsa.policies.iter().map(|_| Some(key.clone())).collect(),
                crate::keyring::Keyring::default(),
            ))
        }
        (None, Some(_)) => {
            let store = crate::keyring_store::open(cfg)
                .map_err(|e| StartError::Other(e.to_string()))?
                .ok_or_else(|| StartError::Other("no tsa.keyring".into()))?;
            let ring = store.load().map_err(|e| StartError::Other(e.to_string()))?;
            let ring = verified_keyring(cfg, ring, records)?;
            let now = std::time::SystemTime::now();
            let mut out: Vec<Option<LoadedKey>> = Vec::new();
            for p in &cfg.tsa.policies {
                let key = match ring.in_force(now, &p.oid) {
                    Some(e) => match out.iter().flatten().find(|l| l.name == e.name) {
                        Some(l) => Some(l.clone()),
                        None => Some(load_key(cfg, &e.key, &e.name)?),
                    },
                    None => {
                        tracing::error!(
                            policy = %p.oid,
                            "the keyring has no key in force for the policy; its requests get systemFailure"
                        );
                        None
                    }
                };
                out.push(key);
            }
            Ok((out, ring))
        }
        (None, None) => Err(StartError::Other("no tsa.key or tsa.keyring".into())),
    }
}

/// Under dual control, the keyring as this node verified it (`ceremony::accept`): the
/// stored one when its ceremonies verify, else the newest this node verified before (the
/// refusal recorded), else no start.
fn verified_keyring(
    cfg: &Config,
    ring: crate::keyring::Keyring,
    records: &mut Vec<kokuin_audit::Event>,
) -> Result<crate::keyring::Keyring, StartError> {
    match crate::ceremony::accept::accept(cfg, ring) {
        Ok(a) => {
            for c in &a.ceremonies {
                records.push(crate::ceremony::event(c).map_err(|why| {
                    StartError::Other(format!("the keyring's ceremonies: {why}"))
                })?);
            }
            Ok(a.ring)
        }
        Err(why) => match crate::ceremony::accept::kept(cfg) {
            Some(kept) => {
                tracing::error!(
                    reason = %why,
                    "keyring refused; serving the keyring this node verified last"
                );
                records.push(
                    kokuin_audit::Event::new(kokuin_audit::kind::KEYRING_REFUSED)
                        .with("reason", why.to_string()),
                );
                Ok(kept)
            }
            None => Err(StartError::Other(format!(
                "keyring refused, and this node has verified none before: {why}"
            ))),
        },
    }
}

/// Builds the service from `cfg`: keys opened and checked, serial epoch claimed, audit log
/// opened, clock checked; any failure refuses the start.
pub fn build(cfg: &Config, metrics: &Arc<crate::metrics::Metrics>) -> Result<Service, StartError> {
    let mut keyring_records = Vec::new();
    let (loaded, keyring) = initial_keys(cfg, &mut keyring_records)?;
    let key_label = loaded
        .iter()
        .map(|l| l.as_ref().map_or("none", |l| l.name.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    // Each policy's key and usage window at start: where the audit report's key windows begin.
    let in_force: Vec<serde_json::Value> = loaded
        .iter()
        .zip(&cfg.tsa.policies)
        .filter_map(|(l, p)| {
            let l = l.as_ref()?;
            let (from, until) = l.active.usage_window();
            Some(serde_json::json!({
                "policy": p.oid,
                "policy_name": p.name,
                "key": l.active.name(),
                "usage_from": humantime::format_rfc3339_millis(from).to_string(),
                "usage_until": humantime::format_rfc3339_millis(until).to_string(),
                "certificate": kokuin_certs::path::subject_of(l.active.certificate()),
                "certificate_serial": hex::encode(
                    l.active.certificate().tbs_certificate().serial_number().as_bytes(),
                ),
                "attested": l.attested,
            }))
        })
        .collect();
    let m = metrics.clone();
    let on_sync: kokuin_audit::writer::SyncObserver =
        Arc::new(move |took, records| m.observe_sync(took, records));
    let opened = crate::audit::open(cfg, Some(on_sync))?;
    let audit = opened.log;
    let fleet_signer = opened.fleet_signer;
    let database_clock_offset = opened.clock_offset;
    let fleet_written = opened.written;
    // In a fleet the epoch is the node id's lease's, kept in the database: a node that lost
    // its disk, or moved, never repeats a serial.
    let (serials, serial_lock) = match opened.epoch {
        Some(epoch) => (SerialGenerator::with_epoch(cfg.tsa.node_id, epoch), None),
        None => {
            let serial_path = cfg.resolve(&cfg.tsa.serial_state);
            if let Some(dir) = serial_path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StartError::Other(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            // Two processes claiming epochs from one file would issue the same serials.
            let lock = kokuin_audit::lock::WriterLock::acquire_file(
                &serial_path.with_extension("lock"),
                "serial state",
                &serial_path,
            )
            .map_err(|e| StartError::Other(e.to_string()))?;
            (
                SerialGenerator::open(&serial_path, cfg.tsa.node_id)?,
                Some(lock),
            )
        }
    };
    let serial_epoch = serials.epoch();
    let a = cfg.tsa.accuracy;
    let accuracy = a.duration();
    if !cfg.clock.require_sync {
        tracing::warn!(
            "DEV MODE: clock synchronisation is NOT required (clock.require_sync = false); \
             tokens from this server carry no trustworthy time"
        );
    }
    let clock = TrustedClock::new(
        Box::new(KernelClock::new()),
        accuracy,
        cfg.clock.require_sync,
    )
    .with_observer(clock_observer(audit.clone()));
    let roughtime = cfg
        .clock
        .roughtime
        .as_ref()
        .map(|r| Arc::new(crate::roughtime::Opinion::new(r.action)));
    let clock = match &roughtime {
        Some(o) => clock.with_second_opinion(o.clone()),
        None => clock,
    };
    match clock.status().0 {
        Ok(()) if !cfg.clock.require_sync => {}
        Ok(()) => tracing::info!("clock: the kernel vouches for the time within {accuracy:?}"),
        Err(e) => tracing::error!(
            reason = %e,
            "clock: cannot vouch for the time; requests get timeNotAvailable until it can"
        ),
    }
    let policies = cfg
        .tsa
        .policies
        .iter()
        .map(|p| {
            Ok(Policy {
                oid: p
                    .oid
                    .parse()
                    .map_err(|_| StartError::Other(format!("bad policy OID {}", p.oid)))?,
                name: p.name.clone(),
            })
        })
        .collect::<Result<Vec<_>, StartError>>()?;
    let nz = |v: u16| (v != 0).then_some(v);
    let authority = TimeStampAuthority::new(
        AuthorityConfig {
            policies,
            accuracy: Accuracy {
                seconds: (a.seconds != 0).then_some(a.seconds),
                millis: nz(a.millis),
                micros: nz(a.micros),
            },
            include_tsa_name: cfg.tsa.include_tsa_name,
        },
        clock,
        serials,
        None,
    );
    // Written by the server once its listeners are bound (`http::run_bound`): a start that
    // goes no further leaves no trace in the log.
    let start_records = {
        use kokuin_audit::{Event, kind};
        vec![
            Event::new(kind::CONFIG_LOADED).with("sha256", cfg.digest.clone()),
            Event::new(kind::SERVICE_START)
                .with("version", env!("CARGO_PKG_VERSION"))
                .with("node_id", cfg.tsa.node_id)
                .with("key", key_label.clone())
                .with("in_force", in_force)
                .with("serial_epoch", serial_epoch)
                // What the clock was held to: tokens issued while sync was not required are a
                // finding in the audit report.
                .with("require_sync", cfg.clock.require_sync),
        ]
        .into_iter()
        .chain(keyring_records)
        .collect::<Vec<_>>()
    };
    tracing::info!(
        key = %key_label,
        node_id = cfg.tsa.node_id,
        "time-stamp authority ready"
    );
    let authority = Arc::new(authority);
    let issuance = Arc::new(
        crate::issuance::Issuance::start(authority.clone(), audit.clone(), metrics.clone())
            .map_err(|e| StartError::Other(format!("cannot start the signing threads: {e}")))?,
    );
    let eseal = match &cfg.eseal {
        Some(section) => Some(Arc::new(crate::eseal_service::build(
            cfg,
            section,
            issuance.clone(),
        )?)),
        None => None,
    };
    let service = Service {
        eseal,
        authority,
        issuance,
        audit,
        fleet_signer,
        served: loaded.iter().map(|_| Default::default()).collect(),
        start_records,
        keyring,
        database_clock_offset,
        fleet_written,
        _serial_lock: serial_lock,
        roughtime,
    };
    for (i, l) in loaded.into_iter().enumerate() {
        service.install(i, l);
    }
    Ok(service)
}

/// The clock as it reads now, for the periodic `clock.reading` record.
pub fn clock_reading(clock: &kokuin_tsa::clock::TrustedClock) -> kokuin_audit::Event {
    let (status, reading) = clock.status();
    kokuin_audit::Event::new(kokuin_audit::kind::CLOCK_READING)
        .with("status", status_name(&status))
        .with("synchronised", reading.is_some_and(|r| r.synchronised))
        .with(
            "max_error_us",
            reading
                .and_then(|r| r.max_error)
                .map(|e| u64::try_from(e.as_micros()).unwrap_or(u64::MAX)),
        )
        .with(
            "accuracy_us",
            u64::try_from(clock.accuracy().as_micros()).unwrap_or(u64::MAX),
        )
}

/// Every change of the clock's status goes to the log and to the audit log (EN 319 421:
/// loss of calibration is recorded).
pub fn clock_observer(audit: Option<Arc<kokuin_audit::AuditLog>>) -> Observer {
    Box::new(move |old: &ClockStatus, new: &ClockStatus| {
        let reason = new
            .as_ref()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        match new {
            Ok(()) => tracing::info!(
                from = status_name(old),
                "clock: vouching for the time again"
            ),
            Err(e) => tracing::error!(from = status_name(old), reason = %e, "clock: refusing"),
        }
        if let Some(log) = &audit {
            let ev = kokuin_audit::Event::new(kokuin_audit::kind::CLOCK_STATE)
                .with("from", status_name(old))
                .with("to", status_name(new))
                .with("reason", reason);
            log.append(
                ev,
                Box::new(|r| {
                    if let Err(e) = r {
                        tracing::error!(error = %e, "audit log cannot record a clock change");
                    }
                }),
            );
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kokuin_audit::{AuditConfig, AuditLog, Record, kind, segment};
    use kokuin_tsa::clock::{ClockError, ClockReading, ClockSource, SourceError};
    use std::sync::Mutex;
    use std::time::{Duration, SystemTime};

    /// A clock source whose readings the test sets.
    struct Scripted(Arc<Mutex<ClockReading>>);

    impl ClockSource for Scripted {
        fn read(&self) -> Result<ClockReading, SourceError> {
            Ok(*self.0.lock().unwrap())
        }
    }

    #[test]
    fn every_clock_transition_is_in_the_audit_log() {
        let dir = tempfile::tempdir().unwrap();
        let (log, _) = AuditLog::open(AuditConfig::new(dir.path()), None).unwrap();
        let log = Arc::new(log);
        let t0 = SystemTime::now();
        let reading = Arc::new(Mutex::new(ClockReading {
            now: t0,
            synchronised: true,
            max_error: Some(Duration::from_millis(5)),
            in_leap_second: false,
        }));
        let clock = TrustedClock::new(
            Box::new(Scripted(reading.clone())),
            Duration::from_secs(1),
            true,
        )
        .with_observer(clock_observer(Some(log.clone())));
        let set = |f: &dyn Fn(&mut ClockReading)| f(&mut reading.lock().unwrap());
        assert!(clock.now().is_ok());
        set(&|r| r.synchronised = false);
        assert_eq!(clock.now(), Err(ClockError::Unsynchronised));
        set(&|r| r.synchronised = true);
        assert!(clock.now().is_ok());
        set(&|r| r.max_error = Some(Duration::from_secs(3)));
        assert!(matches!(clock.now(), Err(ClockError::ErrorTooLarge { .. })));
        set(&|r| r.max_error = Some(Duration::from_millis(5)));
        set(&|r| r.now = t0 - Duration::from_secs(5));
        assert_eq!(clock.now(), Err(ClockError::SteppedBack));
        set(&|r| r.now = t0 + Duration::from_secs(1));
        assert!(clock.now().is_ok());
        log.close(None).unwrap();
        let seg = segment::list(dir.path()).unwrap().remove(0);
        let changes: Vec<String> = std::fs::read_to_string(seg)
            .unwrap()
            .lines()
            .filter_map(|l| Record::parse_line(l).ok())
            .filter(|r| r.kind == kind::CLOCK_STATE)
            .map(|r| {
                format!(
                    "{}->{}",
                    r.fields["from"].as_str().unwrap(),
                    r.fields["to"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            changes,
            [
                "ok->unsynchronised",
                "unsynchronised->ok",
                "ok->error_bound_exceeded",
                "error_bound_exceeded->stepped_back",
                "stepped_back->ok",
            ]
        );
    }
}
