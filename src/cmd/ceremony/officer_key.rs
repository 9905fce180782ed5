//! An officer's own key: in their PKCS #11 token (named as a keyring names token keys:
//! module, token, key label, PIN file), or, at assurance level 1 and in dev, a PKCS #8 file
//! encrypted under their passphrase.

use crate::cmd::CmdError;
use crate::cmd::keys::common::usage;
use kokuin_hsm::{KeyType, PinSource, Pkcs11Signer, Pkcs11Token, Signer, SoftwareSigner};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

/// Where an officer's key is.
#[derive(clap::Args)]
#[group(id = "officer_key_source")]
pub struct OfficerKey {
    /// The officer's key file (PKCS #8, encrypted under their passphrase).
    #[arg(
        long,
        required_unless_present = "pkcs11_module",
        conflicts_with = "pkcs11_module"
    )]
    officer_key: Option<PathBuf>,
    /// With --officer-key: a file holding the passphrase (default: read from standard input).
    #[arg(long, requires = "officer_key")]
    passphrase_file: Option<PathBuf>,
    /// The PKCS #11 module of the officer's token.
    #[arg(long, requires_all = ["token", "key", "pin_file"])]
    pkcs11_module: Option<PathBuf>,
    /// With --pkcs11-module: the token's label.
    #[arg(long, requires = "pkcs11_module")]
    token: Option<String>,
    /// With --pkcs11-module: the key's label in the token.
    #[arg(long, requires = "pkcs11_module")]
    key: Option<String>,
    /// With --pkcs11-module: a file holding the token's user PIN.
    #[arg(long, requires = "pkcs11_module")]
    pin_file: Option<PathBuf>,
}

/// A passphrase file's bytes, without the line end an editor leaves.
pub fn passphrase(p: &Path) -> Result<Zeroizing<Vec<u8>>, CmdError> {
    let text = Zeroizing::new(
        std::fs::read_to_string(p).map_err(|e| CmdError::usage(format!("{}: {e}", p.display())))?,
    );
    Ok(Zeroizing::new(
        text.trim_end_matches(['\n', '\r']).as_bytes().to_vec(),
    ))
}

impl OfficerKey {
    fn passphrase(&self) -> Result<Zeroizing<Vec<u8>>, CmdError> {
        match &self.passphrase_file {
            Some(f) => passphrase(f),
            None => {
                eprint!("passphrase: ");
                let mut line = Zeroizing::new(String::new());
                std::io::stdin().read_line(&mut line).map_err(usage)?;
                Ok(Zeroizing::new(
                    line.trim_end_matches(['\n', '\r']).as_bytes().to_vec(),
                ))
            }
        }
    }

    fn token(&self) -> Result<Option<(Arc<Pkcs11Token>, &str)>, CmdError> {
        let (Some(module), Some(token), Some(key), Some(pin)) =
            (&self.pkcs11_module, &self.token, &self.key, &self.pin_file)
        else {
            return Ok(None);
        };
        let t = Pkcs11Token::open(module, token, &PinSource::File(pin.clone())).map_err(usage)?;
        Ok(Some((Arc::new(t), key.as_str())))
    }

    /// The officer's key, opened.
    pub fn open(&self) -> Result<Arc<dyn Signer>, CmdError> {
        if let Some((t, key)) = self.token()? {
            return Ok(Arc::new(Pkcs11Signer::new(t, key, None, 1).map_err(usage)?));
        }
        let file = self.file()?;
        Ok(Arc::new(
            SoftwareSigner::load_encrypted(file, &self.passphrase()?, "officer").map_err(usage)?,
        ))
    }

    /// A new P-256 officer key where this names: generated in the token (sensitive, never
    /// extractable), or written encrypted to the file, which must not exist.
    pub fn generate(&self) -> Result<Arc<dyn Signer>, CmdError> {
        if let Some((t, key)) = self.token()? {
            t.generate(key, KeyType::P256).map_err(usage)?;
            return Ok(Arc::new(Pkcs11Signer::new(t, key, None, 1).map_err(usage)?));
        }
        let file = self.file()?;
        if file.exists() {
            return Err(CmdError::usage(format!("{} exists", file.display())));
        }
        let key = SoftwareSigner::generate(KeyType::P256, "officer").map_err(usage)?;
        key.write_encrypted_pkcs8_pem(file, &self.passphrase()?)
            .map_err(usage)?;
        Ok(Arc::new(key))
    }

    fn file(&self) -> Result<&Path, CmdError> {
        self.officer_key
            .as_deref()
            .ok_or_else(|| CmdError::usage("give --officer-key, or --pkcs11-module"))
    }

    /// Where the key is, for a person.
    pub fn describe(&self) -> String {
        match (&self.token, &self.key, &self.officer_key) {
            (Some(t), Some(k), _) => format!("{k} in token {t}"),
            (_, _, Some(f)) => f.display().to_string(),
            _ => String::new(),
        }
    }
}
