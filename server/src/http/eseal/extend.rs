//! `POST /eseal/v1/extend`: a seal in, the same seal at a higher level out (the raising itself
//! is `raise`, which sealing shares); with `format=pades`, a sealed PDF (`pades_extend`).

use super::auth::{authorize, describe_caller};
use super::body::read_held_body;
use super::check::check_before_extending;
use super::pipeline::{SEAL_TYPE, admit, issue, not_found, permit, refuse};
use super::refusal::Refusal;
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
            let out = Bytes::from(super::raise::raise_parsed(
                &svc2,
                key,
                raw,
                level,
                digest.as_deref(),
            )?);
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
