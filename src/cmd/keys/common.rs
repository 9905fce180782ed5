//! What every `kokuin keys` subcommand starts from: the configuration and keyring opened,
//! a policy checked, a key's signer or token opened.

use crate::cmd::CmdError;
use kokuin_hsm::{PinSource, Pkcs11Token, Signer};
use kokuin_server::config::Config;
use kokuin_server::key_config::KeyConfig;
use kokuin_server::keyring::{KeyEntry, Keyring};
use kokuin_server::keyring_store::KeyringStore;
use std::path::Path;
use std::sync::Arc;

pub fn usage(e: impl std::fmt::Display) -> CmdError {
    CmdError::usage(e.to_string())
}

/// The configuration, its keyring's store and the keyring as stored now.
pub fn open(config: &Path) -> Result<(Config, Arc<dyn KeyringStore>, Keyring), CmdError> {
    let cfg = Config::load(config).map_err(usage)?;
    let store = kokuin_server::keyring_store::open(&cfg)
        .map_err(|e| CmdError::usage(e.to_string()))?
        .ok_or_else(|| CmdError::usage("this configuration has no tsa.keyring"))?;
    let ring = store.load().map_err(usage)?;
    Ok((cfg, store, ring))
}

/// The policy OID `given`, checked against the configuration, or the default (first) one.
pub fn policy_of(cfg: &Config, given: Option<&str>) -> Result<String, CmdError> {
    match given {
        None => cfg
            .tsa
            .policies
            .first()
            .map(|p| p.oid.clone())
            .ok_or_else(|| CmdError::usage("no policy is configured")),
        Some(p) if cfg.tsa.policies.iter().any(|c| c.oid == p) => Ok(p.to_string()),
        Some(p) => Err(CmdError::usage(format!(
            "policy {p} is not one of tsa.policies"
        ))),
    }
}

pub fn entry<'a>(ring: &'a mut Keyring, name: &str) -> Result<&'a mut KeyEntry, CmdError> {
    ring.get_mut(name)
        .ok_or_else(|| CmdError::usage(format!("no key named {name:?} in the keyring")))
}

/// The key's signer, without its certificate.
pub fn signer(cfg: &Config, k: &KeyConfig) -> Result<Arc<dyn Signer>, CmdError> {
    let alg = k
        .algorithm()
        .and_then(kokuin_hsm::SignatureAlgorithm::from_name);
    kokuin_server::signing_key::open_key(cfg, k, alg).map_err(usage)
}

pub fn token(cfg: &Config, k: &KeyConfig) -> Result<Option<Arc<Pkcs11Token>>, CmdError> {
    match k {
        KeyConfig::Pkcs11 {
            module,
            token,
            pin_file,
            pin_env,
            ..
        } => {
            let pin = match (pin_file, pin_env) {
                (Some(f), _) => PinSource::File(cfg.resolve(f)),
                (None, Some(v)) => PinSource::Env(v.clone()),
                _ => return Err(CmdError::usage("no PIN source")),
            };
            Ok(Some(Arc::new(
                Pkcs11Token::open(&cfg.resolve(module), token, &pin).map_err(usage)?,
            )))
        }
        KeyConfig::Software { .. } => Ok(None),
    }
}
