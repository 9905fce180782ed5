//! `kokuin inspect`: a readable dump of a TimeStampReq (.tsq), a TimeStampResp (.tsr) or a
//! bare token. Nothing is verified here; `kokuin verify` does that.

use crate::cmd_error::CmdError;
use crate::input::read_file;
use der::{Decode, Encode};
use kokuin_certs::path::subject_of;
use kokuin_hsm::digest::describe_digest_oid;
use kokuin_tsa::asn1::{MessageImprint, TimeStampReq, TstInfo};
use kokuin_tsa::{ParsedResponse, TimeStampToken};
use std::path::{Path, PathBuf};

/// What `kokuin inspect` is asked.
#[derive(clap::Args)]
pub struct InspectArgs {
    /// A .tsq, .tsr or bare token.
    pub file: PathBuf,
}

/// Prints what a request, response or token says, without judging it.
pub fn run(file: &Path) -> Result<(), CmdError> {
    let bytes = read_file(file)?;
    if let Ok(req) = TimeStampReq::from_der(&bytes) {
        print_request(&req);
        return Ok(());
    }
    if let Ok(resp) = ParsedResponse::from_der(&bytes) {
        out!("TimeStampResp");
        out!("  status: {}", resp.describe_status());
        if let Some(t) = &resp.token {
            print_token(t)?;
        }
        return Ok(());
    }
    if TimeStampToken::from_der(&bytes).is_ok() {
        return print_token(&bytes);
    }
    Err(CmdError::usage(format!(
        "{}: neither a TimeStampReq, a TimeStampResp nor a time-stamp token",
        file.display()
    )))
}

fn imprint(m: &MessageImprint) -> String {
    format!(
        "{} {}",
        describe_digest_oid(&m.hash_algorithm.oid),
        hex::encode(m.hashed_message.as_bytes())
    )
}

fn print_request(r: &TimeStampReq) {
    out!("TimeStampReq");
    out!("  version:  {}", hex::encode(r.version.as_bytes()));
    out!("  imprint:  {}", imprint(&r.message_imprint));
    out!(
        "  policy:   {}",
        r.req_policy
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or("(none)".into())
    );
    out!(
        "  nonce:    {}",
        r.nonce
            .as_ref()
            .map(|n| hex::encode(n.as_bytes()))
            .unwrap_or("(none)".into())
    );
    out!("  certReq:  {}", r.cert_req.unwrap_or(false));
    for e in r.extensions.iter().flatten() {
        out!("  extension {} critical={}", e.extn_id, e.critical);
    }
}

fn print_token(der: &[u8]) -> Result<(), CmdError> {
    let t = TimeStampToken::from_der(der).map_err(|e| CmdError::negative(e.to_string()))?;
    print_tst_info(&t.tst_info);
    let sd = &t.signed_data;
    for si in sd.signer_infos.0.iter() {
        out!("  signer:");
        out!(
            "    digest:     {}",
            describe_digest_oid(&si.digest_alg.oid)
        );
        out!("    signature:  {}", si.signature_algorithm.oid);
        for a in si.signed_attrs.iter().flat_map(|a| a.iter()) {
            out!("    signed attribute {}", attr_name(&a.oid));
        }
    }
    let certs = t.certificates();
    if certs.is_empty() {
        out!("  certificates: (none)");
    }
    for c in certs {
        let len = c.to_der().map(|d| d.len()).unwrap_or(0);
        out!("  certificate: {} ({len} octets)", subject_of(&c));
    }
    Ok(())
}

fn print_tst_info(t: &TstInfo) {
    out!("  TSTInfo");
    out!("    version:  {}", hex::encode(t.version.as_bytes()));
    out!("    policy:   {}", t.policy);
    out!("    imprint:  {}", imprint(&t.message_imprint));
    out!("    serial:   {}", hex::encode(t.serial_number.as_bytes()));
    out!("    genTime:  {}", t.gen_time.to_rfc3339());
    if let Some(a) = t.accuracy {
        out!("    accuracy: {a}");
    }
    out!("    ordering: {}", t.ordering.unwrap_or(false));
    if let Some(n) = &t.nonce {
        out!("    nonce:    {}", hex::encode(n.as_bytes()));
    }
    if let Some(x509_cert::ext::pkix::name::GeneralName::DirectoryName(n)) = &t.tsa {
        out!("    tsa:      {n}");
    }
}

fn attr_name(oid: &const_oid::ObjectIdentifier) -> String {
    use kokuin_tsa::oid as o;
    let name = match *oid {
        o::CONTENT_TYPE => "content-type",
        o::MESSAGE_DIGEST => "message-digest",
        o::SIGNING_TIME => "signing-time",
        o::SIGNING_CERTIFICATE => "signing-certificate",
        o::SIGNING_CERTIFICATE_V2 => "signing-certificate-v2",
        _ => return oid.to_string(),
    };
    name.to_string()
}
