//! Inclusion proofs at 10^5 and 10^6 records (issue #24): making one from the tree files on
//! disk and verifying it, for a record at a random place. Both read or hash O(log n) nodes,
//! so ten times the records should cost about a fifth more (log2 10^6 / log2 10^5 = 1.2), not
//! ten times.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench fails loudly at the first surprise
#![allow(missing_docs)] // a bench crate: nothing in it is a public API

use criterion::{Criterion, criterion_group, criterion_main};
use kokuin_audit::merkle::{inclusion_proof, leaf_hash, root, verify_inclusion};
use kokuin_audit::tree_files::TreeFiles;

fn line(i: u64) -> String {
    format!(
        "{{\"v\":1,\"seq\":{i},\"time\":\"2026-12-01T00:00:00.000Z\",\"type\":\"token.issued\",\
         \"fields\":{{\"serial\":\"{i:028x}\"}},\"prev\":\"{:064x}\"}}",
        i.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )
}

fn proofs(c: &mut Criterion) {
    let mut g = c.benchmark_group("audit_proof");
    for n in [100_000u64, 1_000_000] {
        let dir = tempfile::tempdir().unwrap();
        let mut tree = TreeFiles::open(dir.path()).unwrap();
        let lines: Vec<String> = (0..n).map(line).collect();
        for chunk in lines.chunks(10_000) {
            tree.append_lines(chunk.iter().map(String::as_str)).unwrap();
        }
        let top = root(&tree, n).unwrap();
        // A fixed sequence of places spread over the log (a multiplicative walk).
        let mut at = 1u64;
        let mut next = || {
            at = at.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (at >> 11) % n
        };
        g.bench_function(format!("prove_{n}"), |b| {
            b.iter(|| inclusion_proof(&tree, next(), n).unwrap())
        });
        let samples: Vec<(u64, Vec<[u8; 32]>)> = (0..64)
            .map(|_| {
                let i = next();
                (i, inclusion_proof(&tree, i, n).unwrap())
            })
            .collect();
        let mut k = 0;
        g.bench_function(format!("verify_{n}"), |b| {
            b.iter(|| {
                let (i, path) = &samples[k % samples.len()];
                k += 1;
                verify_inclusion(&leaf_hash(lines[*i as usize].as_bytes()), *i, n, path, &top)
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, proofs);
criterion_main!(benches);
