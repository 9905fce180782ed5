//! Raising a seal's level (EN 319 122-1 §6.3): B-B → B-T → B-LT → B-LTA. Each step adds to
//! the seal and keeps every earlier part byte for byte ([`crate::raw`]).

use crate::ats;
use crate::oid;
use crate::raw::RawSignedData;
use der::Encode;
use kokuin_cms::der_writer::attribute;
use kokuin_hsm::DigestAlgorithm;
use kokuin_tsa::TimeStampToken;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;

/// Where time-stamps come from: the in-process TSA or an external one.
pub trait TimeStamper: Send + Sync {
    /// A time-stamp token (DER ContentInfo) over `imprint`, a digest made with `digest`.
    fn timestamp(&self, digest: DigestAlgorithm, imprint: &[u8]) -> Result<Vec<u8>, String>;
}

#[derive(Debug, thiserror::Error)]
/// Why a seal could not be raised to a higher level.
pub enum ExtendError {
    #[error(transparent)]
    /// The seal's encoding could not be taken apart.
    Raw(#[from] crate::raw::RawError),
    #[error("the time-stamp authority: {0}")]
    /// No time-stamp could be had.
    TimeStamp(String),
    #[error("the time-stamp returned does not cover what was sent: {0}")]
    /// The time-stamp does not answer what was sent.
    WrongToken(String),
    #[error(
        "the seal carries certificate-values or revocation-values, which baseline B-LT forbids \
         (EN 319 122-1 §5.5.1)"
    )]
    /// The seal carries attributes baseline B-LT forbids.
    ForbiddenAttribute,
    #[error("the seal's digest algorithm is not supported")]
    /// A digest algorithm Kokuin does not support.
    DigestAlgorithm,
    #[error("a detached seal needs the document's digest for an archive time-stamp: {0}")]
    /// A detached seal's document digest is needed and missing or wrong.
    DataHash(String),
    #[error("validation data unavailable: {0}")]
    /// The caller could not provide the certificates or CRLs B-LT needs.
    ValidationData(String),
    #[error("encoding: {0}")]
    /// The extended seal cannot be encoded.
    Encoding(#[from] der::Error),
}

/// The digest algorithm of the seal's SignerInfo.
pub fn digest_algorithm(raw: &RawSignedData) -> Result<DigestAlgorithm, ExtendError> {
    use der::Decode;
    let ai = spki::AlgorithmIdentifierOwned::from_der(&raw.signer.digest_algorithm)
        .map_err(|_| ExtendError::DigestAlgorithm)?;
    DigestAlgorithm::from_algorithm_identifier(&(&ai).into()).ok_or(ExtendError::DigestAlgorithm)
}

/// B-T: a signature-time-stamp over the signature value (RFC 3161 Appendix A,
/// EN 319 122-1 §5.3), with the seal's own digest algorithm.
pub fn add_signature_timestamp(seal: &[u8], tsa: &dyn TimeStamper) -> Result<Vec<u8>, ExtendError> {
    let mut raw = RawSignedData::parse(seal)?;
    put_signature_timestamp(&mut raw, tsa)?;
    Ok(raw.encode())
}

/// [`add_signature_timestamp`] on a seal already taken apart.
pub fn put_signature_timestamp(
    raw: &mut RawSignedData<'_>,
    tsa: &dyn TimeStamper,
) -> Result<(), ExtendError> {
    let alg = digest_algorithm(raw)?;
    let imprint = alg.digest(raw.signer.signature_value());
    let token = request(tsa, alg, &imprint)?;
    raw.signer
        .unsigned_attrs
        .push(attribute(&oid::SIGNATURE_TIME_STAMP, &token)?);
    Ok(())
}

