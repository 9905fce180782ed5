//! CMS SignedData (RFC 5652) verification that does not depend on what is signed: one
//! SignerInfo with signed attributes, content-type and message-digest checked (§11.1, §11.2),
//! the signature verified over the attributes exactly as received (§5.4). Time-stamp tokens
//! add their own checks on top (`verify.rs`); seals and the published ML-DSA (RFC 9882) and
//! composite CMS examples use it as it is.

use crate::der_writer::read_tlv;
use crate::ess::SigningCertificateV2;
use crate::oid;
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use der::Encode;
use der::asn1::OctetString;
use der::{Any, Decode};
use kokuin_certs::path::extension;
use kokuin_hsm::{DigestAlgorithm, VerifyError};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::ext::pkix::name::GeneralName;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
/// Why a SignedData does not verify (RFC 5652 §5).
pub enum SignedDataError {
    #[error("not a CMS SignedData: {0}")]
    /// The DER is not a ContentInfo with SignedData.
    Malformed(String),
    #[error("content type {0} is not signedData")]
    /// The ContentInfo holds another content type.
    NotSignedData(ObjectIdentifier),
    #[error("expected exactly one SignerInfo, found {0}")]
    /// Not exactly one SignerInfo.
    SignerCount(usize),
    #[error("no content: the signature is detached and no data was given")]
    /// Detached content and none given.
    NoContent,
    #[error("digest algorithm {0} is not accepted")]
    /// A digest algorithm Kokuin does not accept (SHA-1, unknown).
    DigestAlgorithm(String),
    #[error("the {0} attribute is missing, repeated or multi-valued")]
    /// A signed attribute missing, repeated or with several values.
    Attribute(&'static str),
    #[error("the content-type attribute differs from eContentType (RFC 5652 §11.1)")]
    /// The content-type attribute is not the eContentType.
    ContentType,
    #[error("the message-digest attribute is not the digest of the content (RFC 5652 §11.2)")]
    /// The message-digest attribute is not the content's digest.
    MessageDigest,
    #[error("the signer's certificate is neither in the SignedData nor given")]
    /// No certificate of the signer found.
    SignerCertificateMissing,
    #[error("signature: {0}")]
    /// The signature does not verify with the signer's key.
    Signature(VerifyError),
    #[error("the SignedData carries {0} certificates; at most {MAX_CERTIFICATES} are read")]
    /// More certificates than any real evidence carries: each may cost a signature check.
    TooManyCertificates(usize),
}

/// The most certificates read from one SignedData. A B-LTA seal carries its signer's chain,
/// each time-stamp's chain and the validation data's issuers: a few dozen at most. Each
/// certificate is a candidate issuer whose signature may be checked, so the number is what
/// bounds the work an unauthenticated caller of the verification page can ask for.
pub const MAX_CERTIFICATES: usize = 100;

/// What a verified SignedData established.
#[derive(Clone, Debug)]
pub struct VerifiedSignedData {
    /// The signer's certificate (matched by its SignerIdentifier).
    pub signer: Certificate,
    /// The digest algorithm of the content and signed attributes.
    pub digest_algorithm: DigestAlgorithm,
    /// The signature algorithm's OID.
    pub signature_algorithm: ObjectIdentifier,
    /// The eContentType.
    pub content_type: ObjectIdentifier,
    /// The SignerInfo, as decoded.
    pub signer_info: SignerInfo,
    /// Certificates carried in the SignedData.
    pub certificates: Vec<Certificate>,
}

/// Detached content: the data, or its digest when the caller hashed it (a large document
/// is hashed as it is read, never held whole).
#[derive(Clone, Copy, Debug)]
pub enum Detached<'a> {
    /// The content itself.
    Data(&'a [u8]),
    /// The content's digest with that algorithm, computed by the caller.
    Digest(DigestAlgorithm, &'a [u8]),
}

/// Verifies `der` (a ContentInfo with SignedData) over its eContent, or over `detached` when
/// the content is not encapsulated. `extra` are certificates the caller has for the signer.
pub fn verify_signed_data(
    der: &[u8],
    detached: Option<&[u8]>,
    extra: &[Certificate],
) -> Result<VerifiedSignedData, SignedDataError> {
    verify_parsed(
        &ParsedSignedData::from_der(der)?,
        detached.map(Detached::Data),
        extra,
    )
}

/// [`verify_signed_data`] on a parsed SignedData, with the detached content as data or digest.
pub fn verify_parsed(
    parsed: &ParsedSignedData,
    detached: Option<Detached<'_>>,
    extra: &[Certificate],
) -> Result<VerifiedSignedData, SignedDataError> {
    let (sd, si) = (&parsed.signed_data, &parsed.signer_info);
    let digest_algorithm = parsed.digest_algorithm()?;
    let content_digest = match (&parsed.econtent, detached) {
        (Some(e), _) => digest_algorithm.digest(e),
        (None, Some(Detached::Data(d))) => digest_algorithm.digest(d),
        (None, Some(Detached::Digest(alg, d))) if alg == digest_algorithm => d.to_vec(),
        (None, Some(Detached::Digest(alg, _))) => {
            return Err(SignedDataError::DigestAlgorithm(format!(
                "{alg} given for detached content signed with {digest_algorithm}"
            )));
        }
        (None, None) => return Err(SignedDataError::NoContent),
    };
    let content_type = sd.encap_content_info.econtent_type;
    let ct: ObjectIdentifier = single_attribute(si, oid::CONTENT_TYPE, "content-type")?
        .decode_as()
        .map_err(|_| SignedDataError::ContentType)?;
    if ct != content_type {
        return Err(SignedDataError::ContentType);
    }
    let md: OctetString = single_attribute(si, oid::MESSAGE_DIGEST, "message-digest")?
        .decode_as()
        .map_err(|_| SignedDataError::MessageDigest)?;
    if md.as_bytes() != content_digest {
        return Err(SignedDataError::MessageDigest);
    }
    let certificates = parsed.certificates();
    let signer = certificates
        .iter()
        .chain(extra)
        .find(|c| identifies(&si.sid, c))
        .cloned()
        .ok_or(SignedDataError::SignerCertificateMissing)?;
    kokuin_hsm::verify_signature(
        signer.tbs_certificate().subject_public_key_info(),
        &si.signature_algorithm,
        Some(digest_algorithm),
        &parsed.signed_attrs_der,
        si.signature.as_bytes(),
    )
    .map_err(SignedDataError::Signature)?;
    Ok(VerifiedSignedData {
        signer,
        digest_algorithm,
        signature_algorithm: si.signature_algorithm.oid,
        content_type,
        signer_info: si.clone(),
        certificates,
    })
}

/// A ContentInfo holding SignedData with exactly one SignerInfo that has signed attributes:
/// the shape of every token and seal. Parsed, nothing verified yet.
#[derive(Clone, Debug)]
pub struct ParsedSignedData {
    /// The SignedData, decoded.
    pub signed_data: SignedData,
    /// Its one SignerInfo.
    pub signer_info: SignerInfo,
    /// The eContent's octets, when the content is encapsulated.
    pub econtent: Option<Vec<u8>>,
    /// The signed attributes exactly as received, re-tagged as SET OF: what the signature
    /// covers (RFC 5652 §5.4).
    pub signed_attrs_der: Vec<u8>,
}

impl ParsedSignedData {
    /// Parses a ContentInfo and checks its shape; verifies nothing.
    pub fn from_der(der: &[u8]) -> Result<Self, SignedDataError> {
        let malformed = |e: der::Error| SignedDataError::Malformed(e.to_string());
        let ci = ContentInfo::from_der(der).map_err(malformed)?;
        if ci.content_type != oid::SIGNED_DATA {
            return Err(SignedDataError::NotSignedData(ci.content_type));
        }
        // Counted on the encoding, before any certificate is decoded: decoding thousands
        // costs what the cap is there to prevent.
        let certs = count_certificates(der).unwrap_or(0);
        if certs > MAX_CERTIFICATES {
            return Err(SignedDataError::TooManyCertificates(certs));
        }
        let signed_data: SignedData = ci.content.decode_as().map_err(malformed)?;
        let n = signed_data.signer_infos.0.len();
        let signer_info = match signed_data.signer_infos.0.iter().next() {
            Some(si) if n == 1 => si.clone(),
            _ => return Err(SignedDataError::SignerCount(n)),
        };
        let econtent = match &signed_data.encap_content_info.econtent {
            Some(e) => Some(
                e.decode_as::<OctetString>()
                    .map_err(malformed)?
                    .into_bytes()
                    .into_vec(),
            ),
            None => None,
        };
        let mut signed_attrs_der = raw_signed_attrs(der)
            .ok_or(SignedDataError::Attribute("signedAttrs"))?
            .to_vec();
        signed_attrs_der[0] = 0x31;
        Ok(Self {
            signed_data,
            signer_info,
            econtent,
            signed_attrs_der,
        })
    }

    /// The SignerInfo's digest algorithm, if Kokuin accepts it.
    pub fn digest_algorithm(&self) -> Result<DigestAlgorithm, SignedDataError> {
        let ai = &self.signer_info.digest_alg;
        DigestAlgorithm::from_algorithm_identifier(&ai.into())
            .ok_or_else(|| SignedDataError::DigestAlgorithm(ai.oid.to_string()))
    }

    /// Certificates carried in the SignedData.
    pub fn certificates(&self) -> Vec<Certificate> {
        certificates_of(&self.signed_data)
    }
}

/// The certificates of a SignedData's `certificates` field (other choices skipped).
pub fn certificates_of(sd: &SignedData) -> Vec<Certificate> {
    sd.certificates
        .iter()
        .flat_map(|s| s.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

/// The one value of a signed attribute that must occur once with one value.
pub fn single_attribute<'a>(
    si: &'a SignerInfo,
    oid: ObjectIdentifier,
    name: &'static str,
) -> Result<&'a Any, SignedDataError> {
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or(SignedDataError::Attribute("signedAttrs"))?;
    let mut it = attrs.iter().filter(|a| a.oid == oid);
    match (it.next(), it.next()) {
        (Some(a), None) if a.values.len() == 1 => a
            .values
            .iter()
            .next()
            .ok_or(SignedDataError::Attribute(name)),
        _ => Err(SignedDataError::Attribute(name)),
    }
}

/// Whether `c` is the certificate `sid` names (RFC 5652 §5.3).
pub fn identifies(sid: &SignerIdentifier, c: &Certificate) -> bool {
    let tbs = c.tbs_certificate();
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            ias.issuer == *tbs.issuer() && ias.serial_number == *tbs.serial_number()
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            matches!(extension::<SubjectKeyIdentifier>(c), Ok(Some(s)) if s == *ski)
        }
    }
}

