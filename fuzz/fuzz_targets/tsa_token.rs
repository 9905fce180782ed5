//! TimeStampResp and TimeStampToken parsing and verification against the seeds' root, as
//! `kokuin verify` does for an auditor's file; and the load tool's cheap TSTInfo read, which
//! must agree with the full parse wherever that succeeds.
#![no_main]

use der::Encode;
use kokuin_tsa::{ParsedResponse, TimeStampToken, VerifyOptions, tst_info_unchecked};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let token = match ParsedResponse::from_der(data).and_then(|p| p.into_token()) {
        Ok(t) => t,
        Err(_) => data.to_vec(),
    };
    let cheap = tst_info_unchecked(&token);
    if let Ok(t) = TimeStampToken::from_der(&token) {
        let cheap = cheap.expect("the full parse succeeded");
        assert_eq!(cheap.to_der().ok(), t.tst_info.to_der().ok());
        let _ = t.verify(&VerifyOptions {
            trust_anchors: common::anchors(),
            ..Default::default()
        });
    }
});
