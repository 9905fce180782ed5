//! A fleet node's share of the fleet's Merkle tree (`kokuin_fleet::integrator`): every
//! [`INTERVAL`] it tries a round (one node at a time wins the database's lock), and keeps the
//! newest signed checkpoint for `GET /audit/v1/checkpoint`, whichever node signed it.

use crate::audit::TrustedCheckpointCerts;
use kokuin_audit::CheckpointSigner;
use kokuin_fleet::SyncDb;
use kokuin_fleet::integrator::{INTERVAL, Integrator, latest_checkpoint};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Runs until `run` turns false (the server stopping). A checkpoint another node signed is
/// served only once its signature verifies under `trusted` (the audit certificate) and its
/// origin is the fleet's: whoever can write the database cannot make the nodes serve a note.
pub fn integrate(
    db: SyncDb,
    signer: Arc<dyn CheckpointSigner>,
    origin: String,
    trusted: TrustedCheckpointCerts,
    slot: Arc<Mutex<Option<String>>>,
    run: &AtomicBool,
) {
    let reader_cfg = db.config().clone();
    let accept = |note: &str| {
        kokuin_audit::note::verify(note, &trusted).is_ok_and(|cp| cp.origin == origin && cp.fleet)
    };
    let mut integrator = Integrator::new(db, signer, origin.clone());
    let mut reader = SyncDb::new(reader_cfg).ok();
    let mut last_read = Instant::now()
        .checked_sub(INTERVAL * 4)
        .unwrap_or_else(Instant::now);
    let mut failing = false;
    while run.load(Ordering::Relaxed) {
        match integrator.round() {
            Ok(Some(note)) => {
                failing = false;
                set(&slot, note);
            }
            Ok(None) => {
                failing = false;
                // Another node may have signed: serve the newest, whoever made it.
                if last_read.elapsed() >= INTERVAL * 2 {
                    last_read = Instant::now();
                    if let Some(Ok(Some(note))) =
                        reader.as_mut().map(|r| latest_checkpoint(r, &accept))
                    {
                        set(&slot, note);
                    }
                }
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
}

fn set(slot: &Mutex<Option<String>>, note: String) {
    if let Ok(mut s) = slot.lock() {
        *s = Some(note);
    }
}
