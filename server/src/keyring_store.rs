//! Where the keyring is kept: the seam between the key lifecycle (`kokuin keys`, the server
//! following rotations) and its storage: a file ([`FileKeyring`]), or the fleet's database
//! ([`DbKeyring`], `tsa.keyring = "postgres://…"`), where `kokuin keys` acts once for every
//! node.

use crate::config::Config;
use crate::error::KeyringError;
use crate::keyring::Keyring;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A place the keyring is read from and written to.
pub trait KeyringStore: Send + Sync {
    /// The keyring as stored now.
    fn load(&self) -> Result<Keyring, KeyringError>;

    /// Replaces the stored keyring atomically: a reader sees the old one or the new one,
    /// never a mix, and the new one survives a crash once this returns.
    fn save(&self, ring: &Keyring) -> Result<(), KeyringError>;

    /// A value that changes whenever the stored keyring may have changed (for a file, its
    /// bytes), so a follower rereads only then; `None` while it cannot be read.
    fn version(&self) -> Option<Vec<u8>>;
}

/// The keyring store `tsa.keyring` configures, if any.
pub fn open(cfg: &Config) -> Result<Option<Arc<dyn KeyringStore>>, KeyringError> {
    let Some(p) = &cfg.tsa.keyring else {
        return Ok(None);
    };
    let text = p.to_string_lossy();
    if kokuin_fleet::db::is_url(&text) {
        let db = cfg
            .database_at(&text)
            .and_then(kokuin_fleet::SyncDb::new)
            .map_err(|e| KeyringError::Invalid {
                origin: "tsa.keyring".into(),
                reason: e.to_string(),
            })?;
        return Ok(Some(Arc::new(DbKeyring::new(db, local(cfg)))));
    }
    Ok(Some(Arc::new(FileKeyring::new(cfg.resolve(p)))))
}

/// What a node supplies to a keyring in the database (`keyring_row`): its token, dev mode,
/// and where the row's certificates are written (beside its serial state).
pub fn local(cfg: &Config) -> crate::keyring_row::Local {
    crate::keyring_row::Local {
        token: cfg.tsa.token.clone(),
        dev: cfg.dev,
        certificates: cfg
            .resolve(&cfg.tsa.serial_state)
            .with_file_name("keyring-certificates"),
        base_dir: cfg.base_dir.clone(),
    }
}

/// The keyring in the fleet's database: one row, its text key labels and certificates
/// (`keyring_row`: nothing naming a module, a token, a PIN or a file), its version bumped at
/// every change. A save is refused when the row changed since this store
/// last read it, so two operators at once cannot lose a change. Calls block (each within the
/// database deadline); async callers run them on a blocking thread.
pub struct DbKeyring {
    db: std::sync::Mutex<kokuin_fleet::SyncDb>,
    local: crate::keyring_row::Local,
    /// The version last read, which a save must still find.
    read: std::sync::Mutex<Option<i64>>,
    shown: String,
}

impl DbKeyring {
    /// The keyring in `db`, for a node that supplies `local`.
    pub fn new(db: kokuin_fleet::SyncDb, local: crate::keyring_row::Local) -> Self {
        let shown = db.config().shown().to_string();
        Self {
            db: std::sync::Mutex::new(db),
            local,
            read: std::sync::Mutex::new(None),
            shown,
        }
    }

    fn err(&self, e: impl std::fmt::Display) -> KeyringError {
        KeyringError::Invalid {
            origin: self.shown.clone(),
            reason: e.to_string(),
        }
    }

    fn db(&self) -> Result<std::sync::MutexGuard<'_, kokuin_fleet::SyncDb>, KeyringError> {
        self.db.lock().map_err(|_| self.err("poisoned"))
    }
}

impl KeyringStore for DbKeyring {
    fn load(&self) -> Result<Keyring, KeyringError> {
        let row = kokuin_fleet::keyring::load(&mut *self.db()?).map_err(|e| self.err(e))?;
        let read = row.as_ref().map(|(v, _)| *v);
        if let Ok(mut r) = self.read.lock() {
            *r = read;
        }
        // A database without a keyring yet holds an empty one: `kokuin keys generate`
        // starts it.
        match row {
            Some((_, text)) => crate::keyring_row::from_row(&text, &self.local, &self.shown),
            None => Ok(Keyring::default()),
        }
    }

    fn save(&self, ring: &Keyring) -> Result<(), KeyringError> {
        let text = crate::keyring_row::to_row(ring, &self.local)?;
        let expected = self
            .read
            .lock()
            .map_err(|_| self.err("poisoned"))?
            .to_owned();
        let version = kokuin_fleet::keyring::store(&mut *self.db()?, expected, text)
            .map_err(|e| self.err(e))?;
        if let Ok(mut r) = self.read.lock() {
            *r = Some(version);
        }
        Ok(())
    }

    fn version(&self) -> Option<Vec<u8>> {
        let v = kokuin_fleet::keyring::version(&mut *self.db().ok()?).ok()??;
        Some(v.to_be_bytes().to_vec())
    }
}

