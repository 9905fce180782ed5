//! Common view on CGGTTS files made here with known offsets, written by the `cggtts` crate's
//! own formatter (so that what is parsed is what a receiver's software writes), and on a real
//! published file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use cggtts::prelude::{Constellation, ReferenceTime};
use kokuin_timetrace::{compare, read, synthetic};
use std::path::{Path, PathBuf};

/// 2026-12-04 00:00:00 UTC.
const DAY: f64 = 1_796_342_400.0;

/// One track: PRN, start (seconds after DAY), frequency code, REFSYS in units of 0.1 ns.
type T = (u8, f64, &'static str, i64);

fn write(
    dir: &Path,
    name: &str,
    reference: ReferenceTime,
    c: Constellation,
    tracks: &[T],
) -> PathBuf {
    let at_day: Vec<T> = tracks
        .iter()
        .map(|(p, s, f, r)| (*p, DAY + s, *f, *r))
        .collect();
    synthetic::write(dir, name, reference, c, &at_day).unwrap()
}

fn nict() -> ReferenceTime {
    synthetic::nict()
}

/// NICT's tracks for a day: GPS, Galileo and BeiDou, one file each as V2E names them, with
/// REFSYS values of either sign and up to tens of µs.
fn reference_tracks() -> Vec<(Constellation, Vec<T>)> {
    vec![
        (
            Constellation::GPS,
            vec![
                (8, 600.0, "L1C", -281),
                (10, 600.0, "L1C", 312_345),
                (8, 1560.0, "L2P", -7),
            ],
        ),
        (
            Constellation::Galileo,
            vec![(11, 3700.0, "E1", 98_765), (12, 3700.0, "E1", -4_321_000)],
        ),
        (Constellation::BeiDou, vec![(23, 7300.0, "B1", 555)]),
    ]
}

fn files(dir: &Path, who: &str, reference: ReferenceTime, offset_01ns: i64) -> Vec<PathBuf> {
    reference_tracks()
        .into_iter()
        .map(|(c, tracks)| {
            let shifted: Vec<T> = tracks
                .iter()
                .map(|(p, s, f, r)| (*p, *s, *f, r + offset_01ns))
                .collect();
            write(dir, &format!("{who}-{c:x}"), reference.clone(), c, &shifted)
        })
        .collect()
}

#[test]
fn offsets_of_0_40_and_300_ms_come_out_to_the_tenth_of_a_nanosecond() {
    let d = tempfile::tempdir().unwrap();
    let refs: Vec<_> = files(d.path(), "nict", nict(), 0)
        .iter()
        .map(|p| read(p).unwrap())
        .collect();
    for ms in [0i64, 40, 300, -40] {
        let offset = ms * 10_000_000; // 0.1 ns units
        let local: Vec<_> = files(
            d.path(),
            &format!("local{ms}"),
            ReferenceTime::UTCk("KOKUIN".into()),
            offset,
        )
        .iter()
        .map(|p| read(p).unwrap())
        .collect();
        let c = compare(&local, &refs).unwrap();
        assert_eq!(c.tracks.len(), 6, "{ms} ms: {c:?}");
        assert_eq!((c.local_only, c.reference_only), (0, 0));
        assert!(
            c.tracks.iter().all(|t| t.offset_01ns == offset),
            "{ms} ms: {c:?}"
        );
        assert_eq!(c.worst_01ns(), Some(offset));
        // Three constellations, each matched on its own letter.
        let sats: Vec<&str> = c.tracks.iter().map(|t| t.sat.as_str()).collect();
        assert_eq!(sats, ["G08", "G10", "G08", "E11", "E12", "C23"]);
        assert_eq!(c.tracks[0].start, "2026-12-04T00:10:00Z");
        // Hours 00, 01 and 02, each with its tracks' mean.
        let hours: Vec<(&str, usize, i64)> = c
            .hours
            .iter()
            .map(|h| (h.hour.as_str(), h.tracks, h.mean_01ns))
            .collect();
        assert_eq!(
            hours,
            [
                ("2026-12-04T00:00:00Z", 3, offset),
                ("2026-12-04T01:00:00Z", 2, offset),
                ("2026-12-04T02:00:00Z", 1, offset)
            ]
        );
    }
}

#[test]
fn only_the_same_satellite_start_and_frequency_code_match() {
    let d = tempfile::tempdir().unwrap();
    let nict_file = write(
        d.path(),
        "nict",
        nict(),
        Constellation::GPS,
        &[(8, 600.0, "L1C", 100)],
    );
    for (what, track) in [
        ("another frequency code", (8, 600.0, "L2P", 400_000)),
        ("another satellite", (9, 600.0, "L1C", 400_000)),
        ("another start", (8, 1560.0, "L1C", 400_000)),
    ] {
        let local = write(
            d.path(),
            "local",
            ReferenceTime::UTC,
            Constellation::GPS,
            &[track],
        );
        let c = compare(&[read(&local).unwrap()], &[read(&nict_file).unwrap()]).unwrap();
        assert!(c.tracks.is_empty(), "{what}: {c:?}");
        assert_eq!((c.local_only, c.reference_only), (1, 1), "{what}");
    }
    // The same satellite number in another constellation is another satellite.
    let galileo = write(
        d.path(),
        "gal",
        ReferenceTime::UTC,
        Constellation::Galileo,
        &[(8, 600.0, "L1C", 100)],
    );
    let c = compare(&[read(&galileo).unwrap()], &[read(&nict_file).unwrap()]).unwrap();
    assert!(c.tracks.is_empty(), "{c:?}");
}

#[test]
fn a_reference_that_is_not_utc_nict_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let local = write(
        d.path(),
        "local",
        ReferenceTime::UTC,
        Constellation::GPS,
        &[(8, 600.0, "L1C", 1)],
    );
    for reference in [
        ReferenceTime::UTC,
        ReferenceTime::UTCk("PTB".into()),
        ReferenceTime::Custom("REF(NICT)".into()),
    ] {
        let other = write(
            d.path(),
            "other",
            reference.clone(),
            Constellation::GPS,
            &[(8, 600.0, "L1C", 1)],
        );
        let e = compare(&[read(&local).unwrap()], &[read(&other).unwrap()]).unwrap_err();
        assert!(e.to_string().contains("not UTC(NICT)"), "{reference}: {e}");
    }
}

