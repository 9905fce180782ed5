//! What a PKCS #11 token can fail with; no error carries a PIN.

use cryptoki::error::Error as CkError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HsmError {
    #[error("PKCS #11 module {module}: {reason}")]
    Module { module: String, reason: String },
    #[error("no token labelled {0:?}")]
    NoToken(String),
    #[error("PKCS #11 {op}: {rv}")]
    Ck { op: &'static str, rv: String },
    #[error("no private key labelled {0:?} in the token")]
    NoKey(String),
    #[error("the PIN cannot be read: {0}")]
    Pin(String),
    #[error("key {label}: {reason}")]
    Key { label: String, reason: String },
}

pub(crate) fn ck(op: &'static str) -> impl Fn(CkError) -> HsmError {
    move |e| HsmError::Ck {
        op,
        rv: e.to_string(),
    }
}
