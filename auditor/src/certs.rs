//! `kokuin certs verify`: one certificate's path, checked offline as an auditor would: every
//! signature in the chain (classical, ML-DSA or composite), validity at the chosen time,
//! CA constraints. Exit 0 only when the path holds.

use crate::cmd_error::CmdError;
use kokuin_certs::path::{Purpose, subject_of, validate_path};
use kokuin_certs::pem::load_certificates;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

fn load(paths: &[PathBuf]) -> Result<Vec<x509_cert::Certificate>, CmdError> {
    let mut out = Vec::new();
    for p in paths {
        out.extend(load_certificates(p).map_err(|e| CmdError::usage(e.to_string()))?);
    }
    Ok(out)
}

/// `certs verify`: CERT's path to a trust anchor, at `at` (RFC 3339) or now.
pub fn verify(
    cert: &Path,
    trust: &[PathBuf],
    untrusted: &[PathBuf],
    at: Option<&str>,
) -> Result<(), CmdError> {
    let mut certs = load(&[cert.to_path_buf()])?;
    let leaf = certs.remove(0);
    let mut intermediates = certs;
    intermediates.extend(load(untrusted)?);
    let anchors = load(trust)?;
    let at = match at {
        Some(t) => humantime::parse_rfc3339(t).map_err(|e| CmdError::usage(e.to_string()))?,
        None => SystemTime::now(),
    };
    let chain = validate_path(&leaf, &intermediates, &anchors, at, Purpose::Any)
        .map_err(|e| CmdError::negative(format!("{}: {e}", cert.display())))?;
    out!("VALID certificate path");
    for (i, c) in chain.iter().enumerate() {
        let alg = c.signature_algorithm().oid;
        let (name, pq) = kokuin_hsm::algorithm::describe(&alg).unwrap_or((alg.to_string(), false));
        let role = if i == 0 { "subject" } else { "issuer" };
        out!(
            "  {role:<8} {}\n           signed with {name}{}",
            subject_of(c),
            if pq { " (quantum-safe)" } else { "" }
        );
    }
    Ok(())
}

/// `kokuin certs …`: certificates checked offline.
#[derive(clap::Subcommand)]
pub enum CertsCommand {
    /// Validates CERT's path to a --trust anchor (classical, ML-DSA or composite signatures at
    /// any level); a self-signed certificate given as its own anchor checks its own signature.
    Verify {
        /// The certificate, then any of its chain (PEM or DER).
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

impl CertsCommand {
    /// Runs the command.
    pub fn run(self) -> Result<(), CmdError> {
        match self {
            Self::Verify {
                cert,
                trust,
                untrusted,
                at,
            } => verify(&cert, &trust, &untrusted, at.as_deref()),
        }
    }
}
