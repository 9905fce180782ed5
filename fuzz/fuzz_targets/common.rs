//! What the targets share: the dev root the seed corpora chain to (`fuzz/anchors/`, written
//! by `scripts/fuzz-seeds` with the tokens and seals of the corpora), so that mutated inputs
//! reach signature and path checks, not only the parser.

#![allow(dead_code)] // each target uses part of it

use der::Decode;
use std::sync::OnceLock;
use x509_cert::Certificate;

pub fn anchors() -> &'static [Certificate] {
    static A: OnceLock<Vec<Certificate>> = OnceLock::new();
    A.get_or_init(|| {
        Certificate::from_der(include_bytes!("../anchors/root.der"))
            .map(|c| vec![c])
            .unwrap_or_default()
    })
}

/// The time the seeds were made at: verification at a fixed time keeps runs repeatable.
pub fn at() -> std::time::SystemTime {
    std::time::SystemTime::UNIX_EPOCH
        + std::time::Duration::from_secs(u64::from_be_bytes(*include_bytes!("../anchors/time.bin")))
}
