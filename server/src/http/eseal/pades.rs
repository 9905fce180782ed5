//! `POST /eseal/v1/seal?format=pades`: the PDF sealed inside itself (`kokuin-pades`, EN 319
//! 142-1). The PDF is held (it is rewritten, not streamed), prepared as an incremental update,
//! the byte ranges hashed, signed without a signing-time attribute (the time is the
//! signature dictionary's `/M`), raised to B-T when asked, and the CMS embedded.

use super::body::read_held_body;
use super::pipeline::trusted_now;
use super::raise::raise;
use super::refusal::{Refusal, failure};
use crate::eseal_service::SealService;
use crate::http::state::State;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use kokuin_eseal::BaselineLevel;
use kokuin_hsm::DigestAlgorithm;
use kokuin_pades::{Appearance, Kind, Options, PadesError, prepare};
use std::collections::HashMap;

/// What a sealed PDF is sent and returned as.
pub const PDF_TYPE: &str = "application/pdf";

/// Room reserved for the CMS at first: an ECDSA or RSA seal at B-T with its TSA's chain is a
/// few KiB; an ML-DSA one a few tens. A CMS that does not fit is made again with the room it
/// needs (one more signature, never a truncated one).
const FIRST_ROOM: usize = 32 * 1024;

/// The PDF of the request, held: `application/pdf` only, within `eseal.max_enveloping_mb`.
pub(super) async fn read_pdf(
    state: &State,
    svc: &SealService,
    req: Request<Incoming>,
) -> Result<(Vec<u8>, tokio::sync::OwnedSemaphorePermit), Refusal> {
    let ct = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if ct.as_deref() != Some(PDF_TYPE) {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "format=pades takes the PDF as application/pdf",
        ));
    }
    read_held_body(state, svc, req, svc.max_enveloping, 0).await
}

/// Where a visible seal goes: its page (from 0) and rectangle, if the caller gave one.
pub(super) struct Visible {
    page: usize,
    rect: Option<[f64; 4]>,
}

/// The largest page number and coordinate (points) a caller may give: beyond any real page
/// (ISO 32000-1's 14 400-unit limit), so the stamp's work stays bounded.
const MAX_PAGE: usize = 100_000;
const MAX_COORDINATE: f64 = 14_400.0;

/// `visible=true` with `page=N` (from 1, default 1) and `rect=x1,y1,x2,y2` (points, in the
/// page's user space; default the lower right corner); `page` or `rect` without `visible`
/// is refused rather than ignored.
pub(super) fn visible(q: &HashMap<String, String>, on: bool) -> Result<Option<Visible>, Refusal> {
    let bad = |m: String| Refusal::new(StatusCode::BAD_REQUEST, m);
    if !on {
        if q.contains_key("page") || q.contains_key("rect") {
            return Err(bad(
                "page and rect place a visible seal: add visible=true".into()
            ));
        }
        return Ok(None);
    }
    let page = match q.get("page") {
        None => 1,
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|p| (1..=MAX_PAGE).contains(p))
            .ok_or_else(|| bad(format!("page={p:?}: a page number from 1")))?,
    };
    let rect = match q.get("rect") {
        None => None,
        Some(r) => {
            let v: Vec<f64> = r
                .split(',')
                .map(|n| n.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|_| bad(format!("rect={r:?}: four numbers x1,y1,x2,y2")))?;
            let [x1, y1, x2, y2] = <[f64; 4]>::try_from(v)
                .map_err(|_| bad(format!("rect={r:?}: four numbers x1,y1,x2,y2")))?;
            let inside = |v: f64| v.is_finite() && v.abs() <= MAX_COORDINATE;
            if ![x1, y1, x2, y2].into_iter().all(inside) || x2 - x1 < 60.0 || y2 - y1 < 24.0 {
                return Err(bad(format!(
                    "rect={r:?}: x1 < x2 and y1 < y2, at least 60 × 24 points, within ±14400"
                )));
            }
            Some([x1, y1, x2, y2])
        }
    };
    Ok(Some(Visible {
        page: page - 1,
        rect,
    }))
}

fn refused(e: PadesError) -> Refusal {
    match e {
        PadesError::TooLarge { .. } | PadesError::Write(_) => {
            failure(format!("sealing the PDF: {e}"))
        }
        _ => Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("this PDF cannot be sealed: {e}"),
        ),
    }
}