/// A TOML file, written atomically (`kokuin_audit::atomic`) by one writer at a time: a save
/// holds `FILE.lock` and is refused when the file changed since this store last read it, so
/// two operators at once cannot lose a change, as with the database's row.
pub struct FileKeyring {
    path: PathBuf,
    /// The bytes last read, which a save must still find.
    read: std::sync::Mutex<Option<Vec<u8>>>,
}

impl FileKeyring {
    /// The keyring kept at `path`.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            read: std::sync::Mutex::new(None),
        }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self) -> impl Fn(std::io::Error) -> KeyringError + '_ {
        |source| KeyringError::Io {
            origin: self.path.display().to_string(),
            source,
        }
    }

    fn invalid(&self, reason: String) -> KeyringError {
        KeyringError::Invalid {
            origin: self.path.display().to_string(),
            reason,
        }
    }
}

impl KeyringStore for FileKeyring {
    fn load(&self) -> Result<Keyring, KeyringError> {
        let bytes = std::fs::read(&self.path).map_err(self.io())?;
        let text =
            String::from_utf8(bytes.clone()).map_err(|_| self.invalid("not UTF-8 text".into()))?;
        let ring = Keyring::parse(&text, &self.path.display().to_string())?;
        if let Ok(mut r) = self.read.lock() {
            *r = Some(bytes);
        }
        Ok(ring)
    }

    fn save(&self, ring: &Keyring) -> Result<(), KeyringError> {
        let text = ring.to_text()?;
        let mut lock_path = self.path.clone().into_os_string();
        lock_path.push(".lock");
        let _lock = kokuin_audit::lock::WriterLock::acquire_file(
            Path::new(&lock_path),
            "keyring",
            &self.path,
        )
        .map_err(|e| self.invalid(e.to_string()))?;
        let read = self.read.lock().ok().and_then(|r| r.clone());
        if let Some(read) = read {
            let now = std::fs::read(&self.path).map_err(self.io())?;
            if now != read {
                return Err(self.invalid(
                    "the keyring changed since it was read (another operator's change?); \
                     nothing was written: run the command again"
                        .into(),
                ));
            }
        }
        let mut bytes = b"# Kokuin keyring: written by `kokuin keys`; see docs/keys.md.\n".to_vec();
        bytes.extend_from_slice(text.as_bytes());
        kokuin_audit::atomic::write(&self.path, &bytes).map_err(self.io())?;
        if let Ok(mut r) = self.read.lock() {
            *r = Some(bytes);
        }
        Ok(())
    }

    fn version(&self) -> Option<Vec<u8>> {
        std::fs::read(&self.path).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_config::KeyConfig;
    use crate::keyring::{KeyEntry, KeyState};

    #[test]
    fn saves_loads_and_versions_change() {
        let d = tempfile::tempdir().unwrap();
        let store = FileKeyring::new(d.path().join("keyring.toml"));
        assert!(store.load().is_err());
        assert!(store.version().is_none());
        let mut k = Keyring {
            keys: vec![KeyEntry {
                name: "a".into(),
                state: KeyState::Active,
                activate_at: Some("2026-11-23T09:00:00Z".into()),
                policy: None,
                key: KeyConfig::Software {
                    path: "k".into(),
                    algorithm: None,
                    certificate: "c".into(),
                },
            }],
            ..Default::default()
        };
        store.save(&k).unwrap();
        let v1 = store.version().unwrap();
        let back = store.load().unwrap();
        assert_eq!(back.keys.len(), 1);
        assert_eq!(back.keys[0].state, KeyState::Active);
        k.keys[0].state = KeyState::Retired;
        store.save(&k).unwrap();
        assert_ne!(store.version().unwrap(), v1);
        assert_eq!(store.load().unwrap().keys[0].state, KeyState::Retired);
    }

    #[test]
    fn a_change_made_meanwhile_is_refused_not_lost() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("keyring.toml");
        let k = Keyring {
            keys: vec![KeyEntry {
                name: "a".into(),
                state: KeyState::Active,
                activate_at: None,
                policy: None,
                key: KeyConfig::Software {
                    path: "k".into(),
                    algorithm: None,
                    certificate: "c".into(),
                },
            }],
            ..Default::default()
        };
        FileKeyring::new(path.clone()).save(&k).unwrap();
        let (a, b) = (
            FileKeyring::new(path.clone()),
            FileKeyring::new(path.clone()),
        );
        let mut ra = a.load().unwrap();
        let mut rb = b.load().unwrap();
        ra.keys[0].state = KeyState::Retired;
        a.save(&ra).unwrap();
        rb.keys[0].name = "b".into();
        let e = b.save(&rb).unwrap_err();
        assert!(e.to_string().contains("changed since it was read"), "{e}");
        assert_eq!(a.load().unwrap().keys[0].state, KeyState::Retired);
        // While another process holds the keyring's lock, a save is refused at once.
        let _held = kokuin_audit::lock::WriterLock::acquire_file(
            &d.path().join("keyring.toml.lock"),
            "keyring",
            &path,
        )
        .unwrap();
        let e = a.save(&ra).unwrap_err();
        assert!(e.to_string().contains("one writer at a time"), "{e}");
    }
}
