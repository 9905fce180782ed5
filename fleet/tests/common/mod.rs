//! What the fleet crate's tests share: a database connection, the schema as `kokuin fleet
//! migrate` makes it, and a node's signing key.
#![allow(dead_code)] // each test crate uses its own share of these

use kokuin_fleet::heads::HeadTrust;
use kokuin_fleet::log_storage::Signing;
use kokuin_fleet::node_key::NodeKey;
use kokuin_fleet::{DbConfig, SyncDb};
use kokuin_testkit::audit_key::Key;
use kokuin_testkit::postgres::Postgres;
use std::sync::Arc;

pub fn db(pg: &Postgres) -> SyncDb {
    SyncDb::new(DbConfig::new(&pg.url(), Some(&pg.password_file), None).unwrap()).unwrap()
}

/// Node `node`'s key (kept for the whole test process, as on a node's disk) certified by
/// `k`, and trust in heads under `k`.
pub fn signing(node: u16, k: &Arc<Key>) -> Signing {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    let key = NodeKey::load_or_make(
        &dir.path().join(format!("node-{node}")),
        node,
        ORIGIN,
        k.as_ref(),
    )
    .unwrap();
    Signing {
        key,
        trust: HeadTrust::new(ORIGIN.into(), k.clone()),
    }
}

/// The fleet's origin in these tests.
pub const ORIGIN: &str = "fleet.test/audit/fleet";

/// The schema made on `db` as `kokuin fleet migrate` makes it (the tests' role owns the
/// tables; the nodes only check it).
pub fn migrate(db: &mut SyncDb) {
    db.call(|c| async move { kokuin_fleet::schema::migrate(&c, &Default::default()).await })
        .unwrap();
}

/// A throwaway cluster with the fleet's schema.
pub fn started() -> Postgres {
    let pg = Postgres::start();
    migrate(&mut db(&pg));
    pg
}