/// B-LT: the certificates and CRLs a verifier needs, into the SignedData's own
/// `certificates` and `crls` (EN 319 122-1 §5.5.1; never certificate-values or
/// revocation-values). Those already present are not added twice.
pub fn add_validation_data(
    seal: &[u8],
    certificates: &[Certificate],
    crls: &[CertificateList],
) -> Result<Vec<u8>, ExtendError> {
    let mut raw = RawSignedData::parse(seal)?;
    put_validation_data(&mut raw, certificates, crls)?;
    Ok(raw.encode())
}

/// [`add_validation_data`] on a seal already taken apart.
pub fn put_validation_data(
    raw: &mut RawSignedData<'_>,
    certificates: &[Certificate],
    crls: &[CertificateList],
) -> Result<(), ExtendError> {
    let forbidden = [
        oid::CERTIFICATE_VALUES.to_der()?,
        oid::REVOCATION_VALUES.to_der()?,
    ];
    if forbidden
        .iter()
        .any(|o| !raw.signer.unsigned_of(o).is_empty())
    {
        return Err(ExtendError::ForbiddenAttribute);
    }
    for c in certificates {
        let der = c.to_der()?;
        if !raw.certificates.contains(&der) {
            raw.certificates.push(der);
        }
    }
    for c in crls {
        let der = c.to_der()?;
        if !raw.crls.contains(&der) {
            raw.crls.push(der);
        }
    }
    Ok(())
}

/// The certificates the TSAs of every time-stamp a seal carries sent with their tokens
/// (signature and archive time-stamps alike): what B-LT validation data must cover besides
/// the signer's chain.
pub fn timestamp_certificates(raw: &RawSignedData<'_>) -> Vec<Certificate> {
    raw.signer
        .unsigned_attrs
        .iter()
        .filter_map(|a| crate::raw::attribute_parts(a))
        .flat_map(|(_, values)| values)
        .filter_map(|v| TimeStampToken::from_der(&v).ok())
        .flat_map(|t| t.certificates())
        .collect()
}

/// B-LTA: an archive-time-stamp-v3 over the seal as it now is (EN 319 122-1 §5.5.3).
/// `data_digest` is the document's digest with the seal's digest algorithm; for a detached
/// seal without it, the signed message-digest is used, which equals it for any seal whose
/// signature verifies (a verifier recomputes it from the document).
pub fn add_archive_timestamp(
    seal: &[u8],
    data_digest: Option<&[u8]>,
    tsa: &dyn TimeStamper,
) -> Result<Vec<u8>, ExtendError> {
    let mut raw = RawSignedData::parse(seal)?;
    put_archive_timestamp(&mut raw, data_digest, tsa)?;
    Ok(raw.encode())
}

/// [`add_archive_timestamp`] on a seal already taken apart: the index and imprint cover the
/// seal as it stands in `raw`, validation data added before included.
pub fn put_archive_timestamp(
    raw: &mut RawSignedData<'_>,
    data_digest: Option<&[u8]>,
    tsa: &dyn TimeStamper,
) -> Result<(), ExtendError> {
    let alg = digest_algorithm(raw)?;
    let signed = || {
        raw.signer
            .message_digest()
            .ok_or_else(|| ExtendError::DataHash("no single message-digest attribute".into()))
    };
    let data_hash = match (raw.econtent(), data_digest) {
        (Some(content), _) => alg.digest(content),
        // A digest that is not the sealed document's would make an archive time-stamp no
        // verifier accepts: refuse it now.
        (None, Some(d)) if d != signed()? => {
            return Err(ExtendError::DataHash(
                "the digest given is not the sealed document's".into(),
            ));
        }
        (None, Some(d)) => d.to_vec(),
        (None, None) => signed()?,
    };
    if data_hash.len() != alg.output_len() {
        return Err(ExtendError::DataHash(format!(
            "{} octets given, {alg} gives {}",
            data_hash.len(),
            alg.output_len()
        )));
    }
    let index = ats::hash_index(raw, alg)?;
    let imprint = ats::imprint(raw, alg, &data_hash, &index)?;
    let token = request(tsa, alg, &imprint)?;
    let token = ats::attach_index(&token, &index)?;
    raw.signer
        .unsigned_attrs
        .push(attribute(&oid::ARCHIVE_TIME_STAMP_V3, &token)?);
    Ok(())
}

