//! `kokuin request`: hash a file, ask a TSA for a token over HTTP(S), save the request (.tsq)
//! and the reply (.tsr) as `openssl ts` does.

use super::{CmdError, hash_file};
use der::Encode;
use kokuin_hsm::DigestAlgorithm;
use kokuin_tsa::ParsedResponse;
use kokuin_tsa::request::build_request;
use std::path::{Path, PathBuf};

pub struct RequestArgs {
    pub file: PathBuf,
    pub url: String,
    pub hash: DigestAlgorithm,
    pub cert_req: bool,
    pub policy: Option<kokuin_tsa::asn1::PolicyId>,
    pub nonce: bool,
    pub ca: Option<PathBuf>,
    pub out: PathBuf,
}

pub fn run(a: RequestArgs) -> Result<(), CmdError> {
    let digest = hash_file(&a.file, a.hash)?;
    let mut nonce = [0u8; 8];
    if a.nonce {
        getrandom::fill(&mut nonce).map_err(|e| CmdError::usage(format!("random source: {e}")))?;
    }
    let req = build_request(
        a.hash,
        &digest,
        a.policy,
        a.nonce.then_some(&nonce[..]),
        a.cert_req,
    )
    .and_then(|r| r.to_der())
    .map_err(|e| CmdError::usage(format!("building the request: {e}")))?;
    let tsq = a.out.with_extension("tsq");
    write(&tsq, &req)?;
    let agent = kokuin_client::agent(kokuin_client::TlsOptions {
        ca: a.ca.as_deref(),
        client: None,
    })?;
    let reply = kokuin_client::post_query(&agent, &a.url, &req)?;
    write(&a.out, &reply)?;
    let parsed = ParsedResponse::from_der(&reply)
        .map_err(|e| CmdError::negative(format!("the TSA's reply is not a TimeStampResp: {e}")))?;
    if !parsed.granted() {
        return Err(CmdError::negative(format!(
            "the TSA refused: {}",
            parsed.describe_status()
        )));
    }
    println!("request: {}", tsq.display());
    println!(
        "reply:   {} ({})",
        a.out.display(),
        parsed.describe_status()
    );
    Ok(())
}

fn write(p: &Path, b: &[u8]) -> Result<(), CmdError> {
    std::fs::write(p, b).map_err(|e| CmdError::usage(format!("cannot write {}: {e}", p.display())))
}
