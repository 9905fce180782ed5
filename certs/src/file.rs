//! Bounded file reads: every certificate, token or seal file a command reads is capped, so a
//! wrong path (`/dev/zero`, a disk image) is an error, not an out-of-memory abort.

use std::io::Read;
use std::path::Path;

/// The cap on a certificate, token, seal, request or CRL file read whole: far above any real
/// one (a B-LTA seal with an enveloped document is the largest), far below what hurts.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// Opens `path` for reading only if it is a regular file. The open itself does not wait (a
/// FIFO with no writer would block an ordinary open for ever); a FIFO, device, socket or
/// directory is then an `InvalidInput` error naming what it is.
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nonblocking())
        .open(path)?;
    let t = file.metadata()?.file_type();
    let what = if t.is_file() {
        // Reads of a regular file never wait: the flag changes nothing from here on.
        return Ok(file);
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("{what}, not a file"),
    ))
}

fn nonblocking() -> i32 {
    i32::try_from(rustix::fs::OFlags::NONBLOCK.bits()).unwrap_or(0)
}

/// Reads at most `max` bytes of the regular file `path` ([`open_regular`]); a longer input is
/// an `InvalidData` error.
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_regular(path)?
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_or_a_device_is_refused_without_waiting() {
        let d = std::env::temp_dir().join(format!("kokuin-fifo-{}", std::process::id()));
        let _ = std::fs::remove_file(&d);
        let made = std::process::Command::new("mkfifo").arg(&d).status();
        assert!(made.is_ok_and(|s| s.success()));
        let e = read_bounded(&d, 10).unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
        let _ = std::fs::remove_file(&d);
        let e = read_bounded(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(e.to_string().contains("a device"), "{e}");
        let e = read_bounded(Path::new("/"), 10).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
    }
}
