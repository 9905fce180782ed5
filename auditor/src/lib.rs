//! The auditor's side of `kokuin`: `verify` (tokens, seals, batches), `inspect`, `certs
//! verify` and `audit verify/find/prove/verify-proof/consistency/checkpoint/report/export`.
//! Offline checks, years later, on a machine that runs no service: this crate links no
//! server (`kokuin-server`, hyper) — `tests/layout.rs` keeps it so, and `docs/layout.md` says
//! why. `kokuin-fleet` is here for `postgres://` logs only.
#![forbid(unsafe_code)]

/// `println!` for command output. When the reader has gone (`kokuin … | head`), the command
/// ends as a process killed by SIGPIPE would (exit 141) instead of panicking, and never with a
/// success it had not finished reporting.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(141);
        }
    }};
}

pub mod audit;
mod audit_ceremonies;
pub mod audit_fleet;
pub mod audit_lookup;
pub mod audit_proof;
pub mod audit_report;
mod audit_report_charts;
mod audit_report_identity;
mod audit_roughtime;
pub mod certs;
pub mod clock_trace;
pub mod cmd_error;
pub mod input;
pub mod inspect;
mod log_records;
mod verdict_out;
pub mod verify;
pub mod verify_args;
mod verify_batch;
mod verify_pdf;
mod verify_seal;