/// The `[0] signedAttrs` TLV of the first SignerInfo, exactly as encoded: re-encoding the
/// decoded SET OF would sort it, and a signature over unsorted attributes would then fail.
/// The eContent octets of a signedData ContentInfo whose eContentType is `econtent_type`,
/// found by walking the TLVs of ContentInfo (RFC 5652 §3), SignedData (§5.1) and
/// EncapsulatedContentInfo (§5.2) and decoding nothing else: no certificate, signer or
/// attribute is read, let alone checked. For a load tool that compares replies with its
/// requests at thousands a second; trusting a token needs [`ParsedSignedData`] and a verifier.
pub fn econtent_unchecked<'a>(
    token: &'a [u8],
    econtent_type: &ObjectIdentifier,
) -> Option<&'a [u8]> {
    const OID: u8 = 0x06;
    const OCTET_STRING: u8 = 0x04;
    const SEQUENCE: u8 = 0x30;
    const EXPLICIT_0: u8 = 0xa0;
    fn tagged(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (whole, value, rest) = read_tlv(input)?;
        (whole.first() == Some(&tag)).then_some((value, rest))
    }
    let (ci, _) = tagged(token, SEQUENCE)?;
    let (content_type, rest) = tagged(ci, OID)?;
    if content_type != oid::SIGNED_DATA.as_bytes() {
        return None;
    }
    let (content, _) = tagged(rest, EXPLICIT_0)?;
    let (sd, _) = tagged(content, SEQUENCE)?;
    // version, digestAlgorithms
    let rest = read_tlv(read_tlv(sd)?.2)?.2;
    let (eci, _) = tagged(rest, SEQUENCE)?;
    let (ect, rest) = tagged(eci, OID)?;
    if ect != econtent_type.as_bytes() {
        return None;
    }
    let (econtent, _) = tagged(rest, EXPLICIT_0)?;
    Some(tagged(econtent, OCTET_STRING)?.0)
}

