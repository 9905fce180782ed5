//! `kokuin serve`: the service crate's `serve`, with the command line's flags.

use super::CmdError;
use clap::ArgGroup;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(group(ArgGroup::new("source").required(true).args(["config", "dev", "check_config"])))]
pub struct ServeArgs {
    /// Configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Check this configuration as a start would, then exit: its rules, dual control, the
    /// keyring from the pinned officers, every key opened (to sign nothing) and held to its
    /// certificate and level, every certificate, CRL and directory it names. Binds nothing,
    /// takes no lock, claims no serial epoch or lease, writes nothing: safe beside a running
    /// server. Exit 0, or 2 with every problem listed.
    #[arg(long, value_name = "FILE")]
    pub check_config: Option<PathBuf>,
    /// Run on the embedded default: dev PKI, software keys, created once in --state-dir.
    #[arg(long)]
    pub dev: bool,
    /// State directory for --dev.
    #[arg(long, default_value = "kokuin-dev", requires = "dev")]
    pub state_dir: PathBuf,
    /// With --dev: keep the TSU key in a SoftHSM2 token created under the state directory.
    #[arg(long, requires = "dev")]
    pub pkcs11_module: Option<PathBuf>,
    /// Plain HTTP listener (repeatable); replaces the configured ones.
    #[arg(long)]
    pub http: Vec<SocketAddr>,
    /// HTTPS listener (repeatable); replaces the configured ones.
    #[arg(long)]
    pub https: Vec<SocketAddr>,
    /// Time-stamp requests per second per client address; replaces
    /// server.rate_limit_per_second (0: none, e.g. for a load test from one address).
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// The fleet's PostgreSQL (`postgres://user@host:port/db`, password from
    /// audit.database_password_file or KOKUIN_DATABASE_PASSWORD): the audit log and node id
    /// lease there; with --dev the keyring too.
    #[arg(long)]
    pub database: Option<String>,
    /// This node's id (1–65535; replaces tsa.node_id): unique in the fleet, leased in the
    /// database.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub node_id: Option<u16>,
    /// A proxy that opens each connection with a PROXY protocol v2 header (HAProxy
    /// send-proxy-v2), repeatable; replaces server.proxy_protocol_from.
    #[arg(long)]
    pub proxy_protocol_from: Vec<std::net::IpAddr>,
}

impl From<ServeArgs> for kokuin_server::serve::ServeOptions {
    fn from(a: ServeArgs) -> Self {
        Self {
            config: a.config,
            dev: a.dev,
            state_dir: a.state_dir,
            pkcs11_module: a.pkcs11_module,
            http: a.http,
            https: a.https,
            rate_limit: a.rate_limit,
            database: a.database,
            node_id: a.node_id,
            proxy_protocol_from: a.proxy_protocol_from,
        }
    }
}

/// Runs the service until a signal.
pub fn run(args: ServeArgs) -> Result<(), CmdError> {
    if let Some(config) = &args.check_config {
        return super::config::check(config);
    }
    kokuin_server::serve::serve(args.into()).map_err(|e| CmdError::usage(e.to_string()))
}
