//! archive-time-stamp-v3 (EN 319 122-1 §5.5.3) and ats-hash-index-v3 (§5.5.2).
//!
//! The archive time-stamp's message imprint is the hash of, concatenated in this order:
//! 1. `encapContentInfo.eContentType`;
//! 2. the hash of the signed data (what message-digest was computed over);
//! 3. the SignerInfo's version, sid, digestAlgorithm, signedAttrs, signatureAlgorithm and
//!    signature, as encoded;
//! 4. the ats-hash-index-v3 value, which lists the hash of every certificate, every CRL and
//!    every unsigned attribute value (attrType ‖ value) present when the time-stamp was made,
//!    and is then put in the archive token's own SignerInfo as an unsigned attribute.
//!
//! Anything added later (more validation data, further archive time-stamps) is outside the
//! index, so the imprint still verifies.

use crate::oid;
use crate::raw::{RawSignedData, attribute_parts};
use der::Encode;
use kokuin_cms::der_writer::{OCTET_STRING, SEQUENCE, attribute, children, read_tlv, tlv};
use kokuin_hsm::DigestAlgorithm;

/// The DER ATSHashIndexV3 for the seal as it is.
///
/// ```text
/// ATSHashIndexV3 ::= SEQUENCE {
///   hashIndAlgorithm AlgorithmIdentifier DEFAULT {algorithm id-sha256},
///   certificatesHashIndex SEQUENCE OF OCTET STRING,
///   crlsHashIndex SEQUENCE OF OCTET STRING,
///   unsignedAttrValuesHashIndex SEQUENCE OF OCTET STRING }
/// ```
/// hashIndAlgorithm is always written, even for SHA-256: the EU reference validator (DSS)
/// recomposes the index with it when checking a v3 index.
pub fn hash_index(raw: &RawSignedData, alg: DigestAlgorithm) -> Result<Vec<u8>, der::Error> {
    let seq_of = |items: Vec<Vec<u8>>| {
        let encoded: Vec<Vec<u8>> = items.iter().map(|h| tlv(OCTET_STRING, &[h])).collect();
        tlv(SEQUENCE, &[&encoded.concat()])
    };
    let certs = raw.certificates.iter().map(|c| alg.digest(c)).collect();
    let crls = raw.crls.iter().map(|c| alg.digest(c)).collect();
    let attrs = unsigned_value_hashes(raw, alg);
    Ok(tlv(
        SEQUENCE,
        &[
            &alg.algorithm_identifier().to_der()?,
            &seq_of(certs),
            &seq_of(crls),
            &seq_of(attrs),
        ],
    ))
}

/// H(attrType ‖ value) for every value of every unsigned attribute.
fn unsigned_value_hashes(raw: &RawSignedData, alg: DigestAlgorithm) -> Vec<Vec<u8>> {
    raw.signer
        .unsigned_attrs
        .iter()
        .filter_map(|a| attribute_parts(a))
        .flat_map(|(t, values)| {
            values
                .into_iter()
                .map(|v| alg.digest(&[t, &v].concat()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The archive time-stamp's message imprint over the seal and `index`.
pub fn imprint(
    raw: &RawSignedData,
    alg: DigestAlgorithm,
    data_hash: &[u8],
    index: &[u8],
) -> Result<Vec<u8>, der::Error> {
    let econtent_type = raw
        .econtent_type()
        .ok_or_else(|| der::Error::from(der::ErrorKind::Failed))?;
    let si = &raw.signer;
    let mut h = alg.hasher();
    for part in [
        econtent_type,
        data_hash,
        &si.version,
        &si.sid,
        &si.digest_algorithm,
        &si.signed_attrs,
        &si.signature_algorithm,
        &si.signature,
        index,
    ] {
        h.update(part);
    }
    Ok(h.finalize())
}

/// The token with ats-hash-index-v3 added to its SignerInfo's unsigned attributes.
pub fn attach_index(token: &[u8], index: &[u8]) -> Result<Vec<u8>, crate::raw::RawError> {
    let mut raw = RawSignedData::parse(token)?;
    let attr = attribute(&oid::ATS_HASH_INDEX_V3, index)
        .map_err(|_| crate::raw::RawError("ats-hash-index-v3"))?;
    raw.signer.unsigned_attrs.push(attr);
    Ok(raw.encode())
}

/// The ats-hash-index-v3 value in an archive token, if exactly one.
pub fn index_of(token: &[u8]) -> Option<Vec<u8>> {
    let raw = RawSignedData::parse(token).ok()?;
    let oid_der = oid::ATS_HASH_INDEX_V3.to_der().ok()?;
    let found = raw.signer.unsigned_of(&oid_der);
    match found.as_slice() {
        [(_, values)] if values.len() == 1 => Some(values[0].clone()),
        _ => None,
    }
}

/// Checks that everything `index` lists is still in the seal: a certificate, CRL or
/// unsigned attribute removed or changed after the archive time-stamp breaks it.
pub fn check_index(raw: &RawSignedData, index: &[u8]) -> Result<DigestAlgorithm, String> {
    use der::Decode;
    let (_, v, _) = read_tlv(index).ok_or("ats-hash-index-v3 is not DER")?;
    let parts = children(v).ok_or("ats-hash-index-v3 is not DER")?;
    let (alg, lists) = match parts.as_slice() {
        [a, c, r, u] => {
            let ai = spki::AlgorithmIdentifierOwned::from_der(a)
                .map_err(|_| "ats-hash-index-v3: bad hashIndAlgorithm")?;
            let alg = DigestAlgorithm::from_algorithm_identifier(&(&ai).into())
                .ok_or("ats-hash-index-v3: unsupported hashIndAlgorithm")?;
            (alg, [*c, *r, *u])
        }
        [c, r, u] => (DigestAlgorithm::Sha256, [*c, *r, *u]),
        _ => return Err("ats-hash-index-v3 has the wrong number of fields".into()),
    };
    let present: [Vec<Vec<u8>>; 3] = [
        raw.certificates.iter().map(|c| alg.digest(c)).collect(),
        raw.crls.iter().map(|c| alg.digest(c)).collect(),
        unsigned_value_hashes(raw, alg),
    ];
    let what = ["certificate", "CRL", "unsigned attribute"];
    for ((list, have), what) in lists.iter().zip(&present).zip(what) {
        let (_, items, _) = read_tlv(list).ok_or("ats-hash-index-v3 is not DER")?;
        for item in children(items).ok_or("ats-hash-index-v3 is not DER")? {
            let (_, hash, _) = read_tlv(item).ok_or("ats-hash-index-v3 is not DER")?;
            if !have.iter().any(|h| h == hash) {
                return Err(format!(
                    "a {what} the archive time-stamp covers is no longer in the seal"
                ));
            }
        }
    }
    Ok(alg)
}
