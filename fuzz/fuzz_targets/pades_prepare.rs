//! A PDF a caller sends to be sealed (`format=pades`): whatever the bytes, `prepare` answers
//! without panicking, and what it prepares keeps the input as its prefix, embeds a CMS in the
//! room it reserved, and can be prepared again (a second seal on the first).
#![no_main]

use kokuin_hsm::DigestAlgorithm;
use kokuin_pades::{Kind, Options, prepare};
use libfuzzer_sys::fuzz_target;
use std::time::SystemTime;

fuzz_target!(|data: &[u8]| {
    let opts = Options {
        kind: Kind::Seal {
            name: "株式会社 Fuzz".into(),
            time: SystemTime::UNIX_EPOCH,
        },
        room: 64,
        certify: false,
    };
    let Ok(p) = prepare(data, &opts) else { return };
    let _ = p.digest(DigestAlgorithm::Sha256);
    let out = p.embed(&[0x30; 64]).expect("the room reserved holds what it was reserved for");
    assert!(out.starts_with(data), "an incremental update keeps the input");
    let again = prepare(&out, &Options { kind: Kind::DocTimeStamp, room: 64, certify: false });
    assert!(again.is_ok(), "a prepared PDF takes one more signature: {:?}", again.err());
});
