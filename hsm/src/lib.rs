//! Keys and signature algorithms: the [`Signer`] abstraction, its backends and the matching
//! verifiers. Only this crate touches private keys.
#![forbid(unsafe_code)]

pub mod algorithm;
pub mod composite;
pub mod digest;
pub mod mldsa;
pub mod mldsa_signer;
pub mod pkcs11;
pub mod signer;
pub mod software;
pub mod verify;

pub use algorithm::SignatureAlgorithm;
pub use composite::CompositeId;
pub use composite::signer::CompositeSigner;
pub use digest::DigestAlgorithm;
pub use mldsa::{MlDsaKey, MlDsaLevel};
pub use mldsa_signer::{MlDsaComponent, MlDsaSigner};
pub use pkcs11::{HsmError, PinSource, Pkcs11Signer, Pkcs11Token};
pub use signer::{KeyBackend, SignError, Signer};
pub use software::{KeyError, KeyType, SoftwareSigner};
pub use verify::{VerifyError, verify_signature};
