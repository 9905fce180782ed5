//! Bounded file reads: every certificate, token or seal file a command reads is capped, so a
//! wrong path (`/dev/zero`, a disk image) is an error, not an out-of-memory abort.

use std::io::Read;
use std::path::Path;

/// The cap on a certificate, token, seal, request or CRL file read whole: far above any real
/// one (a B-LTA seal with an enveloped document is the largest), far below what hurts.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// Reads at most `max` bytes of `path`; a longer input is an `InvalidData` error.
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(bytes)
}
