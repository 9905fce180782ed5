//! `kokuin fleet migrate`: the fleet's schema made or upgraded by the tables' owner, once per
//! upgrade, with the nodes' and the operators' roles granted exactly what they need
//! (`kokuin_fleet::schema`). Nodes never change the schema themselves.

use super::CmdError;
use kokuin_auditor::audit_fleet::{DbArgs, db};
use std::path::Path;

#[derive(clap::Subcommand)]
pub enum FleetCommand {
    /// Create or upgrade the fleet's tables in DATABASE (a postgres:// URL of the tables'
    /// owner) and grant the nodes' and the operators' roles what they need, nothing more.
    Migrate {
        /// The database, as the tables' owner: postgres://OWNER@HOST:PORT/DB.
        database: String,
        /// A role the nodes connect as (repeatable): records and heads insert-only, no
        /// DELETE, no DDL.
        #[arg(long)]
        node_role: Vec<String>,
        /// A role `kokuin keys` connects as (repeatable): the keyring row.
        #[arg(long)]
        operator_role: Vec<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

impl FleetCommand {
    /// Runs the subcommand.
    pub fn run(self) -> Result<(), CmdError> {
        match self {
            Self::Migrate {
                database,
                node_role,
                operator_role,
                db: a,
            } => {
                let mut conn = db(Path::new(&database), &a)?;
                let roles = kokuin_fleet::schema::Roles {
                    nodes: node_role,
                    operators: operator_role,
                };
                let shown = conn.config().shown().to_string();
                conn.call(|c| async move { kokuin_fleet::schema::migrate(&c, &roles).await })
                    .map_err(|e| CmdError::usage(e.to_string()))?;
                out!(
                    "{shown}: the fleet's schema is at version {}",
                    kokuin_fleet::schema::VERSION
                );
                Ok(())
            }
        }
    }
}