/// The sealed PDF, the digest of its byte ranges (hex) and the output's SHA-256 (hex).
/// B-T: the CMS carries its signature time-stamp; B-LT: then the DSS holds the certificates
/// and CRLs of the sealer's and the TSA's chains; B-LTA: then a document time-stamp covers
/// it all. Each step is its own incremental update.
pub(super) fn seal_pdf(
    svc: &SealService,
    key_name: &str,
    pdf: &[u8],
    level: BaselineLevel,
    certify: bool,
    visible: Option<Visible>,
) -> Result<(Bytes, String, String), Refusal> {
    let key = &svc.keys[key_name];
    let now = trusted_now(svc)?;
    let subject = kokuin_certs::eseal::SealSubject::from_certificate(key.seal.certificate()).ok();
    let name = subject
        .as_ref()
        .map(|s| s.organization.clone())
        .unwrap_or_default();
    let appearance = match visible {
        None => None,
        Some(v) => {
            let font = svc.stamp_font.clone().ok_or_else(|| {
                Refusal::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "this service makes no visible seals: it has no stamp font (eseal.stamp_font)",
                )
            })?;
            let number = subject
                .as_ref()
                .and_then(|s| s.corporate_number().map(str::to_string));
            Some(Appearance {
                font,
                page: v.page,
                rect: v.rect,
                lines: kokuin_pades::seal_lines(&name, number.as_deref(), now),
                image: key.stamp_image.clone(),
            })
        }
    };
    let alg = key.seal.digest_algorithm();
    let mut tsa_certs = Vec::new();
    let seal = Kind::Seal { name, time: now };
    let (mut out, digest) = fill(pdf, seal, certify, appearance, alg, |digest| {
        let cms = key
            .seal
            .seal_for_pdf(digest)
            .map_err(|e| failure(format!("sealing: {e}")))?;
        let cms = raise(svc, key, cms, level.min(BaselineLevel::T), Some(digest))?;
        if let Ok(raw) = kokuin_eseal::raw::RawSignedData::parse(&cms) {
            tsa_certs = kokuin_eseal::extend::timestamp_certificates(&raw);
        }
        Ok(cms)
    })?;
    if level >= BaselineLevel::Lt {
        let mut certs = vec![key.seal.certificate().clone()];
        certs.extend(key.chain.iter().cloned());
        certs.extend(tsa_certs);
        out = add_validation_data(svc, &certs, &out)?;
    }
    if level >= BaselineLevel::Lta {
        out = add_document_timestamp(svc, &out)?;
    }
    let sha = hex::encode(DigestAlgorithm::Sha256.digest(&out));
    Ok((Bytes::from(out), hex::encode(digest), sha))
}

/// B-LTA: a document time-stamp over the whole PDF (`/ETSI.RFC3161`), from this service's
/// time-stamper (whose chain B-LT already put in the DSS); no time-stamp, no PDF.
pub(super) fn add_document_timestamp(svc: &SealService, pdf: &[u8]) -> Result<Vec<u8>, Refusal> {
    let (out, _) = fill(
        pdf,
        Kind::DocTimeStamp,
        false,
        None,
        DigestAlgorithm::Sha256,
        |digest| {
            svc.stamper
                .timestamp(DigestAlgorithm::Sha256, digest)
                .map_err(|e| {
                    Refusal::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("no time-stamp could be had, so no PDF leaves: {e}"),
                    )
                })
        },
    )?;
    Ok(out)
}

/// One field added and filled: `make` turns the byte ranges' digest into what goes in
/// `/Contents`. Returns the PDF and that digest.
fn fill(
    pdf: &[u8],
    kind: Kind,
    certify: bool,
    appearance: Option<Appearance>,
    alg: DigestAlgorithm,
    mut make: impl FnMut(&[u8]) -> Result<Vec<u8>, Refusal>,
) -> Result<(Vec<u8>, Vec<u8>), Refusal> {
    let mut room = FIRST_ROOM;
    loop {
        let prepared = prepare(
            pdf,
            &Options {
                kind: kind.clone(),
                room,
                certify,
                appearance: appearance.clone(),
            },
        )
        .map_err(refused)?;
        let digest = prepared.digest(alg);
        let contents = make(&digest)?;
        match prepared.embed(&contents) {
            Ok(out) => return Ok((out, digest)),
            Err(PadesError::TooLarge { got, .. }) if room == FIRST_ROOM => {
                room = got.next_multiple_of(4096) + 4096;
            }
            Err(e) => return Err(refused(e)),
        }
    }
}

/// B-LT: `certs` (the sealers' chains, their TSAs' certificates), the validation
/// certificates and the CRLs, in the DSS.
pub(super) fn add_validation_data(
    svc: &SealService,
    certs: &[x509_cert::Certificate],
    pdf: &[u8],
) -> Result<Vec<u8>, Refusal> {
    use der::Encode;
    let der = |c: &x509_cert::Certificate| c.to_der().map_err(|e| failure(e.to_string()));
    let mut all = Vec::new();
    for c in certs.iter().chain(svc.validation_certificates.iter()) {
        let d = der(c)?;
        if !all.contains(&d) {
            all.push(d);
        }
    }
    let certs = all;
    let crls = svc
        .crls()
        .map_err(|e| {
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "validation data (CRLs) unavailable, so no B-LT seal is made",
            )
            .with_detail(format!("the configured CRLs: {e}"))
        })?
        .iter()
        .map(|c| c.to_der().map_err(|e| failure(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    kokuin_pades::add_dss(pdf, &certs, &crls).map_err(refused)
}
