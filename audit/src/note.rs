//! Tree checkpoints as C2SP `tlog-checkpoint` signed notes (c2sp.org/signed-note,
//! c2sp.org/tlog-checkpoint): origin, tree size, base64 root hash, and one extension line
//! that commits to the hash chain's head; signed by the audit key with the note signature
//! type 0x02 (ECDSA, as transparency-dev/witness implements it: an ASN.1 DER signature over
//! SHA-256 of the note text; key ID = the first four bytes of SHA-256 of the public key's
//! DER SubjectPublicKeyInfo).
//!
//! ```text
//! kokuin/audit/0c1f…
//! 1042
//! 3v5qP1n…=
//! chain 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//!
//! — kokuin/audit/0c1f… Aq3xM…
//! ```
//!
//! Written by hand: the note format is a few lines, and the crates that implement it are
//! Ed25519-only.

use crate::checkpoint::{CheckpointSigner, CheckpointVerifier};
use crate::error::CheckpointError;
use crate::merkle::Hash;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// c2sp.org/signed-note's signature type for ECDSA.
pub const ECDSA_TYPE: u8 = 0x02;

/// The largest note read: a checkpoint with a few dozen signatures, post-quantum included.
pub const MAX_NOTE_BYTES: usize = 256 * 1024;

/// The extension line's keyword: `chain <hex of the last record's line hash>`.
pub const CHAIN_EXTENSION: &str = "chain";

/// The extension line of a fleet's tree checkpoint.
pub const FLEET_EXTENSION: &str = "fleet";

/// The extension line's keyword of a tree that begins after an accepted loss (`loss.rs`):
/// `start <seq of leaf 0>`.
pub const START_EXTENSION: &str = "start";

/// The origin of a tree epoch that begins at record `start` (`loss.rs`): the log's origin
/// itself for the first epoch, `<origin>/from-<start>` after an accepted loss, so that two
/// epochs are two logs to a witness and never a fork of one.
pub fn epoch_origin(origin: &str, start: u64) -> String {
    match start {
        0 => origin.to_string(),
        s => format!("{origin}/from-{s}"),
    }
}

/// The note key ID of an ECDSA key: SHA-256 of its DER SubjectPublicKeyInfo, first 4 bytes.
pub fn ecdsa_key_id(spki_der: &[u8]) -> [u8; 4] {
    let h = Sha256::digest(spki_der);
    [h[0], h[1], h[2], h[3]]
}

/// The note text of a tree head (c2sp.org/tlog-checkpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeCheckpoint {
    /// The log's identity (first line); also the signing key's name.
    pub origin: String,
    /// Leaves in the tree.
    pub size: u64,
    /// The RFC 9162 root of those leaves.
    pub root: Hash,
    /// The hash chain's head after `size` records (hex), from the extension line.
    pub chain_head: Option<String>,
    /// A fleet's tree (extension line `fleet`): its leaves are every node's records in the
    /// order the integrator appended them (docs/fleet.md), so a leaf's index is not its
    /// record's seq.
    pub fleet: bool,
    /// The seq of the record that is leaf 0 (extension line `start N`, absent for 0): a tree
    /// epoch begun after an accepted loss (`loss.rs`).
    pub start: u64,
}

impl TreeCheckpoint {
    /// The note text, ending in a newline.
    pub fn text(&self) -> String {
        let mut t = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        if let Some(h) = &self.chain_head {
            t.push_str(&format!("{CHAIN_EXTENSION} {h}\n"));
        }
        if self.fleet {
            t.push_str(FLEET_EXTENSION);
            t.push('\n');
        }
        if self.start > 0 {
            t.push_str(&format!("{START_EXTENSION} {}\n", self.start));
        }
        t
    }

    /// Reads a note text.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let bad = |why: &str| CheckpointError::Malformed(format!("not a tlog checkpoint: {why}"));
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("no final newline"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| bad("no origin"))?;
        let size_line = lines.next().ok_or_else(|| bad("no tree size"))?;
        if size_line.len() > 1 && size_line.starts_with('0') {
            return Err(bad("a tree size with leading zeroes"));
        }
        let size = size_line
            .parse()
            .map_err(|_| bad("the tree size is not a number"))?;
        let root: Hash = STANDARD
            .decode(lines.next().ok_or_else(|| bad("no root hash"))?)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| bad("the root is not a base64 SHA-256 hash"))?;
        let mut chain_head = None;
        let mut fleet = false;
        let mut start = 0;
        for l in lines {
            if l.is_empty() {
                return Err(bad("an empty extension line"));
            }
            if let Some(h) = l.strip_prefix("chain ") {
                chain_head = Some(h.to_string());
            }
            if let Some(n) = l.strip_prefix("start ") {
                start = n
                    .parse()
                    .map_err(|_| bad("the start line is not a number"))?;
            }
            fleet |= l == FLEET_EXTENSION;
        }
        Ok(Self {
            origin: origin.to_string(),
            size,
            root,
            chain_head,
            fleet,
            start,
        })
    }
}

