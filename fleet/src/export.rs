//! Export: every node's chain from the database, written as a file log per node
//! (`DIR/node-NNNNN/segment-000000000000.jsonl` and its `checkpoint.json`), so that
//! `kokuin audit verify DIR` checks it offline, years later, with no database. Rows are
//! written in the order of their `seq` column, as stored: a row moved, removed or changed in
//! the database is damage the file verifier finds and names.
//!
//! `kokuin audit verify postgres://…` is an export to a temporary directory and the same
//! check, so the online and the offline verdicts cannot differ.

use crate::db::SyncDb;
use crate::error::FleetError;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Rows fetched per call: bounded memory and a call well within the deadline.
const PAGE: i64 = 5_000;

/// The directory of node `id` inside an export.
pub fn node_dir(dir: &Path, node_id: i32) -> PathBuf {
    dir.join(format!("node-{node_id:05}"))
}

/// The node directories of an export, in node order; empty for a plain file log.
pub fn node_dirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("node-"))
        })
        .collect();
    v.sort();
    Ok(v)
}

/// One node exported.
#[derive(Clone, Debug)]
pub struct Exported {
    /// The node id.
    pub node_id: i32,
    /// Its directory.
    pub dir: PathBuf,
    /// Rows written.
    pub records: u64,
}

/// Writes every node's chain under `dir` (created); `progress` gets the rows written so far.
pub fn export(
    db: &mut SyncDb,
    dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<Exported>, FleetError> {
    let io = |p: &Path, e: std::io::Error| FleetError::Io(format!("{}: {e}", p.display()));
    db.call(|c| async move { crate::schema::check(&c).await })?;
    let nodes: Vec<i32> = db.call(|c| async move {
        let rows = c
            .query(
                "SELECT node_id FROM kokuin_audit_records
                 UNION SELECT node_id FROM kokuin_audit_checkpoints ORDER BY 1",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| r.try_get(0).map_err(FleetError::from))
            .collect()
    })?;
    let mut out = Vec::new();
    let mut total = 0u64;
    for node_id in nodes {
        let nd = node_dir(dir, node_id);
        std::fs::create_dir_all(&nd).map_err(|e| io(&nd, e))?;
        let seg = nd.join(kokuin_audit::segment::name(0));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&seg).map_err(|e| io(&seg, e))?);
        let mut after: Option<i64> = None;
        let mut records = 0u64;
        loop {
            let page: Vec<(i64, String)> = db.call(|c| async move {
                let rows = match after {
                    None => {
                        c.query(
                            "SELECT seq, line FROM kokuin_audit_records WHERE node_id = $1
                             ORDER BY seq LIMIT $2",
                            &[&node_id, &PAGE],
                        )
                        .await?
                    }
                    Some(a) => {
                        c.query(
                            "SELECT seq, line FROM kokuin_audit_records
                             WHERE node_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                            &[&node_id, &a, &PAGE],
                        )
                        .await?
                    }
                };
                rows.iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect::<Result<Vec<_>, FleetError>>()
            })?;
            let Some((last, _)) = page.last() else { break };
            after = Some(*last);
            for (_, line) in &page {
                // A line holding a newline was not written by the log; kept on one line so
                // that the verifier reports it at its place instead of misnumbering the rest.
                f.write_all(line.replace('\n', "\\n").as_bytes())
                    .and_then(|_| f.write_all(b"\n"))
                    .map_err(|e| io(&seg, e))?;
            }
            records += page.len() as u64;
            total += page.len() as u64;
            progress(total);
        }
        f.into_inner()
            .map_err(|e| io(&seg, e.into_error()))?
            .sync_all()
            .map_err(|e| io(&seg, e))?;
        let checkpoint: Option<String> = db.call(|c| async move {
            let row = c
                .query_opt(
                    "SELECT line FROM kokuin_audit_checkpoints WHERE node_id = $1",
                    &[&node_id],
                )
                .await?;
            Ok(match row {
                Some(r) => Some(r.try_get(0)?),
                None => None,
            })
        })?;
        if let Some(line) = checkpoint {
            let json = serde_json::to_string(&kokuin_audit::checkpoint::LatestCheckpoint { line })
                .map_err(|e| FleetError::Io(e.to_string()))?;
            let p = nd.join(kokuin_audit::segment::CHECKPOINT_FILE);
            std::fs::write(&p, json).map_err(|e| io(&p, e))?;
        }
        out.push(Exported {
            node_id,
            dir: nd,
            records,
        });
    }
    Ok(out)
}

/// The records of a token found by serial, across every node: (node id, seq, line).
pub fn find_serial(db: &mut SyncDb, serial: &str) -> Result<Vec<(i32, i64, String)>, FleetError> {
    let serial = serial.to_ascii_lowercase();
    db.call(|c| async move {
        let rows = c
            .query(
                "SELECT node_id, seq, line FROM kokuin_audit_records WHERE serial = $1
                 ORDER BY node_id, seq",
                &[&serial],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    })
}
