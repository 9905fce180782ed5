//! Raising a seal to a higher level — what sealing at B-T and above and `/eseal/v1/extend`
//! share: which certificates and CRLs B-LT adds, and what the caller is told when a step fails.

use super::refusal::{Refusal, failure};
use crate::eseal_service::{LoadedSealKey, SealService};
use hyper::StatusCode;
use kokuin_eseal::BaselineLevel;
use kokuin_eseal::raw::RawSignedData;

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
pub(super) fn raise_parsed(
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
