//! `POST /eseal/v1/extend`: a seal in, the same seal at a higher level out; and the raising
//! itself, which sealing at B-T and above shares.

use super::auth::{authorize, describe_caller};
use super::body::read_held_body;
use super::check::check_before_extending;
use super::pipeline::{SEAL_TYPE, admit, issue, not_found, permit, refuse};
use super::refusal::{Refusal, failure};
use crate::eseal_service::{LoadedSealKey, SealService};
use crate::http::reply::Body;
use crate::http::state::{Conn, State};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use kokuin_audit::{Event, kind};
use kokuin_eseal::BaselineLevel;
use kokuin_eseal::raw::RawSignedData;
use kokuin_hsm::DigestAlgorithm;

pub async fn extend(state: &State, conn: &Conn, id: u64, req: Request<Incoming>) -> Response<Body> {
    let Some(svc) = state.service.eseal.clone() else {
        return not_found();
    };
    let client_desc = describe_caller(conn, &req);
    let outcome = async {
        let (client, q) = admit(state, &svc, conn, &req)?;
        let level = q
            .get("level")
            .and_then(|l| BaselineLevel::from_exact_name(l))
            .filter(|l| *l > BaselineLevel::B)
            .ok_or_else(|| {
                Refusal::new(StatusCode::BAD_REQUEST, "level must be B-T, B-LT or B-LTA")
            })?;
        match q.get("format").map(String::as_str) {
            None | Some("cades") => {}
            Some("pades") => {
                if q.contains_key("digest") {
                    return Err(Refusal::new(
                        StatusCode::BAD_REQUEST,
                        "a sealed PDF is extended over the PDF itself: no digest",
                    ));
                }
                let _permit = permit(state).await?;
                let (pdf, held) = super::pades::read_pdf(state, &svc, req).await?;
                let (svc2, who) = (svc.clone(), client.clone());
                let (out, keys, sha) = tokio::task::spawn_blocking(move || {
                    super::pades_extend::extend_pdf(&svc2, &who, &pdf, level)
                })
                .await
                .map_err(|_| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))??;
                drop(held);
                return Ok(((out, sha), keys.join(","), client.name.clone(), level, true));
            }
            Some(o) => {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    format!("format={o:?}: cades (a .p7s) or pades (a sealed PDF)"),
                ));
            }
        }
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
            // Parsed once (its encoded parts, borrowed): checked, then raised from this.
            let raw = RawSignedData::parse(&seal).map_err(|e| not_a_seal(e.to_string()))?;
            let sid = raw
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
            check_before_extending(&svc2, key, &seal, &raw, digest.as_deref())?;
            let out = Bytes::from(raise_parsed(&svc2, key, raw, level, digest.as_deref())?);
            let sha = hex::encode(DigestAlgorithm::Sha256.digest(&out));
            Ok::<_, Refusal>(((out, sha), name.clone()))
        })
        .await
        .map_err(|_| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))??;
        Ok((out, name, client.name.clone(), level, false))
    }
    .await;
    match outcome {
        Ok(((seal, seal_sha256), key, client, level, pdf)) => {
            let ev = Event::new(kind::SEAL_ISSUED)
                .with("operation", "extend")
                .with("key", key)
                .with("client", client.as_str())
                .with("level", level.name())
                .with("format", if pdf { "pades" } else { "cades" })
                .with("seal_sha256", seal_sha256)
                .with("request_id", id);
            let media = if pdf {
                super::pades::PDF_TYPE
            } else {
                SEAL_TYPE
            };
            issue(state, conn, id, &client_desc, ev, seal, media).await
        }
        Err(r) => refuse(state, id, "extend", conn, &client_desc, r),
    }
}

/// Adds what `level` needs beyond what the seal has: [`raise_parsed`] on the seal, parsed
/// here (a seal just made is not checked again).
pub(super) fn raise(
    svc: &SealService,
    key: &LoadedSealKey,
    seal: Vec<u8>,
    level: BaselineLevel,
    digest: Option<&[u8]>,
) -> Result<Vec<u8>, Refusal> {
    if level == BaselineLevel::B {
        return Ok(seal);
    }
    let raw = RawSignedData::parse(&seal)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, format!("not a seal: {e}")))?;
    raise_parsed(svc, key, raw, level, digest)
}

/// Adds what `level` needs beyond what the seal has ([`kokuin_eseal::extend::raise_parsed`]:
/// one encoding out of the one parse): a signature time-stamp if it has none, validation
/// data, an archive time-stamp. Here only which certificates and CRLs B-LT adds, and what the
/// caller is told.
fn raise_parsed(
    svc: &SealService,
    key: &LoadedSealKey,
    raw: RawSignedData<'_>,
    level: BaselineLevel,
    digest: Option<&[u8]>,
) -> Result<Vec<u8>, Refusal> {
    use kokuin_eseal::extend::ExtendError as E;
    let bad = |e: E| match e {
        // The TSA's side: fail closed, and say it is not the caller's fault.
        E::TimeStamp(_) | E::WrongToken(_) => Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("no time-stamp could be had, so no seal leaves: {e}"),
        ),
        E::ValidationData(ref why) => Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "validation data (CRLs) unavailable, so no B-LT seal is made",
        )
        .with_detail(format!("the configured CRLs: {why}")),
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
        // The reason (with the file's path) goes to the log with the request; the caller
        // learns only that the validation data is unavailable.
        let crls = svc.crls().map_err(|e| E::ValidationData(e.to_string()))?;
        Ok((certs, crls))
    };
    kokuin_eseal::extend::raise_parsed(
        raw,
        level,
        digest,
        svc.stamper.as_ref(),
        Box::new(validation),
    )
    .map_err(bad)
}
