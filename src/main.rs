//! `kokuin`: the trust service's command line. Each subcommand is a clap derive struct in
//! `cmd/` over the library crates; `serve` runs the service crate.
#![forbid(unsafe_code)]

// `out!`, `println!` that ends quietly when the reader has gone: the auditor crate's.
#[macro_use]
extern crate kokuin_auditor;

mod cmd;

use clap::{Parser, Subcommand, ValueEnum};
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

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve(cmd::serve::ServeArgs),
    /// Ask a TSA for a time-stamp token for FILE; writes OUT.tsq and OUT.tsr.
    Request(cmd::request::RequestArgs),
    /// Verify a token (.tsr or bare token) or an e-seal offline; exit 0 only when valid.
    /// A token needs --data, --digest or --request; a detached seal --data or --digest.
    Verify(kokuin_auditor::verify_args::VerifyArgs),
    /// Seal a document through a Kokuin e-seal API; writes the CMS seal (DER).
    Seal(cmd::seal::SealArgs),
    /// Print a .tsq, .tsr or token in readable form.
    Inspect(kokuin_auditor::inspect::InspectArgs),
    /// The audit log.
    #[command(subcommand)]
    Audit(kokuin_auditor::audit::AuditCommand),
    /// The trusted clock.
    #[command(subcommand)]
    Clock(cmd::clock::ClockCommand),
    /// Certificates: check one certificate's path to a trust anchor, offline.
    #[command(subcommand)]
    Certs(kokuin_auditor::certs::CertsCommand),
    /// The key lifecycle: generate, csr, install-cert, rotate, retire, destroy, list.
    #[command(subcommand)]
    Keys(cmd::keys::args::KeysCommand),
    /// Dual control: plan, approve and run a change of the keyring with a quorum of officers.
    #[command(subcommand)]
    Ceremony(cmd::ceremony::CeremonyCommand),
    /// Load a TSA (any URL) and report tokens/s and latency; every reply is checked.
    Bench(cmd::bench_args::BenchOptions),
    /// A fleet's database: create or upgrade its schema (the tables' owner, once per upgrade).
    #[command(subcommand)]
    Fleet(cmd::fleet::FleetCommand),
    /// A configuration checked as a start would check it, writing nothing (as nginx -t).
    #[command(subcommand)]
    Config(cmd::config::ConfigCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = match cli.command {
        Command::Serve(ref a) if a.check_config.is_none() => "info",
        _ => "warn",
    };
    init_logging(cli.log_format, default_level);
    if matches!(
        cli.command,
        Command::Serve(_) | Command::Keys(_) | Command::Audit(_) | Command::Ceremony(_)
    ) {
        // What these create (state directories, keys, audit segments, checkpoints, the dev
        // configuration with its API-token hashes) is the service's alone: 0700 and 0600.
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    }
    let r = match cli.command {
        Command::Serve(a) => cmd::serve::run(a),
        Command::Request(a) => cmd::request::run(a),
        Command::Verify(a) if a.ui => cmd::verify_ui::run(&a),
        Command::Verify(a) => kokuin_auditor::verify::run(a),
        Command::Seal(a) => cmd::seal::run(a),
        Command::Inspect(a) => kokuin_auditor::inspect::run(&a.file),
        Command::Audit(c) => c.run(),
        Command::Clock(c) => c.run(),
        Command::Config(c) => c.run(),
        Command::Certs(c) => c.run(),
        Command::Keys(c) => c.run(),
        Command::Ceremony(c) => c.run(),
        Command::Bench(a) => a.run(),
        Command::Fleet(c) => c.run(),
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
    // Colour only for a person at a terminal: a log file or a pipe gets plain text.
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => b.init(),
        LogFormat::Json => b.json().init(),
    }
}
