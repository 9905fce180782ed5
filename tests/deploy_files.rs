//! The deployment files we publish hold for the tools that run them: HAProxy's own check of
//! deploy/haproxy.cfg, and systemd's of the node unit (with its ExecStart pointed at the
//! binary built here, since /usr/bin/kokuin is not installed on the test machine).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_testkit::{kokuin_exe, run, tempdir, text};

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");

#[test]
fn haproxy_accepts_the_published_configuration() {
    let o = run("haproxy", &["-c", "-f", &format!("{DEPLOY}/haproxy.cfg")]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("Configuration file is valid"),
        "{}",
        text(&o)
    );
}

#[test]
fn systemd_accepts_the_node_unit() {
    let d = tempdir();
    let unit = std::fs::read_to_string(format!("{DEPLOY}/kokuin-node@.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/kokuin serve"), "{unit}");
    let path = d.path().join("kokuin-node@.service");
    std::fs::write(&path, unit.replace("/usr/bin/kokuin", kokuin_exe())).unwrap();
    let o = run("systemd-analyze", &["verify", path.to_str().unwrap()]);
    assert!(
        o.status.success() && text(&o).trim().is_empty(),
        "{}",
        text(&o)
    );
}

/// The Grafana dashboard (deploy/grafana/kokuin-dashboard.json): every panel's query is PromQL
/// promtool accepts (each checked as a recording rule), and every metric it names is one a
/// live server exposes — a renamed metric fails here, not on an operator's blank panel.
#[test]
fn the_grafana_dashboard_queries_parse_and_name_metrics_the_server_has() {
    let text_of = |p: &str| std::fs::read_to_string(format!("{DEPLOY}/{p}")).unwrap();
    let dashboard: serde_json::Value =
        serde_json::from_str(&text_of("grafana/kokuin-dashboard.json")).unwrap();
    let exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().clone())
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect();
    assert!(exprs.len() >= 10, "{exprs:?}");

    let d = tempdir();
    let rules = d.path().join("dashboard-rules.yml");
    let mut yaml = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        yaml.push_str(&format!(
            "      - record: dashboard:query_{i}\n        expr: {}\n",
            serde_json::Value::String(e.clone())
        ));
    }
    std::fs::write(&rules, yaml).unwrap();
    let o = run("promtool", &["check", "rules", rules.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));

    // Live: a dev server after one token (a labelled family shows once it has a sample);
    // families that only a fleet, Roughtime or witnesses fill are looked up where they are
    // registered, so a rename still fails.
    let state = d.path().join("state");
    let srv = kokuin_testkit::Server::dev(&state);
    let doc = d.path().join("doc.txt");
    std::fs::write(&doc, b"invoice").unwrap();
    let o = kokuin_testkit::kokuin(&[
        "request",
        doc.to_str().unwrap(),
        "--url",
        &srv.http,
        "-o",
        d.path().join("doc.tsr").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let metrics = String::from_utf8(
        kokuin_testkit::get(
            &kokuin_testkit::agent(None),
            &format!("{}/metrics", srv.base()),
        )
        .body,
    )
    .unwrap();
    srv.stop();
    let registered = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/server/src/metrics.rs"
    ))
    .unwrap();
    for e in &exprs {
        for name in e
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("kokuin_"))
        {
            let family = ["_bucket", "_count", "_sum", "_total"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            let live = metrics.contains(&format!("# TYPE {family} "))
                || metrics.contains(&format!("# TYPE {name} "));
            let unprefixed = family.trim_start_matches("kokuin_");
            assert!(
                live || registered.contains(&format!("\"{unprefixed}\"")),
                "{name} (in {e}) is not a metric the server has"
            );
        }
    }
}
