//! The key lifecycle's steps in tokens and files, which a ceremony carries out after its
//! approvals (`ceremony/ops.rs`): a new key's keyring entry and its generation, a TSU
//! certificate checked against its key, a key destroyed.

use super::common::{token, usage};
use crate::cmd::CmdError;
use kokuin_certs::path::{Purpose, check_purpose, check_validity, extension};
use kokuin_hsm::{KeyType, Signer, SoftwareSigner};
use kokuin_server::config::Config;
use kokuin_server::key_config::KeyConfig;
use kokuin_server::keyring::{KeyEntry, KeyState, Keyring};
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::PrivateKeyUsagePeriod;

/// A key configuration for `name` where `template`'s keys live; the template's algorithm is
/// kept only if it fits the new key type (a P-256 template says nothing about ML-DSA).
fn like(template: &KeyConfig, name: &str, key_type: KeyType) -> KeyConfig {
    let certificate = PathBuf::from(format!("pki/{name}.pem"));
    let fits = |a: Option<String>| {
        a.filter(|a| kokuin_hsm::SignatureAlgorithm::from_name(a).is_some_and(|a| key_type.fits(a)))
    };
    match template.clone() {
        KeyConfig::Software { algorithm, .. } => KeyConfig::Software {
            path: PathBuf::from(format!("keys/{name}.key")),
            algorithm: fits(algorithm),
            certificate,
        },
        KeyConfig::Pkcs11 {
            module,
            token,
            pin_file,
            pin_env,
            algorithm,
            sessions,
            ..
        } => KeyConfig::Pkcs11 {
            module,
            token,
            key: name.to_string(),
            pin_file,
            pin_env,
            algorithm: fits(algorithm),
            certificate,
            sessions,
            wrapped: None,
            traditional_key: None,
        },
    }
}

/// The keyring entry of a new pending key `name` (nothing generated yet): where the keyring's
/// keys live, with its algorithm, and for a wrapped seed (`wrap`, the wrapping key's label)
/// the file it will be kept in.
pub(crate) fn new_entry(
    cfg: &Config,
    ring: &Keyring,
    name: &str,
    key_type: KeyType,
    policy: Option<String>,
    wrap: Option<&str>,
) -> Result<KeyEntry, CmdError> {
    if ring.get(name).is_some() {
        return Err(CmdError::usage(format!("a key named {name:?} exists")));
    }
    let template = ring
        .keys
        .last()
        .map(|k| k.key.clone())
        .ok_or_else(|| CmdError::usage("the keyring is empty: nothing says where keys live"))?;
    let mut kc = like(&template, name, key_type);
    let composite = match key_type {
        KeyType::Composite(id) => Some(id),
        _ => None,
    };
    if let (
        Some(id),
        KeyConfig::Pkcs11 {
            algorithm,
            traditional_key,
            ..
        },
    ) = (composite, &mut kc)
    {
        *algorithm = Some(id.name());
        *traditional_key = Some(kokuin_hsm::pkcs11::composite::traditional_label(name));
    }
    if let Some(kek) = wrap {
        let level = match key_type {
            KeyType::MlDsa(level) => level,
            KeyType::Composite(id) => id.spec().mldsa,
            _ => {
                return Err(CmdError::usage(
                    "--wrap is for ML-DSA keys and composites (ml-dsa-65, mldsa65-ecdsa-p256-sha512, …)",
                ));
            }
        };
        if cfg.tsa.require_hsm_key {
            return Err(CmdError::usage(format!(
                "tsa.require_hsm_key refuses a wrapped key: an {}",
                kokuin_hsm::pkcs11::wrapped::DESCRIPTION
            )));
        }
        let KeyConfig::Pkcs11 {
            key,
            algorithm,
            wrapped,
            ..
        } = &mut kc
        else {
            return Err(CmdError::usage(
                "--wrap needs the keyring's keys in a PKCS #11 token",
            ));
        };
        *key = kek.to_string();
        *algorithm = Some(composite.map_or_else(|| level.name().to_string(), |id| id.name()));
        *wrapped = Some(PathBuf::from(format!("keys/{name}.wrapped")));
    }
    Ok(KeyEntry {
        name: name.into(),
        state: KeyState::Pending,
        activate_at: None,
        policy,
        key: kc,
    })
}

