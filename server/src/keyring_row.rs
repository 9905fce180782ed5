//! The keyring as the fleet's database holds it: key labels and certificates, nothing that
//! names a resource of the node (docs/fleet.md, "Keys for the whole fleet").
//!
//! Whoever can write the database must not be able to make a node load code, read a file or
//! use another token: a row naming a PKCS #11 module would run that library's constructor in
//! every node. So the row carries, per key, its name, state, activation time, policy, the key's
//! label in the token (and a composite's traditional half), its algorithm's name (one of a
//! fixed list) and the certificate chain as PEM text. Which module, which token, which PIN
//! source come only from the node's own configuration (`tsa.token`); the certificate is
//! checked against the key when it is loaded (`signing_key::load_key`). A software key file
//! is named by the database in dev mode only; a wrapped ML-DSA seed (a file) never.
//!
//! Certificates from the row are written for the loader into a directory of the node's state
//! (`keyring-certificates/NAME.pem`, NAME restricted to letters, digits, `.`, `_`, `-`).

use crate::config::TokenSection;
use crate::error::KeyringError;
use crate::key_config::KeyConfig;
use crate::keyring::{KeyEntry, KeyState, Keyring};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The row's text: `[[keys]]` as in a keyring file, each `key` a [`StoredKey`].
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredRing {
    #[serde(default, skip_serializing_if = "is_zero")]
    version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quorum: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    officers: Vec<kokuin_ceremony::record::Officer>,
    #[serde(default)]
    keys: Vec<StoredEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ceremonies: Vec<kokuin_ceremony::record::CeremonyRecord>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredEntry {
    name: String,
    state: KeyState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    activate_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policy: Option<String>,
    key: StoredKey,
}

/// Where a key of the database's keyring is: by label in the node's token, or (dev mode
/// only) a software key file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "in", rename_all = "lowercase")]
enum StoredKey {
    /// In the node's token (`tsa.token`).
    Token {
        label: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        traditional_label: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        algorithm: Option<String>,
        /// PEM, the certificate first; absent while the key is pending.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        certificate: Option<String>,
    },
    /// Dev mode only: a PKCS #8 file under the dev state directory.
    Software {
        path: PathBuf,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        algorithm: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        certificate: Option<String>,
    },
}

/// What the node supplies: its token, whether it runs in dev mode, where certificates from the
/// row are written, and how its configuration's relative paths resolve.
#[derive(Clone, Debug)]
pub struct Local {
    /// `tsa.token`.
    pub token: Option<TokenSection>,
    /// Dev mode: software key files may be named by the row.
    pub dev: bool,
    /// Where certificates read from the row are written.
    pub certificates: PathBuf,
    /// The configuration's directory.
    pub base_dir: PathBuf,
}

impl Local {
    fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}

fn invalid(origin: &str, reason: String) -> KeyringError {
    KeyringError::Invalid {
        origin: origin.to_string(),
        reason,
    }
}

/// A key name that is safe as a file name and short.
fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "key name {name:?}: use up to 64 letters, digits, '.', '_' or '-'"
        ))
    }
}

