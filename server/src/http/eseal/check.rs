//! What a seal sent to be extended must pass first.

use super::refusal::Refusal;
use crate::eseal_service::{LoadedSealKey, SealService};
use hyper::StatusCode;
use kokuin_cms::signed_data::Detached;
use kokuin_eseal::SealVerifyOptions;
use kokuin_eseal::extend::digest_algorithm;
use kokuin_eseal::raw::RawSignedData;
use kokuin_eseal::verify::verify_seal;
use std::time::SystemTime;

/// Extending vouches for the seal that comes out (new time-stamps over it, an audit record
/// saying this service handled it), so the seal going in is verified whole first: the
/// signature, the message digest when the document's digest is given (otherwise the digest
/// the seal claims, which its signature covers), every time-stamp and archive time-stamp,
/// and the signer's chain; and the signer must be this service's key itself, not a
/// certificate that merely names it.
pub fn check_before_extending(
    svc: &SealService,
    key: &LoadedSealKey,
    seal: &[u8],
    raw: &RawSignedData<'_>,
    digest: Option<&[u8]>,
) -> Result<(), Refusal> {
    let invalid = |why: String| {
        Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the seal does not verify, so it is not extended: {why}"),
        )
    };
    // `raw` is the seal's encoded parts, parsed once by the caller; verify_seal decodes the
    // seal's structure itself (it checks what the encoded parts only carry).
    let alg = digest_algorithm(raw).map_err(|e| invalid(e.to_string()))?;
    let content_digest = match (raw.econtent(), digest) {
        (Some(_), _) => None,
        (None, Some(d)) => Some(d.to_vec()),
        (None, None) => Some(
            raw.signer
                .message_digest()
                .ok_or_else(|| invalid("no single message-digest attribute".into()))?,
        ),
    };
    let report = verify_seal(
        seal,
        &SealVerifyOptions {
            trust_anchors: &svc.trust_anchors,
            extra_certificates: &key.chain,
            detached: content_digest.as_deref().map(|d| Detached::Digest(alg, d)),
            at: SystemTime::now(),
            level_policies: &[],
            form: kokuin_eseal::SealForm::Cades,
        },
    )
    .map_err(|e| invalid(e.to_string()))?;
    if report.chain.first() != Some(key.seal.certificate()) {
        return Err(invalid(
            "its signer is not this service's seal certificate".into(),
        ));
    }
    Ok(())
}
