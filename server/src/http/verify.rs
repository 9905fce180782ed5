//! The verification page, for the recipient of a sealed invoice:
//!
//! - `GET /verify` (with `/verify/app.js` and `/verify/app.css`): a page with no external
//!   assets where a person drops a seal or token and, for a detached one, the document. The
//!   page hashes the document in the browser (WebCrypto): a detached seal's or a token's
//!   document never leaves the machine (an enveloping seal carries its document, and is sent
//!   whole — the page says so).
//! - `POST /verify/v1`: `{"evidence": BASE64, "digests": {"sha256": HEX, …}}` in, the verdict
//!   `kokuin verify --json` prints out (`kokuin_eseal::verdict`, the same code), judged
//!   against `verify.trust` only.
//!
//! `kokuin verify --ui` serves the same routes on 127.0.0.1 for an auditor without network.

use super::body_stream::{BodyError, stream_body};
use super::reply::{Body, method_not_allowed};
use crate::config::ServerConfig;
use crate::cpu_pool::CpuPool;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use kokuin_eseal::verdict::{DocumentDigests, EvidenceOptions, Verdict, verify_evidence};
use kokuin_hsm::DigestAlgorithm;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;
use x509_cert::Certificate;

const PAGE: &str = include_str!("verify_page/index.html");
const SCRIPT: &str = include_str!("verify_page/app.js");
const STYLE: &str = include_str!("verify_page/app.css");

/// Same-origin script and style only, no frames, no form posts elsewhere: the page can
/// reach nothing but this server's `/verify/v1`.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// What the page verifies against.
pub struct Verifier {
    anchors: Vec<Certificate>,
    max_bytes: u64,
    /// Requests past their slot: reading a body or verifying, two per core. Taken before the
    /// body is read, so that waiting clients hold no memory; the rest wait
    /// `server.queue_timeout_ms`, then get 503.
    slots: tokio::sync::Semaphore,
    /// The threads verifications run on: half the cores, at a lower priority than signing,
    /// so that however many clients the page has, `/tsa` keeps its cores.
    pool: CpuPool,
}

impl Verifier {
    /// Judges against `anchors` only; refuses evidence over `max_bytes`.
    pub fn new(anchors: Vec<Certificate>, max_bytes: u64) -> std::io::Result<Self> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            anchors,
            max_bytes,
            slots: tokio::sync::Semaphore::new(cores * 2),
            pool: CpuPool::start_named("verify", cores.div_ceil(2), VERIFY_NICE)?,
        })
    }
}

/// The verification threads' nice value: the lowest, so that they get a core only when
/// signing leaves it (measured: nice 10 left `/tsa` 0.77 of its rate under a flood of the
/// costliest evidence, nice 19 0.97; `scripts/bench-verify-flood`).
const VERIFY_NICE: i32 = 19;

/// Answers the page's routes, or `None` for a path that is not one of them.
/// Which request a log line is about: its id and the client's address.
#[derive(Clone, Copy, Debug)]
pub struct RequestTag {
    /// The request's id (`request_id` in every log line and audit record about it).
    pub id: u64,
    /// The client's address.
    pub peer: std::net::SocketAddr,
}

/// The page's routes; `None` for a path that is not the page's.
pub async fn route(
    v: &Arc<Verifier>,
    limits: &ServerConfig,
    req: Request<Incoming>,
    tag: RequestTag,
) -> Option<Response<Body>> {
    let get = matches!(*req.method(), Method::GET | Method::HEAD);
    let reply = match req.uri().path() {
        "/verify" if get => asset("text/html; charset=utf-8", PAGE),
        "/verify/app.js" if get => asset("text/javascript; charset=utf-8", SCRIPT),
        "/verify/app.css" if get => asset("text/css; charset=utf-8", STYLE),
        "/verify/v1" if req.method() == Method::POST => verify_v1(v, limits, req, tag).await,
        "/verify/v1" => method_not_allowed("POST"),
        "/verify" | "/verify/app.js" | "/verify/app.css" => method_not_allowed("GET, HEAD"),
        _ => return None,
    };
    Some(reply)
}

fn asset(content_type: &'static str, body: &'static str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(CSP),
    );
    secure_headers(h);
    r
}

fn secure_headers(h: &mut hyper::HeaderMap) {
    h.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// `POST /verify/v1`'s body: `evidence` (with the document's `digests`), or `pdf`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    /// The seal or token, base64 (DER).
    #[serde(default)]
    evidence: Option<String>,
    /// What the page found in a sealed PDF (`verify_pdf`).
    #[serde(default)]
    pdf: Option<super::verify_pdf::PdfRequest>,
    /// The document's digests by algorithm name (`sha256`, `sha384`, `sha512`), hex.
    #[serde(default)]
    digests: BTreeMap<String, String>,
}

