//! `kokuin audit verify` and `kokuin audit find`: the auditor's view of the log.

use super::CmdError;
use kokuin_audit::segment;
use kokuin_audit::verify::verify_dir;
use kokuin_server::audit::TrustedCheckpointCerts;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

pub fn verify(
    dir: &Path,
    trust: &[PathBuf],
    checkpoint: Option<&Path>,
    json: bool,
) -> Result<(), CmdError> {
    let mut certs = Vec::new();
    for t in trust {
        certs.extend(
            kokuin_certs::pem::load_certificates(t).map_err(|e| CmdError::usage(e.to_string()))?,
        );
    }
    if segment::list(dir).map(|s| s.is_empty()).unwrap_or(true) {
        return Err(CmdError::usage(format!(
            "{}: no audit log segments",
            dir.display()
        )));
    }
    let verifier = TrustedCheckpointCerts(certs);
    let tty = std::io::stderr().is_terminal() && !json;
    let mut progress = |n: u64| {
        if tty {
            eprint!("\rverifying… {n} records");
            let _ = std::io::stderr().flush();
        }
    };
    let report = verify_dir(dir, &verifier, checkpoint, &mut progress)
        .map_err(|e| CmdError::usage(format!("{}: {e}", dir.display())))?;
    if tty {
        eprintln!();
    }
    if json {
        let problem = report.problem.as_ref().map(|p| {
            serde_json::json!({
                "index": p.index,
                "damage": p.damage.name(),
                "segment": p.segment.display().to_string(),
                "line": p.line,
                "detail": p.detail,
            })
        });
        out!(
            "{}",
            serde_json::json!({
                "valid": report.problem.is_none(),
                "records": report.records,
                "segments": report.segments,
                "checkpoints": report.checkpoints,
                "last_checkpoint": report.last_checkpoint,
                "head": report.head,
                "problem": problem,
            })
        );
    }
    match &report.problem {
        None => {
            if !json {
                out!(
                    "OK: {} records in {} segment(s), {} checkpoint(s) verified, head {}",
                    report.records,
                    report.segments,
                    report.checkpoints,
                    report.head
                );
                if report.checkpoints == 0 {
                    out!("warning: no checkpoint: truncation of the tail cannot be detected");
                }
            }
            Ok(())
        }
        Some(p) => Err(CmdError::negative(format!(
            "DAMAGED: record #{} ({}, line {}): {} — {}",
            p.index,
            p.segment.display(),
            p.line,
            p.damage.name(),
            p.detail
        ))),
    }
}

/// `kokuin audit accept-loss DIR --reason TEXT`: the one way past a log whose published
/// checkpoint covers records its segments lack. The loss is written into the chain itself.
pub fn accept_loss(dir: &Path, reason: &str) -> Result<(), CmdError> {
    if reason.trim().is_empty() {
        return Err(CmdError::usage(
            "--reason must say why the loss is accepted",
        ));
    }
    let mut cfg = kokuin_audit::AuditConfig::new(dir);
    cfg.accept_loss = Some(reason.to_string());
    let (log, report) = kokuin_audit::AuditLog::open(cfg, None)
        .map_err(|e| CmdError::usage(format!("{}: {e}", dir.display())))?;
    log.close(None)
        .map_err(|e| CmdError::usage(format!("{}: {e}", dir.display())))?;
    match report.loss {
        Some((covered, kept)) => {
            out!(
                "recorded log.loss: the checkpoint covered {covered} records, the log holds {}; \
                 the old checkpoint is kept as {}",
                report.records,
                kept.display()
            );
            Ok(())
        }
        None => Err(CmdError::usage(format!(
            "{}: nothing lost: the log holds every record its checkpoint covers",
            dir.display()
        ))),
    }
}

/// Prints every token.issued record with this serial (hex, as `kokuin verify` shows it).
pub fn find(dir: &Path, serial: &str) -> Result<(), CmdError> {
    for (_, text) in super::audit_lookup::token_records(dir, serial, usize::MAX)? {
        out!("{text}");
    }
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Check every segment, the chain and every checkpoint; exit 0 only when intact.
    Verify {
        dir: PathBuf,
        /// Certificate(s) of the checkpoint key (repeatable).
        #[arg(long, required = true)]
        trust: Vec<PathBuf>,
        /// A checkpoint kept outside the log (default: DIR/checkpoint.json).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Record that the log lost records its last checkpoint vouched for (a deleted or
    /// restored segment), so the service may start again: a `log.loss` record with the
    /// reason, the old checkpoint kept aside as evidence. Never done automatically.
    AcceptLoss {
        dir: PathBuf,
        /// Why, for the accreditation audit (who decided, what happened).
        #[arg(long)]
        reason: String,
    },
    /// Print the record of the token with this serial number (hex).
    Find {
        dir: PathBuf,
        #[arg(long)]
        serial: String,
    },
    /// Write the accreditation audit report of a period: one self-contained HTML file.
    Report(super::audit_report::ReportArgs),
    /// Print the newest signed tree checkpoint (C2SP tlog-checkpoint).
    Checkpoint { dir: PathBuf },
    /// Write the inclusion proof of a token's record (C2SP tlog-proof) in the newest signed
    /// checkpoint.
    Prove {
        dir: PathBuf,
        /// The token's serial number (hex).
        #[arg(long)]
        serial: String,
        /// Where to write the proof (.tlog-proof).
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Verify an inclusion proof offline: the checkpoint's signature, the path, and with
    /// --token that the record is that token's; with --since that the log only grew.
    VerifyProof(super::audit_proof::VerifyProofArgs),
    /// Print the consistency proof from the checkpoint OLD to the checkpoint NEW.
    Consistency {
        dir: PathBuf,
        /// The earlier checkpoint (a signed note file).
        old: PathBuf,
        /// The later checkpoint.
        new: PathBuf,
    },
}

impl AuditCommand {
    /// Runs the command.
    pub fn run(self) -> Result<(), CmdError> {
        match self {
            Self::Verify {
                dir,
                trust,
                checkpoint,
                json,
            } => verify(&dir, &trust, checkpoint.as_deref(), json),
            Self::Find { dir, serial } => find(&dir, &serial),
            Self::AcceptLoss { dir, reason } => accept_loss(&dir, &reason),
            Self::Checkpoint { dir } => super::audit_proof::checkpoint(&dir),
            Self::Report(a) => super::audit_report::run(&a),
            Self::Prove { dir, serial, out } => super::audit_proof::prove(&dir, &serial, &out),
            Self::VerifyProof(a) => super::audit_proof::verify_proof(&a),
            Self::Consistency { dir, old, new } => {
                super::audit_proof::consistency(&dir, &old, &new)
            }
        }
    }
}
