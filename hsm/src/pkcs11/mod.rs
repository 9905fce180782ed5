//! PKCS #11 tokens through `cryptoki`: opening a token by label, logging in once, generating
//! keys that never leave it, and signing with them ([`signer::Pkcs11Signer`]).
//!
//! PINs come from a file or an environment variable, are held as `secrecy` strings (zeroized
//! on drop) and never appear in errors or logs.

pub mod attest;
pub mod composite;
pub mod error;
pub mod signer;
pub mod token;
pub mod wrapped;

pub use attest::Attestation;
pub use error::HsmError;
pub use signer::Pkcs11Signer;
pub use token::{PinSource, Pkcs11Token, init_token, load, raw_sign_rate};
