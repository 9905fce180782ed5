//! Witness cosignatures on tree checkpoints (c2sp.org/tlog-cosignature, the Ed25519 type
//! 0x04): a witness that verified the log only grew signs, with a timestamp, the checkpoint
//! it saw. A proof carrying enough of them shows that the checkpoint is the one everybody
//! was shown, not a fork made for one auditor.
//!
//! Witness keys are given as c2sp.org/signed-note verifier keys:
//! `<name>+<hex key ID>+<base64(0x04 || 32-byte Ed25519 public key)>`.

use crate::error::CheckpointError;
use crate::note::SignedNote;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// The file in a log directory that holds the newest checkpoint with the witnesses'
/// cosignatures (written by the server's witness client, read by `kokuin audit prove`).
pub const COSIGNED_FILE: &str = "checkpoint.cosigned";

/// c2sp.org/signed-note's signature type of timestamped Ed25519 cosignatures.
pub const ED25519_COSIGNATURE_TYPE: u8 = 0x04;

/// A witness an auditor trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessKey {
    /// The witness's name (the signature lines' key name).
    pub name: String,
    /// `SHA-256(name || "\n" || 0x04 || public key)[:4]`.
    pub key_id: [u8; 4],
    /// The Ed25519 public key.
    pub public_key: [u8; 32],
}

impl WitnessKey {
    /// Reads a verifier key (`name+hexid+base64key`), checking its key ID.
    pub fn parse_vkey(vkey: &str) -> Result<Self, CheckpointError> {
        let bad = |why: &str| CheckpointError::Malformed(format!("witness key {vkey:?}: {why}"));
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("not name+id+key"));
        };
        let key = STANDARD
            .decode(key)
            .map_err(|_| bad("the key is not base64"))?;
        if key.len() != 33 || key[0] != ED25519_COSIGNATURE_TYPE {
            return Err(bad("not an Ed25519 cosignature key (type 0x04, 32 bytes)"));
        }
        let mut public_key = [0u8; 32];
        public_key.copy_from_slice(&key[1..]);
        let w = Self::new(name, public_key);
        if hex::encode(w.key_id) != id.to_ascii_lowercase() {
            return Err(bad("the key ID is not the key's"));
        }
        Ok(w)
    }

    /// The witness `name` with this public key.
    pub fn new(name: &str, public_key: [u8; 32]) -> Self {
        let mut h = Sha256::new();
        h.update(name.as_bytes());
        h.update([b'\n', ED25519_COSIGNATURE_TYPE]);
        h.update(public_key);
        let d = h.finalize();
        Self {
            name: name.to_string(),
            key_id: [d[0], d[1], d[2], d[3]],
            public_key,
        }
    }

    /// The verifier key text.
    pub fn vkey(&self) -> String {
        let mut k = vec![ED25519_COSIGNATURE_TYPE];
        k.extend_from_slice(&self.public_key);
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            STANDARD.encode(k)
        )
    }
}

/// The message a v1 Ed25519 cosignature signs: `cosignature/v1`, `time <t>`, then the
/// checkpoint's note text.
pub fn cosigned_message(note_text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{note_text}").into_bytes()
}

/// The witnesses among `trusted` whose cosignature on `note` verifies, with their
/// timestamps. A cosignature by a trusted witness that does not verify rejects the note.
pub fn verify(note: &str, trusted: &[WitnessKey]) -> Result<Vec<(String, u64)>, CheckpointError> {
    let signed = SignedNote::parse(note)?;
    let mut out = Vec::new();
    for (name, id, sig) in &signed.signatures {
        let Some(w) = trusted.iter().find(|w| w.name == *name && w.key_id == *id) else {
            continue;
        };
        let bad = |why: &str| CheckpointError::BadSignature(format!("witness {name}: {why}"));
        if sig.len() != 8 + 64 {
            return Err(bad("not a timestamped Ed25519 signature"));
        }
        let mut t = [0u8; 8];
        t.copy_from_slice(&sig[..8]);
        let timestamp = u64::from_be_bytes(t);
        let key = ed25519_dalek::VerifyingKey::from_bytes(&w.public_key)
            .map_err(|_| bad("its public key is not an Ed25519 point"))?;
        let s = ed25519_dalek::Signature::from_slice(&sig[8..])
            .map_err(|_| bad("malformed signature"))?;
        key.verify_strict(&cosigned_message(signed.text, timestamp), &s)
            .map_err(|_| bad("the cosignature does not verify"))?;
        if !out.iter().any(|(n, _)| n == name) {
            out.push((name.to_string(), timestamp));
        }
    }
    Ok(out)
}

/// `note` with the signature lines of `cosignatures` (a witness's reply) added, keeping only
/// those by `witness` that verify.
pub fn add(
    note: &str,
    cosignatures: &str,
    witness: &WitnessKey,
) -> Result<String, CheckpointError> {
    let mut merged = note.to_string();
    for line in cosignatures.lines().filter(|l| l.starts_with("— ")) {
        let candidate = format!("{note}{line}\n");
        if verify(&candidate, std::slice::from_ref(witness))?
            .iter()
            .any(|(n, _)| *n == witness.name)
            && !merged.contains(line)
        {
            merged.push_str(line);
            merged.push('\n');
        }
    }
    Ok(merged)
}
