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
