//! RFC 3161 §3.4 over HTTP: post a `TimeStampReq`, read a bounded `TimeStampResp`.

use crate::error::ClientError;
use kokuin_hsm::DigestAlgorithm;
use kokuin_tsa::transport::{QUERY_TYPE, REPLY_TYPE};

/// Largest reply read: tokens with long chains stay far below this.
pub const MAX_REPLY: u64 = 1024 * 1024;

/// Posts a DER `TimeStampReq` and returns the DER `TimeStampResp` of a 200 reply with the
/// RFC 3161 media type. The PKIStatus inside is the caller's to read.
pub fn post_query(agent: &ureq::Agent, url: &str, query: &[u8]) -> Result<Vec<u8>, ClientError> {
    let mut resp = agent
        .post(url)
        .header("Content-Type", QUERY_TYPE)
        .send(query)
        .map_err(|e| ClientError::transport(url, e))?;
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = crate::reply::body(&mut resp, url, MAX_REPLY)?;
    if !ctype.starts_with(REPLY_TYPE) {
        return Err(ClientError::reply(
            url,
            format!("reply has Content-Type {ctype:?}, expected {REPLY_TYPE}"),
        ));
    }
    Ok(body)
}

/// A time-stamp token (DER ContentInfo) for `imprint`: asks with a fresh nonce and the
/// certificate, and refuses a token that does not answer this request (RFC 3161 §2.4.2:
/// nonce and imprint) or a refusal.
pub fn timestamp(
    agent: &ureq::Agent,
    url: &str,
    digest: DigestAlgorithm,
    imprint: &[u8],
) -> Result<Vec<u8>, ClientError> {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| ClientError::Local(format!("random source: {e}")))?;
    let req = kokuin_tsa::request::build_request(digest, imprint, None, Some(&nonce), true)
        .map_err(|e| ClientError::Local(e.to_string()))?;
    let query = der::Encode::to_der(&req).map_err(|e| ClientError::Local(e.to_string()))?;
    let reply = post_query(agent, url, &query)?;
    let parsed = kokuin_tsa::ParsedResponse::from_der(&reply)
        .map_err(|e| ClientError::reply(url, format!("not a TimeStampResp: {e}")))?;
    if !parsed.granted() {
        return Err(ClientError::reply(
            url,
            format!("the TSA refused: {}", parsed.describe_status()),
        ));
    }
    let token = parsed
        .into_token()
        .map_err(|e| ClientError::reply(url, e.to_string()))?;
    let t = kokuin_tsa::TimeStampToken::from_der(&token)
        .map_err(|e| ClientError::reply(url, e.to_string()))?;
    if t.tst_info.nonce != req.nonce {
        return Err(ClientError::reply(
            url,
            "the token's nonce is not the request's",
        ));
    }
    if t.tst_info.message_imprint != req.message_imprint {
        return Err(ClientError::reply(
            url,
            "the token's imprint is not the request's",
        ));
    }
    Ok(token)
}
