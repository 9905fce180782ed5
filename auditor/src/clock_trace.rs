//! `kokuin clock traceability --local L… --reference R…`: the provider's reference clock
//! against UTC(NICT) by GNSS common view (`kokuin-timetrace`), offline: it reads CGGTTS V2E
//! files and writes nothing. A directory stands for the regular files in it.

use crate::cmd_error::CmdError;
use kokuin_timetrace::{CggttsFile, Comparison, compare, read_all};
use std::path::PathBuf;

/// What `kokuin clock traceability` is asked.
#[derive(clap::Args)]
pub struct TraceabilityArgs {
    /// The provider's receiver's CGGTTS V2E files (or directories of them); repeatable.
    #[arg(long, required = true)]
    pub local: Vec<PathBuf>,
    /// NICT's published CGGTTS V2E files for the same days (`REF = UTC(NICT)`); repeatable.
    #[arg(long, required = true)]
    pub reference: Vec<PathBuf>,
    /// Exit 1 when any track's offset is larger than this, in milliseconds.
    #[arg(long, default_value_t = 100.0)]
    pub threshold_ms: f64,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

fn files(paths: &[PathBuf]) -> Result<Vec<CggttsFile>, CmdError> {
    read_all(paths).map_err(CmdError::usage)
}

fn ms(units_01ns: i64) -> String {
    format!("{:+.4} ms", units_01ns as f64 / 1e7)
}

/// Runs the comparison and prints it.
pub fn run(a: &TraceabilityArgs) -> Result<(), CmdError> {
    let local = files(&a.local)?;
    let reference = files(&a.reference)?;
    let unreadable: usize = local
        .iter()
        .chain(&reference)
        .map(|f| f.unreadable_lines)
        .sum();
    let c = compare(&local, &reference).map_err(CmdError::usage)?;
    let threshold = (a.threshold_ms * 1e7).round() as i64;
    let beyond = c
        .tracks
        .iter()
        .filter(|t| t.offset_01ns.abs() > threshold)
        .count();
    if a.json {
        out!(
            "{}",
            serde_json::json!({
                "comparison": c,
                "unreadable_lines": unreadable,
                "threshold_ms": a.threshold_ms,
                "beyond_threshold": beyond,
            })
        );
    } else {
        print_human(
            &c,
            unreadable,
            a.threshold_ms,
            beyond,
            &a.local,
            &a.reference,
        );
    }
    if c.tracks.is_empty() {
        return Err(CmdError::usage(
            "no track of the local files is in NICT's: no common view to compute from \
             (other days, satellites or frequency codes?)",
        ));
    }
    if beyond > 0 {
        return Err(CmdError::negative(format!(
            "{beyond} track(s) farther from UTC(NICT) than {} ms",
            a.threshold_ms
        )));
    }
    Ok(())
}

fn print_human(
    c: &Comparison,
    unreadable: usize,
    threshold_ms: f64,
    beyond: usize,
    local: &[PathBuf],
    reference: &[PathBuf],
) {
    let names = |p: &[PathBuf]| {
        p.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    out!("local:     {}", names(local));
    out!("reference: {} (UTC(NICT))", names(reference));
    out!(
        "{} tracks in common view; {} local and {} reference tracks without a match; {} \
         unreadable lines",
        c.tracks.len(),
        c.local_only,
        c.reference_only,
        unreadable
    );
    out!("hour (UTC)             tracks   mean offset        min … max");
    for h in &c.hours {
        out!(
            "{}   {:>5}   {:>14}   {} … {}",
            h.hour,
            h.tracks,
            ms(h.mean_01ns),
            ms(h.min_01ns),
            ms(h.max_01ns)
        );
    }
    if let Some(w) = c.worst_01ns() {
        out!(
            "largest offset {} ({} beyond {threshold_ms} ms)",
            ms(w),
            beyond
        );
    }
}
