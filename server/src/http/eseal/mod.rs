//! The e-seal API (`docs/openapi.yaml`):
//!
//! - `POST /eseal/v1/seal?key=NAME&level=B-B|B-T|B-LT|B-LTA[&detached=true|false][&digest=HEX]`:
//!   a document (or, with `digest`, nothing: the caller hashed it) in, a DER CMS seal out.
//! - `POST /eseal/v1/extend?level=B-T|B-LT|B-LTA[&digest=HEX]`: a seal in, the same seal at
//!   the higher level out, every earlier byte kept.
//! - `GET /eseal/v1/crls`: the CRLs B-LT seals carry.
//!
//! Callers authenticate with a TLS client certificate or an API token; each may use only the
//! keys it is granted. No credentials → 401, a key not granted → 403, an unknown key → 404,
//! and every refusal is audited. A detached seal's document streams through the hash, so any
//! size seals in constant memory.

mod auth;
mod body;
mod check;
mod refusal;

use self::auth::{authenticate, authorize, describe_caller, within_rate};
use self::body::{hash_body, read_held_body};
use self::check::check_before_extending;
use self::refusal::{Refusal, failure};
use crate::eseal_service::{LoadedSealKey, SealService};
use crate::http::reply::{Body, text};
use crate::http::state::{Conn, State};
use crate::refusals::Refused;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use hyper::{Request, Response, StatusCode};
use kokuin_audit::{Event, kind};
use kokuin_eseal::raw::RawSignedData;
use kokuin_eseal::{BaselineLevel, SealContent};
use kokuin_hsm::DigestAlgorithm;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

pub const SEAL_TYPE: &str = "application/pkcs7-signature";

pub async fn seal(state: &State, conn: &Conn, id: u64, req: Request<Incoming>) -> Response<Body> {
    let Some(svc) = state.service.eseal.clone() else {
        return not_found();
    };
    let client_desc = describe_caller(conn, &req);
    let outcome = async {
        let (client, q) = admit(state, &svc, conn, &req)?;
        let key_name = q
            .get("key")
            .ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, "the key parameter is missing"))?;
        let key = authorize(&svc, client, key_name)?;
        let level = match q.get("level") {
            Some(l) => BaselineLevel::from_name(l).ok_or_else(|| {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    format!("level {l:?}: B-B, B-T, B-LT or B-LTA"),
                )
            })?,
            None => BaselineLevel::T,
        };
        if level < key.level.minimum_baseline() {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "key {key_name} is assurance {}: seals need at least {}",
                    key.level,
                    key.level.minimum_baseline()
                ),
            ));
        }
        let detached = match q.get("detached").map(String::as_str) {
            None | Some("true") => true,
            Some("false") => false,
            Some(o) => {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    format!("detached={o:?}: true or false"),
                ));
            }
        };
        // Before reading a document that could not be sealed anyway.
        trusted_now(&svc)?;
        let alg = key.seal.digest_algorithm();
        // The slot first: bodies are read (an enveloped document held) only within
        // server.max_concurrency.
        let _permit = permit(state).await?;
        let mut held = None;
        let content = match q.get("digest") {
            Some(h) => {
                let d = hex::decode(h.trim())
                    .ok()
                    .filter(|d| d.len() == alg.output_len())
                    .ok_or_else(|| {
                        Refusal::new(
                            StatusCode::BAD_REQUEST,
                            format!(
                                "digest must be the document's {alg} in hex ({} octets)",
                                alg.output_len()
                            ),
                        )
                    })?;
                if !detached {
                    return Err(Refusal::new(
                        StatusCode::BAD_REQUEST,
                        "a seal over a digest is detached",
                    ));
                }
                Input::Digest(d)
            }
            None if detached => {
                Input::Digest(hash_body(req.into_body(), alg, &state.limits).await?)
            }
            None => {
                let (buf, room) =
                    read_held_body(state, &svc, req, svc.max_enveloping, HEADROOM).await?;
                held = Some(room);
                Input::Document(buf)
            }
        };
        let (svc2, name) = (svc.clone(), key_name.clone());
        let (seal, digest_hex, seal_sha256) =
            tokio::task::spawn_blocking(move || make_seal(&svc2, &name, content, level))
                .await
                .map_err(|_| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))??;
        drop(held);
        Ok((
            seal,
            key_name.clone(),
            client.name.clone(),
            level,
            (digest_hex, seal_sha256),
            detached,
        ))
    }
    .await;
    match outcome {
        Ok((seal, key, client, level, (digest, seal_sha256), detached)) => {
            let ev = Event::new(kind::SEAL_ISSUED)
                .with("key", key)
                .with("client", client)
                .with("level", level.name())
                .with("digest", digest)
                .with("detached", detached)
                .with("seal_sha256", seal_sha256)
                .with("request_id", id);
            issue(state, id, ev, seal).await
        }
        Err(r) => refuse(state, id, "seal", conn, &client_desc, r),
    }
}