fn json(status: StatusCode, verdict: &Verdict) -> Response<Body> {
    json_text(status, verdict.to_json())
}

fn json_text(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    secure_headers(h);
    r
}

/// A request the page cannot judge: 4xx with the reason, never a verdict.
fn bad_input(status: StatusCode, reason: &str) -> Response<Body> {
    json(status, &Verdict::bad_input(reason))
}

async fn verify_v1(
    v: &Arc<Verifier>,
    limits: &ServerConfig,
    req: Request<Incoming>,
    tag: RequestTag,
) -> Response<Body> {
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return bad_input(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/json: {\"evidence\": base64, \"digests\": {…}}",
        );
    }
    // The slot before the body: a client waiting for one holds no memory.
    let queue = std::time::Duration::from_millis(limits.queue_timeout_ms);
    let _slot = match tokio::time::timeout(queue, v.slots.acquire()).await {
        Ok(Ok(p)) => p,
        _ => {
            let mut r = json(
                StatusCode::SERVICE_UNAVAILABLE,
                &Verdict::unavailable("busy verifying for others, retry"),
            );
            r.headers_mut()
                .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
            return r;
        }
    };
    // Base64 is 4/3 of the evidence; the digests and field names are small.
    let max = v.max_bytes / 3 * 4 + 4096;
    let mut body = Vec::new();
    if let Err(e) = stream_body(req.into_body(), Some(max), limits, |d| {
        body.extend_from_slice(d)
    })
    .await
    {
        let reason = match e {
            BodyError::TooLarge => format!("the evidence is over {} octets", v.max_bytes),
            ref e => e.to_string(),
        };
        return bad_input(e.status(), &reason);
    }
    let v2 = v.clone();
    // Decoding the request, chain building and signature checks are CPU work: all of it on
    // the page's own threads, none on the I/O threads.
    let verdict = v.pool.run(move || judge(&v2, &body)).await;
    match verdict {
        Ok(Ok(value)) => json_text(StatusCode::OK, value),
        Ok(Err(refused)) => json(refused.0, &refused.1),
        Err(e) => {
            tracing::error!(request_id = tag.id, peer = %tag.peer, error = %e, "verification task failed");
            bad_input(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the verification failed on this side; the service log has the reason",
            )
        }
    }
}

/// A request body judged: the verdict (JSON), or the status and reason of a request that
/// cannot be.
fn judge(v: &Verifier, body: &[u8]) -> Result<String, Box<(StatusCode, Verdict)>> {
    let bad = |why: String| Box::new((StatusCode::BAD_REQUEST, Verdict::bad_input(why)));
    let request: VerifyRequest =
        serde_json::from_slice(body).map_err(|e| bad(format!("the request: {e}")))?;
    // Padding is checked, the unused bits of the last character are not: encoders differ
    // there, and the evidence's own signatures say whether the bytes are right.
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    let decode = |s: &str| base64::Engine::decode(&engine, s.trim()).map_err(|e| e.to_string());
    let evidence = match (&request.evidence, &request.pdf) {
        (Some(e), None) => decode(e).map_err(|e| bad(format!("evidence: {e}")))?,
        (None, Some(pdf)) if request.digests.is_empty() => {
            // What does not fit together (ranges past the file) cannot be judged: 422.
            return super::verify_pdf::judge(&v.anchors, pdf, decode)
                .map(|v| v.to_string())
                .map_err(|why| {
                    Box::new((StatusCode::UNPROCESSABLE_ENTITY, Verdict::bad_input(why)))
                });
        }
        _ => {
            return Err(bad(
                "send evidence (with the document's digests) or pdf (with each signature's)".into(),
            ));
        }
    };
    let mut digests = Vec::new();
    for (name, hexd) in &request.digests {
        let alg = DigestAlgorithm::from_name(name).ok_or_else(|| {
            bad(format!(
                "digests: unknown algorithm {:?}",
                name.chars().take(20).collect::<String>()
            ))
        })?;
        let d = hex::decode(hexd)
            .map_err(|_| bad(format!("digests.{}: not hexadecimal", alg.name())))?;
        digests.push((alg, d));
    }
    let pairs: Vec<(DigestAlgorithm, &[u8])> =
        digests.iter().map(|(a, d)| (*a, d.as_slice())).collect();
    let verdict = verify_evidence(
        &evidence,
        &EvidenceOptions {
            trust_anchors: &v.anchors,
            extra_certificates: &[],
            document: DocumentDigests { digests: &pairs },
            at: SystemTime::now(),
            form: kokuin_eseal::SealForm::Cades,
        },
    )
    .map_err(|e| {
        let verdict = Verdict::bad_input(e.to_string()).in_words(e.plain());
        Box::new((StatusCode::UNPROCESSABLE_ENTITY, verdict))
    })?;
    Ok(verdict.to_json())
}
