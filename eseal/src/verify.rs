//! Verifying a seal offline, years later: the CMS signature, the CAdES attributes, every
//! time-stamp, and each certificate chain at the time that proves it (EN 319 102-1 §5.6.2.4,
//! past signature validation, simplified to what seals carry):
//!
//! - the signer's chain at the earliest signature-time-stamp (the seal existed then), or at
//!   the verification time for a B-B seal;
//! - each time-stamp's TSA chain at its genTime, and again at the next proof: the first
//!   archive time-stamp after it, or the verification time for the last one;
//! - revocation from the CRLs the seal carries, as of the time each chain is checked.
//!
//! The report says the highest CAdES level the seal meets and who sealed it.

use crate::assurance::{AssuranceLevel, level_of_certificate};
use crate::ats;
use crate::level::BaselineLevel;
use crate::oid;
use crate::raw::RawSignedData;
use const_oid::ObjectIdentifier;
use der::Encode;
use kokuin_certs::crl::{RevocationStatus, check_revocation};
use kokuin_certs::eseal::SealSubject;
use kokuin_certs::path::{Purpose, display_time, subject_of, validate_path};
use kokuin_cms::ess::SigningCertificateV2;
use kokuin_cms::signed_data::{Detached, ParsedSignedData, check_ess, single_attribute};
use kokuin_hsm::DigestAlgorithm;
use kokuin_tsa::{TimeStampToken, VerifyOptions};
use std::time::SystemTime;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;

#[derive(Debug, thiserror::Error)]
/// Why a seal does not verify.
pub enum SealVerifyError {
    #[error(transparent)]
    /// The seal's encoding could not be taken apart.
    Raw(#[from] crate::raw::RawError),
    #[error("CMS: {0}")]
    /// The CMS signature, digest or attributes do not verify.
    SignedData(#[from] kokuin_cms::signed_data::SignedDataError),
    #[error("not CAdES B-B: {0}")]
    /// A B-B requirement is not met (signed attributes, certificate).
    Baseline(String),
    #[error("the signer's certificate is not trusted at {at}: {reason}")]
    /// The signer's certificate path does not validate when the seal needs it to.
    SignerPath {
        /// The time the path was validated at.
        at: String,
        /// Why it does not validate.
        reason: String,
        /// Whether it is for want of an issuer (an anchor or intermediate not given), not
        /// proven wrong.
        no_issuer: bool,
    },
    #[error("the signer's certificate {0}")]
    /// The signer's certificate is revoked by a CRL the seal carries.
    Revoked(String),
    #[error("signature time-stamp: {0}")]
    /// A signature time-stamp does not verify or does not cover the signature.
    SignatureTimeStamp(String),
    #[error("archive time-stamp: {0}")]
    /// An archive time-stamp does not verify or does not cover what it must.
    ArchiveTimeStamp(String),
    #[error("detached seal: the document's {0} digest is needed")]
    /// A detached seal and no document digest given.
    DataDigest(DigestAlgorithm),
}

impl SealVerifyError {
    /// The reason in plain words, for the person who received the sealed document (Japanese,
    /// English): what it means for them; [`std::fmt::Display`] has the technical detail.
    pub fn plain(&self) -> (&'static str, &'static str) {
        use kokuin_cms::signed_data::SignedDataError as S;
        match self {
            Self::Raw(_) | Self::SignedData(S::Malformed(_) | S::NotSignedData(_)) => (
                "このファイルは e シールではありません。",
                "This file is not an e-seal.",
            ),
            Self::DataDigest(_) | Self::SignedData(S::NoContent) => (
                "書類が別になっている e シールです。書類も選んでください。",
                "This seal is detached from its document: choose the document too.",
            ),
            Self::SignedData(S::MessageDigest) => (
                "書類が、e シールを付けた後に変更されているか、別の書類です。",
                "The document was changed after it was sealed, or it is another document.",
            ),
            Self::SignedData(S::SignerCertificateMissing) => (
                "e シールの証明書がないため確認できません。証明書を添えてください。",
                "The seal's certificate is missing, so the seal cannot be checked. Supply it.",
            ),
            Self::SignerPath {
                no_issuer: true, ..
            } => (
                "この e シールを信頼する根拠（ルート証明書）が与えられていないため確認できません。",
                "No trusted root certificate was given for this seal's issuer, so it cannot be checked.",
            ),
            Self::SignerPath { .. } => (
                "e シールの証明書が信頼できません（有効期間外、または発行元の署名が正しくありません）。",
                "The seal's certificate cannot be trusted (outside its validity, or its issuer's signature is wrong).",
            ),
            Self::Revoked(_) => (
                "e シールの証明書は失効しています。",
                "The seal's certificate has been revoked.",
            ),
            Self::SignatureTimeStamp(_) | Self::ArchiveTimeStamp(_) => (
                "e シールに含まれるタイムスタンプが正しくありません。",
                "A time-stamp inside the seal is not valid.",
            ),
            Self::SignedData(S::DigestAlgorithm(_)) => (
                "この e シールの方式（ハッシュ）は受け入れられません。",
                "This seal uses a hash algorithm that is not accepted.",
            ),
            Self::SignedData(S::TooManyCertificates(_)) => (
                "この e シールは証明書が多すぎるため確認しません。",
                "This seal carries too many certificates to be checked.",
            ),
            Self::Baseline(_) => (
                "e シールが規格（CAdES / PAdES）の求める形になっていないため、有効と認められません。",
                "The seal is not in the form its standard (CAdES / PAdES) requires, so it cannot be accepted as valid.",
            ),
            Self::SignedData(_) => (
                "e シールの署名が正しくありません。作成後に変更されています。",
                "The seal's signature is not valid: it was changed after it was made.",
            ),
        }
    }

    /// Whether the seal could not be judged for want of something the verifier was not given
    /// (the document, the signer's certificate, an anchor or intermediate its chain leads to),
    /// as opposed to being proven wrong: "cannot be verified", not "not valid".
    pub fn cannot_judge(&self) -> bool {
        matches!(
            self,
            Self::DataDigest(_)
                | Self::SignerPath {
                    no_issuer: true,
                    ..
                }
                | Self::SignedData(
                    kokuin_cms::signed_data::SignedDataError::SignerCertificateMissing
                )
        )
    }
}

/// What to verify against.
#[derive(Clone, Copy, Debug)]
pub struct SealVerifyOptions<'a> {
    /// The certificates trusted as anchors.
    pub trust_anchors: &'a [Certificate],
    /// Certificates to build chains with besides those the seal carries.
    pub extra_certificates: &'a [Certificate],
    /// The document of a detached seal.
    pub detached: Option<Detached<'a>>,
    /// "Now": when the last proof must still hold.
    pub at: SystemTime,
    /// Policy OIDs of accredited CAs that state an assurance level.
    pub level_policies: &'a [(ObjectIdentifier, AssuranceLevel)],
    /// Which standard's rules the signature is held to.
    pub form: SealForm,
}

/// The rules a signature is held to besides its CMS and its chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealForm {
    /// A CAdES seal (EN 319 122-1 §5.2.1): signing-certificate-v2 and signing-time present.
    Cades,
    /// A PAdES signature, the CMS of a PDF signature field with `/SubFilter
    /// /ETSI.CAdES.detached` (EN 319 142-1 §6.3): signing-certificate-v2 present, signing-time
    /// absent (the time is the signature dictionary's `/M`).
    Pades,
    /// A PDF signature of the older kind, `/SubFilter /adbe.pkcs7.detached` (ISO 32000-1
    /// §12.8.3.3), as other signers put in the PDFs Kokuin seals: its CMS and chain are
    /// checked, no baseline; a signing-certificate(-v2) attribute, when present, must name the
    /// signer, and signing-time may be there.
    PdfSignature,
}

