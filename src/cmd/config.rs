//! `kokuin serve --check-config FILE` and `kokuin config check --config FILE`: what a start
//! would refuse, found before a restart, writing nothing (`kokuin_server::config_check`).

use super::CmdError;
use std::path::{Path, PathBuf};

/// `kokuin config …`.
#[derive(clap::Subcommand)]
pub enum ConfigCommand {
    /// The same check as `kokuin serve --check-config FILE`: a configuration checked as a
    /// start would check it, writing nothing. Exit 0 when a start would pass, 2 with every
    /// problem listed when not.
    Check {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
    },
}

impl ConfigCommand {
    /// Runs the command.
    pub fn run(self) -> Result<(), CmdError> {
        match self {
            Self::Check { config } => check(&config),
        }
    }
}

/// Checks `config` as a start would and lists every check, `ok` or `FAIL`; exit 0 when a start
/// would pass them all, 2 (cannot be done as configured) with every problem listed when not,
/// as for a file that is not a configuration.
pub fn check(config: &Path) -> Result<(), CmdError> {
    let cfg = kokuin_server::config::Config::load(config).map_err(CmdError::usage)?;
    let checks = kokuin_server::config_check::check(&cfg);
    let failed = checks.iter().filter(|(_, r)| r.is_err()).count();
    for (what, r) in &checks {
        match r {
            Ok(found) => out!("ok    {what}: {found}"),
            Err(why) => out!("FAIL  {what}: {why}"),
        }
    }
    if failed > 0 {
        return Err(CmdError::usage(format!(
            "{}: {failed} check(s) failed; the service would not start as configured",
            config.display()
        )));
    }
    out!("{}: a start would pass these checks", config.display());
    Ok(())
}
