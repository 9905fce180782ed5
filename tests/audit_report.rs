//! `kokuin audit report`: a self-contained HTML report of a log with a key rotation and a
//! clock refusal window shows both, and its figures (embedded as JSON) equal what the log's
//! records say, counted here independently.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use kokuin_audit::{AuditConfig, AuditLog, Event, Record, kind};
use kokuin_testkit as common;
use serde_json::Value;
use std::sync::Arc;

#[test]
fn the_report_shows_what_the_log_holds() {
    let dir = tempdir();
    let w = dir.path();
    let state = w.join("state");
    let srv = Server::dev(&state);
    let data = w.join("invoice.xml");
    std::fs::write(&data, b"<Invoice/>\n").unwrap();
    for i in 0..7 {
        request_token(&srv.http, &data, &w.join(format!("t{i}.tsr")));
    }
    let config = state.join("kokuin.toml");
    let o = kokuin(&["keys", "rotate", "--config", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    // The server puts the new key in force within a second and records it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !audit_lines(&state)
        .iter()
        .any(|l| l.contains("in force for"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no key switch recorded"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    request_token(&srv.http, &data, &w.join("after.tsr"));
    drop(srv);

    // The server's own clock readings, at the interval its configuration sets.
    let text_cfg = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text_cfg.replace("[clock]\n", "[clock]\nrecord_interval_s = 1\n"),
    )
    .unwrap();
    let srv = Server::with_config(&config);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !audit_lines(&state)
        .iter()
        .any(|l| l.contains("\"clock.reading\""))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no clock.reading recorded"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(srv);

    // A clock refusal window, written as the service writes it, with the audit key.
    let key = kokuin_hsm::SoftwareSigner::load(&state.join("keys/audit.key"), None, true).unwrap();
    let cert = kokuin_certs::pem::load_certificates(&state.join("pki/audit.pem")).unwrap();
    let signer = kokuin_server::audit::CheckpointKey::new(Arc::new(key), &cert[0]).unwrap();
    let (log, _) = AuditLog::open(
        AuditConfig::new(state.join("audit")),
        Some(Arc::new(signer)),
    )
    .unwrap();
    let reading = |status: &str, err: Option<u64>| {
        Event::new(kind::CLOCK_READING)
            .with("status", status)
            .with("synchronised", status == "ok")
            .with("max_error_us", err)
            .with("accuracy_us", 1_000_000u64)
    };
    log.append_blocking(reading("ok", Some(2_000))).unwrap();
    for (from, to) in [("ok", "unsynchronised"), ("unsynchronised", "ok")] {
        if to == "ok" {
            log.append_blocking(reading("unsynchronised", None))
                .unwrap();
            // A token recorded inside the window, by a service that should not have issued
            // it: the report must show it as a finding, not hide it.
            log.append_blocking(
                Event::new(kind::TOKEN_ISSUED)
                    .with("serial", "ff")
                    .with("key", "rogue")
                    .with("policy", "1.2.3")
                    .with("gen_time", "2026-12-01T00:00:00Z"),
            )
            .unwrap();
        }
        log.append_blocking(
            Event::new(kind::CLOCK_STATE)
                .with("from", from)
                .with("to", to)
                .with(
                    "reason",
                    if to == "ok" {
                        ""
                    } else {
                        "the clock is not synchronised"
                    },
                ),
        )
        .unwrap();
    }
    log.append_blocking(reading("ok", Some(3_000))).unwrap();
    log.close(None).unwrap();

    let report = w.join("report.html");
    let audit = state.join("audit");
    let o = kokuin(&[
        "audit",
        "report",
        audit.to_str().unwrap(),
        "--trust",
        state.join("pki/audit.pem").to_str().unwrap(),
        "-o",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("Intact:"), "the chain was not verified");
    // The identity header: the audit key by its SHA-256, the newest tree checkpoint verified.
    let audit_cert = kokuin_certs::pem::load_certificates(&state.join("pki/audit.pem")).unwrap();
    let fingerprint = kokuin_audit_keys::cert_id(&audit_cert[0]).unwrap();
    assert!(
        html.contains(&fingerprint),
        "the audit key's SHA-256 is in the header"
    );
    assert!(
        html.contains("signature verified"),
        "the tree checkpoint is verified"
    );
    // Each key's certificate (subject and serial) and whether its token attested it, as the
    // service started with it.
    assert!(
        html.contains("CN=Kokuin Dev TSU 1") && html.contains("not attested"),
        "key certificates in the report"
    );
    // Policies by name as well as OID.
    assert!(
        html.contains("Kokuin development time-stamp policy"),
        "policy names are shown"
    );
    // An empty table says so (this log has no seals).
    assert!(
        html.contains("None recorded in the period."),
        "empty tables say so"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no network in the report"
    );
    let json = html
        .split("id=\"kokuin-report-data\">")
        .nth(1)
        .unwrap()
        .split("</script>")
        .next()
        .unwrap();
    let data: Value = serde_json::from_str(json).unwrap();
    let dev1 = &data["keys"]["dev-tsu-1"];
    assert!(
        dev1["certificate_serial"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{dev1}"
    );
    assert_eq!(dev1["attested"], false, "a software key is not attested");

    // Counted independently from the records.
    let records: Vec<Record> = audit_lines(&state)
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| Record::parse_line(l).unwrap())
        .collect();
    let count = |k: &str| records.iter().filter(|r| r.kind == k).count() as u64;
    assert_eq!(data["records"], records.len() as u64);
    let tokens: u64 = data["tokens"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|p| p.as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(tokens, count(kind::TOKEN_ISSUED));
    assert_eq!(tokens, 9, "eight from the server, one rogue");
    assert_eq!(data["checkpoints"], count(kind::CHECKPOINT));
    assert_eq!(
        data["key_events"].as_array().unwrap().len() as u64,
        count(kind::KEY_LIFECYCLE)
    );
    assert!(
        count(kind::KEY_LIFECYCLE) >= 2,
        "generated and put in force"
    );
    let windows = data["clock_windows"].as_array().unwrap();
    assert_eq!(windows.len(), 1);
    assert_eq!(windows[0]["state"], "unsynchronised");
    assert!(windows[0]["to"].is_string(), "the window closed");
    assert!(html.contains("1 refusal windows"));

    // The clock's curve: every reading, the one without a bound among them.
    let points = data["clock_readings"].as_array().unwrap();
    assert_eq!(points.len() as u64, count(kind::CLOCK_READING));
    assert!(
        points
            .iter()
            .any(|p| p["max_error_us"].is_null() && p["ok"] == false)
    );
    assert_eq!(
        data["tokens_in_clock_windows"], 1,
        "the rogue token is a finding"
    );
    // Tokens while the clock's bound exceeded the declared accuracy (the last reading before
    // them said so, or stated no bound), and tokens after a start that did not require sync
    // (serve --dev does not): recounted here from the records in order.
    let (mut exceeds, mut required, mut beyond, mut unrequired) = (false, None, 0u64, 0u64);
    for r in &records {
        match r.kind.as_str() {
            k if k == kind::CLOCK_READING => {
                let acc = r.fields["accuracy_us"].as_u64().unwrap_or(0);
                exceeds = acc > 0 && r.fields["max_error_us"].as_u64().is_none_or(|e| e > acc);
            }
            k if k == kind::SERVICE_START => required = r.fields["require_sync"].as_bool(),
            k if k == kind::TOKEN_ISSUED => {
                beyond += u64::from(exceeds);
                unrequired += u64::from(required == Some(false));
            }
            _ => {}
        }
    }
    assert!(
        beyond >= 1,
        "the rogue token follows a reading without a bound"
    );
    assert_eq!(data["tokens_beyond_accuracy"], beyond);
    assert_eq!(
        unrequired, 9,
        "the dev server does not require sync: every token"
    );
    assert_eq!(data["tokens_without_required_sync"], unrequired);
    assert!(
        html.contains("tokens recorded while synchronisation was not required")
            && html.contains("class=\"bad\""),
        "the findings are shown in red"
    );

    // Every key's tokens inside its usage window and its time in force; the rogue one not.
    let keys = data["keys"].as_object().unwrap();
    let issued: Vec<&Record> = records
        .iter()
        .filter(|r| r.kind == kind::TOKEN_ISSUED)
        .collect();
    for (name, k) in keys {
        let n = issued
            .iter()
            .filter(|r| r.fields["key"] == name.as_str())
            .count() as u64;
        assert_eq!(k["tokens"], n, "{name}");
        if name == "rogue" {
            assert_eq!(k["outside_in_force"], 1);
        } else {
            assert_eq!(
                (k["outside_usage"].as_u64(), k["outside_in_force"].as_u64()),
                (Some(0), Some(0)),
                "{name}: {k}"
            );
        }
    }
    let rotated: Vec<_> = keys
        .iter()
        .filter(|(_, k)| {
            k["in_force"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| !w["from"].is_null())
                && k["tokens"].as_u64() > Some(0)
        })
        .collect();
    assert!(
        rotated.len() >= 2,
        "the old and the new key both signed in their time in force: {keys:?}"
    );
    assert!(html.contains("1 tokens recorded inside a refusal window"));

    let shot = screenshot(&report, "audit-report.png");
    assert!(std::fs::metadata(shot).unwrap().len() > 10_000);
    // It prints on A4: nothing wider than the page (the charts shrink to it).
    assert_eq!(
        kokuin_testkit::a4_overflow(&report),
        0,
        "the report overflows A4"
    );
}
