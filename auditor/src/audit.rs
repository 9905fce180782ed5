//! `kokuin audit verify`, `find` and `export`: the auditor's view of the log, of files or of a
//! fleet's database.

use crate::audit_fleet::DbArgs;
use crate::cmd_error::CmdError;
use kokuin_audit::segment;
use kokuin_audit::verify::verify_dir;
use kokuin_audit_keys::TrustedCheckpointCerts;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// `kokuin audit verify LOG`: a file log, an export of a fleet's log (a file log per node),
/// or the fleet's database itself.
pub fn verify(
    log: &Path,
    trust: &[PathBuf],
    checkpoint: Option<&Path>,
    json: bool,
    db: &DbArgs,
    roughtime: Option<&Path>,
) -> Result<(), CmdError> {
    let roughtime = roughtime.map(crate::audit_roughtime::trusted).transpose()?;
    let roughtime = roughtime.as_deref();
    let mut certs = Vec::new();
    for t in trust {
        certs.extend(
            kokuin_certs::pem::load_certificates(t).map_err(|e| CmdError::usage(e.to_string()))?,
        );
    }
    let verifier = TrustedCheckpointCerts(certs);
    let Some((nodes, _tmp)) = crate::audit_fleet::node_logs(log, db)? else {
        return verify_one(log, &verifier, checkpoint, json, None, roughtime);
    };
    if checkpoint.is_some() {
        return Err(CmdError::usage(
            "--checkpoint names one log's checkpoint: verify that node's directory",
        ));
    }
    // Every node's chain is checked and each damaged one said; the first decides the exit
    // code (it is said last, by the caller).
    let mut first_err: Option<CmdError> = None;
    for dir in &nodes {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        if let Err(e) = verify_one(dir, &verifier, None, json, name.as_deref(), roughtime) {
            match &first_err {
                None => first_err = Some(e),
                Some(_) => out!("{}", e.message),
            }
        }
    }
    // On the database itself, the tree and the heads too (an export holds neither).
    let mut clean = true;
    if crate::audit_fleet::is_database(log) {
        if verifier.0.is_empty() {
            out!("fleet tree: not checked: name the audit certificate with --trust");
        } else {
            match crate::audit_fleet::verify_tree(log, db, &verifier, json) {
                Ok(c) => clean = c,
                Err(e) => first_err = first_err.or(Some(e)),
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => {
            if !json {
                let verdict = if clean { "OK" } else { "VALID WITH FINDINGS" };
                out!("{verdict}: {} node chain(s) intact", nodes.len());
            }
            Ok(())
        }
    }
}

fn verify_one(
    dir: &Path,
    verifier: &TrustedCheckpointCerts,
    checkpoint: Option<&Path>,
    json: bool,
    node: Option<&str>,
    roughtime: Option<&[kokuin_roughtime::TrustedServer]>,
) -> Result<(), CmdError> {
    if segment::list(dir).map(|s| s.is_empty()).unwrap_or(true) {
        return Err(CmdError::usage(format!(
            "{}: no audit log segments",
            dir.display()
        )));
    }
    let tty = std::io::stderr().is_terminal() && !json;
    let mut progress = |n: u64| {
        if tty {
            eprint!("\rverifying… {n} records");
            let _ = std::io::stderr().flush();
        }
    };
    let report = verify_dir(dir, verifier, checkpoint, &mut progress)
        .map_err(|e| CmdError::usage(format!("{}: {e}", dir.display())))?;
    if tty {
        eprintln!();
    }
    let prefix = node.map(|n| format!("{n}: ")).unwrap_or_default();
    // The ceremonies are read from a chain that verified, never from a damaged one.
    let ceremonies = report
        .problem
        .is_none()
        .then(|| crate::audit_ceremonies::check(dir));
    // So are the Roughtime rounds.
    let rounds = report
        .problem
        .is_none()
        .then(|| crate::audit_roughtime::check(dir, roughtime));
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
                "node": node,
                "valid": report.problem.is_none(),
                "bad_input": report.problem.as_ref().is_some_and(|p| !p.damage.proves_damage()),
                "records": report.records,
                "segments": report.segments,
                "checkpoints": report.checkpoints,
                "last_checkpoint": report.last_checkpoint,
                "head": report.head,
                "problem": problem,
                "findings": findings(&report),
                "ceremonies": match &ceremonies {
                    Some(Ok(l)) => serde_json::json!({
                        "valid": true, "count": l.ceremonies, "officers": l.pin,
                    }),
                    Some(Err(e)) => serde_json::json!({ "valid": false, "problem": e.message }),
                    None => serde_json::Value::Null,
                },
                "roughtime": match &rounds {
                    Some(Ok(r)) => serde_json::json!({
                        "valid": true,
                        "rounds": r.rounds,
                        "refusing": r.refusing,
                        "malfeasance_reports": r.malfeasance,
                        "reverified": r.checked,
                        "replies_verified": r.verified,
                        "untrusted_keys": r.untrusted.iter().map(|(n, k)| serde_json::json!({ "server": n, "public_key": k })).collect::<Vec<_>>(),
                        "agreed_on_untrusted": r.agreed_on_untrusted,
                    }),
                    Some(Err(e)) => serde_json::json!({ "valid": false, "problem": e.message }),
                    None => serde_json::Value::Null,
                },
            })
        );
    }
    match &report.problem {
        None => {
            let ceremonies = match ceremonies {
                Some(Err(e)) => {
                    return Err(CmdError::negative(format!("{prefix}{}", e.message)));
                }
                Some(Ok(l)) => l,
                None => Default::default(),
            };
            let rounds = match rounds {
                Some(Err(e)) => return Err(CmdError::negative(format!("{prefix}{}", e.message))),
                Some(Ok(r)) => r,
                None => Default::default(),
            };
            if !json {
                let verdict =
                    if report.losses.is_empty() && !crate::audit_roughtime::has_findings(&rounds) {
                        "OK"
                    } else {
                        "VALID WITH FINDINGS"
                    };
                out!(
                    "{prefix}{verdict}: {} records in {} segment(s), {} checkpoint(s) verified, head {}",
                    report.records,
                    report.segments,
                    report.checkpoints,
                    report.head
                );
                for l in &report.losses {
                    out!(
                        "{prefix}finding: records {} to {} were lost; the loss was accepted at {} \
                         (record {}): {}",
                        l.lost_from,
                        l.lost_to,
                        l.time,
                        l.seq,
                        l.reason
                    );
                }
                out!("{prefix}{}", crate::audit_ceremonies::sentence(&ceremonies));
                for s in crate::audit_roughtime::sentences(&rounds) {
                    out!("{prefix}{s}");
                }
                if report.checkpoints == 0 {
                    out!(
                        "{prefix}warning: no checkpoint: truncation of the tail cannot be detected"
                    );
                }
            }
            Ok(())
        }
        Some(p) if !p.damage.proves_damage() => Err(CmdError::usage(format!(
            "{prefix}CANNOT BE VERIFIED: record #{} ({}, line {}): {} — {}\n  supply: the \
             certificate of the key that signed this log's checkpoints (--trust); nothing \
             in the log is shown to be changed",
            p.index,
            p.segment.display(),
            p.line,
            p.damage.name(),
            p.detail
        ))),
        Some(p) => Err(CmdError::negative(format!(
            "{prefix}DAMAGED: record #{} ({}, line {}): {} — {}",
            p.index,
            p.segment.display(),
            p.line,
            p.damage.name(),
            p.detail
        ))),
    }
}

