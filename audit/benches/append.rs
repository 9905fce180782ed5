//! Records/s of the audit log alone: durable appends (write + fdatasync, group commit) from
//! 1 and 64 concurrent writers (1,024 records per iteration), in a temporary directory on the
//! machine's disk.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kokuin_audit::{AuditConfig, AuditLog, Event, kind};
use std::sync::Arc;

fn event(i: u64) -> Event {
    Event::new(kind::TOKEN_ISSUED)
        .with("serial", format!("{i:028x}"))
        .with("gen_time", "2026-11-23T07:12:15.123Z")
        .with("policy", "2.25.184732620371192929406940453947404583605")
        .with("hash", "sha256")
        .with(
            "imprint",
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
        )
        .with("key", "keys/tsu.key")
        .with("client", "127.0.0.1")
        .with("request_id", i)
}

fn appends(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = AuditLog::open(AuditConfig::new(dir.path()), None).unwrap();
    let log = Arc::new(log);
    let mut g = c.benchmark_group("audit_append");
    g.sample_size(10);
    for writers in [1u64, 64] {
        let per = 1024 / writers;
        g.throughput(Throughput::Elements(writers * per));
        g.bench_function(format!("{writers}_writers"), |b| {
            b.iter(|| {
                std::thread::scope(|s| {
                    for w in 0..writers {
                        let log = log.clone();
                        s.spawn(move || {
                            for i in 0..per {
                                log.append_blocking(event(w * per + i)).unwrap();
                            }
                        });
                    }
                });
            })
        });
    }
    g.finish();
}

criterion_group!(benches, appends);
criterion_main!(benches);
