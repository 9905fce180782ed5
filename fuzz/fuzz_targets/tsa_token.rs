//! TimeStampResp and TimeStampToken parsing and verification against the seeds' root, as
//! `kokuin verify` does for an auditor's file.
#![no_main]

use kokuin_tsa::{ParsedResponse, TimeStampToken, VerifyOptions};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let token = match ParsedResponse::from_der(data).and_then(|p| p.into_token()) {
        Ok(t) => t,
        Err(_) => data.to_vec(),
    };
    if let Ok(t) = TimeStampToken::from_der(&token) {
        let _ = t.verify(&VerifyOptions {
            trust_anchors: common::anchors(),
            ..Default::default()
        });
    }
});
