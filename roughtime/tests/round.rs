//! Rounds against roughenough-server (an independent RFC 10049 implementation) on loopback:
//! honest servers agree and their evidence re-verifies offline; a server an hour ahead is
//! outvoted and caught by the nonce chain (a malfeasance report), in whichever order it is
//! asked; a silent server is retried and the others still asked; changed evidence is found.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_roughtime::round::{Options, Prober};
use kokuin_roughtime::{EvidenceError, RoundRecord, TrustedServer};
use kokuin_testkit::roughtime::RoughtimeServer;
use std::time::Duration;

fn trusted(name: &str, s: &RoughtimeServer) -> TrustedServer {
    TrustedServer::new(name, &s.address, &s.public_key).unwrap()
}

fn opts() -> Options {
    Options {
        timeout: Duration::from_millis(500),
        attempts: 2,
        accuracy: Duration::from_secs(1),
    }
}

fn record(round: &kokuin_roughtime::round::Round, min: u32) -> RoundRecord {
    let agreeing = round.agreeing as u32;
    RoundRecord {
        action: "refuse".into(),
        min_agreeing: min,
        accuracy_us: 1_000_000,
        agreeing,
        verdict: if agreeing >= min { "agree" } else { "refuse" }.into(),
        replies: round.replies.clone(),
        failures: round.failures.clone(),
        malfeasance: round.malfeasance.clone(),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn honest_servers_agree_and_their_replies_reverify_offline_chain_and_all() {
    let (a, b) = (RoughtimeServer::start(1, 0), RoughtimeServer::start(2, 0));
    // The name an auditor gives a server is its own: keys are what match.
    assert_eq!(
        a.public_key,
        kokuin_roughtime::servers::parse_list(
            &serde_json::json!({ "servers": [a.list_entry("x")] }).to_string()
        )
        .unwrap()[0]
            .public_key
    );
    let servers = vec![trusted("a", &a), trusted("b", &b)];
    let mut prober = Prober::new(servers.clone());
    let first = prober.round(&opts(), "r1.json").await;
    assert_eq!(first.agreeing, 2, "{first:?}");
    assert!(first.failures.is_empty() && first.malfeasance.is_none());
    assert!(
        first.replies[0].rand.is_none(),
        "the chain starts at random"
    );
    assert!(first.replies[1].rand.is_some(), "then is chained");
    let second = prober.round(&opts(), "r2.json").await;
    assert!(second.replies[0].rand.is_some(), "chained across rounds");
    let (r1, r2) = (record(&first, 2), record(&second, 2));

    // Offline: every signature, path and link holds, across the two rounds.
    let c1 = r1.check(&servers, None).unwrap();
    assert_eq!((c1.verified, c1.agreeing_trusted), (2, 2));
    let c2 = r2.check(&servers, c1.last_response.as_deref()).unwrap();
    assert_eq!(c2.verified, 2);
    // Checked against the previous round's wrong end, the chain does not hold.
    assert!(matches!(
        r2.check(&servers, Some(b"not the reply before")),
        Err(EvidenceError::Unchained { index: 0, .. })
    ));
    // An auditor who trusts only a: b's replies are not evidence, and said.
    let only_a = r1.check(&servers[..1], None).unwrap();
    assert_eq!(
        only_a.untrusted,
        vec![("b".to_string(), b.public_key.clone())]
    );
    assert_eq!(only_a.agreeing_trusted, 1);

    // Changed evidence: a byte of a signed reply, the recorded midpoint, the verdict.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut bad = r1.clone();
    let mut bytes = b64.decode(&bad.replies[1].response).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    bad.replies[1].response = b64.encode(bytes);
    assert!(matches!(
        bad.check(&servers, None),
        Err(EvidenceError::Invalid { index: 1, .. })
    ));
    let mut bad = r1.clone();
    bad.replies[0].midpoint_s += 3600;
    assert!(matches!(
        bad.check(&servers, None),
        Err(EvidenceError::Misrecorded {
            field: "midpoint",
            ..
        })
    ));
    let mut bad = r1.clone();
    bad.verdict = "refuse".into();
    assert!(matches!(
        bad.check(&servers, None),
        Err(EvidenceError::Verdict(_))
    ));
    // A reply under another key than the one recorded.
    let mut bad = r1.clone();
    bad.replies[0].public_key = b.public_key.clone();
    assert!(matches!(
        bad.check(&servers, None),
        Err(EvidenceError::Invalid { index: 0, .. })
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn a_server_an_hour_ahead_is_outvoted_and_proven_to_lie_whatever_the_order() {
    let honest = [RoughtimeServer::start(3, 0), RoughtimeServer::start(4, 0)];
    let liar = RoughtimeServer::start(5, 3600);
    // Asked first: the next server's reply contradicts it in the same round.
    let servers = vec![
        trusted("liar", &liar),
        trusted("a", &honest[0]),
        trusted("b", &honest[1]),
    ];
    let mut prober = Prober::new(servers.clone());
    let round = prober.round(&opts(), "first.json").await;
    assert_eq!(round.agreeing, 2);
    let liars: Vec<_> = round.replies.iter().filter(|r| !r.agrees).collect();
    assert_eq!(liars.len(), 1);
    assert_eq!(liars[0].server, "liar");
    assert!((liars[0].offset_us - 3_600_000_000).abs() < 2_000_000);
    let m = round.malfeasance.as_ref().expect("a malfeasance report");
    assert_eq!((m.earlier.as_str(), m.later.as_str()), ("liar", "a"));
    assert_eq!(m.file, "first.json");
    // RFC 10049 §8.4.1: the chain of request/response/rand/publicKey entries.
    let entries = m.report["responses"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["publicKey"], honest[0].public_key);
    assert!(entries[1]["rand"].is_string());
    record(&round, 2).check(&servers, None).unwrap();

    // Asked last: the next round's first reply contradicts it.
    let servers = vec![
        trusted("a", &honest[0]),
        trusted("b", &honest[1]),
        trusted("liar", &liar),
    ];
    let mut prober = Prober::new(servers);
    let round = prober.round(&opts(), "r1.json").await;
    assert!(round.malfeasance.is_none(), "not provable yet");
    let round = prober.round(&opts(), "r2.json").await;
    let m = round
        .malfeasance
        .as_ref()
        .expect("proven with the next round");
    assert_eq!((m.earlier.as_str(), m.later.as_str()), ("liar", "a"));

    // Two liars out of three: too few agree.
    let liar2 = RoughtimeServer::start(6, -3600);
    let servers = vec![
        trusted("a", &honest[0]),
        trusted("liar", &liar),
        trusted("liar2", &liar2),
    ];
    let round = Prober::new(servers).round(&opts(), "r.json").await;
    assert_eq!(round.agreeing, 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_silent_server_is_retried_and_the_others_are_still_asked() {
    let a = RoughtimeServer::start(7, 0);
    // A port nothing answers on: bound and released.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let other = RoughtimeServer::start(8, 0);
    let servers = vec![
        TrustedServer::new("silent", &format!("127.0.0.1:{port}"), &other.public_key).unwrap(),
        trusted("a", &a),
    ];
    let round = Prober::new(servers).round(&opts(), "r.json").await;
    assert_eq!(round.agreeing, 1);
    assert_eq!(round.replies.len(), 1);
    let failed: Vec<_> = round
        .failures
        .iter()
        .map(|f| (&*f.server, f.attempt))
        .collect();
    assert_eq!(failed, vec![("silent", 1), ("silent", 2)]);
    assert!(
        round.failures[0].reason.contains("no reply within 500 ms"),
        "{:?}",
        round.failures
    );
    // Asked under a key that is not its own, a server stays silent (the request's SRV names
    // another key: RFC 10049 §5.2): no reply counts.
    let wrong = TrustedServer::new("a-wrong-key", &a.address, &other.public_key).unwrap();
    let round = Prober::new(vec![wrong]).round(&opts(), "r.json").await;
    assert_eq!((round.agreeing, round.replies.len()), (0, 0));
    assert_eq!(round.failures.len(), 2, "{:?}", round.failures);
}
