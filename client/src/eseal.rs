//! `POST /eseal/v1/seal` of Kokuin's e-seal API: the document streams from disk to the socket.

use crate::error::ClientError;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::path::Path;

/// RFC 3986 §2.3: everything but the unreserved characters is escaped in a query value.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Largest seal read back: an enveloping seal carries the document (64 MiB by default).
const MAX_SEAL: u64 = 1 << 30;

/// One call of the seal API.
pub struct SealRequest<'a> {
    /// The service's base URL, e.g. `https://localhost:8443`.
    pub base_url: &'a str,
    /// The seal key's name.
    pub key: &'a str,
    /// The CAdES level's name (`B-B` … `B-LTA`).
    pub level: &'a str,
    /// Detached (the document beside the seal) or enveloping.
    pub detached: bool,
    /// An API token, sent as a Bearer token.
    pub bearer: Option<&'a str>,
    /// PAdES: the document is a PDF and comes back sealed inside itself.
    pub pdf: bool,
    /// PAdES: a certification signature (DocMDP P=2) rather than an approval one.
    pub certify: bool,
    /// PAdES: a visible seal, on this page (from 1) and in this rectangle
    /// (`x1,y1,x2,y2`, points; `None`: the lower right corner); `None`: invisible.
    pub visible: Option<(u32, Option<&'a str>)>,
}

/// Seals the file at `document` and returns the seal (DER CMS ContentInfo).
pub fn seal_file(
    agent: &ureq::Agent,
    r: &SealRequest<'_>,
    document: &Path,
) -> Result<Vec<u8>, ClientError> {
    let mut url = format!(
        "{}/eseal/v1/seal?key={}&level={}",
        r.base_url.trim_end_matches('/'),
        utf8_percent_encode(r.key, QUERY_VALUE),
        utf8_percent_encode(r.level, QUERY_VALUE),
    );
    url.push_str(if r.pdf && r.certify {
        "&format=pades&certify=true"
    } else if r.pdf {
        "&format=pades"
    } else if r.detached {
        "&detached=true"
    } else {
        "&detached=false"
    });
    if let (true, Some((page, rect))) = (r.pdf, r.visible) {
        url.push_str(&format!("&visible=true&page={page}"));
        if let Some(rect) = rect {
            url.push_str(&format!("&rect={}", utf8_percent_encode(rect, QUERY_VALUE)));
        }
    }
    let local =
        |e: std::io::Error| ClientError::Local(format!("cannot read {}: {e}", document.display()));
    let mut file = std::fs::File::open(document).map_err(local)?;
    // The length up front: the server then holds an enveloped document in one buffer of
    // that size, instead of growing one as a chunked body arrives.
    let length = file.metadata().map_err(local)?.len();
    let mut req = agent
        .post(&url)
        .header(
            "Content-Type",
            if r.pdf {
                "application/pdf"
            } else {
                "application/octet-stream"
            },
        )
        .header("Content-Length", length.to_string());
    if let Some(t) = r.bearer {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let mut resp = req
        .send(ureq::SendBody::from_reader(&mut file))
        .map_err(|e| ClientError::transport(&url, e))?;
    crate::reply::body(&mut resp, &url, MAX_SEAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_escape_all_but_unreserved() {
        let s = utf8_percent_encode("a b&c=d/é-_.~", QUERY_VALUE).to_string();
        assert_eq!(s, "a%20b%26c%3Dd%2F%C3%A9-_.~");
    }
}
