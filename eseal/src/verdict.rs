//! One verdict for any piece of evidence, a time-stamp token or an e-seal, as the JSON that
//! `kokuin verify --json` prints and `POST /verify/v1` answers: the command line and the
//! verification page say the same thing because they call this, not two copies of it.

use crate::verify::{SealReport, StampInfo, is_seal, verify_seal};
use crate::{SealVerifyOptions, verify::SealVerifyError};
use kokuin_certs::path::{display_time, subject_of};
use kokuin_cms::signed_data::{Detached, ParsedSignedData};
use kokuin_hsm::DigestAlgorithm;
use kokuin_tsa::{ParsedResponse, TimeStampToken, VerifiedToken, VerifyOptions};
use serde_json::{Value, json};
use std::time::SystemTime;
use x509_cert::Certificate;

/// The document a token or detached seal is checked against, already hashed: by whoever
/// holds it, so that the document itself need not travel (the page hashes it in the browser).
#[derive(Clone, Copy, Debug, Default)]
pub struct DocumentDigests<'a> {
    /// Digests of the document, each with its algorithm; the one the evidence uses is taken.
    pub digests: &'a [(DigestAlgorithm, &'a [u8])],
}

impl DocumentDigests<'_> {
    fn get(&self, alg: DigestAlgorithm) -> Option<&[u8]> {
        self.digests
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, d)| *d)
    }

    fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }
}

/// Why no verdict of valid or invalid can be given: the input is not evidence at all, or it
/// lacks what the check needs. A verifier says so (`kokuin verify` exits 2), never "valid".
#[derive(Debug, thiserror::Error)]
pub enum BadInput {
    /// Neither a time-stamp token (or response) nor a CMS e-seal.
    #[error("neither a time-stamp token nor an e-seal: {0}")]
    NotEvidence(String),
    /// A token, or a detached seal, without the document's digest in its algorithm.
    #[error("the document's {0} digest is needed")]
    DigestNeeded(DigestAlgorithm),
    /// A digest of the wrong length for its algorithm.
    #[error("the {0} digest has {1} octets, not {2}")]
    DigestLength(DigestAlgorithm, usize, usize),
}

/// Reads a TimeStampResp (.tsr) or a bare token (ContentInfo).
pub fn read_token(der: &[u8]) -> Result<TimeStampToken, kokuin_tsa::TokenError> {
    match ParsedResponse::from_der(der) {
        Ok(r) => TimeStampToken::from_der(&r.into_token()?),
        Err(_) => TimeStampToken::from_der(der),
    }
}

/// What to verify evidence against.
#[derive(Clone, Copy, Debug)]
pub struct EvidenceOptions<'a> {
    /// Trust anchors.
    pub trust_anchors: &'a [Certificate],
    /// Certificates to build chains with besides those the evidence carries.
    pub extra_certificates: &'a [Certificate],
    /// The document, hashed.
    pub document: DocumentDigests<'a>,
    /// Seals: "now", when the last proof must still hold.
    pub at: SystemTime,
}

/// Verifies a token or a seal and gives its verdict: `Ok` with `"valid": true` or `false`
/// (and the reason), or `Err` when the input cannot be judged.
pub fn verify_evidence(der: &[u8], opts: &EvidenceOptions<'_>) -> Result<Value, BadInput> {
    if is_seal(der) {
        return verify_seal_evidence(der, opts);
    }
    let token = read_token(der).map_err(|e| BadInput::NotEvidence(e.to_string()))?;
    let hash = match token.hash_algorithm() {
        Ok(h) => h,
        Err(e) => return Ok(invalid("time-stamp token", &e.to_string())),
    };
    let digest = opts
        .document
        .get(hash)
        .ok_or(BadInput::DigestNeeded(hash))?;
    check_length(hash, digest)?;
    Ok(
        match token.verify(&VerifyOptions {
            trust_anchors: opts.trust_anchors,
            extra_certificates: opts.extra_certificates,
            expected_digest: Some(digest),
            request: None,
        }) {
            Ok(v) => token_verdict(&v),
            Err(e) => invalid("time-stamp token", &e.to_string()),
        },
    )
}

