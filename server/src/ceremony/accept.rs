//! A node's side of dual control: it follows a keyring only after checking its ceremonies
//! from the newest keyring it verified before, which it keeps on its own disk
//! (`keyring-accepted-node-N.toml` beside its serial state, itself checked from the pin when read) —
//! never from the store alone, which whoever can write the keyring file or row controls. No
//! rollback: an older version is refused; no replay: a plan names the version it applies to,
//! and its id appears once.

use super::verify::{Anchor, bootstrap, follow};
use super::{CeremonyRecord, state_hash};
use crate::config::Config;
use crate::keyring::{KeyEntry, Keyring};
use kokuin_ceremony::CeremonyError;
use std::path::PathBuf;

/// A keyring a node verified, and the ceremonies it followed to get there.
pub struct Accepted {
    /// The keyring to serve.
    pub ring: Keyring,
    /// Ceremonies not followed before, in order (for the audit log).
    pub ceremonies: Vec<CeremonyRecord>,
}

/// Where a node keeps the newest keyring it verified.
pub fn kept_path(cfg: &Config) -> PathBuf {
    cfg.resolve(&cfg.tsa.serial_state)
        // Per node: nodes sharing a state directory must not take each other's word for
        // what they followed (each records the ceremonies it follows itself).
        .with_file_name(format!("keyring-accepted-node-{}.toml", cfg.tsa.node_id))
}

/// The certificate bytes a keyring entry names, as this node reads them.
pub fn certificate_of(cfg: &Config) -> impl Fn(&KeyEntry) -> Option<Vec<u8>> + '_ {
    |k| std::fs::read(cfg.resolve(k.key.certificate())).ok()
}

/// The newest keyring this node verified, if any.
pub fn kept(cfg: &Config) -> Option<Keyring> {
    kept_anchor(cfg, cfg.tsa.officers.as_deref()?).map(|(r, _)| r)
}

/// The kept keyring and where it stands, only if it verifies from the pin like any other:
/// the state directory is no more trusted than the store, and a kept file whose officers the
/// pin does not lead to is ignored.
fn kept_anchor(cfg: &Config, pinned: &str) -> Option<(Keyring, Anchor)> {
    let text = std::fs::read_to_string(kept_path(cfg)).ok()?;
    let ring = Keyring::parse(&text, "keyring-accepted.toml").ok()?;
    let start = bootstrap(&ring, pinned).ok()?;
    let (anchor, _) = follow(&ring, &start, &state_hash(&ring, &certificate_of(cfg))).ok()?;
    Some((ring, anchor))
}

/// Checks `ring` as this node must before serving it (see the module). Without dual control
/// configured (`tsa.officers`), a keyring without officers is taken as it is; one with
/// officers is refused, since nothing pins them.
pub fn accept(cfg: &Config, ring: Keyring) -> Result<Accepted, CeremonyError> {
    let Some(pinned) = &cfg.tsa.officers else {
        if ring.officers.is_empty() && ring.ceremonies.is_empty() {
            return Ok(Accepted {
                ring,
                ceremonies: Vec::new(),
            });
        }
        return Err(CeremonyError::Chain(
            "the keyring is under dual control, and this node pins no officers (tsa.officers)"
                .into(),
        ));
    };
    let state = state_hash(&ring, &certificate_of(cfg));
    let kept = kept_anchor(cfg, pinned);
    let anchor = match &kept {
        Some((_, a)) => a.clone(),
        None => bootstrap(&ring, pinned)?,
    };
    let (now, ceremonies) = follow(&ring, &anchor, &state)?;
    if kept.as_ref().is_none_or(|(_, a)| a.version < now.version) {
        let keep = |e: String| CeremonyError::Io(format!("cannot keep the verified keyring: {e}"));
        let text = ring.to_text().map_err(|e| keep(e.to_string()))?;
        kokuin_audit::atomic::write(&kept_path(cfg), text.as_bytes())
            .map_err(|e| keep(e.to_string()))?;
    }
    // A node starting from its pin has followed every ceremony since the init.
    let ceremonies = if kept.is_none() {
        ring.ceremonies.clone()
    } else {
        ceremonies
    };
    Ok(Accepted { ring, ceremonies })
}
