//! Raw signing rates of the software keys, one thread: the reference every tokens/s figure
//! is set beside (README, "Performance"). P-256 and RSA-2048 are measured twice, by AWS-LC
//! (what `SoftwareSigner` uses) and by RustCrypto (what it used before), with the same key.
//! `cargo bench -p kokuin-hsm`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kokuin_hsm::{KeyType, MlDsaLevel, Signer, SoftwareSigner};
use pkcs8::DecodePrivateKey;
use signature::Signer as _;
use std::hint::black_box;

/// 300 octets: about the size of a token's signed attributes.
const MESSAGE: [u8; 300] = [0x5a; 300];

fn signing(c: &mut Criterion) {
    let mut g = c.benchmark_group("sign");
    g.throughput(Throughput::Elements(1));

    let p256 = SoftwareSigner::generate(KeyType::P256, "p256").unwrap();
    let pem = p256.to_pkcs8_pem().unwrap();
    let rc = p256::ecdsa::SigningKey::from_pkcs8_pem(&pem).unwrap();
    g.bench_function("p256_aws_lc", |b| {
        b.iter(|| black_box(p256.sign(black_box(&MESSAGE)).unwrap()))
    });
    g.bench_function("p256_rustcrypto", |b| {
        b.iter(|| {
            let s: p256::ecdsa::Signature = rc.sign(black_box(&MESSAGE));
            black_box(s.to_der())
        })
    });

    let rsa = SoftwareSigner::generate(KeyType::Rsa(2048), "rsa").unwrap();
    let pem = rsa.to_pkcs8_pem().unwrap();
    let rc = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(
        rsa::RsaPrivateKey::from_pkcs8_pem(&pem).unwrap(),
    );
    let rsa = rsa
        .with_algorithm(kokuin_hsm::SignatureAlgorithm::RsaPkcs1v15(
            kokuin_hsm::DigestAlgorithm::Sha256,
        ))
        .unwrap();
    g.bench_function("rsa2048_pkcs1_aws_lc", |b| {
        b.iter(|| black_box(rsa.sign(black_box(&MESSAGE)).unwrap()))
    });
    g.bench_function("rsa2048_pkcs1_rustcrypto", |b| {
        b.iter(|| {
            let s: rsa::pkcs1v15::Signature = rc.sign(black_box(&MESSAGE));
            black_box(s)
        })
    });

    let mldsa = SoftwareSigner::generate(KeyType::MlDsa(MlDsaLevel::L65), "mldsa").unwrap();
    g.bench_function("ml_dsa_65", |b| {
        b.iter(|| black_box(mldsa.sign(black_box(&MESSAGE)).unwrap()))
    });
    g.finish();
}

/// The raw verification rate of a P-256 signature through `verify_signature` (what token and
/// certificate checks call), one thread: the reference for `kokuin verify --batch`
/// (`scripts/bench-verify-batch`).
fn verifying(c: &mut Criterion) {
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(1));
    let p256 = SoftwareSigner::generate(KeyType::P256, "p256").unwrap();
    let sig = p256.sign(&MESSAGE).unwrap();
    let id = p256.algorithm().algorithm_identifier().unwrap();
    g.bench_function("p256", |b| {
        b.iter(|| {
            kokuin_hsm::verify_signature(p256.public_key(), &id, None, black_box(&MESSAGE), &sig)
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, signing, verifying);
criterion_main!(benches);