fn verify_seal_evidence(der: &[u8], opts: &EvidenceOptions<'_>) -> Result<Value, BadInput> {
    let alg = match ParsedSignedData::from_der(der).and_then(|p| p.digest_algorithm()) {
        Ok(a) => a,
        Err(e) => return Ok(invalid("e-seal", &e.to_string())),
    };
    let digest = opts.document.get(alg);
    if let Some(d) = digest {
        check_length(alg, d)?;
    }
    let result = verify_seal(
        der,
        &SealVerifyOptions {
            trust_anchors: opts.trust_anchors,
            extra_certificates: opts.extra_certificates,
            detached: digest.map(|d| Detached::Digest(alg, d)),
            at: opts.at,
            level_policies: &[],
        },
    );
    match result {
        Ok(r) => Ok(seal_verdict(&r)),
        // A detached seal judged without its document would be a guess.
        Err(SealVerifyError::DataDigest(a)) if opts.document.is_empty() => {
            Err(BadInput::DigestNeeded(a))
        }
        Err(e) => Ok(invalid("e-seal", &e.to_string())),
    }
}

fn check_length(alg: DigestAlgorithm, d: &[u8]) -> Result<(), BadInput> {
    if d.len() == alg.output_len() {
        Ok(())
    } else {
        Err(BadInput::DigestLength(alg, d.len(), alg.output_len()))
    }
}

/// The verdict on evidence that did not verify.
pub fn invalid(kind: &str, reason: &str) -> Value {
    json!({ "valid": false, "kind": kind, "error": format!("INVALID: {reason}") })
}

/// The signature algorithm's name and whether it is quantum-safe.
pub fn algorithm_name(oid: &const_oid::ObjectIdentifier) -> (String, bool) {
    kokuin_hsm::algorithm::describe(oid).unwrap_or_else(|| (oid.to_string(), false))
}

fn validity(c: &Certificate) -> Value {
    let v = &c.tbs_certificate().validity();
    json!({
        "not_before": display_time(v.not_before.to_system_time()),
        "not_after": display_time(v.not_after.to_system_time()),
    })
}

/// A verified token's verdict.
pub fn token_verdict(v: &VerifiedToken) -> Value {
    let (name, pq) = algorithm_name(&v.signature_algorithm);
    json!({
        "valid": true,
        "kind": "time-stamp token",
        "signature_algorithm_name": name,
        "quantum_safe": pq,
        "gen_time": v.gen_time.to_rfc3339(),
        "serial": hex::encode(v.serial.as_bytes()),
        "policy": v.policy.to_string(),
        "hash": v.hash.name(),
        "nonce": v.nonce.as_ref().map(|n| hex::encode(n.as_bytes())),
        "signature_algorithm": v.signature_algorithm.to_string(),
        "accuracy": v.accuracy.map(|a| json!({
            "seconds": a.seconds, "millis": a.millis, "micros": a.micros
        })),
        "chain": v.chain.iter().map(subject_of).collect::<Vec<_>>(),
        "certificate_validity": v.chain.first().map(validity),
    })
}

/// A verified seal's verdict.
pub fn seal_verdict(r: &SealReport) -> Value {
    let stamps = |v: &[StampInfo]| {
        v.iter()
            .map(|s| json!({ "gen_time": display_time(s.gen_time), "tsa": s.tsa, "serial": s.serial }))
            .collect::<Vec<_>>()
    };
    let (name, pq) = algorithm_name(&r.signature_algorithm);
    let subject = r.subject.as_ref().ok();
    json!({
        "valid": true,
        "kind": "e-seal",
        "level": r.level.name(),
        "limits": r.limits,
        "assurance_level": r.assurance.map(|l| l.number()),
        "organization": subject.map(|s| s.organization.clone()),
        "organization_identifier": subject.map(|s| s.organization_identifier.clone()),
        "corporate_number": subject.and_then(|s| s.corporate_number().map(str::to_string)),
        "seal_name": subject.map(|s| s.common_name.clone()),
        "enveloping": r.enveloping,
        "signing_time": r.signing_time.map(display_time),
        "signature_timestamps": stamps(&r.signature_timestamps),
        "archive_timestamps": stamps(&r.archive_timestamps),
        "signer_checked_at": display_time(r.signer_checked_at),
        "signature_algorithm": r.signature_algorithm.to_string(),
        "signature_algorithm_name": name,
        "quantum_safe": pq,
        "digest_algorithm": r.digest_algorithm.name(),
        "chain": r.chain.iter().map(subject_of).collect::<Vec<_>>(),
        "certificate_validity": r.chain.first().map(validity),
    })
}
