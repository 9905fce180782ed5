//! The fleet's tables (docs/fleet.md has the format an auditor reads). Created if missing, so
//! a fresh database needs no separate step; a database administrator may create them first
//! and grant the nodes INSERT, SELECT and the lease's UPDATE only.

/// Every statement that creates the schema, idempotent.
pub const CREATE: &str = "
CREATE TABLE IF NOT EXISTS kokuin_audit_records (
    node_id integer NOT NULL,
    seq     bigint  NOT NULL,
    line    text    NOT NULL,
    serial  text,
    PRIMARY KEY (node_id, seq)
);
CREATE INDEX IF NOT EXISTS kokuin_audit_records_serial
    ON kokuin_audit_records (serial) WHERE serial IS NOT NULL;
CREATE TABLE IF NOT EXISTS kokuin_audit_checkpoints (
    node_id integer PRIMARY KEY,
    line    text NOT NULL,
    updated timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS kokuin_nodes (
    node_id integer PRIMARY KEY,
    holder  text NOT NULL,
    host    text NOT NULL,
    pid     integer NOT NULL,
    epoch   bigint NOT NULL,
    claimed timestamptz NOT NULL,
    expires timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS kokuin_tree_leaves (
    idx     bigint  PRIMARY KEY,
    node_id integer NOT NULL,
    seq     bigint  NOT NULL,
    UNIQUE (node_id, seq)
);
CREATE TABLE IF NOT EXISTS kokuin_tree_nodes (
    level smallint NOT NULL,
    idx   bigint   NOT NULL,
    hash  bytea    NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE IF NOT EXISTS kokuin_tree_checkpoints (
    size bigint PRIMARY KEY,
    note text   NOT NULL,
    made timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS kokuin_keyring (
    id      integer PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL,
    text    text NOT NULL,
    updated timestamptz NOT NULL DEFAULT now()
);
";

/// Creates what is missing. Two nodes starting at once may race on `CREATE … IF NOT
/// EXISTS`; the loser's error is a duplicate, which is success here.
pub async fn ensure(client: &tokio_postgres::Client) -> Result<(), crate::FleetError> {
    match client.batch_execute(CREATE).await {
        Ok(()) => Ok(()),
        Err(e)
            if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
                || e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_TABLE)
                || e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_OBJECT) =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
