//! The keyring in the database: one row holding the keyring's text (the same TOML as the
//! file keyring) and a version incremented at every change. `kokuin keys …` changes it once
//! for the fleet; every node polls the version each second and follows.

use crate::db::SyncDb;
use crate::error::FleetError;

/// The keyring's text and version; `None` before the first write.
pub fn load(db: &mut SyncDb) -> Result<Option<(i64, String)>, FleetError> {
    db.call(|c| async move {
        crate::schema::check(&c).await?;
        let row = c
            .query_opt("SELECT version, text FROM kokuin_keyring WHERE id = 1", &[])
            .await?;
        Ok(match row {
            Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
            None => None,
        })
    })
}

/// The version only: what a node polls.
pub fn version(db: &mut SyncDb) -> Result<Option<i64>, FleetError> {
    db.call(|c| async move {
        let row = c
            .query_opt("SELECT version FROM kokuin_keyring WHERE id = 1", &[])
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    })
}

/// Replaces the text if the stored version is still `expected` (`None`: no keyring yet), so
/// that two operators changing the keyring at once cannot lose one change. Returns the new
/// version, or an error naming the conflict.
pub fn store(db: &mut SyncDb, expected: Option<i64>, text: String) -> Result<i64, FleetError> {
    db.call(|c| async move {
        crate::schema::check(&c).await?;
        let row = match expected {
            None => {
                c.query_opt(
                    "INSERT INTO kokuin_keyring (id, version, text) VALUES (1, 1, $1)
                     ON CONFLICT (id) DO NOTHING RETURNING version",
                    &[&text],
                )
                .await?
            }
            Some(v) => {
                c.query_opt(
                    "UPDATE kokuin_keyring SET version = version + 1, text = $2, updated = now()
                     WHERE id = 1 AND version = $1 RETURNING version",
                    &[&v, &text],
                )
                .await?
            }
        };
        match row {
            Some(r) => Ok(r.try_get(0)?),
            None => Err(FleetError::Db(
                "the keyring changed meanwhile (another `kokuin keys`); run the command again"
                    .into(),
            )),
        }
    })
}