/// Generates the key `e` ([`new_entry`]) names: in its token, wrapped under its token's AES
/// key, or (dev mode only) in a software key file.
pub(crate) fn make_key(cfg: &Config, e: &KeyEntry, key_type: KeyType) -> Result<(), CmdError> {
    let KeyConfig::Pkcs11 {
        key: kek,
        wrapped: Some(file),
        ..
    } = &e.key
    else {
        return generate_in_place(cfg, &e.key, &e.name, key_type);
    };
    let t = token(cfg, &e.key)?.ok_or_else(|| CmdError::usage("no token"))?;
    t.ensure_wrapping_key(kek).map_err(usage)?;
    if let KeyType::Composite(id) = key_type {
        t.generate_traditional_half(&e.name, id).map_err(usage)?;
    }
    let blob = t.wrap_new_seed(kek).map_err(usage)?;
    write_private(&cfg.resolve(file), &blob)
}

/// A new key where `kc` says: in its token, or (dev mode only) a software key file.
fn generate_in_place(
    cfg: &Config,
    kc: &KeyConfig,
    name: &str,
    key_type: KeyType,
) -> Result<(), CmdError> {
    match kc {
        KeyConfig::Software { path, .. } => {
            if !cfg.dev {
                return Err(CmdError::usage(
                    "software keys are generated in dev mode only; production keys live in an HSM",
                ));
            }
            SoftwareSigner::generate(key_type, name)
                .and_then(|k| k.write_pkcs8_pem(&cfg.resolve(path)))
                .map_err(usage)?;
        }
        KeyConfig::Pkcs11 { .. } => {
            let t = token(cfg, kc)?.ok_or_else(|| CmdError::usage("no token"))?;
            t.generate(name, key_type).map_err(usage)?;
        }
    }
    Ok(())
}

/// Writes `bytes` to a new file of mode 0600.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CmdError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |e: std::io::Error| usage(format!("{}: {e}", path.display()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(io)
}

/// Checks a TSU certificate against its key: the key matches, the EKU and keyUsage are a
/// TSU's, it is valid now, and its private key usage period has not ended.
pub(crate) fn check_tsu_cert(cert: &Certificate, key: &dyn Signer) -> Result<(), CmdError> {
    if cert.tbs_certificate().subject_public_key_info() != key.public_key() {
        return Err(CmdError::negative("the certificate is for another key"));
    }
    check_purpose(cert, Purpose::TimeStamping).map_err(|e| CmdError::negative(e.to_string()))?;
    check_validity(cert, SystemTime::now()).map_err(|e| CmdError::negative(e.to_string()))?;
    let pkup: Option<PrivateKeyUsagePeriod> =
        extension(cert).map_err(|e| CmdError::negative(e.to_string()))?;
    match pkup.and_then(|p| p.not_after) {
        None => Err(CmdError::negative(
            "the certificate has no privateKeyUsagePeriod end (EN 319 422)",
        )),
        Some(t) if t.to_system_time() < SystemTime::now() => Err(CmdError::negative(
            "the certificate's private key usage period has ended",
        )),
        Some(_) => Ok(()),
    }
}

/// Removes the key `e` names from its token (or disk).
pub(crate) fn destroy_key(cfg: &Config, e: &KeyEntry) -> Result<(), CmdError> {
    match &e.key {
        KeyConfig::Software { path, .. } => {
            std::fs::remove_file(cfg.resolve(path)).map_err(usage)?;
        }
        KeyConfig::Pkcs11 {
            key,
            wrapped,
            traditional_key,
            ..
        } => {
            let t = token(cfg, &e.key)?.ok_or_else(|| CmdError::usage("no token"))?;
            if let Some(trad) = traditional_key {
                t.destroy(trad).map_err(usage)?;
            }
            match wrapped {
                // The seed exists only in this blob; the wrapping key serves other keys.
                Some(file) => std::fs::remove_file(cfg.resolve(file)).map_err(usage)?,
                None => t.destroy(key).map_err(usage)?,
            }
        }
    }
    Ok(())
}