/// What B-LT adds, decided by the caller once it knows the TSA certificates the seal's
/// time-stamps carry (they are given to it).
pub type ValidationSource<'s> = dyn FnOnce(&[Certificate]) -> Result<(Vec<Certificate>, Vec<CertificateList>), ExtendError>
    + 's;

/// Raises `seal` to `level` (EN 319 122-1 §6.3): a signature time-stamp if it has none (B-T),
/// validation data (B-LT), an archive time-stamp (B-LTA). One parse in, one encoding out,
/// however many steps: a seal enveloping tens of MiB is not copied per step.
pub fn raise(
    seal: &[u8],
    level: crate::level::BaselineLevel,
    data_digest: Option<&[u8]>,
    tsa: &dyn TimeStamper,
    validation: Box<ValidationSource<'_>>,
) -> Result<Vec<u8>, ExtendError> {
    if level == crate::level::BaselineLevel::B {
        return Ok(seal.to_vec());
    }
    raise_parsed(
        RawSignedData::parse(seal)?,
        level,
        data_digest,
        tsa,
        validation,
    )
}

/// [`raise`] on a seal the caller has already parsed (to check it first), so that the seal
/// is parsed once however many things look at it.
pub fn raise_parsed(
    mut raw: RawSignedData<'_>,
    level: crate::level::BaselineLevel,
    data_digest: Option<&[u8]>,
    tsa: &dyn TimeStamper,
    validation: Box<ValidationSource<'_>>,
) -> Result<Vec<u8>, ExtendError> {
    use crate::level::BaselineLevel as L;
    if level == L::B {
        return Ok(raw.encode());
    }
    let signature_ts = oid::SIGNATURE_TIME_STAMP.to_der()?;
    if raw.signer.unsigned_of(&signature_ts).is_empty() {
        put_signature_timestamp(&mut raw, tsa)?;
    }
    if level >= L::Lt {
        let (certificates, crls) = validation(&timestamp_certificates(&raw))?;
        put_validation_data(&mut raw, &certificates, &crls)?;
    }
    if level >= L::Lta {
        put_archive_timestamp(&mut raw, data_digest, tsa)?;
    }
    Ok(raw.encode())
}

/// Asks for a token and checks that it is one, over this imprint: an external TSA's answer
/// is not trusted blindly.
fn request(
    tsa: &dyn TimeStamper,
    alg: DigestAlgorithm,
    imprint: &[u8],
) -> Result<Vec<u8>, ExtendError> {
    let token = tsa
        .timestamp(alg, imprint)
        .map_err(ExtendError::TimeStamp)?;
    let t = TimeStampToken::from_der(&token).map_err(|e| ExtendError::WrongToken(e.to_string()))?;
    let mi = &t.tst_info.message_imprint;
    if mi.hashed_message.as_bytes() != imprint || mi.hash_algorithm.oid != alg.oid() {
        return Err(ExtendError::WrongToken(
            "its message imprint differs from the request's".into(),
        ));
    }
    Ok(token)
}

/// The in-process TSA as a [`TimeStamper`], asking for its certificate in the token so that
/// the seal verifies on its own. (The server wraps it to audit each token it issues.)
impl TimeStamper for kokuin_tsa::TimeStampAuthority {
    fn timestamp(&self, digest: DigestAlgorithm, imprint: &[u8]) -> Result<Vec<u8>, String> {
        let (resp, _) = self
            .prepare_imprint(digest, imprint)
            .and_then(|p| self.finish(p))
            .map_err(|r| format!("{}: {}", r.info.name(), r.text))?;
        kokuin_tsa::ParsedResponse::from_der(&resp)
            .and_then(kokuin_tsa::ParsedResponse::into_token)
            .map_err(|e| e.to_string())
    }
}
