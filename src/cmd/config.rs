//! `kokuin config check`: what a start would refuse, found before a restart and writing
//! nothing (`kokuin_server::config_check`).

use super::CmdError;
use std::path::PathBuf;

/// `kokuin config …`.
#[derive(clap::Subcommand)]
pub enum ConfigCommand {
    /// Check a configuration as a start would, writing nothing: its rules, dual control, the
    /// keyring from the pinned officers, every key in force against its certificate, the audit
    /// key, the HTTPS certificate and key. Exit 0 when a start would pass these, 1 when not,
    /// 2 when the file cannot be read.
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
            Self::Check { config } => {
                let cfg = kokuin_server::config::Config::load(&config).map_err(CmdError::usage)?;
                let checks = kokuin_server::config_check::check(&cfg);
                let failed = checks.iter().filter(|(_, r)| r.is_err()).count();
                for (what, r) in &checks {
                    match r {
                        Ok(found) => out!("ok    {what}: {found}"),
                        Err(why) => out!("FAIL  {what}: {why}"),
                    }
                }
                if failed > 0 {
                    return Err(CmdError::negative(format!(
                        "{}: {failed} check(s) failed; the service would not start as configured",
                        config.display()
                    )));
                }
                out!("{}: a start would pass these checks", config.display());
                Ok(())
            }
        }
    }
}
