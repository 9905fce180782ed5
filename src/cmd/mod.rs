//! The subcommands that are not the auditor's (those are `kokuin-auditor`'s, which links no
//! server): thin layers over the library crates.

pub mod bench;
pub mod bench_args;
pub mod ceremony;
pub mod clock;
pub mod config;
pub mod fleet;
pub mod keys;
pub mod parse;
pub mod request;
pub mod seal;
pub mod serve;
pub mod verify_ui;

pub use kokuin_auditor::cmd_error::CmdError;
pub use kokuin_auditor::input::{hash_file, read_file};

/// A client error as a command's: a refusal by the service is "no" (exit 1), anything else
/// could not be done (exit 2).
pub fn client_error(e: kokuin_client::ClientError) -> CmdError {
    if e.is_refusal() {
        CmdError::negative(e.to_string())
    } else {
        CmdError::usage(e.to_string())
    }
}