fn raw_signed_attrs(token: &[u8]) -> Option<&[u8]> {
    let mut rest = after_encap_content_info(token)?;
    // optional certificates [0] and crls [1]
    while matches!(rest.first(), Some(0xa0 | 0xa1)) {
        rest = read_tlv(rest)?.2;
    }
    let (_, infos, _) = read_tlv(rest)?;
    let (_, si, _) = read_tlv(infos)?;
    let mut rest = si;
    // version, sid, digestAlgorithm
    for _ in 0..3 {
        rest = read_tlv(rest)?.2;
    }
    if rest.first() != Some(&0xa0) {
        return None;
    }
    let (whole, _, _) = read_tlv(rest)?;
    Some(whole)
}

/// What follows a ContentInfo's SignedData's version, digestAlgorithms and encapContentInfo
/// (RFC 5652 §5.1): the optional certificates and crls, then the SignerInfos.
fn after_encap_content_info(der: &[u8]) -> Option<&[u8]> {
    let (_, ci, _) = read_tlv(der)?;
    let (_, _oid, rest) = read_tlv(ci)?;
    let (_, explicit, _) = read_tlv(rest)?;
    let (_, sd, _) = read_tlv(explicit)?;
    let mut rest = sd;
    for _ in 0..3 {
        rest = read_tlv(rest)?.2;
    }
    Some(rest)
}

