//! `POST /eseal/v1/seal?format=pades`: the PDF sealed inside itself (`kokuin-pades`, EN 319
//! 142-1). The PDF is held (it is rewritten, not streamed), prepared as an incremental update,
//! the byte ranges hashed, signed without a signing-time attribute (the time is the
//! signature dictionary's `/M`), raised to B-T when asked, and the CMS embedded.

use super::body::read_held_body;
use super::extend::raise;
use super::pipeline::trusted_now;
use super::refusal::{Refusal, failure};
use crate::eseal_service::SealService;
use crate::http::state::State;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use kokuin_eseal::BaselineLevel;
use kokuin_hsm::DigestAlgorithm;
use kokuin_pades::{Kind, Options, PadesError, prepare};

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
) -> Result<(Bytes, String, String), Refusal> {
    let key = &svc.keys[key_name];
    let now = trusted_now(svc)?;
    let name = kokuin_certs::eseal::SealSubject::from_certificate(key.seal.certificate())
        .map(|s| s.organization)
        .unwrap_or_default();
    let alg = key.seal.digest_algorithm();
    let mut tsa_certs = Vec::new();
    let seal = Kind::Seal { name, time: now };
    let (mut out, digest) = fill(pdf, seal, certify, alg, |digest| {
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
        out = add_validation_data(svc, key, &out, &tsa_certs)?;
    }
    if level >= BaselineLevel::Lta {
        // The document time-stamp's TSA is this service's: its chain is in the DSS already.
        (out, _) = fill(
            &out,
            Kind::DocTimeStamp,
            false,
            DigestAlgorithm::Sha256,
            |digest| {
                svc.stamper
                    .timestamp(DigestAlgorithm::Sha256, digest)
                    .map_err(|e| {
                        Refusal::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            format!("no time-stamp could be had, so no seal leaves: {e}"),
                        )
                    })
            },
        )?;
    }
    let sha = hex::encode(DigestAlgorithm::Sha256.digest(&out));
    Ok((Bytes::from(out), hex::encode(digest), sha))
}

/// One field added and filled: `make` turns the byte ranges' digest into what goes in
/// `/Contents`. Returns the PDF and that digest.
fn fill(
    pdf: &[u8],
    kind: Kind,
    certify: bool,
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

/// B-LT: the sealer's chain, the validation certificates, the TSA's certificates and the
/// CRLs, in the DSS.
fn add_validation_data(
    svc: &SealService,
    key: &crate::eseal_service::LoadedSealKey,
    pdf: &[u8],
    tsa_certs: &[x509_cert::Certificate],
) -> Result<Vec<u8>, Refusal> {
    use der::Encode;
    let der = |c: &x509_cert::Certificate| c.to_der().map_err(|e| failure(e.to_string()));
    let mut certs = Vec::new();
    for c in std::iter::once(key.seal.certificate())
        .chain(key.chain.iter())
        .chain(svc.validation_certificates.iter())
        .chain(tsa_certs.iter())
    {
        certs.push(der(c)?);
    }
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
