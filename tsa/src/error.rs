//! Why a key or an authority cannot be set up (request-time refusals are `failure.rs`).

use crate::asn1::PolicyIdError;

/// A TSU key or an authority that cannot be put together.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The TSU certificate's extensions cannot be read.
    #[error("TSU certificate: {0}")]
    Certificate(#[from] kokuin_certs::path::PathError),
    /// A policy OID that is not one.
    #[error("policy: {0}")]
    Policy(#[from] PolicyIdError),
}