pub async fn extend(state: &State, conn: &Conn, id: u64, req: Request<Incoming>) -> Response<Body> {
    let Some(svc) = state.service.eseal.clone() else {
        return not_found();
    };
    let client_desc = describe_caller(conn, &req);
    let outcome = async {
        let (client, q) = admit(state, &svc, conn, &req)?;
        let level = q
            .get("level")
            .and_then(|l| BaselineLevel::from_name(l))
            .filter(|l| *l > BaselineLevel::B)
            .ok_or_else(|| {
                Refusal::new(StatusCode::BAD_REQUEST, "level must be B-T, B-LT or B-LTA")
            })?;
        let digest = match q.get("digest") {
            Some(h) => Some(
                hex::decode(h.trim())
                    .ok()
                    .ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, "digest must be hex"))?,
            ),
            None => None,
        };
        let _permit = permit(state).await?;
        let (seal, _room) =
            read_held_body(state, &svc, req, svc.max_enveloping + (1 << 20), 0).await?;
        let (svc2, who) = (svc.clone(), client.name.clone());
        // Parsing and verifying a seal that may envelop tens of MiB: off the reactor.
        let (out, name) = tokio::task::spawn_blocking(move || {
            let not_a_seal =
                |e: String| Refusal::new(StatusCode::BAD_REQUEST, format!("not a seal: {e}"));
            let sid = RawSignedData::parse(&seal)
                .map_err(|e| not_a_seal(e.to_string()))?
                .signer
                .signer_identifier()
                .ok_or_else(|| not_a_seal("its signer identifier does not decode".into()))?;
            // The seal's signer must be one of this service's keys, granted to the caller.
            let (name, key) = svc2
                .keys
                .iter()
                .find(|(_, k)| kokuin_cms::signed_data::identifies(&sid, k.seal.certificate()))
                .ok_or_else(|| {
                    Refusal::new(
                        StatusCode::NOT_FOUND,
                        "no seal key of this service made this seal",
                    )
                })?;
            let client = svc2
                .clients
                .iter()
                .find(|c| c.name == who)
                .ok_or_else(|| Refusal::new(StatusCode::UNAUTHORIZED, "unknown client"))?;
            authorize(&svc2, client, name)?;
            check_before_extending(&svc2, key, &seal, digest.as_deref())?;
            let out = Bytes::from(raise(&svc2, key, seal, level, digest.as_deref())?);
            let sha = hex::encode(DigestAlgorithm::Sha256.digest(&out));
            Ok::<_, Refusal>(((out, sha), name.clone()))
        })
        .await
        .map_err(|_| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))??;
        Ok((out, name, client.name.clone(), level))
    }
    .await;
    match outcome {
        Ok(((seal, seal_sha256), key, client, level)) => {
            let ev = Event::new(kind::SEAL_ISSUED)
                .with("operation", "extend")
                .with("key", key)
                .with("client", client)
                .with("level", level.name())
                .with("seal_sha256", seal_sha256)
                .with("request_id", id);
            issue(state, id, ev, seal).await
        }
        Err(r) => refuse(state, id, "extend", conn, &client_desc, r),
    }
}

