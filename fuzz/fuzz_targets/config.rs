//! `kokuin.toml` parsing and checking (`kokuin_server::config`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = kokuin_server::config::Config::parse(text);
    }
});
