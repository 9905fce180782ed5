//! What the verification page (`POST /verify/v1`) and `kokuin verify --json` judge: any bytes
//! as a token or a seal, with a document digest in every algorithm the page sends.
#![no_main]

use kokuin_eseal::verdict::{DocumentDigests, EvidenceOptions, verify_evidence};
use kokuin_hsm::DigestAlgorithm;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let digests: Vec<(DigestAlgorithm, Vec<u8>)> = [
        DigestAlgorithm::Sha256,
        DigestAlgorithm::Sha384,
        DigestAlgorithm::Sha512,
    ]
    .into_iter()
    .map(|a| (a, a.digest(b"document")))
    .collect();
    let pairs: Vec<(DigestAlgorithm, &[u8])> =
        digests.iter().map(|(a, d)| (*a, d.as_slice())).collect();
    let _ = verify_evidence(
        data,
        &EvidenceOptions {
            trust_anchors: common::anchors(),
            extra_certificates: &[],
            document: DocumentDigests { digests: &pairs },
            at: common::at(),
            form: [
                kokuin_eseal::SealForm::Cades,
                kokuin_eseal::SealForm::Pades,
                kokuin_eseal::SealForm::PdfSignature,
            ][data.len() % 3],
        },
    );
});
