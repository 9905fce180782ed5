//! `kokuin ceremony`: dual control over the keyring (docs/ceremonies.md). A change is planned
//! (one file), approved by officers each on their own machine (one file each), and run once
//! with a quorum of approvals; every node checks the ceremony again before it follows the
//! change (`kokuin_server::ceremony`).

mod commit;
mod officer_key;
mod ops;

pub use commit::commit;

use super::CmdError;
use super::keys::common::{open, policy_of, usage};
use commit::{plan_text, run, under_dual_control};
use kokuin_server::ceremony::accept::certificate_of;
use kokuin_server::ceremony::plan::{approve, approver_of, init};
use kokuin_server::ceremony::{Op, parse_plan};
use officer_key::OfficerKey;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What a plan does (`--op`, once per operation, in order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OpName {
    /// Generate a key in the token, pending (`--name`, `--type`, `--policy`, `--wrap`).
    Generate,
    /// Install a key's certificate (`--name`, `--cert`).
    InstallCert,
    /// Put a key in force (`--name`, `--at`).
    Rotate,
    /// Stop a key signing (`--name`).
    Retire,
    /// Destroy a retired key in its token (`--name`).
    Destroy,
    /// Add an officer (`--officer NAME:ROLE:PUBLIC.pem`).
    AddOfficer,
    /// Remove an officer (`--name`).
    RemoveOfficer,
    /// Change the quorum (`--quorum`).
    Quorum,
}

#[derive(clap::Subcommand)]
pub enum CeremonyCommand {
    /// A new officer key (P-256): generated in the officer's PKCS #11 token, or in a PKCS #8
    /// file encrypted under a passphrase. Writes the public key (PEM) for `init` or
    /// `--op add-officer`.
    OfficerKey {
        #[command(flatten)]
        key: OfficerKey,
        /// Where the public key is written (PEM).
        #[arg(long)]
        public: PathBuf,
    },
    /// Puts the keyring under dual control: the first officers and quorum. Prints the hash
    /// each node's configuration pins (tsa.officers).
    Init {
        #[arg(long)]
        config: PathBuf,
        /// NAME:ROLE:PUBLIC.pem, once per officer.
        #[arg(long, required = true)]
        officer: Vec<String>,
        #[arg(long)]
        quorum: u32,
    },
    /// Writes a plan: what will change, for this keyring version, until when.
    Plan {
        #[arg(long)]
        config: PathBuf,
        /// Once per operation, carried out in the order given (e.g. `--op install-cert --op
        /// rotate`: install a key's certificate and put it in force).
        #[arg(long, value_enum, required = true)]
        op: Vec<OpName>,
        #[command(flatten)]
        asked: Asked,
        /// How long it may be approved and run, e.g. 24h (default 24h).
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        valid_for: Duration,
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Shows the plan and signs its hash with an officer's key.
    Approve {
        plan: PathBuf,
        #[command(flatten)]
        key: OfficerKey,
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Runs a plan with a quorum of approvals, once.
    Run {
        plan: PathBuf,
        #[arg(long)]
        config: PathBuf,
        #[arg(long, required = true)]
        approval: Vec<PathBuf>,
    },
}

fn read(p: &Path) -> Result<String, CmdError> {
    std::fs::read_to_string(p).map_err(|e| CmdError::usage(format!("{}: {e}", p.display())))
}

/// NAME:ROLE:PUBLIC.pem as an officer.
fn parse_officer(s: &str) -> Result<kokuin_server::ceremony::Officer, CmdError> {
    let mut it = s.splitn(3, ':');
    let (Some(name), Some(role), Some(file)) = (it.next(), it.next(), it.next()) else {
        return Err(CmdError::usage(format!("{s:?}: give NAME:ROLE:PUBLIC.pem")));
    };
    let pem = read(Path::new(file))?;
    let bad = || CmdError::usage(format!("{file}: not a PEM public key"));
    let (label, der) = der::pem::decode_vec(pem.as_bytes()).map_err(|_| bad())?;
    if label != "PUBLIC KEY" {
        return Err(bad());
    }
    <spki::SubjectPublicKeyInfoOwned as der::Decode>::from_der(&der).map_err(|_| bad())?;
    use base64::Engine as _;
    Ok(kokuin_server::ceremony::Officer {
        name: name.into(),
        role: role.into(),
        public_key: base64::engine::general_purpose::STANDARD.encode(der),
    })
}

/// What `ceremony plan` was asked, as operations and the certificates they install.
#[derive(clap::Args)]
pub struct Asked {
    /// The key (or, with --op remove-officer, the officer) the operations act on.
    #[arg(long)]
    name: Option<String>,
    /// With --op generate: p256, p384, rsa3072, ml-dsa-65, mldsa65-ecdsa-p256-sha512…
    #[arg(long = "type", default_value = "p256", value_parser = crate::cmd::parse::key_type)]
    key_type: kokuin_hsm::KeyType,
    /// With --op generate: the OID of the one policy the key will serve.
    #[arg(long)]
    policy: Option<String>,
    /// With --op generate, for a token without ML-DSA: the AES key the seed is wrapped
    /// under (see keys generate --wrap).
    #[arg(long, num_args = 0..=1, default_missing_value = super::keys::DEFAULT_WRAPPING_KEY)]
    wrap: Option<String>,
    /// With --op install-cert: the certificate (PEM), checked against the key.
    #[arg(long)]
    cert: Option<PathBuf>,
    /// With --op rotate: RFC 3339 (default: the time the plan is made).
    #[arg(long)]
    at: Option<String>,
    /// With --op add-officer: NAME:ROLE:PUBLIC.pem.
    #[arg(long)]
    officer: Option<String>,
    /// With --op quorum.
    #[arg(long)]
    quorum: Option<u32>,
}

impl Asked {
    fn ops(
        &self,
        cfg: &kokuin_server::config::Config,
        names: &[OpName],
    ) -> Result<(Vec<Op>, BTreeMap<String, String>), CmdError> {
        let need = |v: &Option<String>, op: OpName, flag: &str| {
            v.clone()
                .ok_or_else(|| CmdError::usage(format!("--op {op:?} needs {flag}")))
        };
        let mut certificates = BTreeMap::new();
        let mut ops = Vec::new();
        for &op in names {
            let name = || need(&self.name, op, "--name");
            ops.push(match op {
                OpName::Generate => Op::Generate {
                    name: name()?,
                    key_type: self.key_type.name(),
                    policy: self
                        .policy
                        .as_deref()
                        .map(|p| policy_of(cfg, Some(p)))
                        .transpose()?,
                    wrap: self.wrap.clone(),
                },
                OpName::InstallCert => {
                    let file = self
                        .cert
                        .as_ref()
                        .ok_or_else(|| CmdError::usage("--op install-cert needs --cert"))?;
                    let certs = kokuin_certs::pem::load_certificates(file).map_err(usage)?;
                    let pem = kokuin_certs::pem::to_pem_chain(&certs).map_err(usage)?;
                    certificates.insert(name()?, pem);
                    Op::InstallCert { name: name()? }
                }
                OpName::Rotate => Op::Rotate {
                    name: name()?,
                    at: match &self.at {
                        Some(t) => humantime::format_rfc3339_millis(
                            humantime::parse_rfc3339(t).map_err(usage)?,
                        )
                        .to_string(),
                        None => humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
                    },
                },
                OpName::Retire => Op::Retire { name: name()? },
                OpName::Destroy => Op::Destroy { name: name()? },
                OpName::AddOfficer => Op::AddOfficer {
                    officer: parse_officer(&need(&self.officer, op, "--officer")?)?,
                },
                OpName::RemoveOfficer => Op::RemoveOfficer { name: name()? },
                OpName::Quorum => Op::Quorum {
                    quorum: self
                        .quorum
                        .ok_or_else(|| CmdError::usage("--op quorum needs --quorum"))?,
                },
            });
        }
        Ok((ops, certificates))
    }
}

impl CeremonyCommand {
    /// Runs the command.
    pub fn run(self) -> Result<(), CmdError> {
        match self {
            Self::OfficerKey { key, public } => {
                let signer = key.generate()?;
                let der = der::Encode::to_der(signer.public_key()).map_err(usage)?;
                let pem = der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &der)
                    .map_err(usage)?;
                std::fs::write(&public, pem).map_err(usage)?;
                out!(
                    "officer key {}; public key {}",
                    key.describe(),
                    public.display()
                );
                Ok(())
            }
            Self::Init {
                config,
                officer,
                quorum,
            } => {
                let (cfg, store, mut ring) = open(&config)?;
                let officers = officer
                    .iter()
                    .map(|o| parse_officer(o))
                    .collect::<Result<Vec<_>, _>>()?;
                let pin = init(&mut ring, officers, quorum, &certificate_of(&cfg))
                    .map_err(CmdError::usage)?;
                store.save(&ring).map_err(usage)?;
                out!("the keyring is under dual control; pin it on every node, in [tsa]:");
                out!("officers = \"{pin}\"");
                Ok(())
            }
            Self::Plan {
                config,
                op,
                asked,
                valid_for,
                out,
            } => {
                let (cfg, _, ring) = open(&config)?;
                under_dual_control(&ring)?;
                let (ops, certificates) = asked.ops(&cfg, &op)?;
                let text = plan_text(&cfg, &ring, ops, &certificates, valid_for)?;
                std::fs::write(&out, &text).map_err(usage)?;
                out!("{text}");
                out!(
                    "wrote {}: officers approve it with kokuin ceremony approve",
                    out.display()
                );
                Ok(())
            }
            Self::Approve { plan, key, out } => {
                let text = read(&plan)?;
                let p = parse_plan(&text).map_err(CmdError::usage)?;
                let signer = key.open()?;
                let who = approver_of(&p, signer.as_ref()).ok_or_else(|| {
                    CmdError::negative("this key is not one of the plan's approvers")
                })?;
                out!("{text}");
                let a = approve(&text, &who, signer.as_ref()).map_err(CmdError::usage)?;
                std::fs::write(&out, toml::to_string(&a).map_err(usage)?).map_err(usage)?;
                out!("{who} approved plan {} → {}", p.id, out.display());
                Ok(())
            }
            Self::Run {
                plan,
                config,
                approval,
            } => {
                let approvals = approval
                    .iter()
                    .map(|p| {
                        toml::from_str(&read(p)?).map_err(|e| {
                            CmdError::usage(format!("{}: not an approval: {e}", p.display()))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let (_, ring) = run(&config, &read(&plan)?, approvals)?;
                out!("every node follows keyring version {}", ring.version);
                Ok(())
            }
        }
    }
}
