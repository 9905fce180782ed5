//! The `Signer` abstraction every key backend implements.
//!
//! A signer is handed the exact bytes to be signed (for CMS, the DER of the signed attributes)
//! and hashes them itself as its algorithm demands: that keeps one interface for hash-then-sign
//! schemes (ECDSA, RSA, where a PKCS#11 token may get only the hash) and for pure ML-DSA, which
//! signs the message itself. Signing is blocking and CPU- or device-bound: callers on an async
//! runtime run it on a blocking pool, never on the reactor, unless the signer says it
//! [signs quickly](Signer::signs_quickly).

use crate::algorithm::SignatureAlgorithm;
use crate::error::SignError;
use spki::SubjectPublicKeyInfoOwned;

/// Where a key lives; reported in key listings and checked by key policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyBackend {
    /// In this process's memory.
    Software,
    /// In a PKCS #11 token.
    Pkcs11,
}

/// A private key that signs, wherever it lives.
pub trait Signer: Send + Sync {
    /// The algorithm it signs with.
    fn algorithm(&self) -> SignatureAlgorithm;
    /// Its public key.
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned;
    /// Where it lives.
    fn backend(&self) -> KeyBackend;
    /// A short name for logs and audit records (a file name or a token label, never a secret).
    fn label(&self) -> &str;
    /// Signs `message` (hashing it with `self.algorithm().digest()` where the scheme hashes).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
    /// A signature costs tens of microseconds of CPU and never waits on a device: cheaper
    /// than handing the work to another thread (measured: the hand-off to tokio's blocking
    /// pool and back cost a software P-256 token more than the signature itself). Async
    /// callers may then sign in place.
    fn signs_quickly(&self) -> bool {
        false
    }
}
