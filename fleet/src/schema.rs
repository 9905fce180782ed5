//! The fleet's tables (docs/fleet.md has the format an auditor reads), made and upgraded by
//! `kokuin fleet migrate`, run by the tables' owner once per upgrade ([`migrate`]). Nodes
//! and auditors never change the schema: they check its version ([`check`]) and refuse to
//! run on one they do not know, so a node's role needs no DDL, and no DELETE anywhere.

/// The schema's version this build reads and writes (`kokuin_schema`).
pub const VERSION: i32 = 3;

/// Every statement that creates the schema, idempotent.
pub const CREATE: &str = "
CREATE TABLE IF NOT EXISTS kokuin_schema (
    id      integer PRIMARY KEY CHECK (id = 1),
    version integer NOT NULL
);
CREATE TABLE IF NOT EXISTS kokuin_audit_records (
    node_id integer NOT NULL,
    seq     bigint  NOT NULL,
    line    text    NOT NULL,
    serial  text,
    PRIMARY KEY (node_id, seq)
);
CREATE INDEX IF NOT EXISTS kokuin_audit_records_serial
    ON kokuin_audit_records (serial) WHERE serial IS NOT NULL;
CREATE TABLE IF NOT EXISTS kokuin_node_heads (
    node_id   integer NOT NULL,
    seq       bigint  NOT NULL,
    epoch     bigint  NOT NULL,
    hash      text    NOT NULL,
    cert      text    NOT NULL,
    signature bytea   NOT NULL,
    made      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS kokuin_node_heads_seq ON kokuin_node_heads (node_id, seq);
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
CREATE TABLE IF NOT EXISTS kokuin_tree_state (
    id      integer PRIMARY KEY CHECK (id = 1),
    size    bigint  NOT NULL,
    root    bytea   NOT NULL,
    updated timestamptz NOT NULL DEFAULT now()
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

/// Checks that the schema is there at this build's [`VERSION`]; says what to run when not.
pub async fn check(client: &tokio_postgres::Client) -> Result<(), crate::FleetError> {
    let version: Option<i32> = match client
        .query_opt("SELECT version FROM kokuin_schema WHERE id = 1", &[])
        .await
    {
        Ok(row) => row.map(|r| r.try_get(0)).transpose()?,
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => None,
        Err(e) => return Err(e.into()),
    };
    match version {
        Some(VERSION) => Ok(()),
        found => Err(crate::FleetError::Schema(format!(
            "the fleet's schema is {}, this build needs version {VERSION}: run `kokuin fleet \
             migrate` as the tables' owner",
            found.map_or("missing".to_string(), |v| format!("at version {v}"))
        ))),
    }
}

/// The roles `migrate` grants to: what a node and what `kokuin keys` may do, nothing more.
#[derive(Clone, Debug, Default)]
pub struct Roles {
    /// The nodes' role (or roles).
    pub nodes: Vec<String>,
    /// The role `kokuin keys` uses on the keyring row.
    pub operators: Vec<String>,
}

/// What a node's role is granted, table by table: records and heads are insert-only, a
/// node's newest checkpoint row and its lease are updated in place, the tree is insert-only
/// but for its one state row, the keyring is read. No DELETE, no DDL.
pub const NODE_GRANTS: [(&str, &str); 10] = [
    ("kokuin_schema", "SELECT"),
    ("kokuin_audit_records", "SELECT, INSERT"),
    ("kokuin_node_heads", "SELECT, INSERT"),
    ("kokuin_audit_checkpoints", "SELECT, INSERT, UPDATE"),
    ("kokuin_nodes", "SELECT, INSERT, UPDATE"),
    ("kokuin_tree_leaves", "SELECT, INSERT"),
    ("kokuin_tree_nodes", "SELECT, INSERT"),
    ("kokuin_tree_state", "SELECT, UPDATE"),
    ("kokuin_tree_checkpoints", "SELECT, INSERT"),
    ("kokuin_keyring", "SELECT"),
];

/// What the operators' role is granted: the keyring row, and reading the schema's version.
pub const OPERATOR_GRANTS: [(&str, &str); 2] = [
    ("kokuin_schema", "SELECT"),
    ("kokuin_keyring", "SELECT, INSERT, UPDATE"),
];

/// Creates or upgrades the schema to [`VERSION`] and grants `roles` exactly what they need;
/// run by the tables' owner (`kokuin fleet migrate`), in one transaction.
pub async fn migrate(
    client: &tokio_postgres::Client,
    roles: &Roles,
) -> Result<(), crate::FleetError> {
    let quote = |r: &str| format!("\"{}\"", r.replace('"', "\"\""));
    let mut sql = String::from("BEGIN;\n");
    sql.push_str(CREATE);
    sql.push_str(&format!(
        "INSERT INTO kokuin_schema (id, version) VALUES (1, {VERSION})
         ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version;\n"
    ));
    for (grants, who) in [
        (&NODE_GRANTS[..], &roles.nodes),
        (&OPERATOR_GRANTS[..], &roles.operators),
    ] {
        for role in who {
            for (table, what) in grants {
                sql.push_str(&format!("GRANT {what} ON {table} TO {};\n", quote(role)));
            }
        }
    }
    client.batch_execute(&sql).await?;
    // Schema 2 had no tree-state row: it is made from the stored tree, in the same transaction.
    match crate::tree_state::init(client).await {
        Ok(()) => client.batch_execute("COMMIT").await.map_err(Into::into),
        Err(e) => {
            client.batch_execute("ROLLBACK").await?;
            Err(e)
        }
    }
}