/// Reads the row's text into a keyring the node can load, with its token's module, label and
/// PIN source; refuses any row naming a resource (a module, a token, a PIN file, a wrapped
/// seed) and, outside dev mode, a software key.
pub fn from_row(text: &str, local: &Local, origin: &str) -> Result<Keyring, KeyringError> {
    let de = toml::Deserializer::parse(text)
        .map_err(|e| invalid(origin, e.to_string().trim().into()))?;
    let mut stored: StoredRing = serde_path_to_error::deserialize(de).map_err(|e| {
        invalid(
            origin,
            format!(
                "{}: {} (a keyring in the database holds key labels and certificates only; \
                 module, token and PIN come from the node's tsa.token)",
                e.path(),
                e.inner().message()
            ),
        )
    })?;
    let mut keys = Vec::new();
    let entries = std::mem::take(&mut stored.keys);
    for e in entries {
        check_name(&e.name).map_err(|r| invalid(origin, r))?;
        let cert_file = local.certificates.join(format!("{}.pem", e.name));
        let write_cert = |pem: &Option<String>| -> Result<(), KeyringError> {
            let Some(pem) = pem else { return Ok(()) };
            kokuin_certs::pem::parse_certificates(pem.as_bytes())
                .map_err(|r| invalid(origin, format!("key {}: certificate: {r}", e.name)))?;
            std::fs::create_dir_all(&local.certificates)
                .and_then(|()| kokuin_audit::atomic::write(&cert_file, pem.as_bytes()))
                .map_err(|source| KeyringError::Io {
                    origin: "keyring certificates".into(),
                    source,
                })
        };
        let key = match &e.key {
            StoredKey::Token {
                label,
                traditional_label,
                algorithm,
                certificate,
            } => {
                let t = local.token.as_ref().ok_or_else(|| {
                    invalid(
                        origin,
                        format!(
                            "key {}: it is in a token, and this node names no token (tsa.token)",
                            e.name
                        ),
                    )
                })?;
                write_cert(certificate)?;
                KeyConfig::Pkcs11 {
                    module: t.module.clone(),
                    token: t.token.clone(),
                    key: label.clone(),
                    pin_file: t.pin_file.clone(),
                    pin_env: t.pin_env.clone(),
                    algorithm: algorithm.clone(),
                    certificate: cert_file.clone(),
                    sessions: t.sessions,
                    wrapped: None,
                    traditional_key: traditional_label.clone(),
                }
            }
            StoredKey::Software {
                path,
                algorithm,
                certificate,
            } => {
                if !local.dev {
                    return Err(invalid(
                        origin,
                        format!(
                            "key {}: the database names a software key file; outside dev mode \
                             a fleet's keys are in the node's token only",
                            e.name
                        ),
                    ));
                }
                write_cert(certificate)?;
                KeyConfig::Software {
                    path: path.clone(),
                    algorithm: algorithm.clone(),
                    certificate: cert_file.clone(),
                }
            }
        };
        key.check(&format!("keys.{}.key", e.name))
            .map_err(|(at, r)| invalid(origin, format!("{at}: {r}")))?;
        keys.push(KeyEntry {
            name: e.name,
            state: e.state,
            activate_at: e.activate_at,
            policy: e.policy,
            key,
        });
    }
    let ring = Keyring {
        version: stored.version,
        quorum: stored.quorum,
        officers: stored.officers,
        keys,
        ceremonies: stored.ceremonies,
    };
    // The same checks as a keyring file's (names once, times, policies).
    Keyring::parse(&ring.to_text()?, origin)
}

