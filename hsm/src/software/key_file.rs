//! Private key files: created 0600 and never overwritten, refused when others can read them.

use crate::error::KeyError;
use der::pem::LineEnding;
use std::path::Path;
use zeroize::Zeroizing;

#[cfg(unix)]
pub(super) fn pem_private_key(der: &[u8]) -> Result<Zeroizing<String>, KeyError> {
    der::pem::encode_string("PRIVATE KEY", LineEnding::LF, der)
        .map(Zeroizing::new)
        .map_err(|e| KeyError::Generate(e.to_string()))
}

pub(super) fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
pub(super) fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
pub(super) fn check_private_permissions(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| KeyError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.display().to_string(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
pub(super) fn check_private_permissions(_: &Path) -> Result<(), KeyError> {
    Ok(())
}