/// A verified time-stamp inside a seal.
#[derive(Clone, Debug)]
pub struct StampInfo {
    /// Its genTime.
    pub gen_time: SystemTime,
    /// Its TSA (the TSU certificate's subject).
    pub tsa: String,
    /// Its serial number, hex.
    pub serial: String,
}

#[derive(Clone, Debug)]
/// What a verified seal proves.
pub struct SealReport {
    /// The highest CAdES baseline level reached.
    pub level: BaselineLevel,
    /// Why the seal is not at a higher level, for the reader.
    pub limits: Vec<String>,
    /// The assurance level the certificate states, if any.
    pub assurance: Option<AssuranceLevel>,
    /// The organisation (EN 319 412-3), or why the subject is not an e-seal subject.
    pub subject: Result<SealSubject, String>,
    /// Signer first, anchor last.
    pub chain: Vec<Certificate>,
    /// When the signer's certificate was checked (the first signature time-stamp, or `at`).
    pub signer_checked_at: SystemTime,
    /// The signed signing-time.
    pub signing_time: Option<SystemTime>,
    /// The signature algorithm's OID.
    pub signature_algorithm: ObjectIdentifier,
    /// The digest algorithm of the content and signed attributes.
    pub digest_algorithm: DigestAlgorithm,
    /// Whether the document is inside the seal.
    pub enveloping: bool,
    /// The signature time-stamps, verified, oldest first.
    pub signature_timestamps: Vec<StampInfo>,
    /// The archive time-stamps, verified, oldest first.
    pub archive_timestamps: Vec<StampInfo>,
}