/// The number of entries in a SignedData's `certificates` [0] (RFC 5652 §5.1), read from the
/// TLV headers alone; `None` when the encoding does not get that far (the decoder then says
/// why).
fn count_certificates(der: &[u8]) -> Option<usize> {
    let rest = after_encap_content_info(der)?;
    if rest.first() != Some(&0xa0) {
        return Some(0);
    }
    let (_, mut set, _) = read_tlv(rest)?;
    let mut n = 0;
    while !set.is_empty() {
        set = read_tlv(set)?.2;
        n += 1;
    }
    Some(n)
}

/// RFC 5035 §5.4: the first ESSCertIDv2 names the signer's certificate by hash and, when
/// present, by issuer and serial number.
pub fn check_ess(scv2: &SigningCertificateV2, signer: &Certificate) -> Result<(), String> {
    let first = scv2
        .certs
        .first()
        .ok_or_else(|| "no ESSCertIDv2".to_string())?;
    let alg = match &first.hash_algorithm {
        None => DigestAlgorithm::Sha256,
        Some(a) => DigestAlgorithm::from_algorithm_identifier(&a.into())
            .ok_or_else(|| format!("hash {}", a.oid))?,
    };
    let der = signer.to_der().map_err(|e| e.to_string())?;
    if first.cert_hash.as_bytes() != alg.digest(&der) {
        return Err("certHash differs from the signer certificate's hash".into());
    }
    if let Some(is) = &first.issuer_serial {
        let tbs = signer.tbs_certificate();
        let issuer_ok = is
            .issuer
            .iter()
            .any(|g| matches!(g, GeneralName::DirectoryName(n) if n == tbs.issuer()));
        if !issuer_ok || is.serial_number != *tbs.serial_number() {
            return Err("issuerSerial does not name the signer certificate".into());
        }
    }
    Ok(())
}
