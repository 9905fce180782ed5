//! Keys and signature algorithms: the [`Signer`] abstraction, its backends and the matching
//! verifiers. Only this crate touches private keys.
#![forbid(unsafe_code)]

pub mod algorithm;
pub mod composite;
pub mod digest;
pub mod error;
pub mod key_type;
pub mod mldsa;
pub mod mldsa_signer;
pub mod pkcs11;
pub mod signer;
pub mod software;
pub mod verify;

pub use algorithm::SignatureAlgorithm;
pub use composite::id::CompositeId;
pub use composite::signer::CompositeSigner;
pub use digest::DigestAlgorithm;
pub use error::{KeyError, SignError};
pub use key_type::KeyType;
pub use mldsa::MlDsaKey;
pub use mldsa::level::MlDsaLevel;
pub use mldsa_signer::{MlDsaComponent, MlDsaSigner};
pub use pkcs11::{HsmError, PinSource, Pkcs11Signer, Pkcs11Token};
pub use signer::{KeyBackend, Signer};
pub use software::SoftwareSigner;
pub use verify::{VerifyError, verify_signature};