/// The trusted clock's time, or 503: every seal carries a signing-time, so none is made
/// while the clock cannot vouch (as `/tsa` answers timeNotAvailable).
fn trusted_now(svc: &SealService) -> Result<SystemTime, Refusal> {
    svc.authority.clock().now().map_err(|e| {
        Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the clock cannot vouch for the time, so no seal is made: {e}"),
        )
    })
}

/// Room left before an enveloped document as it is read, for what precedes it in its seal
/// (about a hundred octets): the seal is then made around the document where it lies.
const HEADROOM: usize = 256;

enum Input {
    Digest(Vec<u8>),
    /// The document at `[HEADROOM..]`.
    Document(Vec<u8>),
}

/// The seal, the document's digest (hex) and the seal's SHA-256 (hex), all computed here,
/// off the reactor: for a large enveloped document each takes a while.
fn make_seal(
    svc: &SealService,
    key_name: &str,
    input: Input,
    level: BaselineLevel,
) -> Result<(Bytes, String, String), Refusal> {
    let key = &svc.keys[key_name];
    let now = trusted_now(svc)?;
    let sealing = |e: kokuin_eseal::SealError| failure(format!("sealing: {e}"));
    let (seal, digest_hex) = match input {
        Input::Digest(d) => {
            let b = key
                .seal
                .seal(SealContent::Detached { digest: &d }, now)
                .map_err(sealing)?;
            (
                Bytes::from(raise(svc, key, b, level, Some(&d))?),
                hex::encode(&d),
            )
        }
        Input::Document(buf) => {
            let digest_hex = hex::encode(key.seal.digest_algorithm().digest(&buf[HEADROOM..]));
            // The document is not copied: the seal is built around it.
            let (mut buf, start) = key
                .seal
                .seal_in_place(buf, HEADROOM, now)
                .map_err(sealing)?;
            let seal = if level == BaselineLevel::B {
                Bytes::from(buf).slice(start..)
            } else {
                buf.drain(..start);
                Bytes::from(raise(svc, key, buf, level, None)?)
            };
            (seal, digest_hex)
        }
    };
    let seal_sha256 = hex::encode(DigestAlgorithm::Sha256.digest(&seal));
    Ok((seal, digest_hex, seal_sha256))
}

/// Adds what `level` needs beyond what the seal has ([`kokuin_eseal::extend::raise`]: one
/// parse, one encoding): a signature time-stamp if it has none, validation data, an archive
/// time-stamp. Here only which certificates and CRLs B-LT adds, and what the caller is told.
fn raise(
    svc: &SealService,
    key: &LoadedSealKey,
    seal: Vec<u8>,
    level: BaselineLevel,
    digest: Option<&[u8]>,
) -> Result<Vec<u8>, Refusal> {
    use kokuin_eseal::extend::ExtendError as E;
    if level == BaselineLevel::B {
        return Ok(seal);
    }
    let bad = |e: E| match e {
        // The TSA's side: fail closed, and say it is not the caller's fault.
        E::TimeStamp(_) | E::WrongToken(_) => Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("no time-stamp could be had, so no seal leaves: {e}"),
        ),
        E::ValidationData(_) => Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "validation data (CRLs) unavailable, so no B-LT seal is made",
        ),
        // The seal the caller sent.
        E::Raw(_) | E::ForbiddenAttribute | E::DigestAlgorithm | E::DataHash(_) => {
            Refusal::new(StatusCode::BAD_REQUEST, e.to_string())
        }
        E::Encoding(_) => failure(e.to_string()),
    };
    let validation = |tsa_certs: &[x509_cert::Certificate]| {
        let mut certs = key.chain.clone();
        certs.extend(svc.validation_certificates.iter().cloned());
        certs.extend(tsa_certs.iter().cloned());
        // The reason (with the file's path) goes to the log; the caller learns only that the
        // validation data is unavailable.
        let crls = svc.crls().map_err(|e| {
            tracing::error!(error = %e, "cannot read the configured CRLs");
            E::ValidationData("CRLs".into())
        })?;
        Ok((certs, crls))
    };
    kokuin_eseal::extend::raise(
        &seal,
        level,
        digest,
        svc.stamper.as_ref(),
        Box::new(validation),
    )
    .map_err(bad)
}

