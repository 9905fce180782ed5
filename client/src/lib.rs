//! The one HTTP(S) client of Kokuin: `kokuin request`, `kokuin seal` and the e-seal service's
//! external TSA all go through it, so a fix to how a query is posted or a reply bounded
//! reaches every caller. (`kokuin bench` drives hyper directly for load, with the media types
//! from [`kokuin_tsa::transport`].)
#![forbid(unsafe_code)]

mod error;
mod eseal;
mod reply;
mod tls;
mod tsa;

pub use error::ClientError;
pub use eseal::{SealRequest, seal_file};
pub use tls::{TlsOptions, agent};
pub use tsa::{MAX_REPLY, post_query, timestamp};
