//! `kokuin clock status`: what the kernel reports about the clock, the bound in force, and
//! whether the TSA would issue now.

use super::CmdError;
use kokuin_tsa::clock::kernel::{KernelClock, KernelTime, STA_NANO};
use kokuin_tsa::clock::{TrustedClock, status_name};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub fn status(config: Option<&Path>, check: bool, json: bool) -> Result<(), CmdError> {
    let (accuracy, require_sync) = match config {
        Some(p) => {
            let cfg = kokuin_server::config::Config::load(p)
                .map_err(|e| CmdError::usage(e.to_string()))?;
            let a = cfg.tsa.accuracy;
            (
                Duration::from_secs(u64::from(a.seconds))
                    + Duration::from_millis(u64::from(a.millis))
                    + Duration::from_micros(u64::from(a.micros)),
                cfg.clock.require_sync,
            )
        }
        None => (Duration::from_secs(1), true),
    };
    let k = KernelTime::read().map_err(|e| CmdError::usage(e.to_string()))?;
    let verdict = TrustedClock::new(Box::new(KernelClock::new()), accuracy, require_sync)
        .status()
        .0;
    let offset_ns = if k.status & STA_NANO != 0 {
        k.offset
    } else {
        k.offset * 1000
    };
    if json {
        out!(
            "{}",
            serde_json::json!({
                "state": k.state_name(),
                "flags": k.flags(),
                "synchronised": k.synchronised(),
                "max_error_us": k.max_error_us,
                "est_error_us": k.est_error_us,
                "offset_ns": offset_ns,
                "freq_ppm": k.freq as f64 / 65536.0,
                "tai_offset_s": k.tai,
                "accuracy_us": accuracy.as_micros() as u64,
                "require_sync": require_sync,
                "would_issue": verdict.is_ok(),
                "verdict": status_name(&verdict),
                "reason": verdict.as_ref().err().map(|e| e.to_string()),
            })
        );
    } else {
        out!("kernel clock (adjtimex)");
        out!("  state:          {}", k.state_name());
        out!("  flags:          {}", k.flags().join(" "));
        out!(
            "  synchronised:   {}",
            if k.synchronised() {
                "yes"
            } else {
                "no (STA_UNSYNC)"
            }
        );
        out!("  max error:      {:.6} s", k.max_error_us as f64 / 1e6);
        out!("  est. error:     {:.6} s", k.est_error_us as f64 / 1e6);
        out!("  offset:         {:.9} s", offset_ns as f64 / 1e9);
        out!("  frequency:      {:+.3} ppm", k.freq as f64 / 65536.0);
        out!("  TAI-UTC:        {} s", k.tai);
        out!(
            "bound in force:   {:.6} s{}",
            accuracy.as_secs_f64(),
            if require_sync {
                ""
            } else {
                " (NOT enforced: dev mode)"
            }
        );
        match &verdict {
            Ok(()) => out!("the TSA would issue: yes"),
            Err(e) => out!("the TSA would issue: no — {e}"),
        }
    }
    if check && verdict.is_err() {
        return Err(CmdError::negative(
            "the TSA would refuse (timeNotAvailable)",
        ));
    }
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum ClockCommand {
    /// What the kernel reports, the bound in force, and whether the TSA would issue.
    /// Exit 0 when the clock could be read; with --check, non-zero when the TSA would refuse.
    Status {
        /// Take the declared accuracy and clock policy from this configuration.
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        check: bool,
        #[arg(long)]
        json: bool,
    },
    /// The reference clock's offset to UTC(NICT) by GNSS common view, from the provider's
    /// and NICT's CGGTTS V2E files, offline (writes nothing). Exit 1 when a track is beyond
    /// --threshold-ms, 2 when the files cannot be compared.
    Traceability(kokuin_auditor::clock_trace::TraceabilityArgs),
}

impl ClockCommand {
    /// Runs the command.
    pub fn run(self) -> Result<(), CmdError> {
        match self {
            Self::Status {
                config,
                check,
                json,
            } => status(config.as_deref(), check, json),
            Self::Traceability(a) => kokuin_auditor::clock_trace::run(&a),
        }
    }
}
