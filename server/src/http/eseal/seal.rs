//! `POST /eseal/v1/seal`: a document (or its digest) in, a seal out.

use super::auth::{authorize, describe_caller};
use super::body::{hash_body, read_held_body};
use super::pipeline::{SEAL_TYPE, admit, issue, not_found, permit, refuse, trusted_now};
use super::raise::raise;
use super::refusal::{Refusal, failure};
use crate::eseal_service::SealService;
use crate::http::reply::Body;
use crate::http::state::{Conn, State};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use kokuin_audit::{Event, kind};
use kokuin_eseal::{BaselineLevel, SealContent};
use kokuin_hsm::DigestAlgorithm;

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
            Some(l) => BaselineLevel::from_exact_name(l).ok_or_else(|| {
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
        let pades = match q.get("format").map(String::as_str) {
            None | Some("cades") => false,
            Some("pades") => true,
            Some(o) => {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    format!("format={o:?}: cades (a .p7s) or pades (the PDF sealed)"),
                ));
            }
        };
        if pades {
            let certify = flag(&q, "certify", false)?;
            let visible = super::pades::visible(&q, flag(&q, "visible", false)?)?;
            if q.contains_key("digest") || q.contains_key("detached") {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "a PDF seal is made over the PDF itself: no digest or detached",
                ));
            }
            trusted_now(&svc)?;
            let _permit = permit(state).await?;
            let (pdf, held) = super::pades::read_pdf(state, &svc, req).await?;
            let (svc2, name) = (svc.clone(), key_name.clone());
            let (seal, digest_hex, seal_sha256) = tokio::task::spawn_blocking(move || {
                super::pades::seal_pdf(&svc2, &name, &pdf, level, certify, visible)
            })
            .await
            .map_err(|_| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))??;
            drop(held);
            return Ok((
                seal,
                key_name.clone(),
                client.name.clone(),
                level,
                (digest_hex, seal_sha256),
                Format::Pades,
            ));
        }
        if q.contains_key("certify") {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "certify is for format=pades (a certification signature in a PDF)",
            ));
        }
        if ["visible", "page", "rect"]
            .iter()
            .any(|k| q.contains_key(*k))
        {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "visible, page and rect are for format=pades (a seal shown on a PDF's page)",
            ));
        }
        let detached = flag(&q, "detached", true)?;
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
            Format::Cades { detached },
        ))
    }
    .await;
    match outcome {
        Ok((seal, key, client, level, (digest, seal_sha256), format)) => {
            let (detached, name, content_type) = match format {
                Format::Cades { detached } => (detached, "cades", SEAL_TYPE),
                Format::Pades => (false, "pades", super::pades::PDF_TYPE),
            };
            let ev = Event::new(kind::SEAL_ISSUED)
                .with("key", key)
                .with("client", client.as_str())
                .with("level", level.name())
                .with("format", name)
                .with("digest", digest)
                .with("detached", detached)
                .with("seal_sha256", seal_sha256)
                .with("request_id", id);
            issue(state, conn, id, &client_desc, ev, seal, content_type).await
        }
        Err(r) => refuse(state, id, "seal", conn, &client_desc, r),
    }
}

/// A boolean query parameter: `true`, `false`, or absent for `default`; anything else 400.
fn flag(
    q: &std::collections::HashMap<String, String>,
    name: &str,
    default: bool,
) -> Result<bool, Refusal> {
    match q.get(name).map(String::as_str) {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(o) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("{name}={o:?}: true or false"),
        )),
    }
}

/// What was made: a CAdES seal (`.p7s`), or the PDF sealed inside itself.
enum Format {
    Cades { detached: bool },
    Pades,
}

/// Room left before an enveloped document as it is read, for what precedes it in its seal
/// (about a hundred octets): the seal is then made around the document where it lies.
pub(super) const HEADROOM: usize = 256;

pub(super) enum Input {
    Digest(Vec<u8>),
    /// The document at `[HEADROOM..]`.
    Document(Vec<u8>),
}

/// The seal, the document's digest (hex) and the seal's SHA-256 (hex), all computed here,
/// off the reactor: for a large enveloped document each takes a while.
pub(super) fn make_seal(
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
