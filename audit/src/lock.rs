//! One writer per log: an exclusive lock on `DIR/writer.lock`, taken before anything in the
//! directory is changed and held for as long as the log is open.
//!
//! Two writers on one log each chain records onto the head they last saw; whichever writes
//! second breaks the chain, and checkpoints signed by either contradict what survives. The
//! lock is `flock(2)` (through `File::try_lock`): it belongs to the open file, so it goes
//! away with the process however it ends, and a lock left by a killed process never blocks a
//! restart. The file's text names the holder, for the refusal a second writer prints; it is
//! information only, never trusted for the decision.

use crate::error::{AuditError, io};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The lock file's name, beside the segments.
pub const LOCK_FILE: &str = "writer.lock";

/// The most of a lock file's text shown in a refusal.
const MAX_HOLDER_BYTES: u64 = 256;

/// Held while a log (or another single-writer resource) is open for writing; released when
/// dropped or when the process ends.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
    path: PathBuf,
}

impl WriterLock {
    /// Takes the lock of the log in `dir`, or refuses at once, naming the holder.
    pub fn acquire(dir: &Path) -> Result<Self, AuditError> {
        Self::acquire_file(&dir.join(LOCK_FILE), "audit log", dir)
    }

    /// Takes the lock at `path` for `what` kept at `resource` (the names the refusal uses).
    pub fn acquire_file(path: &Path, what: &str, resource: &Path) -> Result<Self, AuditError> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            // A link planted at the lock's name must not redirect the holder's text.
            .custom_flags(rustix_nofollow())
            .open(path)
            .map_err(|e| io(path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = (&file).take(MAX_HOLDER_BYTES).read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(AuditError::InUse(format!(
                    "the {what} {} is being written by another process ({}); one writer at \
                     a time: stop it first",
                    resource.display(),
                    if holder.is_empty() {
                        "holder unknown"
                    } else {
                        holder
                    }
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(path, e)),
        }
        let text = format!(
            "pid {} since {}",
            std::process::id(),
            humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        );
        file.set_len(0)
            .and_then(|()| file.write_all(text.as_bytes()))
            .map_err(|e| io(path, e))?;
        Ok(Self {
            _file: file,
            path: path.to_path_buf(),
        })
    }

    /// Where the lock is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(target_os = "linux")]
fn rustix_nofollow() -> i32 {
    // The flag's bits fit an i32 on every Linux architecture.
    i32::try_from(rustix::fs::OFlags::NOFOLLOW.bits()).unwrap_or(0)
}

#[cfg(not(target_os = "linux"))]
fn rustix_nofollow() -> i32 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_with_the_holder_and_the_lock_dies_with_its_holder() {
        let d = tempfile::tempdir().unwrap();
        let first = WriterLock::acquire(d.path()).unwrap();
        let e = WriterLock::acquire(d.path()).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, AuditError::InUse(_)), "{msg}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        drop(first);
        WriterLock::acquire(d.path()).unwrap();
    }
}
