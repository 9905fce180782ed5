//! `[clock.roughtime]` in a running server, against roughenough-server (an independent RFC
//! 10049 implementation) on loopback: while enough servers agree, tokens are issued; when two
//! of three are an hour off, tokens get timeNotAvailable, `/readyz` says why, a malfeasance
//! report is written and recorded; once they are honest again, tokens flow. Every round is a
//! `clock.roughtime` record that `audit verify --roughtime-servers` re-verifies offline, and
//! the audit report shows the offsets and the refusal window.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use der::Encode;
use kokuin_hsm::DigestAlgorithm;
use kokuin_testkit::roughtime::RoughtimeServer;
use kokuin_testkit::{Server, agent, audit_lines, kokuin, tempdir, text, try_get, tsa_post};
use kokuin_tsa::request::build_request;
use kokuin_tsa::{FailureInfo, ParsedResponse};
use std::path::Path;
use std::time::{Duration, Instant};

fn token_status(srv: &Server) -> Result<(), Vec<FailureInfo>> {
    let req = build_request(
        DigestAlgorithm::Sha256,
        &DigestAlgorithm::Sha256.digest(b"invoice"),
        None,
        None,
        true,
    )
    .unwrap();
    let reply = tsa_post(
        &agent(None),
        &format!("{}/tsa", srv.base()),
        &req.to_der().unwrap(),
    );
    assert_eq!(reply.status, 200);
    let parsed = ParsedResponse::from_der(&reply.body).unwrap();
    if parsed.granted() {
        return Ok(());
    }
    Err(FailureInfo::from_bit_string(
        parsed.status.fail_info.as_ref().unwrap(),
    ))
}

fn readyz(srv: &Server) -> (u16, String) {
    let r = try_get(&agent(None), &format!("{}/readyz", srv.base())).unwrap();
    (r.status, String::from_utf8_lossy(&r.body).into_owned())
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn rounds(state: &Path) -> Vec<serde_json::Value> {
    audit_lines(state)
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["type"] == "clock.roughtime")
        .collect()
}