struct Stamp {
    info: StampInfo,
    chain: Vec<Certificate>,
}

/// Verifies a seal (CAdES B-B to B-LTA, EN 319 122-1) and reports the level it reaches:
/// signature and message digest, signing-certificate-v2, every time-stamp and archive
/// time-stamp, and each chain at the time that proves it.
pub fn verify_seal(
    der: &[u8],
    opts: &SealVerifyOptions<'_>,
) -> Result<SealReport, SealVerifyError> {
    let raw = RawSignedData::parse(der)?;
    let parsed = ParsedSignedData::from_der(der)?;
    let alg = parsed.digest_algorithm()?;
    let mut pool = parsed.certificates();
    pool.extend(opts.extra_certificates.iter().cloned());
    let v = kokuin_cms::signed_data::verify_parsed(&parsed, opts.detached, &pool)?;
    let si = &v.signer_info;
    let scv2 = single_attribute(si, oid::SIGNING_CERTIFICATE_V2, "signing-certificate-v2");
    if opts.form != SealForm::PdfSignature || scv2.is_ok() {
        let scv2: SigningCertificateV2 = scv2
            .map_err(|e| SealVerifyError::Baseline(e.to_string()))?
            .decode_as()
            .map_err(|e| SealVerifyError::Baseline(format!("signing-certificate-v2: {e}")))?;
        check_ess(&scv2, &v.signer).map_err(SealVerifyError::Baseline)?;
    }
    let signing_time = single_attribute(si, oid::SIGNING_TIME, "signing-time")
        .ok()
        .and_then(|a| a.decode_as::<x509_cert::time::Time>().ok())
        .map(|t| t.to_system_time());
    match (signing_time.is_some(), opts.form) {
        (false, SealForm::Cades) => {
            return Err(SealVerifyError::Baseline(
                "the signing-time attribute is missing (EN 319 122-1 §5.2.1)".into(),
            ));
        }
        (true, SealForm::Pades) => {
            return Err(SealVerifyError::Baseline(
                "a PDF signature's CMS carries signing-time, which PAdES forbids \
                 (EN 319 142-1)"
                    .into(),
            ));
        }
        _ => {}
    }
    let data_hash = match (&parsed.econtent, opts.detached) {
        (Some(c), _) => alg.digest(c),
        (None, Some(Detached::Data(d))) => alg.digest(d),
        (None, Some(Detached::Digest(_, d))) => d.to_vec(),
        (None, None) => return Err(SealVerifyError::DataDigest(alg)),
    };
    let signature_value = raw.signer.signature_value();
    let sig_stamps = stamps(
        &raw,
        oid::SIGNATURE_TIME_STAMP,
        |token, _| {
            let a = token
                .hash_algorithm()
                .map_err(|e| e.to_string())?
                .digest(signature_value);
            Ok(a)
        },
        &pool,
        opts,
    )
    .map_err(SealVerifyError::SignatureTimeStamp)?;
    let arc_stamps = stamps(
        &raw,
        oid::ARCHIVE_TIME_STAMP_V3,
        |token, value| {
            let index =
                ats::index_of(value).ok_or("no single ats-hash-index-v3 in its SignerInfo")?;
            ats::check_index(&raw, &index)?;
            let h = token.hash_algorithm().map_err(|e| e.to_string())?;
            if h != alg {
                return Err(format!(
                    "made with {h}; only {alg}, the seal's digest, is supported"
                ));
            }
            ats::imprint(&raw, h, &data_hash, &index).map_err(|e| e.to_string())
        },
        &pool,
        opts,
    )
    .map_err(SealVerifyError::ArchiveTimeStamp)?;

    // Proof times: when each thing is shown to have existed, latest last.
    let first_sig = sig_stamps.iter().map(|s| s.info.gen_time).min();
    let signer_at = first_sig.unwrap_or(opts.at);
    let chain = validate_path(
        &v.signer,
        &pool,
        opts.trust_anchors,
        signer_at,
        Purpose::ESeal,
    )
    .map_err(|e| SealVerifyError::SignerPath {
        at: display_time(signer_at),
        reason: e.to_string(),
        no_issuer: matches!(e, kokuin_certs::path::PathError::NoIssuer { .. }),
    })?;
    let next_proof = |t: SystemTime| {
        arc_stamps
            .iter()
            .map(|s| s.info.gen_time)
            .filter(|g| *g > t)
            .min()
            .unwrap_or(opts.at)
    };
    for (what, s) in sig_stamps
        .iter()
        .map(|s| ("signature", s))
        .chain(arc_stamps.iter().map(|s| ("archive", s)))
    {
        let at = next_proof(s.info.gen_time);
        let leaf = &s.chain[0];
        validate_path(leaf, &pool, opts.trust_anchors, at, Purpose::TimeStamping).map_err(|e| {
            let msg = format!(
                "the TSA certificate no longer holds at {}: {e}",
                display_time(at)
            );
            if what == "signature" {
                SealVerifyError::SignatureTimeStamp(msg)
            } else {
                SealVerifyError::ArchiveTimeStamp(msg)
            }
        })?;
    }

    // Revocation from the seal's own CRLs; B-LT needs a verdict for every certificate.
    let crls: Vec<CertificateList> = parsed
        .signed_data
        .crls
        .iter()
        .flat_map(|c| c.0.iter())
        .filter_map(|r| match r {
            cms::revocation::RevocationInfoChoice::Crl(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    let mut limits = Vec::new();
    let mut complete = !crls.is_empty();
    let carried: Vec<Vec<u8>> = raw.certificates.clone();
    let chains = std::iter::once((&chain, signer_at, "signer")).chain(
        sig_stamps
            .iter()
            .chain(&arc_stamps)
            .map(|s| (&s.chain, s.info.gen_time, "TSA")),
    );
    for (c, at, whose) in chains {
        for pair in c.windows(2) {
            match check_revocation(&pair[0], &pair[1], &crls, at)
                .map_err(|e| SealVerifyError::Revoked(format!("revocation data unreadable: {e}")))?
            {
                RevocationStatus::Revoked { since } => {
                    let msg = format!(
                        "\"{}\" was revoked on {}, before {}",
                        subject_of(&pair[0]),
                        display_time(since),
                        display_time(at)
                    );
                    if whose == "signer" {
                        return Err(SealVerifyError::Revoked(msg));
                    }
                    return Err(SealVerifyError::SignatureTimeStamp(msg));
                }
                RevocationStatus::Good { .. } => {}
                RevocationStatus::Unknown => complete = false,
            }
        }
        for cert in c {
            if !cert.to_der().is_ok_and(|d| carried.contains(&d)) {
                complete = false;
            }
        }
    }
    let mut level = BaselineLevel::B;
    if sig_stamps.is_empty() {
        limits.push("no signature time-stamp".into());
    } else {
        level = BaselineLevel::T;
        if !complete {
            limits.push(
                "the seal does not carry every certificate and a CRL for each of them".into(),
            );
        } else {
            level = BaselineLevel::Lt;
            if arc_stamps.is_empty() {
                limits.push("no archive time-stamp".into());
            } else {
                level = BaselineLevel::Lta;
            }
        }
    }
    Ok(SealReport {
        level,
        limits,
        assurance: level_of_certificate(&v.signer, opts.level_policies),
        subject: SealSubject::from_certificate(&v.signer).map_err(|e| e.to_string()),
        chain,
        signer_checked_at: signer_at,
        signing_time,
        signature_algorithm: v.signature_algorithm,
        digest_algorithm: alg,
        enveloping: parsed.econtent.is_some(),
        signature_timestamps: sig_stamps.into_iter().map(|s| s.info).collect(),
        archive_timestamps: arc_stamps.into_iter().map(|s| s.info).collect(),
    })
}

/// Verifies every token in the unsigned attribute `attr`, each over the imprint `expected`
/// computes for it; sorted by genTime.
fn stamps(
    raw: &RawSignedData,
    attr: ObjectIdentifier,
    expected: impl Fn(&TimeStampToken, &[u8]) -> Result<Vec<u8>, String>,
    pool: &[Certificate],
    opts: &SealVerifyOptions<'_>,
) -> Result<Vec<Stamp>, String> {
    let oid_der = attr.to_der().map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (_, values) in raw.signer.unsigned_of(&oid_der) {
        for value in values {
            let token = TimeStampToken::from_der(&value).map_err(|e| e.to_string())?;
            let imprint = expected(&token, &value)?;
            let v = token
                .verify(&VerifyOptions {
                    trust_anchors: opts.trust_anchors,
                    extra_certificates: pool,
                    expected_digest: Some(&imprint),
                    request: None,
                })
                .map_err(|e| e.to_string())?;
            out.push(Stamp {
                info: StampInfo {
                    gen_time: v.gen_time.to_system_time(),
                    tsa: v.chain.first().map(subject_of).unwrap_or_default(),
                    serial: hex::encode(v.serial.as_bytes()),
                },
                chain: v.chain,
            });
        }
    }
    out.sort_by_key(|s| s.info.gen_time);
    Ok(out)
}

/// Whether `der` looks like a seal rather than a time-stamp token: a SignedData over id-data.
pub fn is_seal(der: &[u8]) -> bool {
    ParsedSignedData::from_der(der)
        .is_ok_and(|p| p.signed_data.encap_content_info.econtent_type == oid::DATA)
}
