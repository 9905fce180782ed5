//! The audit log's tree checkpoints sent to witnesses (c2sp.org/tlog-witness), so that a log
//! that forks or rolls back is caught by someone outside the operator. Each new checkpoint
//! goes to every configured witness with the consistency proof from the last size that
//! witness cosigned; the cosignatures that verify are kept beside the checkpoint in
//! `DIR/checkpoint.cosigned`, which `kokuin audit prove` puts into proofs.

use kokuin_audit::AuditLog;
use kokuin_audit::cosignature::{self, WitnessKey};
use kokuin_audit::merkle::consistency_proof;
use kokuin_audit::note::TreeCheckpoint;
use kokuin_audit::tree_files::TreeFiles;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The file of the newest checkpoint with its witnesses' cosignatures.
pub const COSIGNED_FILE: &str = "checkpoint.cosigned";

/// A witness the log submits to.
pub struct Witness {
    /// Its submission prefix; `add-checkpoint` is appended.
    pub url: String,
    /// Its cosignature key.
    pub key: WitnessKey,
    /// The tree size it last cosigned for this log (0: none known yet).
    cosigned: u64,
}

impl Witness {
    /// A witness at `url` signing with `key`.
    pub fn new(url: &str, key: WitnessKey) -> Self {
        Self {
            url: url.trim_end_matches('/').to_string(),
            key,
            cosigned: 0,
        }
    }
}

/// Sends every new tree checkpoint of `log` to `witnesses` until `stop`.
pub async fn follow(
    log: Arc<AuditLog>,
    dir: PathBuf,
    witnesses: Vec<Witness>,
    agent: ureq::Agent,
    mut stop: watch::Receiver<bool>,
) {
    let mut witnesses = witnesses;
    let mut last = String::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = stop.changed() => return,
        }
        let Some(note) = log.tree_checkpoint() else {
            continue;
        };
        if note == last {
            continue;
        }
        let (d, a, n) = (dir.clone(), agent.clone(), note.clone());
        let ws = std::mem::take(&mut witnesses);
        match tokio::task::spawn_blocking(move || cosign(&d, &a, &n, ws)).await {
            Ok(ws) => witnesses = ws,
            Err(e) => {
                tracing::error!(error = %e, "witness task failed");
                return;
            }
        }
        last = note;
    }
}

/// Submits `note` to each witness and writes what they cosigned.
fn cosign(
    dir: &Path,
    agent: &ureq::Agent,
    note: &str,
    mut witnesses: Vec<Witness>,
) -> Vec<Witness> {
    let text = note.rfind("\n\n").map_or(note, |i| &note[..=i]);
    let Ok(cp) = TreeCheckpoint::parse(text) else {
        return witnesses;
    };
    let mut merged = note.to_string();
    for w in &mut witnesses {
        match submit(dir, agent, w, note, &cp) {
            Ok(lines) => match cosignature::add(&merged, &lines, &w.key) {
                Ok(m) => {
                    merged = m;
                    w.cosigned = cp.size;
                }
                Err(e) => tracing::warn!(witness = %w.key.name, error = %e, "unusable cosignature"),
            },
            Err(e) => tracing::warn!(witness = %w.key.name, error = %e, "witness did not cosign"),
        }
    }
    if merged != note
        && let Err(e) = write_atomically(&dir.join(COSIGNED_FILE), merged.as_bytes())
    {
        tracing::error!(error = %e, "cannot keep the cosigned checkpoint");
    }
    witnesses
}

/// One `add-checkpoint` exchange; on 409 the witness says which size it cosigned last, and
/// the request is made again from there once.
fn submit(
    dir: &Path,
    agent: &ureq::Agent,
    w: &mut Witness,
    note: &str,
    cp: &TreeCheckpoint,
) -> Result<String, String> {
    for _ in 0..2 {
        if w.cosigned > cp.size {
            return Err(format!(
                "the witness has cosigned {} records, the log has {}",
                w.cosigned, cp.size
            ));
        }
        let mut body = format!("old {}\n", w.cosigned);
        if w.cosigned > 0 && w.cosigned < cp.size {
            let tree = TreeFiles::open_read_only(dir).map_err(|e| e.to_string())?;
            let proof = consistency_proof(&tree, w.cosigned, cp.size).map_err(|e| e.to_string())?;
            for h in proof {
                body.push_str(&base64_line(&h));
            }
        }
        body.push('\n');
        body.push_str(note);
        let url = format!("{}/add-checkpoint", w.url);
        let mut resp = agent
            .post(&url)
            .send(body.as_bytes())
            .map_err(|e| format!("{url}: {e}"))?;
        let status = resp.status().as_u16();
        let reply = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .map_err(|e| format!("{url}: {e}"))?;
        match status {
            200 => return Ok(reply),
            409 => {
                w.cosigned = reply
                    .trim()
                    .parse()
                    .map_err(|_| format!("{url}: 409 without a size"))?;
            }
            s => return Err(format!("{url}: HTTP {s}: {}", reply.trim())),
        }
    }
    Err("the witness's size kept changing".into())
}

fn base64_line(h: &[u8; 32]) -> String {
    use base64::Engine;
    format!("{}\n", base64::engine::general_purpose::STANDARD.encode(h))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
