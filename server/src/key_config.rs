//! Where a key is, as `[tsa.key]`, a keyring entry and `[[eseal.keys]]` say it: a PKCS #8
//! file or a PKCS #11 token (with a wrapped ML-DSA seed or a composite's two halves).

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, tag = "backend", rename_all = "lowercase")]
/// Where a key is: `backend = "software"` or `"pkcs11"`.
pub enum KeyConfig {
    /// A PKCS #8 file; for development. RSA keys log a warning outside dev mode.
    Software {
        /// The PKCS #8 file (mode 0600).
        path: PathBuf,
        /// `ecdsa-sha256`, `rsa-pss-sha256`, … (default: by key type).
        algorithm: Option<String>,
        /// PEM: the TSU certificate first, then any intermediates to send with certReq.
        certificate: PathBuf,
    },
    /// A key in a PKCS #11 token.
    Pkcs11 {
        /// The PKCS #11 module (shared library).
        module: PathBuf,
        /// Token label.
        token: String,
        /// Key label (CKA_LABEL of the private and public key objects).
        key: String,
        /// File holding the user PIN (mode 0600), or…
        pin_file: Option<PathBuf>,
        /// …the environment variable holding it.
        pin_env: Option<String>,
        /// `ecdsa-sha256`, `rsa-pss-sha256`, `ml-dsa-65`, a composite's name, … (default: by
        /// key type).
        algorithm: Option<String>,
        /// PEM: the certificate first, then its chain.
        certificate: PathBuf,
        /// Sessions in the signing pool (default: the signing threads, 2 per core).
        sessions: Option<usize>,
        /// The fallback for tokens without ML-DSA: this file holds an ML-DSA seed wrapped
        /// under the token's AES key `key` (`keys generate --wrap`); `algorithm` names the
        /// ML-DSA level. It signs in locked host memory: e-seal assurance level 1 only, never
        /// with `tsa.require_hsm_key`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wrapped: Option<PathBuf>,
        /// A composite key (`algorithm` names it): the label of its traditional half in the
        /// same token; `key` (or `wrapped`) is then its ML-DSA half.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        traditional_key: Option<String>,
    },
}

impl KeyConfig {
    /// Checks what can be checked without opening the key; errors name `at.field`.
    pub fn check(&self, at: &str) -> Result<(), (String, String)> {
        if let KeyConfig::Pkcs11 {
            pin_file, pin_env, ..
        } = self
            && pin_file.is_some() == pin_env.is_some()
        {
            return Err((
                format!("{at}.pin_file"),
                "give exactly one of pin_file and pin_env (never the PIN itself)".into(),
            ));
        }
        if let KeyConfig::Pkcs11 {
            wrapped: Some(_), ..
        } = self
            && !matches!(
                self.algorithm()
                    .and_then(kokuin_hsm::SignatureAlgorithm::from_name),
                Some(
                    kokuin_hsm::SignatureAlgorithm::MlDsa(_)
                        | kokuin_hsm::SignatureAlgorithm::Composite(_)
                )
            )
        {
            return Err((
                format!("{at}.algorithm"),
                "a wrapped key is an ML-DSA seed: name its level (ml-dsa-44/65/87) or the \
                 composite it is half of"
                    .into(),
            ));
        }
        if let Some(a) = self.algorithm()
            && kokuin_hsm::SignatureAlgorithm::from_name(a).is_none()
        {
            return Err((
                format!("{at}.algorithm"),
                format!("unknown signature algorithm {a:?}"),
            ));
        }
        if let KeyConfig::Pkcs11 {
            traditional_key, ..
        } = self
        {
            let composite = matches!(
                self.algorithm()
                    .and_then(kokuin_hsm::SignatureAlgorithm::from_name),
                Some(kokuin_hsm::SignatureAlgorithm::Composite(_))
            );
            if composite != traditional_key.is_some() {
                return Err((
                    format!("{at}.traditional_key"),
                    "a composite key in a token names its traditional half (traditional_key) \
                     and its algorithm; no other key has a traditional_key"
                        .into(),
                ));
            }
        }
        Ok(())
    }

    /// The configured algorithm, if any.
    pub fn algorithm(&self) -> Option<&str> {
        match self {
            Self::Software { algorithm, .. } | Self::Pkcs11 { algorithm, .. } => {
                algorithm.as_deref()
            }
        }
    }

    /// The certificate file.
    pub fn certificate(&self) -> &Path {
        match self {
            Self::Software { certificate, .. } | Self::Pkcs11 { certificate, .. } => certificate,
        }
    }
}
