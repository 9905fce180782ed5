//! `kokuin request`: hash a file, ask a TSA for a token over HTTP(S), save the request (.tsq)
//! and the reply (.tsr) as `openssl ts` does.

use super::{CmdError, hash_file};
use der::Encode;
use kokuin_hsm::DigestAlgorithm;
use kokuin_tsa::ParsedResponse;
use kokuin_tsa::asn1::PolicyId;
use kokuin_tsa::request::build_request;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct RequestArgs {
    /// The file to time-stamp (hashed as it streams).
    pub file: PathBuf,
    /// The TSA's URL.
    #[arg(long)]
    pub url: String,
    /// The hash of FILE: sha256, sha384, sha512, sha3-256, …
    #[arg(long, default_value = "sha256", value_parser = super::parse::digest)]
    pub hash: DigestAlgorithm,
    /// Ask for the TSA certificate in the token.
    #[arg(long)]
    pub cert_req: bool,
    /// Policy OID to request.
    #[arg(long, value_parser = super::parse::policy)]
    pub policy: Option<PolicyId>,
    /// Send no nonce.
    #[arg(long)]
    pub no_nonce: bool,
    /// PEM CA certificate(s) to trust for HTTPS (default: the Mozilla roots).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Where to write the reply (.tsr); the request goes beside it as .tsq.
    #[arg(short, long)]
    pub out: PathBuf,
}

pub fn run(a: RequestArgs) -> Result<(), CmdError> {
    let digest = hash_file(&a.file, a.hash)?;
    let mut nonce = [0u8; 8];
    if !a.no_nonce {
        getrandom::fill(&mut nonce).map_err(|e| CmdError::usage(format!("random source: {e}")))?;
    }
    let req = build_request(
        a.hash,
        &digest,
        a.policy,
        (!a.no_nonce).then_some(&nonce[..]),
        a.cert_req,
    )
    .and_then(|r| r.to_der())
    .map_err(|e| CmdError::usage(format!("building the request: {e}")))?;
    let tsq = a.out.with_extension("tsq");
    write(&tsq, &req)?;
    let agent = kokuin_client::agent(kokuin_client::TlsOptions {
        ca: a.ca.as_deref(),
        client: None,
    })
    .map_err(super::client_error)?;
    let reply = kokuin_client::post_query(&agent, &a.url, &req).map_err(super::client_error)?;
    write(&a.out, &reply)?;
    let parsed = ParsedResponse::from_der(&reply)
        .map_err(|e| CmdError::negative(format!("the TSA's reply is not a TimeStampResp: {e}")))?;
    if !parsed.granted() {
        return Err(CmdError::negative(format!(
            "the TSA refused: {}",
            parsed.describe_status()
        )));
    }
    out!("request: {}", tsq.display());
    out!(
        "reply:   {} ({})",
        a.out.display(),
        parsed.describe_status()
    );
    Ok(())
}

fn write(p: &Path, b: &[u8]) -> Result<(), CmdError> {
    std::fs::write(p, b).map_err(|e| CmdError::usage(format!("cannot write {}: {e}", p.display())))
}