#[test]
fn too_few_agreeing_servers_refuse_tokens_until_a_round_agrees_and_the_log_proves_it() {
    let d = tempdir();
    let state = d.path().join("state");
    Server::dev(&state).stop();
    let honest = RoughtimeServer::start(11, 0);
    let mut ahead = RoughtimeServer::start(12, 3600);
    let mut behind = RoughtimeServer::start(13, -3600);
    let config = state.join("kokuin.toml");
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str(&format!(
        "\n[clock.roughtime]\nservers = [{}, {}, {}]\ninterval_s = 2\ntimeout_ms = 300\n\
         attempts = 2\nmin_agreeing = 2\n",
        honest.toml_entry("honest"),
        ahead.toml_entry("ahead"),
        behind.toml_entry("behind"),
    ));
    std::fs::write(&config, toml).unwrap();

    // `config check` takes the section as the server will.
    let o = kokuin(&["config", "check", "--config", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));

    let srv = Server::with_config(&config);
    wait_until("a refusing round", || !rounds(&state).is_empty());
    let (status, body) = readyz(&srv);
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("clock: roughtime: 1 of 3 servers agree with the local clock (2 needed)"),
        "{body}"
    );
    // Whole seconds: an hour ahead reads +3599 or +3600 s.
    assert!(
        body.contains("ahead is +3599.") || body.contains("ahead is +3600."),
        "{body}"
    );
    assert!(
        body.contains("behind is -3600.") || body.contains("behind is -3601."),
        "{body}"
    );
    assert_eq!(token_status(&srv), Err(vec![FailureInfo::TimeNotAvailable]));

    // Honest before behind (and ahead before behind): a contradiction, proven by the nonce
    // chain, reported and recorded. The report proves two servers cannot both be right; it
    // does not say which lied.
    let reports = state.join("roughtime-malfeasance");
    wait_until("a malfeasance report", || {
        std::fs::read_dir(&reports).is_ok_and(|mut d| d.next().is_some())
    });
    let report = std::fs::read_dir(&reports)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.path()).unwrap()).unwrap();
    assert!(
        report["responses"].as_array().unwrap().len() >= 2,
        "{report}"
    );
    let r = rounds(&state);
    let m = &r
        .iter()
        .find(|r| r["fields"]["malfeasance"].is_object())
        .expect("a round recording the report")["fields"]["malfeasance"];
    assert_eq!(m["later"], "behind", "{}", m["file"]);
    assert!(reports.join(m["file"].as_str().unwrap()).is_file());
    assert_eq!(r[0]["fields"]["verdict"], "refuse");

    // The liars come back honest on the same addresses: a round agrees, tokens flow.
    let (ahead_port, behind_port) = (ahead.port(), behind.port());
    drop(ahead);
    drop(behind);
    ahead = RoughtimeServer::start_on(12, 0, ahead_port);
    behind = RoughtimeServer::start_on(13, 0, behind_port);
    wait_until("an agreeing round", || readyz(&srv).0 == 200);
    assert_eq!(token_status(&srv), Ok(()));
    let metrics = try_get(&agent(None), &format!("{}/metrics", srv.base())).unwrap();
    let metrics = String::from_utf8_lossy(&metrics.body).into_owned();
    assert!(
        metrics.contains("kokuin_roughtime_agreeing_servers 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kokuin_roughtime_malfeasance_reports_total"),
        "{metrics}"
    );
    srv.stop();
    let r = rounds(&state);
    assert_eq!(r.last().unwrap()["fields"]["verdict"], "agree");

    // Offline: every reply re-verified under the auditor's own list.
    let list = d.path().join("servers.json");
    let entries = [
        honest.list_entry("h"),
        ahead.list_entry("a"),
        behind.list_entry("b"),
    ];
    std::fs::write(&list, serde_json::json!({ "servers": entries }).to_string()).unwrap();
    let verify = |list: &Path| {
        kokuin(&[
            "audit",
            "verify",
            state.join("audit").to_str().unwrap(),
            "--trust",
            state.join("pki/audit.pem").to_str().unwrap(),
            "--roughtime-servers",
            list.to_str().unwrap(),
        ])
    };
    let o = verify(&list);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("re-verified offline"), "{}", text(&o));
    assert!(text(&o).starts_with("OK"), "{}", text(&o));
    // A list without "behind": its replies are flagged, not evidence.
    std::fs::write(
        &list,
        serde_json::json!({ "servers": &entries[..2] }).to_string(),
    )
    .unwrap();
    let o = verify(&list);
    assert!(text(&o).contains("VALID WITH FINDINGS"), "{}", text(&o));
    assert!(
        text(&o).contains("a key your server list does not name"),
        "{}",
        text(&o)
    );

    // The report: the offsets per server and the refusal window, a finding each.
    let html = d.path().join("report.html");
    let o = kokuin(&[
        "audit",
        "report",
        state.join("audit").to_str().unwrap(),
        "--trust",
        state.join("pki/audit.pem").to_str().unwrap(),
        "-o",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(html.contains("Roughtime second opinion"), "{html}");
    assert!(
        html.contains("periods in which too few Roughtime servers agreed"),
        "the refusal window is a finding"
    );
    assert!(html.contains("Roughtime malfeasance reports"));
    assert!(
        html.contains("+3599.") || html.contains("+3600."),
        "the liar's offset is shown"
    );
}

/// `[clock.roughtime]` that cannot work is refused before a start, naming the key.
#[test]
fn an_unworkable_roughtime_section_is_refused_naming_the_key() {
    let d = tempdir();
    let state = d.path().join("state");
    Server::dev(&state).stop();
    let config = state.join("kokuin.toml");
    let base = std::fs::read_to_string(&config).unwrap();
    let key_a = "AW5uAoTSTDfG5NfY1bTh08GUnOqlRb+HVhbJ3ODJvsE=";
    let key_b = "C1E62bSSQBXKCQLtB5BE06xdvsIwbwaUjBDajrbjny0=";
    let server = |name: &str, key: &str| {
        format!("{{ name = \"{name}\", address = \"127.0.0.1:2002\", public_key = \"{key}\" }}")
    };
    for (section, key) in [
        (
            format!("servers = [{}]\nmin_agreeing = 2", server("a", key_a)),
            "clock.roughtime.min_agreeing",
        ),
        (
            format!("servers = [{}, {}]", server("a", key_a), server("b", key_a)),
            "clock.roughtime.servers[1].public_key",
        ),
        (
            format!("servers = [{}, {}]", server("a", key_a), server("a", key_b)),
            "clock.roughtime.servers[1].name",
        ),
        (
            format!("servers = [{}]\nmin_agreeing = 1", server("a", "AAAA")),
            "clock.roughtime.servers[0].public_key",
        ),
        (
            format!(
                "servers = [{}, {}]\ninterval_s = 5\ntimeout_ms = 1000\nattempts = 3",
                server("a", key_a),
                server("b", key_b)
            ),
            "clock.roughtime.interval_s",
        ),
        (
            format!(
                "servers = [{}]\nmin_agreeing = 1\naction = \"ignore\"",
                server("a", key_a)
            ),
            "clock.roughtime.action",
        ),
    ] {
        std::fs::write(&config, format!("{base}\n[clock.roughtime]\n{section}\n")).unwrap();
        let o = kokuin(&["config", "check", "--config", config.to_str().unwrap()]);
        assert_ne!(o.status.code(), Some(0), "{section}: {}", text(&o));
        assert!(text(&o).contains(key), "{key}: {}", text(&o));
    }
}