#[test]
fn a_changed_track_line_is_counted_not_used() {
    let d = tempfile::tempdir().unwrap();
    let path = write(
        d.path(),
        "nict",
        nict(),
        Constellation::GPS,
        &[(8, 600.0, "L1C", -281), (10, 600.0, "L1C", 5)],
    );
    let text = std::fs::read_to_string(&path).unwrap();
    // One digit of the first track's REFSYS changed: its checksum no longer matches.
    let changed = text.replacen("-281", "-282", 1);
    assert_ne!(changed, text);
    std::fs::write(&path, changed).unwrap();
    let f = read(&path).unwrap();
    assert_eq!((f.data.tracks.len(), f.unreadable_lines), (1, 1));
}

#[test]
fn a_published_cggtts_file_parses() {
    // A day of a real receiver's multi-frequency GPS tracks (tests/data/SOURCE.md), committed
    // unchanged: the header's and every track's checksum verified.
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/GZGTR560.258");
    let f = read(&p).unwrap();
    assert_eq!(f.data.header.station, "LAB");
    assert_eq!(f.unreadable_lines, 0);
    assert_eq!(f.data.tracks.len(), 2097);
    assert!(f.data.is_gps_cggtts());
    // Matched against itself (as if it were NICT's), every track gives a zero offset.
    let mut nict = read(&p).unwrap();
    nict.data.header.reference_time = ReferenceTime::UTCk("NICT".into());
    let c = compare(&[f], &[nict]).unwrap();
    assert_eq!(c.tracks.len(), 2097);
    assert_eq!(c.worst_01ns(), Some(0));
}
