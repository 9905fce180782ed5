//! Reading a reply: its body, bounded, and an HTTP error status turned into an error that
//! carries the server's reason.

use crate::error::ClientError;

/// The body of `resp`, at most `limit` octets; a status other than 200 is an error with the
/// start of the body as the server's reason.
pub(crate) fn body(
    resp: &mut ureq::http::Response<ureq::Body>,
    url: &str,
    limit: u64,
) -> Result<Vec<u8>, ClientError> {
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| ClientError::transport(url, format!("reading the reply: {e}")))?;
    if status != 200 {
        return Err(ClientError::status(
            url,
            status,
            String::from_utf8_lossy(&body)
                .trim()
                .chars()
                .take(500)
                .collect(),
        ));
    }
    Ok(body)
}
