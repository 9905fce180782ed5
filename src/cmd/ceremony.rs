//! `kokuin ceremony`: dual control over the keyring (docs/ceremonies.md). A change is planned
//! (one file), approved by officers each on their own machine (one file each), and run once
//! with a quorum of approvals; every node checks the ceremony again before it follows the
//! change (`kokuin_server::ceremony`).

use super::CmdError;
use super::keys::common::{open, usage};
use kokuin_hsm::{KeyType, Signer, SoftwareSigner};
use kokuin_server::ceremony::accept::certificate_of;
use kokuin_server::ceremony::plan::{approve, approver_of, init, make};
use kokuin_server::ceremony::verify::{check_approvals, check_officers};
use kokuin_server::ceremony::{Approval, CeremonyRecord, Op, parse_plan, state_hash};
use kokuin_server::keyring::{KeyState, Keyring};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What a plan does (`--op`).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum OpName {
    /// Put a key in force (`--name`, `--at`).
    Rotate,
    /// Stop a key signing (`--name`).
    Retire,
    /// Add an officer (`--officer NAME:ROLE:PUBLIC.pem`).
    AddOfficer,
    /// Remove an officer (`--name`).
    RemoveOfficer,
    /// Change the quorum (`--quorum`).
    Quorum,
}

#[derive(clap::Subcommand)]
pub enum CeremonyCommand {
    /// A new officer key: P-256 in a PKCS #8 file encrypted under a passphrase; prints the
    /// public key (PEM) for `init` or `--op add-officer`.
    OfficerKey {
        #[arg(short, long)]
        out: PathBuf,
        #[arg(long)]
        passphrase_file: PathBuf,
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
        #[arg(long, value_enum)]
        op: OpName,
        #[arg(long)]
        name: Option<String>,
        /// With --op rotate: RFC 3339 (default: when the plan runs… at planning time).
        #[arg(long)]
        at: Option<String>,
        /// With --op add-officer: NAME:ROLE:PUBLIC.pem.
        #[arg(long)]
        officer: Option<String>,
        /// With --op quorum.
        #[arg(long)]
        quorum: Option<u32>,
        /// How long it may be approved and run, e.g. 24h (default 24h).
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        valid_for: Duration,
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Shows the plan and signs its hash with an officer's key.
    Approve {
        plan: PathBuf,
        #[arg(long)]
        officer_key: PathBuf,
        #[arg(long)]
        passphrase_file: PathBuf,
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

fn passphrase(p: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>, CmdError> {
    let text = zeroize::Zeroizing::new(read(p)?);
    Ok(zeroize::Zeroizing::new(
        text.trim_end_matches(['\n', '\r']).as_bytes().to_vec(),
    ))
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

impl CeremonyCommand {
    /// Runs the command.
    pub fn run(self) -> Result<(), CmdError> {
        match self {
            Self::OfficerKey {
                out,
                passphrase_file,
                public,
            } => {
                let key = SoftwareSigner::generate(KeyType::P256, "officer").map_err(usage)?;
                key.write_encrypted_pkcs8_pem(&out, &passphrase(&passphrase_file)?)
                    .map_err(usage)?;
                let der = der::Encode::to_der(key.public_key()).map_err(usage)?;
                let pem = der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &der)
                    .map_err(usage)?;
                std::fs::write(&public, pem).map_err(usage)?;
                out!(
                    "officer key {}; public key {}",
                    out.display(),
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
                name,
                at,
                officer,
                quorum,
                valid_for,
                out,
            } => {
                let (cfg, _, ring) = open(&config)?;
                under_dual_control(&ring)?;
                let need = |v: Option<String>, flag: &str| {
                    v.ok_or_else(|| CmdError::usage(format!("--op {op:?} needs {flag}")))
                };
                let op = match op {
                    OpName::Rotate => Op::Rotate {
                        name: need(name, "--name")?,
                        at: at.unwrap_or_else(|| {
                            humantime::format_rfc3339_millis(SystemTime::now()).to_string()
                        }),
                    },
                    OpName::Retire => Op::Retire {
                        name: need(name, "--name")?,
                    },
                    OpName::AddOfficer => Op::AddOfficer {
                        officer: parse_officer(&need(officer, "--officer")?)?,
                    },
                    OpName::RemoveOfficer => Op::RemoveOfficer {
                        name: need(name, "--name")?,
                    },
                    OpName::Quorum => Op::Quorum {
                        quorum: quorum
                            .ok_or_else(|| CmdError::usage("--op quorum needs --quorum"))?,
                    },
                };
                let (after, words) = apply(&cfg, &ring, &op)?;
                let text = make(
                    &ring,
                    &after,
                    op,
                    words,
                    BTreeMap::new(),
                    valid_for,
                    &certificate_of(&cfg),
                )
                .map_err(CmdError::usage)?;
                std::fs::write(&out, &text).map_err(usage)?;
                out!("{text}");
                out!(
                    "wrote {}: officers approve it with kokuin ceremony approve",
                    out.display()
                );
                Ok(())
            }
            Self::Approve {
                plan,
                officer_key,
                passphrase_file,
                out,
            } => {
                let text = read(&plan)?;
                let p = parse_plan(&text).map_err(CmdError::usage)?;
                let key = SoftwareSigner::load_encrypted(
                    &officer_key,
                    &passphrase(&passphrase_file)?,
                    "officer",
                )
                .map_err(usage)?;
                let who = approver_of(&p, &key).ok_or_else(|| {
                    CmdError::negative("this key is not one of the plan's approvers")
                })?;
                out!("{text}");
                let a = approve(&text, &who, &key).map_err(CmdError::usage)?;
                std::fs::write(&out, toml::to_string(&a).map_err(usage)?).map_err(usage)?;
                out!("{who} approved plan {} → {}", p.id, out.display());
                Ok(())
            }
            Self::Run {
                plan,
                config,
                approval,
            } => run(&config, &read(&plan)?, &approval),
        }
    }
}

fn under_dual_control(ring: &Keyring) -> Result<(), CmdError> {
    if ring.officers.is_empty() {
        return Err(CmdError::usage(
            "the keyring is not under dual control: kokuin ceremony init first",
        ));
    }
    Ok(())
}

/// The keyring `op` leaves (version bumped), and what it does in words; refuses what may not
/// be done.
fn apply(
    cfg: &kokuin_server::config::Config,
    ring: &Keyring,
    op: &Op,
) -> Result<(Keyring, Vec<String>), CmdError> {
    let mut after = ring.clone();
    after.version += 1;
    after.ceremonies.clear();
    let entry = |after: &mut Keyring, name: &str| -> Result<usize, CmdError> {
        after
            .keys
            .iter()
            .position(|k| k.name == name)
            .ok_or_else(|| CmdError::usage(format!("no key named {name:?}")))
    };
    let words = match op {
        Op::Rotate { name, at } => {
            let i = entry(&mut after, name)?;
            let e = &mut after.keys[i];
            if matches!(e.state, KeyState::Retired | KeyState::Destroyed) {
                return Err(CmdError::usage(format!("{name} is {}", e.state.name())));
            }
            humantime::parse_rfc3339(at).map_err(usage)?;
            kokuin_certs::pem::load_certificates(&cfg.resolve(e.key.certificate()))
                .map_err(|_| CmdError::usage(format!("{name} has no certificate")))?;
            e.state = KeyState::Active;
            e.activate_at = Some(at.clone());
            format!("put key {name} in force from {at}")
        }
        Op::Retire { name } => {
            let i = entry(&mut after, name)?;
            after.keys[i].state = KeyState::Retired;
            format!("retire key {name}: it signs no more")
        }
        Op::AddOfficer { officer } => {
            after.officers.push(officer.clone());
            format!("add officer {} ({})", officer.name, officer.role)
        }
        Op::RemoveOfficer { name } => {
            let before = after.officers.len();
            after.officers.retain(|o| &o.name != name);
            if after.officers.len() == before {
                return Err(CmdError::usage(format!("no officer named {name:?}")));
            }
            format!("remove officer {name}")
        }
        Op::Quorum { quorum } => {
            after.quorum = Some(*quorum);
            format!("{quorum} approvals needed from now on")
        }
        other => {
            return Err(CmdError::usage(format!(
                "{other:?} is not planned with this command yet"
            )));
        }
    };
    check_officers(&after.officers, after.quorum.unwrap_or(0)).map_err(CmdError::negative)?;
    Ok((after, vec![words]))
}

/// `ceremony run`: the plan applies to the keyring as it is now, is unexpired, carries a quorum
/// of approvals by distinct officers in force, and makes exactly the keyring it hashed.
fn run(config: &Path, text: &str, approvals: &[PathBuf]) -> Result<(), CmdError> {
    let (cfg, store, ring) = open(config)?;
    under_dual_control(&ring)?;
    let plan = parse_plan(text).map_err(CmdError::usage)?;
    if plan.from_version != ring.version {
        return Err(CmdError::negative(format!(
            "the plan is for keyring version {}; the keyring is at version {} (a plan runs once)",
            plan.from_version, ring.version
        )));
    }
    let expires = humantime::parse_rfc3339(&plan.expires).map_err(usage)?;
    if SystemTime::now() > expires {
        return Err(CmdError::negative(format!(
            "the plan expired at {}",
            plan.expires
        )));
    }
    let approvals = approvals
        .iter()
        .map(|p| {
            toml::from_str::<Approval>(&read(p)?)
                .map_err(|e| CmdError::usage(format!("{}: not an approval: {e}", p.display())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let record = CeremonyRecord {
        plan: text.to_string(),
        approvals,
    };
    let who = check_approvals(&record, &plan, &ring.officers, ring.quorum.unwrap_or(0))
        .map_err(|e| CmdError::negative(format!("not run: {e}")))?;
    let (mut after, _) = apply(&cfg, &ring, &plan.op)?;
    if state_hash(&after, &certificate_of(&cfg)) != plan.result_sha256 {
        return Err(CmdError::negative(
            "not run: the keyring this plan would make is not the one it describes (the plan or \
             the keyring changed since it was made)",
        ));
    }
    after.ceremonies = ring.ceremonies.clone();
    after.ceremonies.push(record);
    store.save(&after).map_err(usage)?;
    out!(
        "ran ceremony {} (approved by {}): keyring version {}; every node follows it",
        plan.id,
        who.join(", "),
        after.version
    );
    Ok(())
}
