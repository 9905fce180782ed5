//! `[clock.roughtime]`: every `interval_s`, a Roughtime round (`kokuin_roughtime::round`) asks
//! each configured server, and the verdict becomes the clock's second opinion: with fewer than
//! `min_agreeing` servers agreeing (and `action = "refuse"`), genTime is refused —
//! timeNotAvailable, 503 — until a later round agrees. Every round is a `clock.roughtime`
//! record holding the signed replies, so an auditor re-verifies them offline; two replies that
//! contradict each other become an RFC 10049 malfeasance report, written and recorded.

use crate::config::{RoughtimeAction, RoughtimeConfig};
use crate::metrics::Metrics;
use kokuin_audit::{AuditLog, Event, kind};
use kokuin_roughtime::round::{Options, Prober, Round};
use kokuin_roughtime::{RoundRecord, TrustedServer};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

/// The rounds' verdict, as the trusted clock reads it for every genTime.
pub struct Opinion {
    action: RoughtimeAction,
    state: Mutex<State>,
}

struct State {
    /// Why the last round refuses, if it does.
    refusal: Option<String>,
    /// Until when the last agreeing round vouches: if rounds stop, so do tokens.
    fresh_until: Option<Instant>,
}

impl Opinion {
    /// Refusing until the first round agrees (with `action = "refuse"`).
    pub fn new(action: RoughtimeAction) -> Self {
        Self {
            action,
            state: Mutex::new(State {
                refusal: Some("roughtime: no round has completed yet".into()),
                fresh_until: None,
            }),
        }
    }

    fn set(&self, refusal: Option<String>, fresh_until: Instant) {
        if let Ok(mut s) = self.state.lock() {
            s.refusal = refusal;
            s.fresh_until = Some(fresh_until);
        }
    }
}

impl kokuin_tsa::clock::SecondOpinion for Opinion {
    fn judge(&self, _now: SystemTime) -> Result<(), String> {
        if self.action == RoughtimeAction::Alarm {
            return Ok(());
        }
        let s = self
            .state
            .lock()
            .map_err(|_| "roughtime: state poisoned".to_string())?;
        if let Some(r) = &s.refusal {
            return Err(r.clone());
        }
        match s.fresh_until {
            Some(t) if Instant::now() <= t => Ok(()),
            _ => Err("roughtime: no round has completed recently (the rounds stopped)".into()),
        }
    }
}

/// A sentence on a round that does not agree: how many did, and each other server's story.
fn refusal(round: &Round, servers: &[TrustedServer], min: u32) -> String {
    let mut out = format!(
        "roughtime: {} of {} servers agree with the local clock ({min} needed)",
        round.agreeing,
        servers.len()
    );
    for s in servers {
        let reply = round.replies.iter().find(|r| r.server == s.name);
        match reply {
            Some(r) if r.agrees => {}
            Some(r) => out.push_str(&format!(
                "; {} is {:+.1} s off (radius {} s)",
                s.name,
                r.offset_us as f64 / 1e6,
                r.radius_s
            )),
            None => {
                let why = round
                    .failures
                    .iter()
                    .rev()
                    .find(|f| f.server == s.name)
                    .map_or("no reply", |f| f.reason.as_str());
                out.push_str(&format!("; {}: {why}", s.name));
            }
        }
    }
    out
}

/// Everything the rounds need, resolved at start.
pub struct Rounds {
    /// The configuration section.
    pub cfg: RoughtimeConfig,
    /// Its servers, keys decoded.
    pub servers: Vec<TrustedServer>,
    /// The accuracy tokens declare.
    pub accuracy: Duration,
    /// Where malfeasance reports go (resolved).
    pub malfeasance_dir: PathBuf,
}

/// Writes a malfeasance report: a new file, never over one (nor through a link).
fn write_report(
    dir: &std::path::Path,
    file: &str,
    report: &serde_json::Value,
) -> Result<(), String> {
    use std::io::Write;
    std::fs::create_dir_all(dir).map_err(|e| e.kind().to_string())?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join(file))
        .map_err(|e| e.kind().to_string())?;
    let text = serde_json::to_vec_pretty(report).map_err(|e| e.to_string())?;
    f.write_all(&text)
        .and_then(|()| f.sync_all())
        .map_err(|e| e.kind().to_string())
}