/// A verified log's findings for `--json`: each accepted loss.
fn findings(report: &kokuin_audit::verify::Report) -> serde_json::Value {
    report
        .losses
        .iter()
        .map(|l| {
            serde_json::json!({
                "finding": "accepted loss",
                "lost_from": l.lost_from,
                "lost_to": l.lost_to,
                "record": l.seq,
                "time": l.time,
                "reason": l.reason,
            })
        })
        .collect()
}

/// `kokuin audit accept-loss DIR --reason TEXT`: the one way past a log whose published
/// checkpoint covers records its segments lack. The loss is written into the chain itself,
/// and nothing at all is written unless there is a loss to accept: not on a log a server is
/// writing (its lock), not where there is no log.
pub fn accept_loss(dir: &Path, reason: &str) -> Result<(), CmdError> {
    if reason.trim().is_empty() {
        return Err(CmdError::usage(
            "--reason must say why the loss is accepted",
        ));
    }
    if kokuin_fleet::db::is_url(&dir.to_string_lossy()) {
        return Err(CmdError::usage(
            "accept-loss works on a file log; a fleet's records are in its database, whose \
             losses are a matter for its backups (docs/fleet.md)",
        ));
    }
    let is_log = std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir())
        && (dir.join(segment::CHECKPOINT_FILE).exists()
            || segment::list(dir).is_ok_and(|s| !s.is_empty()));
    if !is_log {
        return Err(CmdError::usage(format!(
            "{}: not an audit log directory (no segments, no checkpoint.json)",
            dir.display()
        )));
    }
    let mut cfg = kokuin_audit::AuditConfig::new(dir);
    cfg.accept_loss = Some(reason.to_string());
    // These two name the log themselves.
    let err = |e: kokuin_audit::AuditError| match e {
        kokuin_audit::AuditError::InUse(_) | kokuin_audit::AuditError::NothingLost(_) => {
            CmdError::usage(e.to_string())
        }
        e => CmdError::usage(format!("{}: {e}", dir.display())),
    };
    let (log, report) = kokuin_audit::AuditLog::open(cfg, None).map_err(err)?;
    log.close(None).map_err(err)?;
    let Some((covered, kept)) = report.loss else {
        return Err(CmdError::usage(format!(
            "{}: nothing lost: the log holds every record its checkpoint covers",
            dir.display()
        )));
    };
    out!(
        "recorded log.loss as record {covered}: records {} to {} are lost; the chain goes on \
         from the published checkpoint, and a new tree epoch begins; a copy of that checkpoint \
         is kept as {}",
        report.records,
        covered - 1,
        kept.display()
    );
    Ok(())
}

