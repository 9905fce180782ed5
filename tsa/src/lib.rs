//! RFC 3161 time-stamping: request checks, TSTInfo, token building and verification, and
//! the trusted clock.
// `unsafe` is denied everywhere but `clock::kernel`, which calls adjtimex(2).
#![deny(unsafe_code)]

pub mod asn1;
pub mod authority;
pub mod clock;
pub mod error;
pub mod failure;
pub mod oid;
pub mod request;
pub mod serial;
pub mod token;
pub mod transport;
pub mod verify;

pub use authority::{
    ActiveKey, AuthorityConfig, Issued, Outcome, Policy, Prepared, TimeStampAuthority,
};
pub use error::SetupError;
pub use failure::{FailureInfo, Rejection};
pub use verify::{
    ParsedResponse, TimeStampToken, TokenError, VerifiedToken, VerifyOptions, tst_info_unchecked,
};
