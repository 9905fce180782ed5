//! The tests' HTTP(S) calls: the CLI's own client, any status returned.

use std::path::Path;

/// An HTTP reply.
pub struct Reply {
    /// The status.
    pub status: u16,
    /// The Content-Type.
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
    /// The Retry-After header, if any.
    pub retry_after: Option<String>,
}

fn retry_after(r: &ureq::http::Response<ureq::Body>) -> Option<String> {
    r.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// An agent trusting `root` for HTTPS: the CLI's own client.
pub fn agent(root: Option<&Path>) -> ureq::Agent {
    kokuin_client::agent(kokuin_client::TlsOptions {
        ca: root,
        client: None,
    })
    .unwrap()
}

/// POST `body` with `content_type`; any status is returned.
pub fn post(agent: &ureq::Agent, url: &str, content_type: &str, body: &[u8]) -> Reply {
    let mut r = agent
        .post(url)
        .header("Content-Type", content_type)
        .send(body)
        .expect("POST");
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let retry_after = retry_after(&r);
    let body = r.body_mut().read_to_vec().unwrap_or_default();
    Reply {
        status,
        content_type,
        body,
        retry_after,
    }
}

/// GET `url`; any status is returned.
pub fn get(agent: &ureq::Agent, url: &str) -> Reply {
    try_get(agent, url).unwrap_or_else(|| panic!("GET {url}: no answer"))
}

/// A GET, or `None` when nothing answers (connection refused, reset).
pub fn try_get(agent: &ureq::Agent, url: &str) -> Option<Reply> {
    get_accepting(agent, url, None)
}

/// A GET with an Accept header, or `None` when nothing answers.
pub fn get_accepting(agent: &ureq::Agent, url: &str, accept: Option<&str>) -> Option<Reply> {
    let mut req = agent.get(url);
    if let Some(a) = accept {
        req = req.header("Accept", a);
    }
    let mut r = req.call().ok()?;
    let retry_after = retry_after(&r);
    Some(Reply {
        retry_after,
        status: r.status().as_u16(),
        content_type: r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        body: r.body_mut().read_to_vec().unwrap_or_default(),
    })
}

/// POST a DER TimeStampReq as `application/timestamp-query`.
pub fn tsa_post(agent: &ureq::Agent, url: &str, tsq: &[u8]) -> Reply {
    post(agent, url, "application/timestamp-query", tsq)
}
