//! Keys and signature algorithms: the [`Signer`] abstraction, its backends and the matching
//! verifiers. Only this crate touches private keys.
#![forbid(unsafe_code)]

pub mod algorithm;
pub mod digest;
pub mod pkcs11;
pub mod signer;
pub mod software;
pub mod verify;

pub use algorithm::SignatureAlgorithm;
pub use digest::DigestAlgorithm;
pub use pkcs11::{HsmError, PinSource, Pkcs11Signer, Pkcs11Token};
pub use signer::{KeyBackend, SignError, Signer};
pub use software::{KeyError, KeyType, SoftwareSigner};
pub use verify::{VerifyError, verify_signature};
