//! A fleet node's share of the fleet's Merkle tree (`kokuin_fleet::integrator`): every
//! [`INTERVAL`] it tries a round (one node at a time wins the database's lock), and keeps the
//! newest checkpoint it signed or verified for `GET /audit/v1/checkpoint`.
//!
//! The database is not trusted with the tree. The node keeps, in a file of its own, the newest
//! checkpoint it verified, and never signs or serves one that does not provably extend it
//! (`Integrator::round` proves consistency before signing; a note another node signed is
//! taken only when its signature and consistency verify). On a mismatch — a changed tree node,
//! rows deleted back to an older checkpoint — it stops integrating and serving new
//! checkpoints, logs, and records `tree.mismatch`; tokens keep being issued.

use crate::audit::TrustedCheckpointCerts;
use kokuin_audit::note::TreeCheckpoint;
use kokuin_audit::{AuditLog, CheckpointSigner, Event};
use kokuin_fleet::SyncDb;
use kokuin_fleet::integrator::{INTERVAL, Integrator, Round, consistent, latest_checkpoint};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What a node's tree thread needs besides the database.
pub struct TreeNode {
    /// The audit key, which signs the fleet's checkpoints.
    pub signer: Arc<dyn CheckpointSigner>,
    /// The fleet's origin and the audit certificate, which node heads verify under.
    pub heads: kokuin_fleet::heads::HeadTrust,
    /// The audit certificate, which checkpoints read from the database must verify under.
    pub trusted: TrustedCheckpointCerts,
    /// Where the node keeps the newest checkpoint it verified.
    pub local: PathBuf,
    /// This node's log, for `tree.mismatch` and `fleet.refused`.
    pub log: Option<Arc<AuditLog>>,
    /// For `kokuin_fleet_refused_total`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// This node's id, and how many records its chain holds: how far behind the tree is.
    pub node_id: u16,
    /// See `node_id`.
    pub written: Option<Arc<std::sync::atomic::AtomicU64>>,
    /// Where the lag is kept for `/readyz`.
    pub lag: Arc<TreeLag>,
}

/// How long this node's records have waited for the fleet's tree: the time since the oldest
/// record not yet a leaf was first seen so (to the loop's half second).
pub struct TreeLag {
    bound: std::time::Duration,
    /// The chain's length that had to be in the tree, and since when it was waited for.
    waiting: Mutex<Option<(u64, Instant)>>,
}

impl TreeLag {
    /// Lag past `bound` makes `/readyz` fail.
    pub fn new(bound: std::time::Duration) -> Self {
        Self {
            bound,
            waiting: Mutex::new(None),
        }
    }

    /// After a look: the chain holds `written` records, the tree the first `in_tree`.
    fn observe(&self, written: u64, in_tree: u64) {
        let Ok(mut w) = self.waiting.lock() else {
            return;
        };
        match *w {
            Some((target, _)) if in_tree < target => {}
            _ => *w = (written > in_tree).then(|| (written, Instant::now())),
        }
    }

    /// How long this node's oldest record not yet in the tree has waited (zero: none waits).
    pub fn waited(&self) -> std::time::Duration {
        self.waiting
            .lock()
            .ok()
            .and_then(|w| w.as_ref().map(|(_, since)| since.elapsed()))
            .unwrap_or_default()
    }

    /// The lag and the bound, when the lag is past the bound.
    pub fn lagging(&self) -> Option<(std::time::Duration, std::time::Duration)> {
        let w = self.waiting.lock().ok()?;
        let lag = w.as_ref()?.1.elapsed();
        (lag > self.bound).then_some((lag, self.bound))
    }
}

/// Runs until `run` turns false (the server stopping).
pub fn integrate(db: SyncDb, node: TreeNode, slot: Arc<Mutex<Option<String>>>, run: &AtomicBool) {
    let TreeNode {
        signer,
        heads,
        trusted,
        local,
        log,
        metrics,
        node_id,
        written,
        lag,
    } = node;
    let watch_lag = |reader: &mut Option<SyncDb>| {
        if let (Some(w), Some(r)) = (&written, reader.as_mut())
            && let Ok(in_tree) = leaves_of(r, node_id)
        {
            lag.observe(w.load(Ordering::Relaxed), in_tree);
        }
    };
    let origin = heads.origin().to_string();
    let verify = |note: &str| {
        kokuin_audit::note::verify(note, &trusted)
            .ok()
            .filter(|cp| cp.origin == origin && cp.fleet)
    };
    if let Some(dir) = local.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    // The newest checkpoint this node verified, from its own file (checked like any note).
    let mut newest: Option<(TreeCheckpoint, String)> = std::fs::read_to_string(&local)
        .ok()
        .and_then(|n| verify(&n).map(|cp| (cp, n)));
    if let Some((_, note)) = &newest {
        set(&slot, note.clone());
    }
    let reader_cfg = db.config().clone();
    let mut integrator = Integrator::new(db, signer, heads);
    let mut reader = SyncDb::new(reader_cfg).ok();
    let mut last_read = Instant::now()
        .checked_sub(INTERVAL * 4)
        .unwrap_or_else(Instant::now);
    let mut failing = false;
    while run.load(Ordering::Relaxed) {
        watch_lag(&mut reader);
        match integrator.round(newest.as_ref().map(|(cp, _)| cp)) {
            Ok(Round {
                note: Some(note),
                refused,
            }) => {
                failing = false;
                say_refused(&log, &metrics, refused);
                if let Some(cp) = verify(&note) {
                    adopt(&mut newest, &local, &slot, cp, note);
                }
            }
            Ok(Round {
                note: None,
                refused,
            }) => {
                say_refused(&log, &metrics, refused);
                failing = false;
                // Another node may have signed: served once verified and consistent.
                if last_read.elapsed() >= INTERVAL * 2 {
                    last_read = Instant::now();
                    let found = reader
                        .as_mut()
                        .map(|r| latest_checkpoint(r, &|n| verify(n).is_some()));
                    if let (Some(Ok(Some(note))), Some(r)) = (found, reader.as_mut())
                        && let Some(cp) = verify(&note)
                        && newest.as_ref().is_none_or(|(old, _)| cp.size > old.size)
                    {
                        if newest
                            .as_ref()
                            .is_none_or(|(old, _)| consistent(r, old, &cp))
                        {
                            adopt(&mut newest, &local, &slot, cp, note);
                        } else {
                            let size = newest.as_ref().map_or(0, |(old, _)| old.size);
                            halt(
                                &log,
                                size,
                                "a signed checkpoint in the database does not extend it",
                            );
                            break;
                        }
                    }
                }
            }
            Err(kokuin_fleet::FleetError::TreeMismatch(size, why)) => {
                halt(&log, size, &why);
                break;
            }
            // The database being down already refuses tokens and shows in /readyz: said
            // once here, not every half second.
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "fleet tree: round failed; retrying");
                }
                failing = true;
            }
        }
        std::thread::sleep(INTERVAL);
    }
    // Halted: nothing more is integrated or served, and the lag grows until /readyz says so.
    while run.load(Ordering::Relaxed) {
        watch_lag(&mut reader);
        std::thread::sleep(INTERVAL);
    }
}

