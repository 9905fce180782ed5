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
    #[arg(long, conflicts_with = "format")]
    pub enveloping: bool,
    /// `cades` (a .p7s beside or around the document) or `pades` (the PDF sealed inside
    /// itself, written as FILE-sealed.pdf by default).
    #[arg(long, default_value = "cades", value_parser = ["cades", "pades"])]
    pub format: String,
    /// With --format pades: a certification signature (DocMDP P=2: form filling, later
    /// signatures and time-stamps allowed), only on a PDF not signed yet.
    #[arg(long)]
    pub certify: bool,
    /// With --format pades: a visible seal — a stamp with the organisation, its corporate
    /// number and the time, in Japanese and English — on page --page (default 1).
    #[arg(long)]
    pub visible: bool,
    /// The visible seal's page, from 1.
    #[arg(long, requires = "visible", default_value_t = 1)]
    pub page: u32,
    /// The visible seal's rectangle `x1,y1,x2,y2` in points (default: the lower right corner).
    #[arg(long, requires = "visible")]
    pub rect: Option<String>,
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

pub fn run(a: SealArgs) -> Result<(), CmdError> {
    let level = kokuin_eseal::BaselineLevel::from_name(&a.level)
        .ok_or_else(|| CmdError::usage(format!("--level {}: B-B, B-T, B-LT or B-LTA", a.level)))?;
    let client = match (&a.client_cert, &a.client_key) {
        (Some(c), Some(k)) => Some((c.as_path(), k.as_path())),
        _ => None,
    };
    let agent = kokuin_client::agent(kokuin_client::TlsOptions {
        ca: a.ca.as_deref(),
        client,
    })
    .map_err(super::client_error)?;
    let token = match &a.token_file {
        Some(t) => Some(
            std::fs::read_to_string(t)
                .map_err(|e| CmdError::usage(format!("cannot read {}: {e}", t.display())))?,
        ),
        None => None,
    };
    let request = kokuin_client::SealRequest {
        base_url: &a.url,
        key: &a.key,
        level: level.name(),
        detached: !a.enveloping,
        bearer: token.as_deref().map(str::trim),
        pdf: a.format == "pades",
        certify: a.certify,
        visible: a.visible.then_some((a.page, a.rect.as_deref())),
    };
    if a.certify && !request.pdf {
        return Err(CmdError::usage("--certify is for --format pades"));
    }
    if a.visible && !request.pdf {
        return Err(CmdError::usage("--visible is for --format pades"));
    }
    let body = kokuin_client::seal_file(&agent, &request, &a.file).map_err(super::client_error)?;
    let out = a.out.unwrap_or_else(|| {
        if request.pdf {
            return a.file.with_file_name(format!(
                "{}-sealed.pdf",
                a.file.file_stem().unwrap_or_default().to_string_lossy()
            ));
        }
        let mut p = a.file.clone().into_os_string();
        p.push(".p7s");
        p.into()
    });
    std::fs::write(&out, &body)
        .map_err(|e| CmdError::usage(format!("cannot write {}: {e}", out.display())))?;
    out!("{} seal written to {}", level, out.display());
    Ok(())
}
