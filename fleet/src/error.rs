//! What can go wrong with the fleet's database.

/// Why the database could not be used. Messages never hold the password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The URL, password file or CA file cannot be used.
    #[error("database configuration: {0}")]
    Config(String),
    /// No answer within the deadline.
    #[error("database: no answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The database refused or the connection failed.
    #[error("database: {0}")]
    Db(String),
    /// Another running node holds this node id.
    #[error(
        "node id {node_id} is in use by {holder} (lease until {until}); give this node another id"
    )]
    NodeIdInUse {
        /// The id asked for.
        node_id: u16,
        /// Who holds it: host and process.
        holder: String,
        /// When its lease ends unless renewed.
        until: String,
    },
    /// This node's lease was taken by another after it lapsed: it must not write again.
    #[error("node id {0}: the lease was lost to another node; restart this node")]
    LeaseLost(u16),
    /// A batch whose commit was reported failed did commit: its records stay (nothing is
    /// deleted), and this node must restart to continue its chain after them.
    #[error(
        "node id {0}: records from seq {1} committed although their batch was reported failed; they stay in the log: restart this node to continue after them"
    )]
    Integrated(u16, i64),
    /// The stored tree does not extend the checkpoint this node verified last: a changed tree
    /// node, or rows deleted back to an older checkpoint. Nothing is signed over it.
    #[error(
        "the fleet's tree in the database does not extend the checkpoint of {0} leaves this node verified: {1}"
    )]
    TreeMismatch(u64, String),
    /// The stored tree's rows disagree with each other (the state row, the leaves, the right
    /// edge): changed by hand. With a verified checkpoint, a round reports it as
    /// [`FleetError::TreeMismatch`].
    #[error("the tree tables are damaged: {0}")]
    TreeDamaged(String),
    /// The schema is missing or at another version: `kokuin fleet migrate` is the owner's.
    #[error("{0}")]
    Schema(String),
    /// A node key, its certificate or a head that cannot be used or does not verify.
    #[error("node key: {0}")]
    NodeKey(String),
    /// Writing an export failed.
    #[error("{0}")]
    Io(String),
}

impl From<tokio_postgres::Error> for FleetError {
    fn from(e: tokio_postgres::Error) -> Self {
        // The server's message (e.g. a constraint violated) is in the source, not Display.
        match e.as_db_error() {
            Some(d) => Self::Db(format!("{}: {}", d.code().code(), d.message())),
            None => Self::Db(e.to_string()),
        }
    }
}
