//! Audit records as `kokuin audit verify` reads them: each line parsed in canonical form,
//! the chain of hashes followed, checkpoints decoded.
#![no_main]

use kokuin_audit::record::{Record, line_hash};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut prev: Option<String> = None;
    for line in text.split('\n') {
        if let Ok(r) = Record::parse_line(line) {
            if let Some(p) = &prev {
                let _ = *p == r.prev;
            }
        }
        prev = Some(line_hash(line));
    }
});