/// How many of node `node_id`'s records the stored tree holds (its last leaf's seq + 1).
fn leaves_of(db: &mut SyncDb, node_id: u16) -> Result<u64, kokuin_fleet::FleetError> {
    let id = i32::from(node_id);
    db.call(|c| async move {
        let n: i64 = c
            .query_one(
                "SELECT coalesce(max(seq) + 1, 0) FROM kokuin_tree_leaves WHERE node_id = $1",
                &[&id],
            )
            .await?
            .try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    })
}

/// Takes `cp` as the newest verified checkpoint: kept in the node's file, served.
fn adopt(
    newest: &mut Option<(TreeCheckpoint, String)>,
    local: &std::path::Path,
    slot: &Mutex<Option<String>>,
    cp: TreeCheckpoint,
    note: String,
) {
    if let Err(e) = kokuin_audit::atomic::write(local, note.as_bytes()) {
        tracing::error!(error = %e, "fleet tree: cannot keep the verified checkpoint");
    }
    set(slot, note.clone());
    *newest = Some((cp, note));
}

/// Stops integrating and adopting: says so in the service log and the audit log.
fn halt(log: &Option<Arc<AuditLog>>, size: u64, why: &str) {
    tracing::error!(
        verified_size = size,
        reason = why,
        "fleet tree: the stored tree does not extend the checkpoint this node verified; no \
         checkpoint is signed or served past it until the database is restored and the node \
         restarted"
    );
    if let Some(log) = log {
        let ev = Event::new(kokuin_audit::kind::TREE_MISMATCH)
            .with("verified_size", size)
            .with("reason", why);
        log.append(
            ev,
            Box::new(|r| {
                if let Err(e) = r {
                    tracing::error!(error = %e, "audit log cannot record the tree mismatch");
                }
            }),
        );
    }
}

/// Says each finding of rows left out of the tree: the service log, `/metrics`, and a
/// `fleet.refused` record in this node's chain.
fn say_refused(
    log: &Option<Arc<AuditLog>>,
    metrics: &crate::metrics::Metrics,
    refused: Vec<kokuin_fleet::intake::Refusal>,
) {
    for r in refused {
        tracing::error!(
            node_id = r.node_id,
            from_seq = r.from_seq,
            to_seq = r.to_seq,
            reason = r.reason.as_str(),
            detail = %r.detail,
            "fleet tree: rows no verified head vouches for are left out of the tree"
        );
        metrics
            .fleet_refused
            .get_or_create(&crate::metrics::RefusedLabels {
                reason: r.reason.as_str(),
            })
            .inc();
        if let Some(log) = log {
            let ev = Event::new(kokuin_audit::kind::FLEET_REFUSED)
                .with("node_id", i64::from(r.node_id))
                .with("from_seq", r.from_seq)
                .with("to_seq", r.to_seq)
                .with("reason", r.reason.as_str())
                .with("detail", r.detail);
            log.append(
                ev,
                Box::new(|r| {
                    if let Err(e) = r {
                        tracing::error!(error = %e, "audit log cannot record a fleet refusal");
                    }
                }),
            );
        }
    }
}

fn set(slot: &Mutex<Option<String>>, note: String) {
    if let Ok(mut s) = slot.lock() {
        *s = Some(note);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lag_is_the_age_of_the_oldest_record_not_yet_in_the_tree() {
        let lag = TreeLag::new(std::time::Duration::ZERO);
        lag.observe(5, 5);
        assert!(lag.lagging().is_none(), "nothing waits");
        lag.observe(5, 3);
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(lag.lagging().is_some(), "records 3 and 4 wait");
        let since = lag.waiting.lock().unwrap().unwrap().1;
        // New records while the old ones still wait: still the old ones' age.
        lag.observe(9, 4);
        assert_eq!(lag.waiting.lock().unwrap().unwrap(), (5, since));
        // The old ones taken in, newer ones waiting: their age, from now.
        lag.observe(9, 5);
        let (target, newer) = lag.waiting.lock().unwrap().unwrap();
        assert_eq!(target, 9);
        assert!(newer > since);
        lag.observe(9, 9);
        assert!(lag.lagging().is_none(), "all taken in");
    }
}
