//! The trusted clock's traceability to UTC(NICT) (issue #34): the offset of the provider's
//! reference clock to UTC(NICT), computed, not asserted, from GNSS common view. The
//! provider's receiver and NICT each publish CGGTTS V2E files (BIPM CGGTTS 2E); a track both
//! observed — the same satellite (constellation letter and PRN), the same start time, the same
//! frequency code (FRC) — gives `REFSYS_local − REFSYS_NICT = REF_local − UTC(NICT)`, the
//! satellite's clock cancelling out. Files are read with the `cggtts` crate; only the
//! matching and the arithmetic are written here.

#![forbid(unsafe_code)]

pub mod common_view;
pub mod files;
#[cfg(feature = "synthetic")]
pub mod synthetic;

pub use common_view::{Comparison, HourOffset, TrackOffset, compare};
pub use files::{CggttsFile, TraceError, read, read_all};
