//! Parsing and checking a TimeStampReq: every rule of RFC 3161 §2.4.1 plus the EN 319 422
//! profile, each refusal mapped to the PKIFailureInfo a client can act on.

use crate::asn1::PolicyId;
use crate::asn1::{MessageImprint, TimeStampReq};
use crate::failure::{FailureInfo, Rejection};
use der::Decode;
use der::asn1::Int;
use kokuin_hsm::DigestAlgorithm;
use kokuin_hsm::digest::describe_digest_oid;
use spki::AlgorithmIdentifierRef;

/// Largest request body read (also the HTTP limit): a TimeStampReq with a SHA-512 imprint
/// and a 64-octet nonce is under 200 octets.
pub const MAX_REQUEST_LEN: usize = 64 * 1024;

/// Longest nonce echoed, in octets of its value. RFC 3161 §2.4.1 suggests a 64-bit integer;
/// 512 bits leaves room for any client seen while keeping tokens small. The DER sign octet a
/// positive nonce needs when its top bit is set is not counted: a client drawing 512 random
/// bits must not be refused half the time.
pub const MAX_NONCE_LEN: usize = 64;

/// A request that passed every check; what the token is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedRequest {
    /// The imprint's hash algorithm.
    pub digest: DigestAlgorithm,
    /// Echoed exactly as received (RFC 3161 §2.4.2: "the same value").
    pub message_imprint: MessageImprint,
    /// reqPolicy if given, else the TSA's default policy.
    pub policy: PolicyId,
    /// Where `policy` stands in the served policies: which key signs.
    pub policy_index: usize,
    /// The nonce, echoed in the token.
    pub nonce: Option<Int>,
    /// Whether the token carries the TSA's certificate.
    pub cert_req: bool,
}

/// Decodes `der` strictly (DER only: no BER lengths, no trailing bytes) into a TimeStampReq.
pub fn parse_request(der: &[u8]) -> Result<TimeStampReq, Rejection> {
    if der.len() > MAX_REQUEST_LEN {
        return Err(Rejection::new(
            FailureInfo::BadDataFormat,
            format!("request of {} octets exceeds {MAX_REQUEST_LEN}", der.len()),
        ));
    }
    let req = TimeStampReq::from_der(der).map_err(|e| {
        Rejection::new(
            FailureInfo::BadDataFormat,
            format!("request is not a DER TimeStampReq: {e}"),
        )
    })?;
    // `certReq BOOLEAN DEFAULT FALSE` (RFC 3161 §2.4.1): DER leaves a default value out
    // (X.690 §11.5), so an encoded FALSE is BER. BouncyCastle's TimeStampRequestGenerator
    // writes it on `setCertReq(false)`, and stock Java clients use it unchanged: it is read
    // as the default, the one BER leniency accepted (it changes no meaning). Every other
    // non-DER form, certReq TRUE as 0x01 included, stays badDataFormat.
    Ok(req)
}

/// Applies RFC 3161 §2.4.1 to a decoded request. `policies` are those served; the first is
/// the default used when the request names none.
pub fn check_request(
    req: &TimeStampReq,
    policies: &[PolicyId],
) -> Result<CheckedRequest, Rejection> {
    if req.version.as_bytes() != [1] {
        return Err(Rejection::new(
            FailureInfo::BadRequest,
            "unsupported TimeStampReq version (only v1 is defined)",
        ));
    }
    let imprint = &req.message_imprint;
    let alg = AlgorithmIdentifierRef::from(&imprint.hash_algorithm);
    let digest = DigestAlgorithm::from_algorithm_identifier(&alg).ok_or_else(|| {
        let why = if DigestAlgorithm::from_oid(&alg.oid).is_some() {
            format!(
                "hash algorithm {} has parameters; RFC 5754 allows only absent or NULL",
                describe_digest_oid(&alg.oid)
            )
        } else {
            format!(
                "hash algorithm {} is not accepted; use SHA-256, SHA-384, SHA-512 or SHA-3",
                describe_digest_oid(&alg.oid)
            )
        };
        Rejection::new(FailureInfo::BadAlg, why)
    })?;
    let got = imprint.hashed_message.as_bytes().len();
    if got != digest.output_len() {
        return Err(Rejection::new(
            FailureInfo::BadDataFormat,
            format!(
                "hashedMessage is {got} octets; {} produces {}",
                digest,
                digest.output_len()
            ),
        ));
    }
    let (policy_index, policy) = match &req.req_policy {
        Some(p) => policies
            .iter()
            .position(|q| q == p)
            .map(|i| (i, p.clone()))
            .ok_or_else(|| {
                Rejection::new(
                    FailureInfo::UnacceptedPolicy,
                    format!("policy {p} is not served by this TSA"),
                )
            })?,
        None => policies
            .first()
            .map(|p| (0, p.clone()))
            .ok_or_else(|| Rejection::new(FailureInfo::SystemFailure, "no policy is configured"))?,
    };
    if let Some(exts) = &req.extensions {
        let names: Vec<String> = exts
            .iter()
            .map(|e| {
                format!(
                    "{}{}",
                    e.extn_id,
                    if e.critical { " (critical)" } else { "" }
                )
            })
            .collect();
        return Err(Rejection::new(
            FailureInfo::UnacceptedExtension,
            format!("no request extension is supported: {}", names.join(", ")),
        ));
    }
    if let Some(n) = &req.nonce {
        let value = match n.as_bytes() {
            [0, rest @ ..] if !rest.is_empty() => rest,
            all => all,
        };
        if value.len() > MAX_NONCE_LEN {
            return Err(Rejection::new(
                FailureInfo::BadRequest,
                format!("nonce of {} octets exceeds {MAX_NONCE_LEN}", value.len()),
            ));
        }
    }
    Ok(CheckedRequest {
        digest,
        message_imprint: imprint.clone(),
        policy,
        policy_index,
        nonce: req.nonce.clone(),
        cert_req: req.cert_req.unwrap_or(false),
    })
}

/// A request as a client builds it: `nonce` of 8 random octets when asked (RFC 3161 §2.4.1
/// suggests a 64-bit integer), hash parameters absent (RFC 5754 §2).
pub fn build_request(
    digest: DigestAlgorithm,
    hashed_message: &[u8],
    policy: Option<PolicyId>,
    nonce: Option<&[u8]>,
    cert_req: bool,
) -> Result<TimeStampReq, der::Error> {
    let nonce = match nonce {
        Some(n) => {
            // Positive, minimal INTEGER.
            let start = n
                .iter()
                .position(|b| *b != 0)
                .unwrap_or(n.len().saturating_sub(1));
            let mut bytes = Vec::with_capacity(n.len() + 1);
            if n.get(start).is_some_and(|b| b & 0x80 != 0) {
                bytes.push(0);
            }
            bytes.extend_from_slice(n.get(start..).unwrap_or(&[0]));
            Some(Int::new(&bytes)?)
        }
        None => None,
    };
    Ok(TimeStampReq {
        version: Int::new(&[1])?,
        message_imprint: MessageImprint {
            hash_algorithm: digest.algorithm_identifier(),
            hashed_message: der::asn1::OctetString::new(hashed_message)?,
        },
        req_policy: policy,
        nonce,
        cert_req: cert_req.then_some(true),
        extensions: None,
    })
}
