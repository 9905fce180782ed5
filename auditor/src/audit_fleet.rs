//! The auditor's commands on a fleet's log: `audit verify`, `audit find` and `audit export`
//! where LOG is the fleet's `postgres://` URL, or a directory an export wrote (one file log
//! per node, `node-NNNNN/`). A database is verified by exporting it to a temporary directory
//! and checking that, so the online and the offline verdicts are one check.

use crate::cmd_error::CmdError;
use kokuin_fleet::{DbConfig, SyncDb, export};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// How to reach the fleet's database from the command line.
#[derive(clap::Args, Clone, Default)]
pub struct DbArgs {
    /// With a postgres:// LOG: the password file (default: $KOKUIN_DATABASE_PASSWORD).
    #[arg(long)]
    pub database_password_file: Option<PathBuf>,
    /// With a postgres:// LOG: PEM roots of the database server's certificate (TLS).
    #[arg(long)]
    pub database_ca: Option<PathBuf>,
}

/// Whether LOG names the fleet's database rather than a directory.
pub fn is_database(log: &Path) -> bool {
    kokuin_fleet::db::is_url(&log.to_string_lossy())
}

/// The database at `log` (a postgres:// URL), with the password and CA the flags name.
pub fn db(log: &Path, a: &DbArgs) -> Result<SyncDb, CmdError> {
    DbConfig::new(
        &log.to_string_lossy(),
        a.database_password_file.as_deref(),
        a.database_ca.as_deref(),
    )
    .and_then(SyncDb::new)
    .map_err(|e| CmdError::usage(e.to_string()))
}

fn progress(what: &'static str) -> impl FnMut(u64) {
    let tty = std::io::stderr().is_terminal();
    move |n| {
        if tty {
            eprint!("\r{what}… {n} records");
            let _ = std::io::stderr().flush();
        }
    }
}

/// `kokuin audit export postgres://… DIR`.
pub fn export_cmd(log: &Path, dir: &Path, a: &DbArgs) -> Result<(), CmdError> {
    if !is_database(log) {
        return Err(CmdError::usage("audit export reads a postgres:// URL"));
    }
    let mut db = db(log, a)?;
    let nodes = export::export(&mut db, dir, &mut progress("exporting"))
        .map_err(|e| CmdError::usage(e.to_string()))?;
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    for n in &nodes {
        out!(
            "node {}: {} records → {}",
            n.node_id,
            n.records,
            n.dir.display()
        );
    }
    out!(
        "exported {} node(s); verify offline with: kokuin audit verify {} --trust AUDIT.pem",
        nodes.len(),
        dir.display()
    );
    Ok(())
}

/// The file logs of a fleet's nodes: their directories, and the temporary directory a
/// database was exported to (removed when dropped).
pub type NodeLogs = (Vec<PathBuf>, Option<tempfile::TempDir>);

/// The node directories to verify for LOG, exporting a database first; `None` for a plain
/// file log.
pub fn node_logs(log: &Path, a: &DbArgs) -> Result<Option<NodeLogs>, CmdError> {
    if is_database(log) {
        let tmp = tempfile::tempdir().map_err(|e| CmdError::usage(e.to_string()))?;
        let mut db = db(log, a)?;
        let nodes = export::export(&mut db, tmp.path(), &mut progress("reading"))
            .map_err(|e| CmdError::usage(e.to_string()))?;
        if nodes.is_empty() {
            return Err(CmdError::usage(format!(
                "{}: no audit records",
                db.config().shown()
            )));
        }
        return Ok(Some((
            nodes.into_iter().map(|n| n.dir).collect(),
            Some(tmp),
        )));
    }
    let dirs = export::node_dirs(log).unwrap_or_default();
    Ok((!dirs.is_empty()).then_some((dirs, None)))
}

