//! Issuing a token: a prepared TSTInfo signed while its audit record is made durable, and
//! sent only if both succeed. One path for `POST /tsa` and for the seal service's own
//! time-stamps, so a seal's token is logged, overlapped and refused exactly as a client's.
//!
//! The record is queued for the log before signing starts, so that its write and sync
//! overlap the signature; a slow signature leaves the record time to wait for others to share
//! its sync (`sign_times`), and longer when other signatures are queued ahead of it. Slow
//! software algorithms sign on the CPU pool, token keys on their own session pool, fast keys
//! inline; never on the reactor otherwise.

use crate::cpu_pool::CpuPool;
use crate::metrics::{KeyLabels, Metrics};
use crate::sign_times::SignTimes;
use kokuin_audit::AuditLog;
use kokuin_hsm::DigestAlgorithm;
use kokuin_tsa::{FailureInfo, Prepared, Rejection, TimeStampAuthority};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The authority, its audit log and the threads tokens are signed on.
pub struct Issuance {
    /// The time-stamp authority.
    pub authority: Arc<TimeStampAuthority>,
    audit: Option<Arc<AuditLog>>,
    /// Slow software signatures (ML-DSA, composite, RSA): a thread per core.
    pub cpu_pool: CpuPool,
    sign_times: SignTimes,
    metrics: Arc<Metrics>,
}

/// Who asked, for the record and the logs.
pub struct Caller<'a> {
    /// The client's address, or what the service stamps for (`eseal`).
    pub client: &'a str,
    /// The HTTP request's id, when there is one.
    pub request_id: Option<u64>,
}

impl Issuance {
    /// Starts the signing threads, one per core.
    pub fn start(
        authority: Arc<TimeStampAuthority>,
        audit: Option<Arc<AuditLog>>,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Self> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            authority,
            audit,
            cpu_pool: CpuPool::start(threads)?,
            sign_times: SignTimes::default(),
            metrics,
        })
    }

    /// Whether tokens are recorded (always, but in a dev server started without a log).
    pub fn audited(&self) -> bool {
        self.audit.is_some()
    }

    /// Signs `prepared` and returns its DER TimeStampResp, once its `token.issued` record is
    /// durable. If the log cannot record it, the signed token is dropped (systemFailure); if
    /// the signature fails after the record, a `token.failed` record says it never left.
    pub async fn issue(
        &self,
        prepared: Prepared,
        caller: Caller<'_>,
    ) -> Result<Vec<u8>, Rejection> {
        let (id, client) = (caller.request_id, caller.client);
        let event = crate::audit::token_issued(&prepared.issued, client, id).map_err(|e| {
            tracing::error!(request_id = id, client, error = %e, "a token's record cannot be made");
            Rejection::new(FailureInfo::SystemFailure, "the token cannot be recorded")
        })?;
        let serial = event.fields["serial"].clone();
        let key_label = prepared.issued.key_label.clone();
        let a = self.authority.clone();
        let quick = prepared.signs_quickly();
        let cpu_bound = !quick && prepared.signs_in_software();
        let sign = move || {
            let t0 = Instant::now();
            (a.finish(prepared), t0.elapsed())
        };
        let slack = if quick {
            Duration::ZERO
        } else {
            let rounds = if cpu_bound {
                self.cpu_pool.rounds_ahead()
            } else {
                0
            };
            self.sign_times.slack(&key_label, rounds)
        };
        let logging = self
            .audit
            .as_ref()
            .map(|log| crate::audit::submit_within(log, event, slack));
        let logged = async {
            match logging {
                Some(pending) => pending.await.map(|_| ()),
                None => Ok(()),
            }
        };
        let (signed, logged) = if quick {
            (Ok(sign()), logged.await)
        } else {
            let signing = async {
                if cpu_bound {
                    self.cpu_pool.run(sign).await.map_err(|e| e.to_string())
                } else {
                    tokio::task::spawn_blocking(sign)
                        .await
                        .map_err(|e| e.to_string())
                }
            };
            // One after the other, not joined: the record's sync usually ends first, and a
            // receiver not yet polled takes its completion without waking the task, which
            // then wakes once per token instead of twice. Both still run at the same time.
            let signed = signing.await;
            (signed, logged.await)
        };
        let key = KeyLabels {
            key: key_label.clone(),
        };
        let signed = match signed {
            Ok((r, took)) => {
                if !quick {
                    self.sign_times.observe(&key_label, took);
                }
                self.metrics
                    .signing_seconds
                    .get_or_create(&key)
                    .observe(took.as_secs_f64());
                r
            }
            Err(e) => {
                tracing::error!(request_id = id, client, error = %e, "signing task failed");
                Err(Rejection::new(FailureInfo::SystemFailure, "internal error"))
            }
        };
        if signed.is_err() {
            self.metrics.signing_errors.get_or_create(&key).inc();
        }
        match (signed, logged) {
            (Ok((der, _)), Ok(())) => {
                tracing::debug!(request_id = id, client, %serial, "token issued");
                Ok(der)
            }
            (_, Err(e)) => {
                tracing::error!(request_id = id, client, error = %e, "audit log cannot record a token; refusing");
                Err(Rejection::new(
                    FailureInfo::SystemFailure,
                    "the audit log cannot record the token",
                ))
            }
            (Err(r), Ok(())) => {
                // The log already holds the token's record; say it never left.
                tracing::error!(request_id = id, client, key = %key_label, reason = ?r.text, "signing failed");
                if let Some(log) = &self.audit {
                    let ev = crate::audit::token_failed(serial, &r.text, id);
                    if let Err(e) = crate::audit::record(log, ev).await {
                        tracing::error!(request_id = id, client, error = %e, "audit log cannot record a failure");
                    }
                }
                Err(r)
            }
        }
    }
}

/// The service's own TSA for seals: [`Issuance::issue`] on an imprint, from the blocking
/// thread a seal is made on.
pub struct OwnTimeStamper(pub Arc<Issuance>);

impl kokuin_eseal::TimeStamper for OwnTimeStamper {
    fn timestamp(&self, digest: DigestAlgorithm, imprint: &[u8]) -> Result<Vec<u8>, String> {
        let refused = |r: Rejection| format!("{}: {}", r.info.name(), r.text);
        let prepared = self
            .0
            .authority
            .prepare_imprint(digest, imprint)
            .map_err(refused)?;
        // Seals are made on tokio's blocking threads (never on the reactor), where waiting
        // for the runtime's work is allowed.
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| "the service's time-stamps need its runtime".to_string())?;
        let caller = Caller {
            client: "eseal",
            request_id: None,
        };
        let resp = handle
            .block_on(self.0.issue(prepared, caller))
            .map_err(refused)?;
        kokuin_tsa::ParsedResponse::from_der(&resp)
            .and_then(kokuin_tsa::ParsedResponse::into_token)
            .map_err(|e| e.to_string())
    }
}
