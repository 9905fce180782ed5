//! Where the keyring is kept: the seam between the key lifecycle (`kokuin keys`, the server
//! following rotations) and its storage: a file ([`FileKeyring`]), or the fleet's database
//! ([`DbKeyring`], `tsa.keyring = "postgres://…"`), where `kokuin keys` acts once for every
//! node.

use crate::config::Config;
use crate::error::KeyringError;
use crate::keyring::Keyring;
use std::io::Write;
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
        return Ok(Some(Arc::new(DbKeyring::new(db))));
    }
    Ok(Some(Arc::new(FileKeyring::new(cfg.resolve(p)))))
}

/// The keyring in the fleet's database: one row, its text the file keyring's TOML, its
/// version bumped at every change. A save is refused when the row changed since this store
/// last read it, so two operators at once cannot lose a change. Calls block (each within the
/// database deadline); async callers run them on a blocking thread.
pub struct DbKeyring {
    db: std::sync::Mutex<kokuin_fleet::SyncDb>,
    /// The version last read, which a save must still find.
    read: std::sync::Mutex<Option<i64>>,
    shown: String,
}

impl DbKeyring {
    /// The keyring in `db`.
    pub fn new(db: kokuin_fleet::SyncDb) -> Self {
        let shown = db.config().shown().to_string();
        Self {
            db: std::sync::Mutex::new(db),
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
            Some((_, text)) => Keyring::parse(&text, &self.shown),
            None => Ok(Keyring::default()),
        }
    }

    fn save(&self, ring: &Keyring) -> Result<(), KeyringError> {
        let text = ring.to_text()?;
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

/// A TOML file, written atomically (temporary file, fsync, rename, directory fsync).
pub struct FileKeyring {
    path: PathBuf,
}

impl FileKeyring {
    /// The keyring kept at `path`.
    pub fn new(path: PathBuf) -> Self {
        Self { path }
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
}

impl KeyringStore for FileKeyring {
    fn load(&self) -> Result<Keyring, KeyringError> {
        let text = std::fs::read_to_string(&self.path).map_err(self.io())?;
        Keyring::parse(&text, &self.path.display().to_string())
    }

    fn save(&self, ring: &Keyring) -> Result<(), KeyringError> {
        let text = ring.to_text()?;
        let tmp = self.path.with_extension("toml.tmp");
        {
            let mut f = std::fs::File::create(&tmp).map_err(self.io())?;
            f.write_all(b"# Kokuin keyring: written by `kokuin keys`; see docs/keys.md.\n")
                .map_err(self.io())?;
            f.write_all(text.as_bytes()).map_err(self.io())?;
            f.sync_all().map_err(self.io())?;
        }
        std::fs::rename(&tmp, &self.path).map_err(self.io())?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(self.io())?;
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
}
