//! `kokuin certs verify` on the published post-quantum certificates: every `x5c` of the
//! composite draft's vectors (3 ML-DSA, 18 composites) and the RFC 9881 example certificates
//! validate as their own anchors; a certificate with one flipped signature bit does not.
//! (The vector files live with the hsm crate's tests.)
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use kokuin_testkit as common;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/hsm/tests/vectors");

fn pem(b64: &str) -> String {
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

fn vectors() -> serde_json::Value {
    let json = std::fs::read_to_string(format!("{VECTORS}/composite-sigs/testvectors.json"));
    serde_json::from_str(&json.unwrap()).unwrap()
}

fn certs_verify(cert: &std::path::Path) -> std::process::Output {
    let c = cert.to_str().unwrap();
    kokuin(&["certs", "verify", c, "--trust", c])
}

#[test]
fn published_pq_certificates_self_verify() {
    let dir = tempdir();
    let doc = vectors();
    for tc in doc["tests"].as_array().unwrap() {
        let id = tc["tcId"].as_str().unwrap();
        let path = dir.path().join(format!("{id}.pem"));
        std::fs::write(&path, pem(tc["x5c"].as_str().unwrap())).unwrap();
        let o = certs_verify(&path);
        assert!(o.status.success(), "{id}: {}", text(&o));
        assert!(text(&o).contains("quantum-safe"), "{id}: {}", text(&o));
    }
    for n in [44, 65, 87] {
        let path = format!("{VECTORS}/ml-dsa-certificates/ML-DSA-{n}.crt");
        let o = certs_verify(std::path::Path::new(&path));
        assert!(o.status.success(), "ML-DSA-{n}: {}", text(&o));
    }
}

#[test]
fn a_flipped_signature_bit_fails() {
    let dir = tempdir();
    let doc = vectors();
    let tc = doc["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tcId"] == "id-MLDSA65-ECDSA-P256-SHA512")
        .unwrap();
    let good = dir.path().join("good.pem");
    std::fs::write(&good, pem(tc["x5c"].as_str().unwrap())).unwrap();
    let der = der::pem::decode_vec(std::fs::read(&good).unwrap().as_slice())
        .unwrap()
        .1;
    let mut bad = der.clone();
    let at = bad.len() - 10; // inside the traditional half of the signature value
    bad[at] ^= 0x04;
    let bad_path = dir.path().join("bad.der");
    std::fs::write(&bad_path, bad).unwrap();
    let o = kokuin(&[
        "certs",
        "verify",
        bad_path.to_str().unwrap(),
        "--trust",
        good.to_str().unwrap(),
    ]);
    assert!(!o.status.success(), "{}", text(&o));
}
