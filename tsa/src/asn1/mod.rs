//! ASN.1 types hand-written for `der` 0.8, each mirroring its RFC module.

pub mod policy_id;
pub mod time;
pub mod tsp;

pub use policy_id::{PolicyId, PolicyIdError};
pub use time::GenTime;
pub use tsp::{Accuracy, MessageImprint, PkiStatusInfo, TimeStampReq, TimeStampResp, TstInfo};
