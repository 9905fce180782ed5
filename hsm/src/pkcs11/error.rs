//! What a PKCS #11 token can fail with; no error carries a PIN.

use cryptoki::error::Error as CkError;

/// Why a PKCS #11 token or key cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HsmError {
    /// The module cannot be loaded or initialised.
    #[error("PKCS #11 module {module}: {reason}")]
    Module {
        /// The module's path.
        module: String,
        /// Why.
        reason: String,
    },
    /// No token with this label.
    #[error("no token labelled {0:?}")]
    NoToken(String),
    /// A PKCS #11 call failed.
    #[error("PKCS #11 {op}: {rv}")]
    Ck {
        /// The call.
        op: &'static str,
        /// Its return value.
        rv: String,
    },
    /// No private key with this label.
    #[error("no private key labelled {0:?} in the token")]
    NoKey(String),
    /// The PIN's file or variable cannot be read (the PIN itself is never shown).
    #[error("the PIN cannot be read: {0}")]
    Pin(String),
    /// A key that cannot be used as configured.
    #[error("key {label}: {reason}")]
    Key {
        /// The key's label.
        label: String,
        /// Why.
        reason: String,
    },
}

pub(crate) fn ck(op: &'static str) -> impl Fn(CkError) -> HsmError {
    move |e| HsmError::Ck {
        op,
        rv: e.to_string(),
    }
}
