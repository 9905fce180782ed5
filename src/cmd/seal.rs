//! `kokuin seal FILE`: sends a document to a Kokuin e-seal API and writes the seal. The
//! document streams from disk to the socket; nothing holds it whole.

use super::CmdError;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct SealArgs {
    /// The document (streamed: any size).
    pub file: PathBuf,
    /// The service's base URL, e.g. https://localhost:8443
    #[arg(long)]
    pub url: String,
    /// The seal key's name.
    #[arg(long)]
    pub key: String,
    /// CAdES level: B-B, B-T, B-LT or B-LTA.
    #[arg(long, default_value = "B-T")]
    pub level: String,
    /// Put the document inside the seal instead of beside it.
    #[arg(long)]
    pub enveloping: bool,
    /// TLS client certificate (PEM) and its key.
    #[arg(long, requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    #[arg(long)]
    pub client_key: Option<PathBuf>,
    /// File holding an API token (sent as a Bearer token), instead of a client certificate.
    #[arg(long, conflicts_with = "client_cert")]
    pub token_file: Option<PathBuf>,
    /// Trust anchor for the service's HTTPS certificate (default: Mozilla's roots).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Where to write the seal (default: FILE.p7s).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

/// Largest seal read back: an enveloping seal carries the document (64 MiB by default).
const MAX_SEAL: u64 = 1 << 30;

pub fn run(a: SealArgs) -> Result<(), CmdError> {
    let level = kokuin_eseal::BaselineLevel::from_name(&a.level)
        .ok_or_else(|| CmdError::usage(format!("--level {}: B-B, B-T, B-LT or B-LTA", a.level)))?;
    let client = match (&a.client_cert, &a.client_key) {
        (Some(c), Some(k)) => Some((c.as_path(), k.as_path())),
        _ => None,
    };
    let agent = super::request::agent_with(a.ca.as_deref(), client)?;
    let url = format!(
        "{}/eseal/v1/seal?key={}&level={}&detached={}",
        a.url.trim_end_matches('/'),
        percent(&a.key),
        level.name(),
        !a.enveloping
    );
    let mut file = std::fs::File::open(&a.file)
        .map_err(|e| CmdError::usage(format!("cannot read {}: {e}", a.file.display())))?;
    // The length up front: the server then holds an enveloped document in one buffer of
    // that size, instead of growing one as a chunked body arrives.
    let length = file
        .metadata()
        .map_err(|e| CmdError::usage(format!("cannot read {}: {e}", a.file.display())))?
        .len();
    let mut req = agent
        .post(&url)
        .header("Content-Type", "application/octet-stream")
        .header("Content-Length", length.to_string());
    if let Some(t) = &a.token_file {
        let token = std::fs::read_to_string(t)
            .map_err(|e| CmdError::usage(format!("cannot read {}: {e}", t.display())))?;
        req = req.header("Authorization", format!("Bearer {}", token.trim()));
    }
    let mut resp = req
        .send(ureq::SendBody::from_reader(&mut file))
        .map_err(|e| CmdError::usage(format!("{url}: {e}")))?;
    let status = resp.status();
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_SEAL)
        .read_to_vec()
        .map_err(|e| CmdError::usage(format!("{url}: reading the reply: {e}")))?;
    if status != 200 {
        return Err(CmdError::negative(format!(
            "{url}: HTTP {status}: {}",
            String::from_utf8_lossy(&body).trim()
        )));
    }
    let out = a.out.unwrap_or_else(|| {
        let mut p = a.file.clone().into_os_string();
        p.push(".p7s");
        p.into()
    });
    std::fs::write(&out, &body)
        .map_err(|e| CmdError::usage(format!("cannot write {}: {e}", out.display())))?;
    println!("{} seal written to {}", level, out.display());
    Ok(())
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