/// `audit verify postgres://…`, beside the per-node chains: the tree recomputed from the
/// records, the heads and every stored tree and checkpoint row checked against it. Prints
/// each finding; what breaks the signed evidence is an error.
pub fn verify_tree(
    log: &Path,
    a: &DbArgs,
    certs: &kokuin_audit_keys::TrustedCheckpointCerts,
    json: bool,
) -> Result<bool, CmdError> {
    use kokuin_fleet::tree_audit::audit;
    let mut db = db(log, a)?;
    let notes = certs.clone();
    let r = audit(&mut db, std::sync::Arc::new(certs.clone()), &|note| {
        kokuin_audit::note::verify(note, &notes)
            .ok()
            .filter(|cp| cp.fleet)
    })
    .map_err(|e| CmdError::usage(e.to_string()))?;
    let damaged: Vec<_> = r.findings.iter().filter(|f| f.kind.damages()).collect();
    if json {
        let findings: Vec<_> = r
            .findings
            .iter()
            .map(|f| {
                serde_json::json!({
                    "finding": f.kind.name(),
                    "damages": f.kind.damages(),
                    "detail": f.detail,
                })
            })
            .collect();
        out!(
            "{}",
            serde_json::json!({ "fleet_tree": {
                "valid": damaged.is_empty(),
                "leaves": r.leaves,
                "checkpoints": r.checkpoints,
                "findings": findings,
            }})
        );
    } else {
        for f in &r.findings {
            let what = if f.kind.damages() {
                "DAMAGED"
            } else {
                "finding"
            };
            out!("fleet tree: {what}: {}", f.detail);
        }
        if damaged.is_empty() {
            out!(
                "fleet tree: {} leaves recomputed from the records; {} signed checkpoint(s) \
                 match it",
                r.leaves,
                r.checkpoints
            );
        }
    }
    match damaged.first() {
        Some(f) => Err(CmdError::negative(format!(
            "fleet tree DAMAGED: {}",
            f.detail
        ))),
        None => Ok(r.findings.is_empty()),
    }
}

/// `audit find` on a database: the token.issued records with this serial, on any node.
pub fn find_in_database(log: &Path, serial: &str, a: &DbArgs) -> Result<(), CmdError> {
    let mut db = db(log, a)?;
    let want = serial.trim().trim_start_matches("0x");
    let found = export::find_serial(&mut db, want).map_err(|e| CmdError::usage(e.to_string()))?;
    if found.is_empty() {
        return Err(CmdError::negative(format!(
            "no token with serial {serial} in {}",
            db.config().shown()
        )));
    }
    for (_, _, line) in found {
        out!("{line}");
    }
    Ok(())
}

/// `audit checkpoint postgres://…`: the newest signed checkpoint of the fleet's tree.
pub fn checkpoint(log: &Path, a: &DbArgs) -> Result<(), CmdError> {
    let mut db = db(log, a)?;
    let note = kokuin_fleet::integrator::latest_stored_checkpoint(&mut db)
        .map_err(|e| CmdError::usage(e.to_string()))?
        .ok_or_else(|| {
            CmdError::negative("no fleet tree checkpoint yet: the nodes sign one within a second")
        })?;
    out!("{}", note.trim_end_matches('\n'));
    Ok(())
}

/// `audit prove postgres://… --serial HEX -o F`: the token's record's inclusion proof in the
/// fleet's tree.
pub fn prove(log: &Path, serial: &str, out: &Path, a: &DbArgs) -> Result<(), CmdError> {
    let mut db = db(log, a)?;
    let want = serial.trim().trim_start_matches("0x");
    let proof = kokuin_fleet::integrator::prove(&mut db, want)
        .map_err(|e| CmdError::negative(e.to_string()))?
        .ok_or_else(|| {
            CmdError::negative(format!(
                "the record of {serial} is not in the fleet's tree yet; it follows within a second"
            ))
        })?;
    std::fs::write(out, proof.to_text())
        .map_err(|e| CmdError::usage(format!("cannot write {}: {e}", out.display())))?;
    out!(
        "leaf {} of the fleet's tree: {}",
        proof.index,
        out.display()
    );
    Ok(())
}