/// The row's text for `ring`: each key by label with its certificate's PEM. A key the node's
/// token does not hold (another module, token or PIN source), a wrapped seed, or outside dev
/// mode a software key, is refused: the database would have to name it.
pub fn to_row(ring: &Keyring, local: &Local) -> Result<String, KeyringError> {
    let origin = "the keyring in the database";
    let mut keys = Vec::new();
    for e in &ring.keys {
        check_name(&e.name).map_err(|r| invalid(origin, r))?;
        let pem = |p: &Path| -> Result<Option<String>, KeyringError> {
            match std::fs::read_to_string(local.resolve(p)) {
                Ok(t) => Ok(Some(t)),
                // Pending: certified later (`keys import-cert`).
                Err(_) if e.state == KeyState::Pending => Ok(None),
                Err(source) => Err(KeyringError::Io {
                    origin: format!("key {}: certificate", e.name),
                    source,
                }),
            }
        };
        let key = match &e.key {
            KeyConfig::Pkcs11 {
                module,
                token,
                key,
                pin_file,
                pin_env,
                algorithm,
                certificate,
                wrapped,
                traditional_key,
                ..
            } => {
                let ours = local.token.as_ref().is_some_and(|t| {
                    local.resolve(&t.module) == local.resolve(module)
                        && t.token == *token
                        && t.pin_file.as_deref().map(|p| local.resolve(p))
                            == pin_file.as_deref().map(|p| local.resolve(p))
                        && t.pin_env == *pin_env
                });
                if !ours || wrapped.is_some() {
                    return Err(invalid(
                        origin,
                        format!(
                            "key {}: a fleet's keyring holds keys of the nodes' token \
                             (tsa.token) only, by label{}",
                            e.name,
                            if wrapped.is_some() {
                                "; a wrapped seed is a file of one node"
                            } else {
                                ""
                            }
                        ),
                    ));
                }
                StoredKey::Token {
                    label: key.clone(),
                    traditional_label: traditional_key.clone(),
                    algorithm: algorithm.clone(),
                    certificate: pem(certificate)?,
                }
            }
            KeyConfig::Software {
                path,
                algorithm,
                certificate,
            } => {
                if !local.dev {
                    return Err(invalid(
                        origin,
                        format!(
                            "key {}: a software key outside dev mode; a fleet's keys are in \
                             the nodes' token",
                            e.name
                        ),
                    ));
                }
                StoredKey::Software {
                    path: path.clone(),
                    algorithm: algorithm.clone(),
                    certificate: pem(certificate)?,
                }
            }
        };
        keys.push(StoredEntry {
            name: e.name.clone(),
            state: e.state,
            activate_at: e.activate_at.clone(),
            policy: e.policy.clone(),
            key,
        });
    }
    let stored = StoredRing {
        version: ring.version,
        quorum: ring.quorum,
        officers: ring.officers.clone(),
        keys,
        ceremonies: ring.ceremonies.clone(),
    };
    toml::to_string_pretty(&stored).map_err(|e| invalid(origin, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(dir: &Path, dev: bool) -> Local {
        Local {
            token: Some(TokenSection {
                module: "/usr/lib/softhsm/libsofthsm2.so".into(),
                token: "fleet".into(),
                pin_file: Some("keys/token.pin".into()),
                pin_env: None,
                sessions: None,
            }),
            dev,
            certificates: dir.join("certs"),
            base_dir: dir.to_path_buf(),
        }
    }

    fn entry(key: KeyConfig) -> KeyEntry {
        KeyEntry {
            name: "tsu-2026".into(),
            state: KeyState::Pending,
            activate_at: None,
            policy: None,
            key,
        }
    }

    fn token_key(module: &str) -> KeyConfig {
        KeyConfig::Pkcs11 {
            module: module.into(),
            token: "fleet".into(),
            key: "tsu-2026".into(),
            pin_file: Some("keys/token.pin".into()),
            pin_env: None,
            algorithm: None,
            certificate: "pki/tsu-2026.pem".into(),
            sessions: None,
            wrapped: None,
            traditional_key: None,
        }
    }

    #[test]
    fn a_token_key_goes_in_by_label_and_comes_back_with_the_nodes_token() {
        let dir = tempfile::tempdir().unwrap();
        let l = local(dir.path(), false);
        let ring = Keyring {
            keys: vec![entry(token_key("/usr/lib/softhsm/libsofthsm2.so"))],
            ..Default::default()
        };
        let row = to_row(&ring, &l).unwrap();
        assert!(!row.contains("softhsm") && !row.contains("pin"), "{row}");
        let back = from_row(&row, &l, "test").unwrap();
        match &back.keys[0].key {
            KeyConfig::Pkcs11 { module, key, .. } => {
                assert_eq!(module, Path::new("/usr/lib/softhsm/libsofthsm2.so"));
                assert_eq!(key, "tsu-2026");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_row_naming_a_resource_or_a_software_key_outside_dev_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let l = local(dir.path(), false);
        for row in [
            // The file keyring's form: it names the module.
            "[[keys]]\nname = \"k\"\nstate = \"active\"\n[keys.key]\nbackend = \"pkcs11\"\n\
             module = \"/tmp/evil.so\"\ntoken = \"t\"\nkey = \"k\"\npin_env = \"X\"\n\
             certificate = \"c.pem\"\n",
            "[[keys]]\nname = \"k\"\nstate = \"active\"\n[keys.key]\nin = \"token\"\n\
             label = \"k\"\nmodule = \"/tmp/evil.so\"\n",
            "[[keys]]\nname = \"k\"\nstate = \"active\"\n[keys.key]\nin = \"software\"\n\
             path = \"keys/tsu.key\"\n",
            "[[keys]]\nname = \"../../etc/x\"\nstate = \"active\"\n[keys.key]\nin = \"token\"\n\
             label = \"k\"\n",
        ] {
            assert!(from_row(row, &l, "test").is_err(), "{row}");
        }
        // A software key is named by the database in dev mode only.
        let software = "[[keys]]\nname = \"k\"\nstate = \"active\"\n[keys.key]\n\
                        in = \"software\"\npath = \"keys/tsu.key\"\n";
        assert!(from_row(software, &local(dir.path(), true), "test").is_ok());
        // Writing: a key of another module, or a wrapped seed, is not the fleet's to hold.
        let foreign = Keyring {
            keys: vec![entry(token_key("/tmp/other.so"))],
            ..Default::default()
        };
        assert!(to_row(&foreign, &l).is_err());
        let mut wrapped = token_key("/usr/lib/softhsm/libsofthsm2.so");
        if let KeyConfig::Pkcs11 { wrapped: w, .. } = &mut wrapped {
            *w = Some("keys/seed.wrapped".into());
        }
        assert!(
            to_row(
                &Keyring {
                    keys: vec![entry(wrapped)],
                    ..Default::default()
                },
                &l
            )
            .is_err()
        );
    }
}
