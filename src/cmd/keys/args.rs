//! What `kokuin keys` is asked: one subcommand per step of the key lifecycle.

use super as keys;
use crate::cmd::CmdError;
use kokuin_hsm::KeyType;
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum KeysCommand {
    /// Keys, states, certificates, usage windows and HSM attestation.
    List {
        #[arg(long)]
        config: PathBuf,
    },
    /// A new key inside the token (non-extractable), pending until certified and rotated to.
    Generate {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        name: String,
        /// p256, p384, rsa2048, rsa3072, rsa4096, ml-dsa-44/65/87, mldsa65-ecdsa-p256-sha512…
        #[arg(long, default_value = "p256", value_parser = crate::cmd::parse::key_type)]
        r#type: KeyType,
        /// The OID of the one TSA policy the key will serve (default: every policy without
        /// keys of its own).
        #[arg(long)]
        policy: Option<String>,
        /// For a token without ML-DSA: keep an ML-DSA seed wrapped under this AES key of the
        /// token (made if absent; default label kokuin-wrap). Signs in locked host memory:
        /// e-seal assurance level 1 only, refused by tsa.require_hsm_key.
        #[arg(long, num_args = 0..=1, default_missing_value = super::DEFAULT_WRAPPING_KEY)]
        wrap: Option<String>,
    },
    /// A PKCS #10 request signed by the key.
    Csr {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        name: String,
        /// Subject, e.g. "CN=Example TSU 2027,O=Example K.K.,C=JP".
        #[arg(long)]
        subject: String,
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Installs the key's certificate after checking key, EKU, keyUsage, validity and
    /// privateKeyUsagePeriod.
    InstallCert {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long)]
        cert: PathBuf,
    },
    /// Puts a key in force now or at --at (RFC 3339); in dev mode without --name, first
    /// generates and certifies a new key with the dev CA.
    Rotate {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        at: Option<String>,
        /// Dev mode without --name: the new key's type (p256, p384, rsa3072, ml-dsa-65,
        /// mldsa65-ecdsa-p256-sha512…); default: the type of the key in force.
        #[arg(long = "type", conflicts_with = "name", value_parser = crate::cmd::parse::key_type)]
        key_type: Option<KeyType>,
        /// Dev mode without --name: the policy (OID) whose key is replaced; default: the
        /// first configured.
        #[arg(long, conflicts_with = "name")]
        policy: Option<String>,
        /// Dev mode without --name, an ML-DSA type and a token without ML-DSA: keep the new
        /// seed wrapped under this AES key of the token (see keys generate --wrap).
        #[arg(long, conflicts_with = "name", num_args = 0..=1, default_missing_value = super::DEFAULT_WRAPPING_KEY)]
        wrap: Option<String>,
    },
    /// Stops a key signing; it stays for verification.
    Retire {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// The raw signing rate of a policy's key in force (C_Sign for PKCS #11, else the
    /// software signer), the reference for server figures.
    SignRate {
        #[arg(long)]
        config: PathBuf,
        /// The policy (OID) whose key is measured; default: the first configured.
        #[arg(long)]
        policy: Option<String>,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
    },
    /// Destroys a retired key in its token (asks for its name unless --yes).
    Destroy {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long)]
        yes: bool,
    },
}

impl KeysCommand {
    /// The configuration the command acts on.
    pub fn config(&self) -> &std::path::Path {
        match self {
            Self::List { config }
            | Self::Generate { config, .. }
            | Self::Csr { config, .. }
            | Self::InstallCert { config, .. }
            | Self::Rotate { config, .. }
            | Self::Retire { config, .. }
            | Self::SignRate { config, .. }
            | Self::Destroy { config, .. } => config,
        }
    }

    /// Runs the command.
    pub fn run(self) -> Result<(), CmdError> {
        let k = self;
        // A dev state with soft tokens: its modules find their storage through variables, which
        // `serve --dev` sets for itself; the key commands on its configuration do the same.
        if let Some(dir) = k.config().parent()
            && kokuin_server::dev::softhsm_conf(dir).exists()
            && kokuin_server::config::Config::load(k.config()).is_ok_and(|c| c.dev)
        {
            kokuin_server::dev::reexec_with_token_env(dir).map_err(CmdError::usage)?;
        }
        match k {
            KeysCommand::List { config } => keys::list(&config),
            KeysCommand::Generate {
                config,
                name,
                r#type,
                policy,
                wrap,
            } => keys::generate(&config, &name, r#type, policy.as_deref(), wrap.as_deref()),
            KeysCommand::Csr {
                config,
                name,
                subject,
                out,
            } => keys::csr(&config, &name, &subject, &out),
            KeysCommand::InstallCert { config, name, cert } => {
                keys::install_cert(&config, &name, &cert)
            }
            KeysCommand::Rotate {
                config,
                name,
                at,
                key_type,
                policy,
                wrap,
            } => keys::rotate(
                &config,
                name.as_deref(),
                at.as_deref(),
                key_type,
                policy.as_deref(),
                wrap.as_deref(),
            ),
            KeysCommand::Retire { config, name } => keys::retire(&config, &name),
            KeysCommand::SignRate {
                config,
                policy,
                threads,
                duration,
            } => keys::sign_rate(&config, policy.as_deref(), threads, duration),
            KeysCommand::Destroy { config, name, yes } => keys::destroy(&config, &name, yes),
        }
    }
}
