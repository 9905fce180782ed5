//! The CPU a token costs apart from its signature: parsing and checking a request, building
//! a token with a signer that returns at once, the whole token with an AWS-LC P-256 key,
//! and verifying a token; and, for the post-quantum policies, a token with an ML-DSA-65 and
//! a composite key next to the same signer's raw `sign` in the same run (issue #7: ≥ 90%).
//! `cargo bench -p kokuin-tsa`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use der::Encode;
use kokuin_certs::dev::DevPki;
use kokuin_hsm::{
    DigestAlgorithm, KeyBackend, SignError, SignatureAlgorithm, Signer, SoftwareSigner,
};
use kokuin_tsa::request::{build_request, check_request, parse_request};
use kokuin_tsa::token::TokenSigner;
use kokuin_tsa::{ParsedResponse, TimeStampAuthority, TimeStampToken, VerifyOptions};
use spki::SubjectPublicKeyInfoOwned;
use std::hint::black_box;
use std::sync::Arc;
use std::time::SystemTime;

/// The real key's public half and algorithm, and a constant signature of P-256's length:
/// what is left of `respond` is everything but the signature.
struct NoSignature(SoftwareSigner);

impl Signer for NoSignature {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.0.algorithm()
    }
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        self.0.public_key()
    }
    fn backend(&self) -> KeyBackend {
        KeyBackend::Software
    }
    fn label(&self) -> &str {
        "no-signature"
    }
    fn sign(&self, _: &[u8]) -> Result<Vec<u8>, SignError> {
        Ok(vec![0x30; 72])
    }
}

fn authority(pki: &DevPki, signer: Arc<dyn Signer>) -> TimeStampAuthority {
    let signer = TokenSigner::new(signer, pki.tsu.clone(), &[]).unwrap();
    TimeStampAuthority::unchecked("1.3.6.1.4.1.32473.4419.9", signer).unwrap()
}

fn key(pki: &DevPki) -> SoftwareSigner {
    let pem = pki.tsu_key.to_pkcs8_pem().unwrap();
    let der = der::pem::decode_vec(pem.as_bytes()).unwrap().1;
    SoftwareSigner::from_pkcs8_der(&der, None, "tsu").unwrap()
}

fn tokens(c: &mut Criterion) {
    let pki = DevPki::generate(SystemTime::now()).unwrap();
    let d = DigestAlgorithm::Sha256.digest(b"bench");
    let req = build_request(DigestAlgorithm::Sha256, &d, None, Some(&[7; 8]), true).unwrap();
    let req_der = req.to_der().unwrap();
    let unsigned = authority(&pki, Arc::new(NoSignature(key(&pki))));
    let signed = authority(&pki, Arc::new(key(&pki)));
    let token = ParsedResponse::from_der(&signed.respond(&req_der).0)
        .unwrap()
        .into_token()
        .unwrap();
    let anchors = [pki.root.clone()];

    let mut g = c.benchmark_group("tsa");
    g.throughput(Throughput::Elements(1));
    g.bench_function("request_parse_and_check", |b| {
        b.iter(|| {
            let r = parse_request(black_box(&req_der)).unwrap();
            black_box(check_request(&r, &[]).is_ok())
        })
    });
    g.bench_function("token_build_without_signature", |b| {
        b.iter(|| black_box(unsigned.respond(black_box(&req_der))))
    });
    g.bench_function("token_p256_aws_lc", |b| {
        b.iter(|| black_box(signed.respond(black_box(&req_der))))
    });
    g.bench_function("token_verify", |b| {
        b.iter(|| {
            let t = TimeStampToken::from_der(black_box(&token)).unwrap();
            t.verify(&VerifyOptions {
                trust_anchors: &anchors,
                expected_digest: Some(&d),
                request: Some(&req),
                ..Default::default()
            })
            .unwrap();
        })
    });
    g.finish();
}

/// A token against the raw signature of the same key, for the post-quantum key types.
fn post_quantum(c: &mut Criterion) {
    let pki = DevPki::generate(SystemTime::now()).unwrap();
    let d = DigestAlgorithm::Sha256.digest(b"bench");
    let req = build_request(DigestAlgorithm::Sha256, &d, None, Some(&[7; 8]), true).unwrap();
    let req_der = req.to_der().unwrap();
    let now = SystemTime::now();
    let mut g = c.benchmark_group("tsa_pq");
    g.throughput(Throughput::Elements(1));
    for (name, key_type) in [
        ("ml-dsa-65", "ml-dsa-65"),
        ("composite", "mldsa65-ecdsa-p256-sha512"),
    ] {
        let t = kokuin_hsm::KeyType::from_name(key_type).unwrap();
        let key = Arc::new(SoftwareSigner::generate(t, name).unwrap());
        let cert = kokuin_certs::dev::issue_tsu(
            &pki.root,
            &pki.root_key,
            key.as_ref(),
            "Bench TSU",
            now - std::time::Duration::from_secs(60),
            now + std::time::Duration::from_secs(86_400),
            now + std::time::Duration::from_secs(86_400),
        )
        .unwrap();
        let signer = TokenSigner::new(key.clone(), cert, &[]).unwrap();
        let a = TimeStampAuthority::unchecked("1.3.6.1.4.1.32473.4419.9", signer).unwrap();
        // The signed attributes of a token are about 200 octets.
        let message = [0x5a; 200];
        g.bench_function(format!("{name}_sign_raw"), |b| {
            b.iter(|| black_box(key.sign(black_box(&message)).unwrap()))
        });
        g.bench_function(format!("{name}_token"), |b| {
            b.iter(|| black_box(a.respond(black_box(&req_der))))
        });
    }
    g.finish();
}

criterion_group!(benches, tokens, post_quantum);
criterion_main!(benches);