/// Prints every token.issued record with this serial (hex, as `kokuin verify` shows it), in
/// a file log, in every node of an export, or in the fleet's database.
pub fn find(log: &Path, serial: &str, db: &DbArgs) -> Result<(), CmdError> {
    if crate::audit_fleet::is_database(log) {
        return crate::audit_fleet::find_in_database(log, serial, db);
    }
    let nodes = kokuin_fleet::export::node_dirs(log).unwrap_or_default();
    if nodes.is_empty() {
        for (_, text) in crate::audit_lookup::token_records(log, serial, usize::MAX)? {
            out!("{text}");
        }
        return Ok(());
    }
    let mut found = 0;
    for dir in &nodes {
        if let Ok(records) = crate::audit_lookup::token_records(dir, serial, usize::MAX) {
            for (_, text) in records {
                found += 1;
                out!("{text}");
            }
        }
    }
    if found == 0 {
        return Err(CmdError::negative(format!(
            "no token with serial {serial} in {}",
            log.display()
        )));
    }
    Ok(())
}

/// `kokuin audit …`: the audit log, checked, searched, proved and reported on.
#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Check every segment, the chain and every checkpoint; exit 0 only when intact. LOG: a
    /// directory, an export of a fleet's log, or the fleet's postgres:// URL (every node).
    Verify {
        /// The log.
        #[arg(value_name = "LOG")]
        dir: PathBuf,
        /// Certificate(s) of the checkpoint key (repeatable).
        #[arg(long, required = true)]
        trust: Vec<PathBuf>,
        /// A checkpoint kept outside the log (default: DIR/checkpoint.json).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// One JSON object on stdout instead of text.
        #[arg(long)]
        json: bool,
        /// How to reach a postgres:// LOG.
        #[command(flatten)]
        db: DbArgs,
        /// An RFC 10049 Roughtime server list (JSON) of the servers you trust: every
        /// recorded Roughtime reply is re-verified offline and any key not on it flagged.
        #[arg(long, value_name = "LIST")]
        roughtime_servers: Option<PathBuf>,
    },
    /// Record that the log lost records its last checkpoint vouched for (a deleted or
    /// restored segment), so the service may start again: a `log.loss` record with the
    /// reason, the old checkpoint kept aside as evidence. Never done automatically.
    AcceptLoss {
        /// The log directory.
        dir: PathBuf,
        /// Why, for the accreditation audit (who decided, what happened).
        #[arg(long)]
        reason: String,
    },
    /// Print the record of the token with this serial number (hex). LOG: a directory, an
    /// export of a fleet's log, or the fleet's postgres:// URL.
    Find {
        /// The log.
        #[arg(value_name = "LOG")]
        dir: PathBuf,
        /// The token's serial number (hex).
        #[arg(long)]
        serial: String,
        /// How to reach a postgres:// LOG.
        #[command(flatten)]
        db: DbArgs,
    },
    /// Write every node's chain from the fleet's database as file logs under DIR, which
    /// `audit verify DIR` checks offline with no database.
    Export {
        /// The fleet's postgres:// URL.
        database: PathBuf,
        /// Where to write (node-NNNNN/ per node).
        dir: PathBuf,
        /// How to reach a postgres:// LOG.
        #[command(flatten)]
        db: DbArgs,
    },
    /// Write the accreditation audit report of a period: one self-contained HTML file.
    Report(crate::audit_report::ReportArgs),
    /// Print the newest signed tree checkpoint (C2SP tlog-checkpoint); of the fleet's tree
    /// for a postgres:// LOG.
    Checkpoint {
        /// The log.
        #[arg(value_name = "LOG")]
        dir: PathBuf,
        /// How to reach a postgres:// LOG.
        #[command(flatten)]
        db: DbArgs,
    },
    /// Write the inclusion proof of a token's record (C2SP tlog-proof) in the newest signed
    /// checkpoint.
    Prove {
        /// The log.
        #[arg(value_name = "LOG")]
        dir: PathBuf,
        /// The token's serial number (hex).
        #[arg(long)]
        serial: String,
        /// Where to write the proof (.tlog-proof).
        #[arg(short, long)]
        out: PathBuf,
        /// How to reach a postgres:// LOG.
        #[command(flatten)]
        db: DbArgs,
    },
    /// Verify an inclusion proof offline: the checkpoint's signature, the path, and with
    /// --token that the record is that token's; with --since that the log only grew.
    VerifyProof(crate::audit_proof::VerifyProofArgs),
    /// Print the consistency proof from the checkpoint OLD to the checkpoint NEW.
    Consistency {
        /// The log directory.
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
                db,
                roughtime_servers,
            } => verify(
                &dir,
                &trust,
                checkpoint.as_deref(),
                json,
                &db,
                roughtime_servers.as_deref(),
            ),
            Self::Find { dir, serial, db } => find(&dir, &serial, &db),
            Self::Export { database, dir, db } => {
                crate::audit_fleet::export_cmd(&database, &dir, &db)
            }
            Self::AcceptLoss { dir, reason } => accept_loss(&dir, &reason),
            Self::Checkpoint { dir, db } if crate::audit_fleet::is_database(&dir) => {
                crate::audit_fleet::checkpoint(&dir, &db)
            }
            Self::Checkpoint { dir, .. } => crate::audit_proof::checkpoint(&dir),
            Self::Report(a) => crate::audit_report::run(&a),
            Self::Prove {
                dir,
                serial,
                out,
                db,
            } if crate::audit_fleet::is_database(&dir) => {
                crate::audit_fleet::prove(&dir, &serial, &out, &db)
            }
            Self::Prove {
                dir, serial, out, ..
            } => crate::audit_proof::prove(&dir, &serial, &out),
            Self::VerifyProof(a) => crate::audit_proof::verify_proof(&a),
            Self::Consistency { dir, old, new } => {
                crate::audit_proof::consistency(&dir, &old, &new)
            }
        }
    }
}
