//! `kokuin`: the trust service's command line and server wiring.
#![forbid(unsafe_code)]

mod cmd;

use clap::{ArgGroup, Parser, Subcommand, ValueEnum};
use cmd::CmdError;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: a token's short-lived buffers (request, DER pieces,
/// audit line) made glibc's malloc and free about 9% of the server's CPU under load, and its
/// arenas grow with the number of threads that ever allocated.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "kokuin",
    version,
    about = "RFC 3161 time-stamp authority and e-seal service"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(clap::Args)]
#[command(group(ArgGroup::new("source").required(true).args(["config", "dev"])))]
struct ServeArgs {
    /// Configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run on the embedded default: dev PKI, software keys, created once in --state-dir.
    #[arg(long)]
    dev: bool,
    /// State directory for --dev.
    #[arg(long, default_value = "kokuin-dev", requires = "dev")]
    state_dir: PathBuf,
    /// With --dev: keep the TSU key in a SoftHSM2 token created under the state directory.
    #[arg(long, requires = "dev")]
    pkcs11_module: Option<PathBuf>,
    /// Plain HTTP listener (repeatable); replaces the configured ones.
    #[arg(long)]
    http: Vec<SocketAddr>,
    /// HTTPS listener (repeatable); replaces the configured ones.
    #[arg(long)]
    https: Vec<SocketAddr>,
    /// Time-stamp requests per second per client address; replaces
    /// server.rate_limit_per_second (0: none, e.g. for a load test from one address).
    #[arg(long)]
    rate_limit: Option<u32>,
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
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve(ServeArgs),
    /// Ask a TSA for a time-stamp token for FILE; writes OUT.tsq and OUT.tsr.
    Request {
        file: PathBuf,
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "sha256")]
        hash: String,
        /// Ask for the TSA certificate in the token.
        #[arg(long)]
        cert_req: bool,
        /// Policy OID to request.
        #[arg(long)]
        policy: Option<String>,
        /// Send no nonce.
        #[arg(long)]
        no_nonce: bool,
        /// PEM CA certificate(s) to trust for HTTPS (default: the Mozilla roots).
        #[arg(long)]
        ca: Option<PathBuf>,
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Verify a token (.tsr or bare token) or an e-seal offline; exit 0 only when valid.
    /// A token needs --data, --digest or --request; a detached seal --data or --digest.
    Verify(cmd::verify_args::VerifyArgs),
    /// Seal a document through a Kokuin e-seal API; writes the CMS seal (DER).
    Seal(cmd::seal::SealArgs),
    /// Print a .tsq, .tsr or token in readable form.
    Inspect { file: PathBuf },
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The trusted clock.
    #[command(subcommand)]
    Clock(ClockCommand),
    /// Certificates: check one certificate's path to a trust anchor, offline.
    #[command(subcommand)]
    Certs(CertsCommand),
    /// The key lifecycle: generate, csr, install-cert, rotate, retire, destroy, list.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Load a TSA (any URL) and report tokens/s and latency; every reply is checked.
    Bench {
        #[arg(long)]
        url: String,
        /// Requests in flight (closed loop), or workers sharing --rate.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Connections (default: one per request in flight; one with --http2).
        #[arg(long)]
        connections: Option<usize>,
        /// HTTP/2 (h2 over TLS by ALPN, prior knowledge over plain HTTP).
        #[arg(long)]
        http2: bool,
        /// Open loop: send this many requests per second in all, latency counted from when
        /// each was due.
        #[arg(long)]
        rate: Option<f64>,
        /// Seconds measured.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Seconds of load before measuring.
        #[arg(long, default_value_t = 2.0)]
        warmup: f64,
        #[arg(long, default_value = "sha256")]
        hash: String,
        /// reqPolicy (OID) of every request: measures that policy's key.
        #[arg(long)]
        policy: Option<String>,
        #[arg(long)]
        cert_req: bool,
        #[arg(long)]
        ca: Option<PathBuf>,
        /// Report this process's resident memory and its CPU over the measured seconds (the
        /// server under test, on this machine).
        #[arg(long)]
        server_pid: Option<u32>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
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
        #[arg(long, default_value = "p256")]
        r#type: String,
        /// The OID of the one TSA policy the key will serve (default: every policy without
        /// keys of its own).
        #[arg(long)]
        policy: Option<String>,
        /// For a token without ML-DSA: keep an ML-DSA seed wrapped under this AES key of the
        /// token (made if absent; default label kokuin-wrap). Signs in locked host memory:
        /// e-seal assurance level 1 only, refused by tsa.require_hsm_key.
        #[arg(long, num_args = 0..=1, default_missing_value = cmd::keys::DEFAULT_WRAPPING_KEY)]
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
        #[arg(long = "type", conflicts_with = "name")]
        key_type: Option<String>,
        /// Dev mode without --name: the policy (OID) whose key is replaced; default: the
        /// first configured.
        #[arg(long, conflicts_with = "name")]
        policy: Option<String>,
        /// Dev mode without --name, an ML-DSA type and a token without ML-DSA: keep the new
        /// seed wrapped under this AES key of the token (see keys generate --wrap).
        #[arg(long, conflicts_with = "name", num_args = 0..=1, default_missing_value = cmd::keys::DEFAULT_WRAPPING_KEY)]
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

#[derive(Subcommand)]
enum CertsCommand {
    /// Validates CERT's path to a --trust anchor (classical, ML-DSA or composite signatures at
    /// any level); a self-signed certificate given as its own anchor checks its own signature.
    Verify {
        cert: PathBuf,
        /// Trust anchors (PEM or DER); repeatable.
        #[arg(long, required = true)]
        trust: Vec<PathBuf>,
        /// Intermediate certificates (PEM or DER); repeatable.
        #[arg(long)]
        untrusted: Vec<PathBuf>,
        /// Validate at this time (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Subcommand)]
enum ClockCommand {
    /// What the kernel reports, the bound in force, and whether the TSA would issue.
    /// Exit 0 when the clock could be read; with --check, non-zero when the TSA would refuse.
    Status {
        /// Take the declared accuracy and clock policy from this configuration.
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        check: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every segment, the chain and every checkpoint; exit 0 only when intact.
    Verify {
        dir: PathBuf,
        /// Certificate(s) of the checkpoint key (repeatable).
        #[arg(long, required = true)]
        trust: Vec<PathBuf>,
        /// A checkpoint kept outside the log (default: DIR/checkpoint.json).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Record that the log lost records its last checkpoint vouched for (a deleted or
    /// restored segment), so the service may start again: a `log.loss` record with the
    /// reason, the old checkpoint kept aside as evidence. Never done automatically.
    AcceptLoss {
        dir: PathBuf,
        /// Why, for the accreditation audit (who decided, what happened).
        #[arg(long)]
        reason: String,
    },
    /// Print the record of the token with this serial number (hex).
    Find {
        dir: PathBuf,
        #[arg(long)]
        serial: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = match cli.command {
        Command::Serve { .. } => "info",
        _ => "warn",
    };
    init_logging(cli.log_format, default_level);
    if matches!(
        cli.command,
        Command::Serve { .. } | Command::Keys(_) | Command::Audit(_)
    ) {
        // What these create (state directories, keys, audit segments, checkpoints, the dev
        // configuration with its API-token hashes) is the service's alone: 0700 and 0600.
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    }
    let r = match cli.command {
        Command::Serve(args) => serve(args.into()),
        Command::Request {
            file,
            url,
            hash,
            cert_req,
            policy,
            no_nonce,
            ca,
            out,
        } => (|| {
            let hash = kokuin_hsm::DigestAlgorithm::from_name(&hash)
                .ok_or_else(|| CmdError::usage(format!("unknown hash {hash:?}")))?;
            let policy = match policy {
                Some(p) => Some(
                    p.parse()
                        .map_err(|_| CmdError::usage(format!("{p:?} is not an OID")))?,
                ),
                None => None,
            };
            cmd::request::run(cmd::request::RequestArgs {
                file,
                url,
                hash,
                cert_req,
                policy,
                nonce: !no_nonce,
                ca,
                out,
            })
        })(),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Seal(args) => cmd::seal::run(args),
        Command::Inspect { file } => cmd::inspect::run(&file),
        Command::Audit(AuditCommand::Verify {
            dir,
            trust,
            checkpoint,
            json,
        }) => cmd::audit::verify(&dir, &trust, checkpoint.as_deref(), json),
        Command::Audit(AuditCommand::Find { dir, serial }) => cmd::audit::find(&dir, &serial),
        Command::Audit(AuditCommand::AcceptLoss { dir, reason }) => {
            cmd::audit::accept_loss(&dir, &reason)
        }
        Command::Keys(k) => keys(k),
        Command::Certs(CertsCommand::Verify {
            cert,
            trust,
            untrusted,
            at,
        }) => cmd::certs::verify(&cert, &trust, &untrusted, at.as_deref()),
        Command::Clock(ClockCommand::Status {
            config,
            check,
            json,
        }) => cmd::clock::status(config.as_deref(), check, json),
        Command::Bench {
            url,
            concurrency,
            connections,
            http2,
            rate,
            duration,
            warmup,
            hash,
            policy,
            cert_req,
            ca,
            server_pid,
            json,
        } => (|| {
            let policy = policy
                .map(|p| {
                    p.parse()
                        .map_err(|e| CmdError::usage(format!("--policy {p}: {e}")))
                })
                .transpose()?;
            let hash = kokuin_hsm::DigestAlgorithm::from_name(&hash)
                .ok_or_else(|| CmdError::usage(format!("unknown hash {hash:?}")))?;
            let secs = |s: f64| {
                std::time::Duration::try_from_secs_f64(s)
                    .map_err(|_| CmdError::usage("durations are seconds ≥ 0"))
            };
            cmd::bench::run(cmd::bench::BenchArgs {
                url,
                concurrency: concurrency.max(1),
                connections,
                protocol: if http2 {
                    cmd::bench::Protocol::Http2
                } else {
                    cmd::bench::Protocol::Http1
                },
                rate: rate.filter(|r| *r > 0.0),
                duration: secs(duration)?,
                warmup: secs(warmup)?,
                hash,
                policy,
                cert_req,
                ca,
                server_pid,
                json,
            })
        })(),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.message);
            ExitCode::from(e.code)
        }
    }
}

fn init_logging(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => b.init(),
        LogFormat::Json => b.json().init(),
    }
}

fn serve(opts: kokuin_server::serve::ServeOptions) -> Result<(), CmdError> {
    kokuin_server::serve::serve(opts).map_err(|e| CmdError::usage(e.to_string()))
}

impl KeysCommand {
    fn config(&self) -> &std::path::Path {
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
}

fn keys(k: KeysCommand) -> Result<(), CmdError> {
    use cmd::keys;
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
        } => {
            let kt = kokuin_hsm::KeyType::from_name(&r#type).ok_or_else(|| {
                CmdError::usage(format!("unknown key type {type:?}", type = r#type))
            })?;
            keys::generate(&config, &name, kt, policy.as_deref(), wrap.as_deref())
        }
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
        } => {
            let key_type = key_type
                .map(|t| {
                    kokuin_hsm::KeyType::from_name(&t)
                        .ok_or_else(|| CmdError::usage(format!("unknown key type {t:?}")))
                })
                .transpose()?;
            keys::rotate(
                &config,
                name.as_deref(),
                at.as_deref(),
                key_type,
                policy.as_deref(),
                wrap.as_deref(),
            )
        }
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
