//! CGGTTS V2E files read whole and bounded: at most [`MAX_FILE_BYTES`] each, the header's and
//! every track's checksum verified, and the lines that are not tracks counted rather than
//! dropped unseen.

use cggtts::prelude::CGGTTS;
use std::io::{BufReader, Read};
use std::path::Path;

/// The largest CGGTTS file read: a day of multi-frequency tracks is a few hundred KiB.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Why a comparison cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// A file cannot be read, or is larger than [`MAX_FILE_BYTES`].
    #[error("{0}")]
    Io(String),
    /// A file is not CGGTTS V2E, or a checksum does not match.
    #[error("{file}: not a CGGTTS V2E file: {why}")]
    Format {
        /// The file.
        file: String,
        /// What the parser said.
        why: String,
    },
    /// The reference file's clock (`REF`) is not UTC(NICT): no traceability through it.
    #[error("{file}: its reference is {found}, not UTC(NICT)")]
    NotNict {
        /// The file.
        file: String,
        /// Its `REF` header.
        found: String,
    },
}

/// One CGGTTS file: what it says, and the lines of its track section that are not tracks.
pub struct CggttsFile {
    /// The file's name, as given.
    pub name: String,
    /// The SHA-256 of its bytes (hex): which file an offset was computed from.
    pub sha256: String,
    /// The parsed file.
    pub data: CGGTTS,
    /// Lines after the header that did not parse as tracks (a bad checksum, a cut line).
    pub unreadable_lines: usize,
}

/// Reads the CGGTTS file at `path`.
pub fn read(path: &Path) -> Result<CggttsFile, TraceError> {
    let name = path.display().to_string();
    let io = |e: std::io::Error| TraceError::Io(format!("{name}: {e}"));
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(TraceError::Io(format!("{name}: not a regular file")));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(TraceError::Io(format!(
            "{name}: larger than {MAX_FILE_BYTES} octets"
        )));
    }
    parse(&name, &bytes)
}

/// Parses a CGGTTS file's bytes (`name` for messages). The header's checksum is verified by
/// `cggtts`; each track line's (`CK`: the sum modulo 256 of the line's octets before it, BIPM
/// CGGTTS V2E §2.3) here, since the crate does not, and a track whose line does not verify is
/// left out and counted.
pub fn parse(name: &str, bytes: &[u8]) -> Result<CggttsFile, TraceError> {
    let format = |why: String| TraceError::Format {
        file: name.to_string(),
        why,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| format("not ASCII text".into()))?;
    // The header, the blank line, two lines of column titles, then one line per track.
    // Receivers write CRLF or LF line ends.
    let (header, body) = text
        .split_once("\r\n\r\n")
        .or_else(|| text.split_once("\n\n"))
        .ok_or_else(|| format("no blank line after the header".into()))?;
    let mut lines = body.lines();
    let titles: Vec<&str> = lines.by_ref().take(2).collect();
    let mut kept = format!("{header}\n\n{}\n", titles.join("\n"));
    let mut bad = 0usize;
    let mut total = 0usize;
    for line in lines.filter(|l| !l.trim().is_empty()) {
        total += 1;
        if checksum_holds(line) {
            kept.push_str(line);
            kept.push('\n');
        } else {
            bad += 1;
        }
    }
    let data = CGGTTS::parse(&mut BufReader::new(kept.as_bytes()), false)
        .map_err(|e| format(e.to_string()))?;
    Ok(CggttsFile {
        name: name.to_string(),
        sha256: sha256_hex(bytes),
        unreadable_lines: total.saturating_sub(data.tracks.len()).max(bad),
        data,
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Files read from a directory at most (a year of daily files per constellation).
pub const MAX_FILES: usize = 4096;

/// Every CGGTTS file named: a directory stands for the regular files in it (not followed
/// further, special files skipped), in name order, at most [`MAX_FILES`] in all.
pub fn read_all(paths: &[std::path::PathBuf]) -> Result<Vec<CggttsFile>, TraceError> {
    let mut found = Vec::new();
    for p in paths {
        let io = |e: std::io::Error| TraceError::Io(format!("{}: {e}", p.display()));
        if std::fs::metadata(p).map_err(io)?.is_dir() {
            for entry in std::fs::read_dir(p).map_err(io)?.take(MAX_FILES + 1) {
                let path = entry.map_err(io)?.path();
                if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                    found.push(path);
                }
            }
        } else {
            found.push(p.clone());
        }
        if found.len() > MAX_FILES {
            return Err(TraceError::Io(format!(
                "more than {MAX_FILES} files: give fewer days at once"
            )));
        }
    }
    found.sort();
    found.iter().map(|p| read(p)).collect()
}

/// Whether a track line ends with the checksum of what precedes it.
fn checksum_holds(line: &str) -> bool {
    let Some(split) = line.len().checked_sub(2) else {
        return false;
    };
    let (body, ck) = line.split_at(split);
    let sum = body.bytes().fold(0u8, u8::wrapping_add);
    u8::from_str_radix(ck, 16).is_ok_and(|ck| ck == sum)
}
