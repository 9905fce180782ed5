//! Kokuin's service: configuration, the keyring, the audit bridge, the time-stamp authority
//! and e-seal service assembled from them, and the HTTP(S) server that answers for both.
//!
//! The `kokuin` binary's `serve` is [`serve::serve`]; tests start the same server in-process
//! with [`serve::start`].
#![forbid(unsafe_code)]

/// A line on stdout for people and scripts (where the server listens). Nobody reading it is
/// no reason to stop serving, so a closed stdout is ignored, not a panic.
macro_rules! announce {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

pub mod audit;
pub mod ceremony;
pub mod config;
pub mod config_check;
mod config_load;
pub mod cpu_pool;
#[cfg(feature = "dev")]
pub mod dev;
mod dev_stamp;
pub mod error;
pub mod eseal_service;
pub mod fleet_tree;
pub mod http;
pub mod issuance;
pub mod key_config;
pub mod keyring;
pub mod keyring_follow;
pub mod keyring_row;
pub mod keyring_store;
pub mod metrics;
mod metrics_text;
pub mod node;
pub mod refusals;
pub mod roughtime;
pub mod serve;
pub mod service;
pub mod sign_times;
pub mod signing_key;
pub mod traceability;
pub mod witness;
