//! Serial numbers never repeat: 100,000 tokens across three runs of the server (two graceful
//! restarts and one kill -9), collected by concurrent keep-alive clients.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use kokuin_testkit as common;
use kokuin_tsa::{ParsedResponse, TimeStampToken};
use std::collections::HashSet;

const TOTAL: usize = 100_000;
const RUNS: usize = 3;
const CLIENTS: usize = 4;

fn collect(url: &str, n: usize, tsq: &[u8]) -> Vec<Vec<u8>> {
    let per = n.div_ceil(CLIENTS);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|_| {
                s.spawn(move || {
                    let ag = agent(None);
                    (0..per)
                        .map(|_| {
                            let r = tsa_post(&ag, url, tsq);
                            assert_eq!(r.status, 200);
                            let t = ParsedResponse::from_der(&r.body)
                                .unwrap()
                                .into_token()
                                .unwrap();
                            TimeStampToken::from_der(&t)
                                .unwrap()
                                .tst_info
                                .serial_number
                                .as_bytes()
                                .to_vec()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

#[test]
fn serials_are_unique_across_restarts() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let tsq = kokuin_tsa::request::build_request(
        kokuin_hsm::DigestAlgorithm::Sha256,
        &[0x11; 32],
        None,
        None,
        false,
    )
    .map(|r| der::Encode::to_der(&r).unwrap())
    .unwrap();
    let mut seen = HashSet::new();
    let mut count = 0;
    for run in 0..RUNS {
        let srv = Server::dev(&state);
        let serials = collect(&srv.http, TOTAL.div_ceil(RUNS), &tsq);
        for s in serials {
            assert!((8..=20).contains(&s.len()), "serial of {} octets", s.len());
            assert!(
                seen.insert(s.clone()),
                "serial {s:02x?} repeated in run {run}"
            );
            count += 1;
        }
        if run == 1 {
            // A crash: no chance to write anything on the way out.
            drop(srv);
        } else {
            assert!(srv.stop().success());
        }
    }
    assert!(count >= TOTAL, "{count}");
}
