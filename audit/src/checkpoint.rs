//! Signed checkpoints: the chain head and record count, signed by the audit key.
//!
//! The signed message is the ASCII text `kokuin-audit-checkpoint:v1:<count>:<head>` where
//! `count` is the checkpoint record's `seq` (so it covers records 0 to count-1) and `head` is
//! the hash of record count-1 (its `prev`). Fields of a `checkpoint` record: `count`, `head`,
//! `algorithm` (the signature algorithm's name), `key` (the signing certificate's SHA-256,
//! hex) and `signature` (hex).
//!
//! The log crate signs through [`CheckpointSigner`] and checks through
//! [`CheckpointVerifier`]: which key and which certificate is the caller's business, so this
//! crate depends on no key or certificate code.

use crate::error::CheckpointError;
use crate::event::{Event, kind};
use crate::record::Record;
use serde::{Deserialize, Serialize};

/// The key that signs checkpoints (in production, in the HSM).
pub trait CheckpointSigner: Send + Sync {
    /// Name of the signature algorithm, recorded for the verifier.
    fn algorithm(&self) -> String;
    /// Identifies the verifying certificate (its SHA-256, hex).
    fn key_id(&self) -> String;
    /// Signs `message` (see [`message`]).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CheckpointError>;
    /// The public key as DER SubjectPublicKeyInfo, for signed notes' key IDs
    /// (`note.rs`); `None`: this key signs no notes.
    fn public_key_der(&self) -> Option<Vec<u8>> {
        None
    }
}

/// What an auditor trusts to verify checkpoints with.
pub trait CheckpointVerifier {
    /// Ok if `signature` over `message` verifies with the key named `key_id`.
    fn verify(
        &self,
        key_id: &str,
        algorithm: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CheckpointError>;

    /// Ok if `signature` over `text` verifies with the trusted key whose note key ID
    /// (`note::ecdsa_key_id`) is `key_id`; `UntrustedKey` when no trusted key has that ID.
    fn verify_note(
        &self,
        key_id: [u8; 4],
        text: &[u8],
        signature: &[u8],
    ) -> Result<(), CheckpointError> {
        let _ = (text, signature);
        Err(CheckpointError::UntrustedKey(hex::encode(key_id)))
    }
}

/// The octets a checkpoint signs: the format version, the number of records before it and
/// the hash of the last one (`kokuin-audit-checkpoint:v1:COUNT:HEAD`).
pub fn message(count: u64, head: &str) -> Vec<u8> {
    format!("kokuin-audit-checkpoint:v1:{count}:{head}").into_bytes()
}

/// The checkpoint event for a log whose next record will have `seq == count` and
/// `prev == head`.
pub fn event(
    signer: &dyn CheckpointSigner,
    count: u64,
    head: &str,
) -> Result<Event, CheckpointError> {
    let sig = signer.sign(&message(count, head))?;
    Ok(Event::new(kind::CHECKPOINT)
        .with("count", count)
        .with("head", head)
        .with("algorithm", signer.algorithm())
        .with("key", signer.key_id())
        .with("signature", hex::encode(&sig)))
}

/// The latest checkpoint, also written beside the segments as `checkpoint.json`: the record's
/// line itself, so that it can be compared with the log byte for byte.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LatestCheckpoint {
    /// The checkpoint record's line, byte for byte as in its segment.
    pub line: String,
}

/// The largest `checkpoint.json` read: one record line, a few KiB even with an ML-DSA
/// signature. Anything bigger is not a checkpoint, and is not read into memory.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads a `checkpoint.json` (or a copy an auditor kept) and parses the record it holds.
/// A missing file is an error of kind `NotFound`; one that is too large, not UTF-8, not JSON
/// or not a checkpoint record is `InvalidData`, with the reason.
pub fn read_latest(path: &std::path::Path) -> std::io::Result<(LatestCheckpoint, Record)> {
    use std::io::{Error, ErrorKind, Read};
    let invalid = |why: String| Error::new(ErrorKind::InvalidData, why);
    let mut bytes = Vec::new();
    crate::segment::open_regular(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(invalid(format!(
            "larger than {MAX_FILE_BYTES} bytes: not a checkpoint"
        )));
    }
    if bytes.is_empty() {
        return Err(invalid("empty: not a checkpoint".into()));
    }
    let latest: LatestCheckpoint = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(format!("not a checkpoint file: {e}")))?;
    let record = Record::parse_line(&latest.line)
        .map_err(|e| invalid(format!("its line is not a record: {e}")))?;
    if record.kind != kind::CHECKPOINT {
        return Err(invalid(format!(
            "its record is a {:?}, not a checkpoint",
            record.kind
        )));
    }
    Ok((latest, record))
}

/// Checks a checkpoint record's own consistency and signature.
pub fn check(record: &Record, verifier: &dyn CheckpointVerifier) -> Result<(), CheckpointError> {
    let s = |k: &str| {
        record
            .fields
            .get(k)
            .and_then(|v| v.as_str())
            .ok_or_else(|| CheckpointError::Malformed(format!("checkpoint without {k}")))
    };
    let count = record
        .fields
        .get("count")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| CheckpointError::Malformed("checkpoint without count".into()))?;
    if count != record.seq || s("head")? != record.prev {
        return Err(CheckpointError::Misplaced);
    }
    let sig = hex::decode(s("signature")?)
        .map_err(|_| CheckpointError::Malformed("signature is not hex".into()))?;
    verifier.verify(
        s("key")?,
        s("algorithm")?,
        &message(count, &record.prev),
        &sig,
    )
}
