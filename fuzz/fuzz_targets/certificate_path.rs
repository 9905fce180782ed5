//! Certificate parsing and path validation: the input is a leaf and up to three
//! intermediates, each prefixed by its 2-octet length, validated against the seeds' root.
#![no_main]

use der::Decode;
use kokuin_certs::path::{Purpose, validate_path};
use libfuzzer_sys::fuzz_target;
use x509_cert::Certificate;

mod common;

fuzz_target!(|data: &[u8]| {
    let mut certs = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 && certs.len() < 4 {
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let end = (2 + n).min(rest.len());
        if let Ok(c) = Certificate::from_der(&rest[2..end]) {
            certs.push(c);
        }
        rest = &rest[end..];
    }
    if certs.is_empty() {
        let _ = Certificate::from_der(data);
        return;
    }
    let leaf = certs.remove(0);
    for purpose in [Purpose::TimeStamping, Purpose::ESeal] {
        let _ = validate_path(&leaf, &certs, common::anchors(), common::at(), purpose);
    }
});
