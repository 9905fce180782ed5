//! What one integrator round costs when the fleet's tree is large (docs/performance.md, "The
//! fleet tree's round"): a throwaway cluster, `LEAVES` real records of one node integrated,
//! then rounds of `BATCH` new records each, timed one by one. Not a test (nothing is
//! asserted on time); run by `scripts/bench-fleet-round`.
//!
//! usage: round_at_scale [LEAVES (default 1000000)] [BATCH (default 1000)] [ROUNDS (default 20)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a measurement: stop loudly at a surprise
#![allow(missing_docs)]

use kokuin_audit::{AuditConfig, AuditLog, Event, kind};
use kokuin_fleet::heads::HeadTrust;
use kokuin_fleet::integrator::Integrator;
use kokuin_fleet::log_storage::{PgStorage, Signing};
use kokuin_fleet::node_key::NodeKey;
use kokuin_fleet::{DbConfig, SyncDb};
use kokuin_testkit::audit_key::key;
use kokuin_testkit::postgres::Postgres;
use std::sync::Arc;
use std::time::Instant;

const ORIGIN: &str = "bench.example/audit/fleet";

fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .nth(i)
        .map_or(default, |a| a.parse().expect("a whole number"))
}

fn main() {
    let (leaves, batch, rounds) = (arg(1, 1_000_000), arg(2, 1000), arg(3, 20));
    let pg = Postgres::start();
    let db =
        || SyncDb::new(DbConfig::new(&pg.url(), Some(&pg.password_file), None).unwrap()).unwrap();
    db().call(|c| async move { kokuin_fleet::schema::migrate(&c, &Default::default()).await })
        .unwrap();
    let k = key();
    let dir = tempfile::tempdir().unwrap();
    let node_key =
        NodeKey::load_or_make(&dir.path().join("node-1"), 1, ORIGIN, k.as_ref()).unwrap();
    let signing = Signing {
        key: node_key,
        trust: HeadTrust::new(ORIGIN.into(), k.clone()),
    };
    let (storage, rec) = PgStorage::open(db(), 1, signing).unwrap();
    let log = Arc::new(
        AuditLog::open_on(
            AuditConfig::new("unused"),
            Box::new(storage),
            rec,
            Some(k.clone()),
        )
        .unwrap()
        .0,
    );
    // Many writers, so the log commits in large batches.
    let write = |n: u64, from: u64| {
        std::thread::scope(|s| {
            for t in 0..16 {
                let log = log.clone();
                s.spawn(move || {
                    for i in (t..n).step_by(16) {
                        log.append_blocking(
                            Event::new(kind::TOKEN_ISSUED)
                                .with("serial", format!("{:016x}", from + i))
                                .with("policy", "2.25.1"),
                        )
                        .unwrap();
                    }
                });
            }
        });
        // The head that covers the last record is signed once the writer is idle: wait for it,
        // so that the round timed next takes in the whole batch.
        let mut heads = db();
        while !heads
            .call(|c| async move {
                Ok(c.query_one(
                    "SELECT (SELECT max(seq) FROM kokuin_node_heads) =
                            (SELECT max(seq) FROM kokuin_audit_records)",
                    &[],
                )
                .await?
                .try_get::<_, Option<bool>>(0)?
                .unwrap_or(false))
            })
            .unwrap()
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let mut integrator = Integrator::new(db(), k.clone(), HeadTrust::new(ORIGIN.into(), k.clone()));
    let t = Instant::now();
    write(leaves, 0);
    eprintln!(
        "wrote {leaves} records in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    while integrator.round(None).unwrap().note.is_some() {}
    eprintln!("integrated them in {:.1} s", t.elapsed().as_secs_f64());
    let mut times = Vec::new();
    for r in 0..rounds {
        write(batch, leaves + r * batch);
        let t = Instant::now();
        let round = integrator.round(None).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(round.note.is_some(), "round {r} added nothing");
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "round of {batch} records at {leaves} leaves: median {median:.1} ms, min {:.1} ms, max {:.1} ms ({rounds} rounds)",
        times[0],
        times[times.len() - 1]
    );
    log.close(None).unwrap();
}
