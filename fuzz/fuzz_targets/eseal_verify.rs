//! CAdES seal verification (B-B to B-LTA) of an enveloping seal, as `kokuin verify` does.
#![no_main]

use kokuin_eseal::verify::{SealVerifyOptions, verify_seal};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let _ = verify_seal(
        data,
        &SealVerifyOptions {
            trust_anchors: common::anchors(),
            extra_certificates: &[],
            detached: None,
            at: common::at(),
            level_policies: &[],
            // Both readings of signing-time: a CAdES seal and a PDF signature's CMS.
            form: [
                kokuin_eseal::SealForm::Cades,
                kokuin_eseal::SealForm::Pades,
                kokuin_eseal::SealForm::PdfSignature,
            ][data.len() % 3],
        },
    );
});
