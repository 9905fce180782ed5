//! Reading what an auditor gives: evidence files bounded in size, documents hashed as they
//! are read.

use crate::cmd_error::CmdError;

/// Reads a token, seal, request or certificate file, at most
/// [`kokuin_certs::file::MAX_INPUT_BYTES`].
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, CmdError> {
    kokuin_certs::file::read_bounded(path, kokuin_certs::file::MAX_INPUT_BYTES)
        .map_err(|e| CmdError::usage(format!("cannot read {}: {e}", path.display())))
}

/// Hashes a file in 64 KiB blocks, so any size fits in constant memory.
pub fn hash_file(
    path: &std::path::Path,
    alg: kokuin_hsm::DigestAlgorithm,
) -> Result<Vec<u8>, CmdError> {
    use std::io::Read;
    let mut f = kokuin_certs::file::open_regular(path)
        .map_err(|e| CmdError::usage(format!("cannot read {}: {e}", path.display())))?;
    let mut h = alg.hasher();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| CmdError::usage(format!("cannot read {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize())
}
