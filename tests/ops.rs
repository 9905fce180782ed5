//! Operating the service: readiness says whether a token can be vouched for, /metrics parses
//! with Prometheus' own parser and moves with traffic, a client over its rate gets 429 while
//! others are served, `kokuin clock status` reads the kernel.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use der::Encode;
use kokuin_testkit as common;
use std::collections::HashMap;

const PARSER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/interop/parse_metrics.py"
);

fn tsq() -> Vec<u8> {
    kokuin_tsa::request::build_request(
        kokuin_hsm::DigestAlgorithm::Sha256,
        &[3; 32],
        None,
        None,
        false,
    )
    .unwrap()
    .to_der()
    .unwrap()
}

/// `promtool check metrics` on `body` (its stdin).
fn promtool_check_metrics(body: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus; the README's test command installs it)");
    child.stdin.take().unwrap().write_all(body).unwrap();
    child.wait_with_output().unwrap()
}

/// Scrapes /metrics and parses it with prometheus_client: sample line → value.
fn scrape(srv: &Server, dir: &std::path::Path) -> HashMap<String, f64> {
    // Prometheus' own scrape without OpenMetrics: the Prometheus text format, which
    // promtool (Debian's prometheus) checks, lint included.
    let plain = get(&agent(None), &format!("{}/metrics", srv.base()));
    assert_eq!(plain.status, 200);
    assert!(
        plain.content_type.starts_with("text/plain; version=0.0.4"),
        "{}",
        plain.content_type
    );
    let checked = promtool_check_metrics(&plain.body);
    assert!(checked.status.success(), "promtool: {}", text(&checked));
    // Asked for OpenMetrics (as Prometheus asks when it can read it): OpenMetrics.
    let r = kokuin_testkit::get_accepting(
        &agent(None),
        &format!("{}/metrics", srv.base()),
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    )
    .unwrap();
    assert_eq!(r.status, 200);
    assert!(
        r.content_type.starts_with("application/openmetrics-text"),
        "{}",
        r.content_type
    );
    let f = dir.join("metrics.txt");
    std::fs::write(&f, &r.body).unwrap();
    let o = run(&python(), &[PARSER, f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

#[test]
fn readiness_and_metrics_follow_the_service() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = Server::dev(&state);
    let ag = agent(None);
    let r = get(&ag, &format!("{}/readyz", srv.base()));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let before = scrape(&srv, dir.path());
    let granted = |m: &HashMap<String, f64>| {
        m.get(r#"kokuin_requests_total{endpoint="/tsa",failure="none",status="200"}"#)
            .copied()
            .unwrap_or(0.0)
    };
    let refused = |m: &HashMap<String, f64>| {
        m.get(r#"kokuin_requests_total{endpoint="/tsa",failure="badDataFormat",status="200"}"#)
            .copied()
            .unwrap_or(0.0)
    };
    for _ in 0..5 {
        assert_eq!(tsa_post(&ag, &srv.http, &tsq()).status, 200);
    }
    tsa_post(&ag, &srv.http, b"junk");
    let after = scrape(&srv, dir.path());
    assert_eq!(granted(&after) - granted(&before), 5.0);
    assert_eq!(refused(&after) - refused(&before), 1.0);
    assert_eq!(after["kokuin_ready{}"], 1.0);
    assert_eq!(after["kokuin_clock_ok{}"], 1.0);
    assert!(after.contains_key("kokuin_clock_max_error_seconds{}"));
    assert!(after["kokuin_audit_records_total{}"] >= 6.0);
    assert!(
        after
            .keys()
            .any(|k| k.starts_with("kokuin_signing_seconds_count{key="))
    );
    assert!(
        after
            .keys()
            .any(|k| k.starts_with("kokuin_audit_sync_seconds_count"))
    );
    let left = after
        .iter()
        .find(|(k, _)| k.starts_with("kokuin_key_usage_seconds_left"))
        .map(|(_, v)| *v)
        .unwrap();
    // Base units: seconds (the dev key's usage period is a year).
    assert!(
        (360.0 * 86_400.0..=366.0 * 86_400.0).contains(&left),
        "{left}"
    );
    drop(srv);

    // A production configuration on a clock that cannot meet its accuracy: alive, not ready.
    let srv = Server::with_config(&unmeetable_production_config(&state));
    assert_eq!(get(&ag, &format!("{}/healthz", srv.base())).status, 200);
    let r = get(&ag, &format!("{}/readyz", srv.base()));
    let body = String::from_utf8_lossy(&r.body).to_string();
    assert_eq!(r.status, 503, "{body}");
    assert!(
        body.contains("clock: the clock") && body.contains("key: ok") && body.contains("audit: ok"),
        "{body}"
    );
    let m = scrape(&srv, dir.path());
    assert_eq!(m["kokuin_ready{}"], 0.0);
    assert_eq!(m["kokuin_clock_ok{}"], 0.0);
    drop(srv);
    // The refusals were recorded as clock state changes in the audit log.
    let log = std::fs::read_to_string(
        kokuin_audit::segment::list(&state.join("audit"))
            .unwrap()
            .pop()
            .unwrap(),
    )
    .unwrap();
    assert!(
        log.contains("\"type\":\"clock.state\""),
        "no clock.state record"
    );
}

#[test]
fn a_client_over_its_limit_gets_429_while_another_is_served() {
    let dir = tempdir();
    let state = dir.path().join("state");
    drop(Server::dev(&state));
    let cfg = std::fs::read_to_string(state.join("kokuin.toml")).unwrap();
    let limited = state.join("limited.toml");
    std::fs::write(
        &limited,
        cfg.replace(
            "[server]\n",
            "[server]\nrate_limit_per_second = 2\nrate_limit_burst = 3\n",
        ),
    )
    .unwrap();
    let srv = Server::with_config(&limited);
    let q = dir.path().join("q.tsq");
    std::fs::write(&q, tsq()).unwrap();
    let body = format!("@{}", q.display());
    // `curl --interface` picks the client address: 127.0.0.2 is the greedy one.
    let post_from = |ip: &str| {
        let o = run(
            "curl",
            &[
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--interface",
                ip,
                "-H",
                "Content-Type: application/timestamp-query",
                "--data-binary",
                &body,
                &srv.http,
            ],
        );
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let codes: Vec<String> = (0..10).map(|_| post_from("127.0.0.2")).collect();
    assert!(codes.iter().take(3).all(|c| c == "200"), "{codes:?}");
    assert!(codes.iter().any(|c| c == "429"), "{codes:?}");
    assert_eq!(post_from("127.0.0.1"), "200");
    let m = scrape(&srv, dir.path());
    assert!(m["kokuin_rate_limited_total{}"] >= 1.0);
}

#[test]
fn clock_status_prints_what_the_kernel_reports() {
    let o = kokuin(&["clock", "status"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    for field in [
        "state:",
        "synchronised:",
        "max error:",
        "est. error:",
        "bound in force:",
        "the TSA would issue:",
    ] {
        assert!(t.contains(field), "{field}: {t}");
    }
    let o = kokuin(&["clock", "status", "--json", "--check"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let would = j["would_issue"].as_bool().unwrap();
    assert_eq!(o.status.success(), would, "{j}");
    assert!(j["max_error_us"].is_i64());
    // The same kernel values as adjtimex gives this process.
    let k = kokuin_tsa::clock::kernel::KernelTime::read().unwrap();
    assert_eq!(j["synchronised"].as_bool().unwrap(), k.synchronised());
}
