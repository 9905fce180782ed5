//! `kokuin clock traceability`: the provider's reference against UTC(NICT) from CGGTTS files
//! (made by `kokuin_timetrace::synthetic` with the `cggtts` crate's formatter), offline; the
//! exit code says within the threshold (0), beyond it (1), or not comparable (2).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_testkit::{kokuin, tempdir, text};
use kokuin_timetrace::synthetic::{Constellation, ReferenceTime, nict, write};
use std::path::Path;

/// 2026-12-04 00:00:00 UTC.
const DAY: f64 = 1_796_342_400.0;

/// A day's files of GPS and Galileo tracks under `dir`, REFSYS shifted by `offset_01ns`.
fn day(dir: &Path, reference: ReferenceTime, offset_01ns: i64) {
    std::fs::create_dir_all(dir).unwrap();
    write(
        dir,
        "GZ.340",
        reference.clone(),
        Constellation::GPS,
        &[
            (8, DAY + 600.0, "L1C", -281 + offset_01ns),
            (10, DAY + 4200.0, "L1C", 77 + offset_01ns),
        ],
    )
    .unwrap();
    write(
        dir,
        "EZ.340",
        reference,
        Constellation::Galileo,
        &[(11, DAY + 600.0, "E1", 98_765 + offset_01ns)],
    )
    .unwrap();
}

fn trace(local: &Path, reference: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "clock",
        "traceability",
        "--local",
        local.to_str().unwrap(),
        "--reference",
        reference.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    kokuin(&args)
}

#[test]
fn the_offset_to_utc_nict_is_computed_from_common_view_and_judged_against_the_threshold() {
    let d = tempdir();
    let (local, nict_dir) = (d.path().join("local"), d.path().join("nict"));
    day(
        &local,
        ReferenceTime::UTCk("KOKUIN".into()),
        40 * 10_000_000,
    );
    day(&nict_dir, nict(), 0);

    let o = trace(&local, &nict_dir, &["--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let tracks = j["comparison"]["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 3);
    assert!(
        tracks.iter().all(|t| t["offset_01ns"] == 400_000_000),
        "{j}"
    );
    assert_eq!(j["comparison"]["hours"].as_array().unwrap().len(), 2);

    // Beyond a 30 ms threshold: a finding, exit 1, named.
    let o = trace(&local, &nict_dir, &["--threshold-ms", "30"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("+40.0000 ms"), "{}", text(&o));
    assert!(
        text(&o).contains("3 track(s) farther from UTC(NICT) than 30 ms"),
        "{}",
        text(&o)
    );

    // A reference that is not UTC(NICT) cannot vouch: exit 2, saying so.
    let other = d.path().join("other");
    day(&other, ReferenceTime::UTCk("PTB".into()), 0);
    let o = trace(&local, &other, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("its reference is UTC(PTB), not UTC(NICT)"),
        "{}",
        text(&o)
    );

    // Another day: nothing in common view, exit 2.
    let later = d.path().join("later");
    std::fs::create_dir_all(&later).unwrap();
    write(
        &later,
        "GZ.341",
        nict(),
        Constellation::GPS,
        &[(8, DAY + 86_400.0 + 600.0, "L1C", 0)],
    )
    .unwrap();
    let o = trace(&local, &later, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no common view"), "{}", text(&o));
}

/// `[clock.traceability]` in a running server: each hour of common view becomes a
/// `clock.traceability` record with the files it came from; an hour beyond the alarm
/// threshold is flagged and is a finding of the audit report.
#[test]
fn the_server_records_each_hour_of_offset_to_utc_nict_and_flags_an_alarm() {
    let d = tempdir();
    let state = d.path().join("state");
    kokuin_testkit::Server::dev(&state).stop();
    let (local, nict_dir) = (state.join("cggtts/local"), state.join("cggtts/nict"));
    std::fs::create_dir_all(&local).unwrap();
    std::fs::create_dir_all(&nict_dir).unwrap();
    // Hour 00: 40 ms off UTC(NICT); hour 01: 300 ms, beyond the 100 ms alarm.
    let tracks = |off00: i64, off01: i64| {
        vec![
            (8, DAY + 600.0, "L1C", -281 + off00),
            (10, DAY + 4200.0, "L1C", 77 + off01),
        ]
    };
    write(
        &local,
        "GZ.340",
        ReferenceTime::UTCk("KOKUIN".into()),
        Constellation::GPS,
        &tracks(400_000_000, 3_000_000_000),
    )
    .unwrap();
    write(
        &nict_dir,
        "GZ.340",
        nict(),
        Constellation::GPS,
        &tracks(0, 0),
    )
    .unwrap();
    let config = state.join("kokuin.toml");
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str(
        "\n[clock.traceability]\nlocal_dir = \"cggtts/local\"\nreference_dir = \"cggtts/nict\"\n\
         alarm_ms = 100\ninterval_s = 1\n",
    );
    std::fs::write(&config, toml).unwrap();
    let srv = kokuin_testkit::Server::with_config(&config);
    let records = || -> Vec<serde_json::Value> {
        kokuin_testkit::audit_lines(&state)
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|r| r["type"] == "clock.traceability")
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while records().len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no clock.traceability records"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    srv.stop();
    let r = records();
    assert_eq!(r.len(), 2, "each hour once: {r:?}");
    let field = |i: usize, k: &str| r[i]["fields"][k].clone();
    assert_eq!(field(0, "hour"), "2026-12-04T00:00:00Z");
    assert_eq!(field(0, "mean_01ns"), 400_000_000);
    assert_eq!(field(0, "alarm"), false);
    assert_eq!(field(1, "mean_01ns"), 3_000_000_000i64);
    assert_eq!(field(1, "alarm"), true);
    assert_eq!(field(0, "local_files")[0]["name"], "GZ.340");
    assert_eq!(
        field(0, "reference_files")[0]["sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );

    // The audit report shows the hours and counts the alarm as a finding.
    let report = d.path().join("report.html");
    let o = kokuin(&[
        "audit",
        "report",
        state.join("audit").to_str().unwrap(),
        "--trust",
        state.join("pki/audit.pem").to_str().unwrap(),
        "-o",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("1 hours in which the reference clock was farther from UTC(NICT)"),
        "the alarm is a finding"
    );
    assert!(
        html.contains("+300.0000 ms") && html.contains("+40.0000 ms"),
        "both hours shown"
    );
    // Charted against the token's ±1 s, the alarmed hour in red.
    assert!(
        html.contains("the reference clock minus UTC(NICT), hour by hour, against ±1 s")
            && html.contains("+1 s")
            && html.contains("fill=\"#c00\""),
        "the traceability chart"
    );
    kokuin_testkit::screenshot(&report, "audit-report-traceability.png");
}
