//! The audit log's tree checkpoints sent to witnesses (c2sp.org/tlog-witness), so that a log
//! that forks or rolls back is caught by someone outside the operator. Each new checkpoint
//! goes to every configured witness with the consistency proof from the last size that
//! witness cosigned; the cosignatures that verify are kept beside the checkpoint in
//! `DIR/checkpoint.cosigned`, which `kokuin audit prove` puts into proofs.

use kokuin_audit::AuditLog;
use kokuin_audit::cosignature::{self};
use kokuin_audit::tree_files::TreeFiles;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

use kokuin_audit::cosignature::COSIGNED_FILE;

pub use kokuin_audit::witness::Witness;

/// How long one witness may take to answer one checkpoint.
pub const WITNESS_DEADLINE: Duration = Duration::from_secs(10);

/// A witness's answer for a note: the cosignature lines, or why there are none.
type Answer = (usize, String, Result<String, String>);

/// Sends every new tree checkpoint of `log` to `witnesses` until `stop`.
///
/// Each witness is asked on a thread of its own, with its own deadline
/// ([`WITNESS_DEADLINE`]), so a witness that hangs delays no other: the cosignatures of
/// those that answer are kept as they arrive, and a witness still busy with an older
/// checkpoint is not asked again until it is done.
pub async fn follow(
    log: Arc<AuditLog>,
    dir: PathBuf,
    witnesses: Vec<Witness>,
    agent: ureq::Agent,
    metrics: Arc<crate::metrics::Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let (answers_tx, mut answers) = tokio::sync::mpsc::unbounded_channel::<Answer>();
    let mut asks = Vec::new();
    let mut keys = Vec::new();
    for (i, mut w) in witnesses.into_iter().enumerate() {
        keys.push(w.key.clone());
        // Room for one checkpoint: a witness still busy is skipped, not queued for.
        let (ask, asked) = std::sync::mpsc::sync_channel::<String>(1);
        let (d, a, tx) = (dir.clone(), agent.clone(), answers_tx.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("witness-{i}"))
            .spawn(move || {
                while let Ok(note) = asked.recv() {
                    let r = submit_note(&d, &a, &mut w, &note);
                    if tx.send((i, note, r)).is_err() {
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a witness thread");
            return;
        }
        asks.push(ask);
    }
    drop(answers_tx);
    let mut current = String::new();
    let mut merged = String::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            Some((i, note, r)) = answers.recv() => {
                let Some(key) = keys.get(i) else { continue };
                match r {
                    // An answer for an older checkpoint is superseded by the newer one.
                    Ok(_) if note != current => {}
                    Ok(lines) => match cosignature::add(&merged, &lines, key) {
                        Ok(m) => {
                            merged = m;
                            keep(&dir, &merged).await;
                            metrics.observe_witness(&key.name, true);
                        }
                        Err(e) => {
                            metrics.observe_witness(&key.name, false);
                            tracing::warn!(witness = %key.name, error = %e, "unusable cosignature");
                        }
                    },
                    Err(e) => {
                        metrics.observe_witness(&key.name, false);
                        tracing::warn!(witness = %key.name, error = %e, "witness did not cosign");
                    }
                }
                continue;
            }
            _ = stop.changed() => return,
        }
        let Some(note) = log.tree_checkpoint() else {
            continue;
        };
        if note == current {
            continue;
        }
        current = note.clone();
        merged = note.clone();
        for ask in &asks {
            // Full: that witness is still answering an older checkpoint.
            let _ = ask.try_send(note.clone());
        }
    }
}

/// Writes the newest checkpoint with the cosignatures gathered so far.
async fn keep(dir: &Path, merged: &str) {
    let (path, bytes) = (dir.join(COSIGNED_FILE), merged.as_bytes().to_vec());
    let written =
        tokio::task::spawn_blocking(move || kokuin_audit::atomic::write(&path, &bytes)).await;
    if !matches!(written, Ok(Ok(()))) {
        tracing::error!("cannot keep the cosigned checkpoint");
    }
}

/// HTTP for the witness protocol: one POST with [`WITNESS_DEADLINE`], a reply of at most
/// 64 KiB.
struct Http<'a>(&'a ureq::Agent);

impl kokuin_audit::witness::Transport for Http<'_> {
    fn post(&self, url: &str, body: &[u8]) -> Result<(u16, String), String> {
        let mut resp = self
            .0
            .post(url)
            .config()
            .timeout_global(Some(WITNESS_DEADLINE))
            .build()
            .send(body)
            .map_err(|e| format!("{url}: {e}"))?;
        let status = resp.status().as_u16();
        let reply = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .map_err(|e| format!("{url}: {e}"))?;
        Ok((status, reply))
    }
}

/// Asks `w` to cosign `note`; returns its cosignature lines.
fn submit_note(
    dir: &Path,
    agent: &ureq::Agent,
    w: &mut Witness,
    note: &str,
) -> Result<String, String> {
    let tree = || -> Result<Box<dyn kokuin_audit::merkle::NodeSource>, String> {
        Ok(Box::new(
            TreeFiles::open_read_only(dir).map_err(|e| e.to_string())?,
        ))
    };
    w.add_checkpoint(&Http(agent), &tree, note)
}