/// Runs rounds until `stop`.
pub async fn follow(
    rounds: Rounds,
    opinion: Arc<Opinion>,
    log: Option<Arc<AuditLog>>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let Rounds {
        cfg,
        servers,
        accuracy,
        malfeasance_dir,
    } = rounds;
    let opts = Options {
        timeout: Duration::from_millis(cfg.timeout_ms),
        attempts: cfg.attempts,
        accuracy,
    };
    let interval = Duration::from_secs(cfg.interval_s);
    // A round vouches until the next one is overdue by a whole round of timeouts.
    let budget = opts.timeout * cfg.attempts * servers.len() as u32;
    let mut prober = Prober::new(servers.clone());
    let mut agreed_before = None;
    for n in 1u64.. {
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let file = format!("roughtime-{secs}-{n}.json");
        let round = tokio::select! {
            r = prober.round(&opts, &file) => r,
            _ = stop.changed() => return,
        };
        let agreeing = round.agreeing as u32;
        let agree = agreeing >= cfg.min_agreeing;
        let why = (!agree).then(|| refusal(&round, &servers, cfg.min_agreeing));
        opinion.set(why.clone(), Instant::now() + interval * 2 + budget);
        match (&why, agreed_before) {
            (Some(w), _) if cfg.action == RoughtimeAction::Refuse => {
                tracing::error!(reason = %w, "clock: Roughtime disagrees; refusing");
            }
            (Some(w), _) => tracing::error!(reason = %w, "clock: Roughtime disagrees (alarm only)"),
            (None, Some(false)) => tracing::warn!("clock: Roughtime agrees again"),
            (None, _) => {}
        }
        agreed_before = Some(agree);
        metrics.observe_roughtime(&round, agree);
        if let Some(m) = &round.malfeasance {
            tracing::error!(
                earlier = %m.earlier,
                later = %m.later,
                file = %m.file,
                "Roughtime servers contradict each other: a malfeasance report is written"
            );
            if let Err(e) = write_report(&malfeasance_dir, &m.file, &m.report) {
                tracing::error!(error = %e, "cannot write the Roughtime malfeasance report");
            }
        }
        if let Some(log) = &log {
            let record = RoundRecord {
                action: cfg.action.name().into(),
                min_agreeing: cfg.min_agreeing,
                accuracy_us: u64::try_from(accuracy.as_micros()).unwrap_or(u64::MAX),
                agreeing,
                verdict: if agree { "agree" } else { cfg.action.name() }.into(),
                replies: round.replies,
                failures: round.failures,
                malfeasance: round.malfeasance,
            };
            let mut ev = Event::new(kind::CLOCK_ROUGHTIME);
            if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(&record) {
                for (k, v) in fields {
                    ev = ev.with(&k, v);
                }
            }
            log.append(
                ev,
                Box::new(|r| {
                    if let Err(e) = r {
                        tracing::error!(error = %e, "audit log cannot record a Roughtime round");
                    }
                }),
            );
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kokuin_tsa::clock::SecondOpinion;

    #[test]
    fn refuses_until_a_round_agrees_and_again_once_rounds_stop_unless_only_alarming() {
        let now = SystemTime::now();
        let o = Opinion::new(RoughtimeAction::Refuse);
        assert_eq!(
            o.judge(now),
            Err("roughtime: no round has completed yet".into())
        );
        o.set(None, Instant::now() + Duration::from_secs(60));
        assert_eq!(o.judge(now), Ok(()));
        o.set(
            Some("roughtime: 1 of 3".into()),
            Instant::now() + Duration::from_secs(60),
        );
        assert_eq!(o.judge(now), Err("roughtime: 1 of 3".into()));
        // An agreeing round whose time is up: the rounds stopped, so do tokens.
        o.set(None, Instant::now() - Duration::from_millis(1));
        assert!(o.judge(now).unwrap_err().contains("stopped"));
        let alarm = Opinion::new(RoughtimeAction::Alarm);
        assert_eq!(alarm.judge(now), Ok(()));
    }
}
