//! `kokuin request`: hash a file, ask a TSA for a token over HTTP(S), save the request (.tsq)
//! and the reply (.tsr) as `openssl ts` does.

use super::{CmdError, hash_file};
use crate::server::{QUERY_TYPE, REPLY_TYPE};
use der::Encode;
use kokuin_hsm::DigestAlgorithm;
use kokuin_tsa::ParsedResponse;
use kokuin_tsa::request::build_request;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    let reply = post(&a.url, &req, a.ca.as_deref())?;
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

/// Largest reply read: tokens with long chains stay far below this.
const MAX_REPLY: u64 = 1024 * 1024;

/// An HTTP(S) agent on the aws-lc-rs provider, trusting `ca` if given (else the Mozilla
/// roots); HTTP error statuses are returned, not raised.
pub fn agent(ca: Option<&Path>) -> Result<ureq::Agent, CmdError> {
    agent_with(ca, None)
}

/// [`agent`], presenting a TLS client certificate (PEM chain, PEM key) when given.
pub fn agent_with(
    ca: Option<&Path>,
    client: Option<(&Path, &Path)>,
) -> Result<ureq::Agent, CmdError> {
    use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
    let mut tls = TlsConfig::builder().unversioned_rustls_crypto_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ));
    if let Some(ca) = ca {
        let pem = super::read_file(ca)?;
        let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|i| match i {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(CmdError::usage(format!("{}: no certificate", ca.display())));
        }
        tls = tls.root_certs(RootCerts::new_with_certs(&certs));
    }
    if let Some((cert, key)) = client {
        let pem = super::read_file(cert)?;
        let chain: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|i| match i {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if chain.is_empty() {
            return Err(CmdError::usage(format!(
                "{}: no certificate",
                cert.display()
            )));
        }
        // The key's content never reaches an error message.
        let key_pem = super::read_file(key)?;
        let key = PrivateKey::from_pem(&key_pem)
            .map_err(|_| CmdError::usage(format!("{}: not a PEM private key", key.display())))?
            .to_owned();
        tls = tls.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
    }
    Ok(ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .build()
        .into())
}

fn post(url: &str, body: &[u8], ca: Option<&Path>) -> Result<Vec<u8>, CmdError> {
    let agent = agent(ca)?;
    let mut resp = agent
        .post(url)
        .header("Content-Type", QUERY_TYPE)
        .send(body)
        .map_err(|e| CmdError::usage(format!("{url}: {e}")))?;
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut out = Vec::new();
    resp.body_mut()
        .as_reader()
        .take(MAX_REPLY)
        .read_to_end(&mut out)
        .map_err(|e| CmdError::usage(format!("{url}: reading the reply: {e}")))?;
    if status != 200 {
        return Err(CmdError::negative(format!(
            "{url}: HTTP {status}: {}",
            String::from_utf8_lossy(&out).trim()
        )));
    }
    if !ctype.starts_with(REPLY_TYPE) {
        return Err(CmdError::negative(format!(
            "{url}: reply has Content-Type {ctype:?}, expected {REPLY_TYPE}"
        )));
    }
    Ok(out)
}
