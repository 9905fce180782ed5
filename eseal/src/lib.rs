//! E-seals: CMS signatures of an organisation over documents, in the CAdES baseline levels of
//! EN 319 122-1 (B-B, B-T, B-LT, B-LTA), with the assurance levels of the Japanese e-seal
//! guideline (eシールに係る指針).
//!
//! - [`build`]: B-B, detached or enveloping, over a document or a digest computed elsewhere.
//! - [`extend`]: B-T, B-LT and B-LTA added to an existing seal, every earlier byte kept.
//! - [`ats`]: the archive-time-stamp-v3 imprint and its ats-hash-index-v3 (EN 319 122-1 §5.5.3).
//! - [`verify`]: offline verification reporting the level reached and the sealing organisation.
//! - [`verdict`]: one JSON verdict for a token or a seal, for the CLI and the verification page.
//! - [`assurance`]: levels 1 and 2 and the rules a seal key must meet for its level.
#![forbid(unsafe_code)]

pub mod assurance;
pub mod ats;
pub mod build;
pub mod extend;
pub mod level;
pub mod oid;
pub mod raw;
pub mod verdict;
pub mod verify;

pub use assurance::AssuranceLevel;
pub use build::{SealContent, SealError, SealKey};
pub use extend::TimeStamper;
pub use level::BaselineLevel;
pub use verify::{SealForm, SealReport, SealVerifyError, SealVerifyOptions};
