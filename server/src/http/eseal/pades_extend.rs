//! `POST /eseal/v1/extend?format=pades&level=B-LT|B-LTA`: a PDF this service sealed, raised in
//! place — the DSS with the validation data of its seals (B-LT), then a document time-stamp
//! over it all (B-LTA, or a renewal of one) — each as an incremental update, so every earlier
//! signature, by anyone, keeps its bytes and stays valid.
//!
//! Fail closed, as for a CAdES seal: extending vouches for what comes out (a document
//! time-stamp over the whole file), so the PDF going in is verified first — every seal and
//! document time-stamp over its byte ranges; the seals of this service's keys whole (chain
//! and signature time-stamp); another signer's for its integrity (its chain is its own
//! business, and is left as it is); and nothing after the last signature but validation data.

use super::auth::authorize;
use super::pades::{add_document_timestamp, add_validation_data};
use super::refusal::Refusal;
use crate::eseal_service::{Client, SealService};
use bytes::Bytes;
use hyper::StatusCode;
use kokuin_cms::signed_data::{Detached, ParsedSignedData};
use kokuin_eseal::verify::verify_seal;
use kokuin_eseal::{BaselineLevel, SealForm, SealVerifyError, SealVerifyOptions};
use kokuin_hsm::DigestAlgorithm;
use kokuin_pades::{PdfSignature, SignatureKind, Tail, after_signatures, signatures};
use std::time::SystemTime;

fn unfit(why: String) -> Refusal {
    Refusal::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!("the PDF is not extended: {why}"),
    )
}

/// The PDF raised to `level` (B-LT or B-LTA), the names of this service's keys whose seals
/// it holds, and the output's SHA-256 (hex).
pub(super) fn extend_pdf(
    svc: &SealService,
    client: &Client,
    pdf: &[u8],
    level: BaselineLevel,
) -> Result<(Bytes, Vec<String>, String), Refusal> {
    if level < BaselineLevel::Lt {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "a sealed PDF is extended to B-LT or B-LTA (a signature time-stamp is made with the seal)",
        ));
    }
    let sigs = signatures(pdf).map_err(|e| unfit(format!("its signatures cannot be read: {e}")))?;
    if sigs.is_empty() {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "the PDF holds no signature: no seal of this service to extend",
        ));
    }
    let last = sigs.iter().map(PdfSignature::end).max().unwrap_or(0);
    if let Tail::Other(why) = after_signatures(pdf, last) {
        return Err(unfit(format!(
            "bytes after its last signature are not validation data, and a time-stamp over them \
             would vouch for what nobody signed ({why})"
        )));
    }
    let extra: Vec<_> = svc.keys.values().flat_map(|k| k.chain.clone()).collect();
    let mut ours: Vec<String> = Vec::new();
    let mut tsa_certs = Vec::new();
    for s in &sigs {
        match s.kind {
            SignatureKind::DocTimeStamp => doc_timestamp(svc, pdf, s, &extra)?,
            SignatureKind::Signature => {
                if let Some((name, certs)) = seal(svc, pdf, s, &extra)? {
                    authorize(svc, client, &name)?;
                    tsa_certs.extend(certs);
                    if !ours.contains(&name) {
                        ours.push(name);
                    }
                }
            }
        }
    }
    if ours.is_empty() {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "no seal key of this service sealed this PDF",
        ));
    }
    let mut certs = Vec::new();
    for name in &ours {
        let k = &svc.keys[name];
        certs.push(k.seal.certificate().clone());
        certs.extend(k.chain.iter().cloned());
    }
    certs.extend(tsa_certs);
    let mut out = add_validation_data(svc, &certs, pdf)?;
    if level >= BaselineLevel::Lta {
        out = add_document_timestamp(svc, &out)?;
    }
    let sha = hex::encode(DigestAlgorithm::Sha256.digest(&out));
    Ok((Bytes::from(out), ours, sha))
}

/// A signature verified over its byte ranges. This service's: the key's name and the
/// certificates of its signature time-stamps (a B-B seal cannot be raised: its time-stamp
/// would have to be in the signed CMS). Another signer's: `None`, when only its chain is
/// unknown here.
fn seal(
    svc: &SealService,
    pdf: &[u8],
    s: &PdfSignature,
    extra: &[x509_cert::Certificate],
) -> Result<Option<(String, Vec<x509_cert::Certificate>)>, Refusal> {
    let invalid = |why: String| {
        unfit(format!(
            "its signature \"{}\" does not verify: {why}",
            s.field
        ))
    };
    let form = match s.sub_filter.as_str() {
        "ETSI.CAdES.detached" => SealForm::Pades,
        "adbe.pkcs7.detached" => SealForm::PdfSignature,
        other => return Err(invalid(format!("/SubFilter /{other} is not verified here"))),
    };
    let alg = ParsedSignedData::from_der(&s.contents)
        .and_then(|p| p.digest_algorithm())
        .map_err(|e| invalid(e.to_string()))?;
    let digest = s.digest(pdf, alg);
    let report = verify_seal(
        &s.contents,
        &SealVerifyOptions {
            trust_anchors: &svc.trust_anchors,
            extra_certificates: extra,
            detached: Some(Detached::Digest(alg, &digest)),
            at: SystemTime::now(),
            level_policies: &[],
            form,
        },
    );
    let report = match report {
        Ok(r) => r,
        // Intact (the signature and digest verify before the chain is looked at), by a
        // signer this service does not know: not ours to judge, left as it is.
        Err(SealVerifyError::SignerPath {
            no_issuer: true, ..
        }) => return Ok(None),
        Err(e) => return Err(invalid(e.to_string())),
    };
    let Some((name, _)) = svc
        .keys
        .iter()
        .find(|(_, k)| report.chain.first() == Some(k.seal.certificate()))
    else {
        return Ok(None);
    };
    if report.signature_timestamps.is_empty() {
        return Err(unfit(format!(
            "the seal \"{}\" is B-B: a PDF seal's signature time-stamp is made with it, so seal \
             the PDF again at B-T or higher",
            s.field
        )));
    }
    let certs = kokuin_eseal::raw::RawSignedData::parse(&s.contents)
        .map(|raw| kokuin_eseal::extend::timestamp_certificates(&raw))
        .unwrap_or_default();
    Ok(Some((name.clone(), certs)))
}

/// A document time-stamp verified over its byte ranges; one by a TSA this service does not
/// know is left as it is, one that does not verify refuses the PDF.
fn doc_timestamp(
    svc: &SealService,
    pdf: &[u8],
    s: &PdfSignature,
    extra: &[x509_cert::Certificate],
) -> Result<(), Refusal> {
    let invalid = |why: String| {
        unfit(format!(
            "its document time-stamp \"{}\" does not verify: {why}",
            s.field
        ))
    };
    let token =
        kokuin_eseal::verdict::read_token(&s.contents).map_err(|e| invalid(e.to_string()))?;
    let alg = token.hash_algorithm().map_err(|e| invalid(e.to_string()))?;
    let digest = s.digest(pdf, alg);
    match token.verify(&kokuin_tsa::VerifyOptions {
        trust_anchors: &svc.trust_anchors,
        extra_certificates: extra,
        expected_digest: Some(&digest),
        request: None,
    }) {
        Ok(_) => Ok(()),
        // Intact, by a TSA this service does not know.
        Err(kokuin_tsa::TokenError::Path(kokuin_certs::path::PathError::NoIssuer { .. })) => Ok(()),
        Err(e) => Err(invalid(e.to_string())),
    }
}
