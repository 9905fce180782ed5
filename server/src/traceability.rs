//! `[clock.traceability]`: every `interval_s`, the provider's and NICT's CGGTTS V2E files are
//! compared by GNSS common view (`kokuin-timetrace`) and each hour not yet recorded by this run
//! becomes a `clock.traceability` record — its offset to UTC(NICT), the files it came from and
//! their SHA-256 — so that an assessor sees the chain from UTC(NICT) to the tokens in the log.
//! An hour with a track beyond `alarm_ms` is an alarm (logged) and a finding (the report).

use crate::config::TraceabilityConfig;
use kokuin_audit::{AuditLog, Event, kind};
use kokuin_timetrace::{CggttsFile, compare, read_all};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The files an hour came from: name (without its directory) and SHA-256.
fn listed(files: &[CggttsFile]) -> serde_json::Value {
    files
        .iter()
        .map(|f| {
            let name = std::path::Path::new(&f.name)
                .file_name()
                .map_or_else(|| f.name.clone(), |n| n.to_string_lossy().into_owned());
            serde_json::json!({ "name": name, "sha256": f.sha256 })
        })
        .collect()
}

/// Follows the two directories until `stop` (`local` and `reference` resolved against the
/// configuration's directory).
pub async fn follow(
    log: Arc<AuditLog>,
    cfg: TraceabilityConfig,
    local: PathBuf,
    reference: PathBuf,
    mut stop: watch::Receiver<bool>,
) {
    let mut recorded: HashSet<String> = HashSet::new();
    let threshold = (cfg.alarm_ms * 1e7).round() as i64;
    loop {
        let (l, r) = (local.clone(), reference.clone());
        // Reading and hashing files is blocking work: off the reactor.
        let round = tokio::task::spawn_blocking(move || {
            let (l, r) = (read_all(&[l])?, read_all(&[r])?);
            let c = compare(&l, &r)?;
            Ok::<_, kokuin_timetrace::TraceError>((c, listed(&l), listed(&r)))
        })
        .await;
        match round {
            Ok(Ok((c, local_files, reference_files))) => {
                for h in &c.hours {
                    // Recorded once per run; an hour seen again (the files stay) is skipped.
                    if !recorded.insert(h.hour.clone()) {
                        continue;
                    }
                    let worst = h.min_01ns.unsigned_abs().max(h.max_01ns.unsigned_abs());
                    let alarm = worst > threshold.unsigned_abs();
                    if alarm {
                        tracing::error!(
                            hour = %h.hour,
                            offset_ms = h.mean_01ns as f64 / 1e7,
                            alarm_ms = cfg.alarm_ms,
                            "the reference clock is farther from UTC(NICT) than the alarm threshold"
                        );
                    }
                    log.append(
                        Event::new(kind::CLOCK_TRACEABILITY)
                            .with("hour", h.hour.clone())
                            .with("tracks", h.tracks)
                            .with("mean_01ns", h.mean_01ns)
                            .with("min_01ns", h.min_01ns)
                            .with("max_01ns", h.max_01ns)
                            .with("alarm", alarm)
                            .with("alarm_ms", cfg.alarm_ms)
                            .with("local_files", local_files.clone())
                            .with("reference_files", reference_files.clone()),
                        Box::new(|r| {
                            if let Err(e) = r {
                                tracing::error!(error = %e, "audit log cannot record traceability");
                            }
                        }),
                    );
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "traceability: the CGGTTS files cannot be compared")
            }
            Err(e) => tracing::error!(error = %e, "traceability: the comparison failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(cfg.interval_s.max(1))) => {}
            _ = stop.changed() => return,
        }
    }
}
