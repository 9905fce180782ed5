//! Serial numbers unique across restarts and across the nodes of one service.
//!
//! RFC 3161 §2.4.2 requires every token's serial number to be unique for the TSA, "even after
//! a possible interruption (e.g., crash) of the service". The scheme needs no coordination and
//! no write per token:
//!
//! ```text
//!   serial = node id (16 bits) ‖ boot epoch (32 bits) ‖ counter (64 bits)
//! ```
//!
//! - *node id* is set in configuration, distinct for every node of one service;
//! - *boot epoch* is read from the node's state file, incremented and made durable (written,
//!   fsynced, renamed, directory fsynced) before the first token of a run: no two runs of a
//!   node share an epoch, even after a crash;
//! - *counter* starts at 0 each run and is an atomic increment per token.
//!
//! The value is encoded as a positive INTEGER (a leading 0x00 where the top bit is set). The
//! epoch starts at 1, so every serial is at least 2^64: between 65 and 113 bits, inside the
//! 64–160 bits EN 319 422 and RFC 3161 ask for. Losing the state file breaks the guarantee;
//! it is as precious as the keys and belongs in the same backups.

use der::asn1::Int;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why the serial state cannot be claimed: the service then refuses to start, since it could
/// repeat a serial number.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SerialError {
    /// The state file cannot be read or written.
    #[error("serial state file {path}: {source}")]
    Io {
        /// The state file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The state file holds something else than an epoch.
    #[error("serial state file {path} is corrupt: {content:?}")]
    Corrupt {
        /// The state file.
        path: String,
        /// What it holds.
        content: String,
    },
    /// Every epoch has been used.
    #[error("serial state file {path}: boot epoch exhausted")]
    Exhausted {
        /// The state file.
        path: String,
    },
}

/// Serial numbers unique across nodes and restarts (RFC 3161 §2.4.2): node id ‖ boot epoch ‖
/// a counter.
pub struct SerialGenerator {
    prefix: [u8; 6],
    counter: AtomicU64,
}

impl SerialGenerator {
    /// Claims the next boot epoch from `state_file` (created if absent) for `node_id`.
    pub fn open(state_file: &Path, node_id: u16) -> Result<Self, SerialError> {
        let epoch = claim_epoch(state_file)?;
        Ok(Self::with_epoch(node_id, epoch))
    }

    /// A generator for `node_id` in an epoch the caller guarantees unused (tests, tools).
    pub fn with_epoch(node_id: u16, epoch: u32) -> Self {
        let mut prefix = [0u8; 6];
        prefix[..2].copy_from_slice(&node_id.to_be_bytes());
        prefix[2..].copy_from_slice(&epoch.to_be_bytes());
        Self {
            prefix,
            counter: AtomicU64::new(0),
        }
    }

    /// The boot epoch this generator claimed.
    pub fn epoch(&self) -> u32 {
        u32::from_be_bytes([
            self.prefix[2],
            self.prefix[3],
            self.prefix[4],
            self.prefix[5],
        ])
    }

    /// The next serial number.
    pub fn next(&self) -> Result<Int, der::Error> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut raw = [0u8; 14];
        raw[..6].copy_from_slice(&self.prefix);
        raw[6..].copy_from_slice(&n.to_be_bytes());
        // Minimal two's complement of a positive value: no leading zero octets, then one
        // 0x00 if the top bit is set.
        let start = raw.iter().position(|b| *b != 0).unwrap_or(raw.len() - 1);
        let mut bytes = Vec::with_capacity(15);
        if raw[start] & 0x80 != 0 {
            bytes.push(0);
        }
        bytes.extend_from_slice(&raw[start..]);
        Int::new(&bytes)
    }
}

fn claim_epoch(path: &Path) -> Result<u32, SerialError> {
    let io = |source| SerialError::Io {
        path: path.display().to_string(),
        source,
    };
    let previous = match std::fs::read_to_string(path) {
        Ok(s) => {
            let t = s.trim();
            let v = t
                .strip_prefix("epoch=")
                .and_then(|v| v.parse::<u32>().ok())
                .ok_or_else(|| SerialError::Corrupt {
                    path: path.display().to_string(),
                    content: t.chars().take(64).collect(),
                })?;
            Some(v)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(e)),
    };
    let epoch = match previous {
        None => 1,
        Some(v) => v.checked_add(1).ok_or_else(|| SerialError::Exhausted {
            path: path.display().to_string(),
        })?,
    };
    let tmp: PathBuf = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        writeln!(f, "epoch={epoch}").map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(epoch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn epochs_advance_and_serials_differ() {
        let dir = std::env::temp_dir().join(format!("kokuin-serial-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("serial.state");
        let _ = std::fs::remove_file(&f);
        let a = SerialGenerator::open(&f, 7).unwrap();
        let b = SerialGenerator::open(&f, 7).unwrap();
        assert_eq!((a.epoch(), b.epoch()), (1, 2));
        let mut seen = HashSet::new();
        for g in [&a, &b] {
            for _ in 0..1000 {
                let s = g.next().unwrap();
                let bits = s.as_bytes().len() * 8;
                assert!((64..=160).contains(&bits), "{bits}");
                assert!(s.as_bytes()[0] & 0x80 == 0, "negative serial");
                assert!(seen.insert(s.as_bytes().to_vec()));
            }
        }
        let high = SerialGenerator::with_epoch(0xffff, u32::MAX);
        assert_eq!(high.next().unwrap().as_bytes()[0], 0x00);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