/// Signs `cp` with the audit key: the whole note, text and signature line.
pub fn sign(cp: &TreeCheckpoint, signer: &dyn CheckpointSigner) -> Result<String, CheckpointError> {
    let spki = signer.public_key_der().ok_or_else(|| {
        CheckpointError::Sign("the audit key cannot sign notes (no public key)".into())
    })?;
    if !signer.algorithm().starts_with("ecdsa") {
        return Err(CheckpointError::Sign(format!(
            "signed notes take ECDSA keys; the audit key is {}",
            signer.algorithm()
        )));
    }
    let text = cp.text();
    let sig = signer.sign(text.as_bytes())?;
    let mut blob = ecdsa_key_id(&spki).to_vec();
    blob.extend_from_slice(&sig);
    Ok(format!(
        "{text}\n— {} {}\n",
        cp.origin,
        STANDARD.encode(blob)
    ))
}

/// A signed note taken apart: its text and its signature lines.
pub struct SignedNote<'a> {
    /// The text, ending in a newline.
    pub text: &'a str,
    /// (key name, key ID, signature) of each signature line.
    pub signatures: Vec<(&'a str, [u8; 4], Vec<u8>)>,
}

impl<'a> SignedNote<'a> {
    /// Splits `note` at its last blank line (c2sp.org/signed-note §Format).
    pub fn parse(note: &'a str) -> Result<Self, CheckpointError> {
        let bad = |why: &str| CheckpointError::Malformed(format!("not a signed note: {why}"));
        if note.len() > MAX_NOTE_BYTES {
            return Err(bad("too large"));
        }
        if note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(bad("control characters"));
        }
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| bad("no blank line before the signatures"))?;
        let (text, sigs) = (&note[..=split], &note[split + 2..]);
        let mut signatures = Vec::new();
        for line in sigs
            .strip_suffix('\n')
            .ok_or_else(|| bad("no final newline"))?
            .split('\n')
        {
            let rest = line
                .strip_prefix("— ")
                .ok_or_else(|| bad("a signature line without —"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| bad("a signature without a key name"))?;
            let blob = STANDARD
                .decode(b64)
                .map_err(|_| bad("a signature that is not base64"))?;
            if blob.len() < 5 || name.is_empty() {
                return Err(bad("a signature line too short"));
            }
            signatures.push((
                name,
                [blob[0], blob[1], blob[2], blob[3]],
                blob[4..].to_vec(),
            ));
        }
        if signatures.is_empty() {
            return Err(bad("no signature"));
        }
        Ok(Self { text, signatures })
    }
}

/// Verifies a checkpoint note: its origin's signature by a key `verifier` trusts (other
/// signatures, such as witness cosignatures, are ignored here), then reads its text. A
/// signature by a trusted key that does not verify rejects the note.
pub fn verify(
    note: &str,
    verifier: &dyn CheckpointVerifier,
) -> Result<TreeCheckpoint, CheckpointError> {
    let signed = SignedNote::parse(note)?;
    let cp = TreeCheckpoint::parse(signed.text)?;
    let mut verified = false;
    for (name, id, sig) in &signed.signatures {
        if *name != cp.origin {
            continue;
        }
        match verifier.verify_note(*id, signed.text.as_bytes(), sig) {
            Ok(()) => verified = true,
            Err(CheckpointError::UntrustedKey(_)) => {}
            Err(e) => return Err(e),
        }
    }
    if !verified {
        return Err(CheckpointError::UntrustedKey(format!(
            "no signature of {} by a trusted key",
            cp.origin
        )));
    }
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_malformed_texts_are_refused() {
        let cp = TreeCheckpoint {
            origin: "kokuin/audit/test".into(),
            size: 1042,
            root: [7u8; 32],
            chain_head: Some("ab".repeat(32)),
            fleet: false,
            start: 0,
        };
        assert_eq!(TreeCheckpoint::parse(&cp.text()).unwrap(), cp);
        for bad in [
            "",
            "o\n12\n",
            "o\n012\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
            "o\nx\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
            "o\n1\nBwcH\n",
            "o\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
        ] {
            assert!(TreeCheckpoint::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            SignedNote::parse("text\n\n— k AAAA\n").is_err(),
            "short signature"
        );
        assert!(SignedNote::parse("text\n\n— k AAAAAAA=\n").is_ok());
        assert!(
            SignedNote::parse("text\n— k AAAAAAA=\n").is_err(),
            "no blank line"
        );
    }
}
