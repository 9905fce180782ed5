//! CGGTTS V2E files made from given tracks, written by the `cggtts` crate's own formatter: for
//! tests (behind the `synthetic` feature), so that what is compared is what a receiver's
//! software writes, with offsets known in advance.

use cggtts::prelude::{CGGTTS, CommonViewClass, Duration, Epoch, Header, SV, Track, TrackData};
pub use cggtts::prelude::{Constellation, ReferenceTime};
use std::path::{Path, PathBuf};

/// One track: PRN, start (Unix seconds), frequency code, REFSYS in units of 0.1 ns.
pub type Spec = (u8, f64, &'static str, i64);

/// Writes `dir/name`: a file of `c`'s tracks whose clock is `reference` (`REF`).
pub fn write(
    dir: &Path,
    name: &str,
    reference: ReferenceTime,
    c: Constellation,
    tracks: &[Spec],
) -> std::io::Result<PathBuf> {
    let tracks = tracks
        .iter()
        .map(|(prn, start, frc, refsys)| {
            Track::new(
                SV::new(c, *prn),
                Epoch::from_unix_seconds(*start),
                Duration::from_seconds(780.0),
                CommonViewClass::SingleChannel,
                45.0,
                180.0,
                TrackData {
                    refsv: 1234.0e-10,
                    srsv: 0.0,
                    refsys: *refsys as f64 * 1e-10,
                    srsys: 0.0,
                    dsg: 2e-10,
                    ioe: 42,
                    mdtr: 100e-10,
                    smdt: 0.0,
                    mdio: 50e-10,
                    smdi: 0.0,
                },
                None,
                0,
                frc,
            )
        })
        .collect();
    let header = Header::default()
        .with_station(name)
        .with_reference_time(reference);
    let path = dir.join(name);
    CGGTTS::default()
        .with_header(header)
        .with_tracks(tracks)
        .to_file(&path)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(path)
}

/// UTC(NICT), as NICT's files name their clock.
pub fn nict() -> ReferenceTime {
    ReferenceTime::UTCk("NICT".into())
}
