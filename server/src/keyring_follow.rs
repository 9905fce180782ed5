//! Rotation without downtime: the server follows the keyring. Every second (and at once on
//! SIGHUP) it rereads the keyring if its store changed, records what changed in the audit log,
//! and puts in force the key whose time has come. Requests already signing keep the key they
//! started with; the next ones get the new one.

use crate::config::Config;
use crate::keyring_store::KeyringStore;
use crate::metrics::Metrics;
use crate::service::Service;
use kokuin_audit::{Event, kind};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// A key.lifecycle record: which key, what happened.
fn lifecycle(key: &str, event: &str) -> Event {
    tracing::info!(key, event, "keyring");
    Event::new(kind::KEY_LIFECYCLE)
        .with("key", key)
        .with("event", event)
}

/// Where a key is put in force: the policy, the key it replaces and the usage window it may
/// sign in, so that the audit report can place every token inside its key's window.
pub fn in_force_fields(ev: Event, policy: &str, key: &kokuin_tsa::ActiveKey) -> Event {
    let (from, until) = key.usage_window();
    ev.with("policy", policy)
        .with(
            "usage_from",
            humantime::format_rfc3339_millis(from).to_string(),
        )
        .with(
            "usage_until",
            humantime::format_rfc3339_millis(until).to_string(),
        )
}

fn record(service: &Service, ev: Event) {
    if let Some(log) = &service.audit {
        log.append(
            ev,
            Box::new(|r| {
                if let Err(e) = r {
                    tracing::error!(error = %e, "audit log cannot record a key change");
                }
            }),
        );
    }
}

/// Follows the keyring in `store` from the one the service loaded at start, until `stop`.
pub async fn follow_keyring(
    cfg: Arc<Config>,
    service: Arc<Service>,
    metrics: Arc<Metrics>,
    store: Arc<dyn KeyringStore>,
    mut hup: Option<tokio::signal::unix::Signal>,
    mut stop: watch::Receiver<bool>,
) {
    // A store may block (the fleet's database): its calls run on a blocking thread.
    let version = |s: Arc<dyn KeyringStore>| async move {
        tokio::task::spawn_blocking(move || s.version())
            .await
            .ok()
            .flatten()
    };
    let load = |s: Arc<dyn KeyringStore>| async move {
        tokio::task::spawn_blocking(move || s.load())
            .await
            .unwrap_or_else(|e| {
                Err(crate::error::KeyringError::Invalid {
                    origin: "keyring".into(),
                    reason: e.to_string(),
                })
            })
    };
    // The keyring the service started with, as it loaded it: a store that cannot be read now
    // (the database away for a moment) must not look like a keyring without keys. The first
    // round rereads the store and records only what changed since the start.
    let mut seen = None;
    let mut ring = service.keyring.clone();
    // A key that could not be put in force is not tried again until the keyring changes.
    let mut failed: Option<(String, Option<Vec<u8>>)> = None;
    // The stored version last refused, so that a refusal is said once.
    let mut refused: Option<Option<Vec<u8>>> = None;
    loop {
        let hangup = tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => false,
            _ = async {
                match hup.as_mut() {
                    Some(h) => { h.recv().await; }
                    None => std::future::pending::<()>().await,
                }
            } => true,
            _ = stop.changed() => return,
        };
        let fp = version(store.clone()).await;
        if hangup || fp != seen {
            let verified = load(store.clone()).await.and_then(|new| {
                crate::ceremony::accept::accept(&cfg, new)
                    .and_then(|a| {
                        // Recorded whole or not followed.
                        let events = a
                            .ceremonies
                            .iter()
                            .map(crate::ceremony::event)
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok((a.ring, events))
                    })
                    .map_err(|e| crate::error::KeyringError::Invalid {
                        origin: "keyring".into(),
                        reason: e.to_string(),
                    })
            });
            match verified {
                Ok((new, ceremonies)) => {
                    for ev in ceremonies {
                        record(&service, ev);
                    }
                    for (key, event) in new.changes_since(&ring) {
                        record(&service, lifecycle(&key, &event));
                    }
                    ring = new;
                    seen = fp;
                }
                Err(e) => {
                    // Said once per stored version, not every second.
                    if refused.as_ref() != Some(&fp) {
                        metrics.keyring_refused.inc();
                        tracing::error!(error = %e, "keyring refused; keeping the keys in force");
                        record(
                            &service,
                            Event::new(kind::KEYRING_REFUSED).with("reason", e.to_string()),
                        );
                        refused = Some(fp);
                    }
                    continue;
                }
            }
        }
        let now = SystemTime::now();
        for (index, policy) in cfg.tsa.policies.iter().enumerate() {
            let want = ring.in_force(now, &policy.oid).cloned();
            let current = service.served(index).key_name;
            match want {
                Some(entry)
                    if entry.name != current
                        && failed.as_ref() != Some(&(entry.name.clone(), seen.clone())) =>
                {
                    let name = entry.name.clone();
                    // Another policy served by the same entry already has it open.
                    let shared = (0..cfg.tsa.policies.len())
                        .filter(|j| *j != index)
                        .filter_map(|j| service.loaded(j))
                        .find(|l| l.name == name);
                    let loaded = match shared {
                        Some(l) => Ok(Ok(l)),
                        None => {
                            let c = cfg.clone();
                            tokio::task::spawn_blocking(move || {
                                crate::signing_key::load_key(&c, &entry.key, &entry.name)
                            })
                            .await
                        }
                    };
                    match loaded {
                        Ok(Ok(k)) => {
                            let ev = in_force_fields(
                                lifecycle(
                                    &name,
                                    &format!("in force for {} (was {current:?})", policy.oid),
                                ),
                                &policy.oid,
                                &k.active,
                            )
                            .with("previous", current.as_str());
                            service.install(index, Some(k));
                            record(&service, ev);
                        }
                        Ok(Err(e)) => {
                            tracing::error!(key = %name, error = %e, "cannot put the key in force");
                            record(
                                &service,
                                lifecycle(&name, &format!("cannot be put in force: {e}")),
                            );
                            failed = Some((name, seen.clone()));
                        }
                        Err(e) => tracing::error!(error = %e, "key loading task failed"),
                    }
                }
                None if !current.is_empty() => {
                    service.install(index, None);
                    record(
                        &service,
                        lifecycle(
                            &current,
                            &format!("no key in force for {} any more", policy.oid),
                        )
                        .with("policy", policy.oid.as_str()),
                    );
                }
                _ => {}
            }
        }
    }
}