/// A slot among `server.max_concurrency`, shared with `/tsa`: seals sign too.
async fn permit(state: &State) -> Result<tokio::sync::OwnedSemaphorePermit, Refusal> {
    let queue = Duration::from_millis(state.limits.queue_timeout_ms);
    match tokio::time::timeout(queue, state.signing.clone().acquire_owned()).await {
        Ok(Ok(p)) => Ok(p),
        _ => Err(Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "busy, retry")),
    }
}

async fn issue(state: &State, id: u64, ev: Event, seal: Bytes) -> Response<Body> {
    if let Some(log) = &state.service.audit
        && let Err(e) = crate::audit::record(log, ev).await
    {
        tracing::error!(request_id = id, error = %e, "audit log cannot record a seal; refusing");
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "the audit log cannot record the seal, so it does not leave\n".into(),
        );
    }
    let mut r = Response::new(Full::new(seal));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(SEAL_TYPE));
    r
}

/// Answers a refusal and counts it for the audit log (aggregated: see `refusals`), keyed by
/// status and operation; the caller's description and the message are its example.
fn refuse(
    state: &State,
    id: u64,
    op: &str,
    conn: &Conn,
    client: &str,
    r: Refusal,
) -> Response<Body> {
    // Counted, and logged once per interval with the others (refusals.rs).
    tracing::debug!(request_id = id, status = r.status.as_u16(), reason = ?r.message, "e-seal request refused");
    let what = if r.status == StatusCode::UNAUTHORIZED {
        Refused::Authentication
    } else {
        Refused::Seal
    };
    state.refusals.add(
        what,
        conn.peer.ip(),
        &format!("{} {op}", r.status.as_u16()),
        &format!("{} (client {client}, request {id})", r.message),
    );
    let mut resp = text(r.status, "text/plain", format!("{}\n", r.message));
    if r.status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"kokuin-eseal\""),
        );
    }
    if r.status == StatusCode::TOO_MANY_REQUESTS {
        resp.headers_mut()
            .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    // Most refusals come before the body is read, and hyper then closes the connection: say
    // so, or a keep-alive client sends its next request into a closing socket (HTTP/1.1;
    // hyper leaves the header out of HTTP/2 replies).
    resp.headers_mut()
        .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// `GET /eseal/v1/crls`: the CRLs B-LT seals carry, PEM, as the service reads them now (the
/// dev CA publishes its CRL here).
pub fn crls(state: &State) -> Response<Body> {
    let Some(svc) = &state.service.eseal else {
        return not_found();
    };
    let pem: Result<String, String> = svc.crls().and_then(|list| {
        list.iter()
            .map(|c| kokuin_certs::crl::to_pem(c).map_err(|e| e.to_string()))
            .collect()
    });
    match pem {
        Ok(p) => text(StatusCode::OK, "application/x-pem-file", p),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the configured CRLs");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                "CRLs unavailable\n".into(),
            )
        }
    }
}

/// What every e-seal call passes first, in this order: the per-address rate, credentials
/// (never over cleartext), a well-formed query.
fn admit<'a>(
    state: &State,
    svc: &'a SealService,
    conn: &Conn,
    req: &Request<Incoming>,
) -> Result<(&'a crate::eseal_service::Client, HashMap<String, String>), Refusal> {
    within_rate(state, conn)?;
    let client = authenticate(svc, conn, req)?;
    Ok((client, query(req)?))
}

fn not_found() -> Response<Body> {
    text(
        StatusCode::NOT_FOUND,
        "text/plain",
        "the e-seal API is not configured\n".into(),
    )
}

/// The query's parameters (`http::query`); a name given twice is a 400.
fn query(req: &Request<Incoming>) -> Result<HashMap<String, String>, Refusal> {
    crate::http::query::parameters(req.uri().query())
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e))
}
