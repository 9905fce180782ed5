//! The client-side subcommands: thin layers over the library crates.

pub mod audit;
mod audit_ceremonies;
mod audit_fleet;
pub mod audit_lookup;
pub mod audit_proof;
pub mod audit_report;
mod audit_report_charts;
pub mod bench;
pub mod bench_args;
pub mod ceremony;
pub mod certs;
pub mod clock;
pub mod fleet;
pub mod inspect;
pub mod keys;
pub mod parse;
pub mod request;
pub mod seal;
pub mod serve;
pub mod verify;
pub mod verify_args;
pub mod verify_batch;
pub mod verify_seal;

/// What a failed command tells the user, and the exit code it ends with.
#[derive(Debug)]
pub struct CmdError {
    pub code: u8,
    pub message: String,
}

impl CmdError {
    /// Bad input, I/O or usage: exit 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }

    /// The command ran and the answer is "no" (invalid token, refused request): exit 1.
    pub fn negative(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<kokuin_client::ClientError> for CmdError {
    fn from(e: kokuin_client::ClientError) -> Self {
        if e.is_refusal() {
            Self::negative(e.to_string())
        } else {
            Self::usage(e.to_string())
        }
    }
}

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
