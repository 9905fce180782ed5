//! Certificate revocation lists (RFC 5280 §5): issuing one (the dev CA publishes its CRL so
//! that CAdES B-LT seals carry real revocation data) and checking a certificate against the
//! CRLs a seal carries, offline.

use crate::path::{PathError, display_time, subject_of};
use crate::profile::key_identifier;
use der::asn1::OctetString;
use der::{Decode, Encode};
use kokuin_hsm::Signer;
use std::time::SystemTime;
use x509_cert::Certificate;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::CrlNumber;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, KeyUsage, KeyUsages};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

/// Why a CRL could not be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrlError {
    /// The CRL cannot be encoded.
    #[error("CRL encoding: {0}")]
    Encoding(#[from] der::Error),
    /// The issuer's key did not sign.
    #[error("signing the CRL: {0}")]
    Sign(#[from] kokuin_hsm::SignError),
    /// thisUpdate or nextUpdate cannot be encoded.
    #[error("CRL time out of range: {0}")]
    Time(String),
}

/// Issues a version 2 CRL from `issuer` with a CRL number and the issuer's key identifier.
pub fn issue_crl(
    issuer: &Certificate,
    issuer_key: &dyn Signer,
    revoked: &[(SerialNumber, SystemTime)],
    this_update: SystemTime,
    next_update: SystemTime,
    number: u64,
) -> Result<CertificateList, CrlError> {
    let time = |t: SystemTime| -> Result<Time, CrlError> {
        let secs = t
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|e| CrlError::Time(e.to_string()))?
            .as_secs();
        let dt = der::DateTime::from_unix_duration(std::time::Duration::from_secs(secs))
            .map_err(|e| CrlError::Time(e.to_string()))?;
        Ok(Time::from(dt))
    };
    let issuer_name = issuer.tbs_certificate().subject().clone();
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(key_identifier(
            issuer.tbs_certificate().subject_public_key_info(),
        ))?),
        ..Default::default()
    };
    let ext = |id, value: Vec<u8>| -> Result<Extension, der::Error> {
        Ok(Extension {
            extn_id: id,
            critical: false,
            extn_value: OctetString::new(value)?,
        })
    };
    let extensions = vec![
        ext(
            <AuthorityKeyIdentifier as const_oid::AssociatedOid>::OID,
            aki.to_der()?,
        )?,
        ext(
            <CrlNumber as const_oid::AssociatedOid>::OID,
            CrlNumber(der::asn1::Uint::new(&number.to_be_bytes())?).to_der()?,
        )?,
    ];
    let entries = revoked
        .iter()
        .map(|(serial, at)| {
            Ok(RevokedCert {
                serial_number: serial.clone(),
                revocation_date: time(*at)?,
                crl_entry_extensions: None,
            })
        })
        .collect::<Result<Vec<_>, CrlError>>()?;
    let signature = issuer_key.algorithm().algorithm_identifier()?;
    let tbs = TbsCertList {
        version: x509_cert::Version::V2,
        signature: signature.clone(),
        issuer: issuer_name,
        this_update: time(this_update)?,
        next_update: Some(time(next_update)?),
        revoked_certificates: (!entries.is_empty()).then_some(entries),
        crl_extensions: Some(extensions),
    };
    let tbs_der = tbs.to_der()?;
    let sig = issuer_key.sign(&tbs_der)?;
    Ok(CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: signature,
        signature: der::asn1::BitString::from_bytes(&sig)?,
    })
}

/// What the CRLs at hand say about a certificate at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevocationStatus {
    /// A CRL of the issuer, issued at `this_update`, does not list the certificate.
    Good {
        /// The CRL's thisUpdate.
        this_update: SystemTime,
    },
    /// Listed as revoked from `since`.
    Revoked {
        /// The revocation date.
        since: SystemTime,
    },
    /// No CRL of the issuer verifies.
    Unknown,
}

/// Checks `cert` against those `crls` whose signature verifies with `issuer`'s key. The
/// freshest CRL decides. A revocation dated after `at` does not affect what was done at `at`
/// (a seal time-stamped before a later revocation stays valid).
pub fn check_revocation(
    cert: &Certificate,
    issuer: &Certificate,
    crls: &[CertificateList],
    at: SystemTime,
) -> Result<RevocationStatus, PathError> {
    let ku: Option<KeyUsage> = crate::path::extension(issuer)?;
    if ku.is_some_and(|k| !k.0.contains(KeyUsages::CRLSign)) {
        return Ok(RevocationStatus::Unknown);
    }
    let mut best: Option<&CertificateList> = None;
    for crl in crls {
        let tbs = &crl.tbs_cert_list;
        if tbs.issuer != *issuer.tbs_certificate().subject() || verify_crl(crl, issuer).is_err() {
            continue;
        }
        if best.is_none_or(|b| {
            b.tbs_cert_list.this_update.to_system_time() < tbs.this_update.to_system_time()
        }) {
            best = Some(crl);
        }
    }
    let Some(crl) = best else {
        return Ok(RevocationStatus::Unknown);
    };
    let serial = cert.tbs_certificate().serial_number();
    let listed = crl
        .tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .find(|r| r.serial_number == *serial);
    Ok(match listed {
        Some(r) if r.revocation_date.to_system_time() <= at => RevocationStatus::Revoked {
            since: r.revocation_date.to_system_time(),
        },
        _ => RevocationStatus::Good {
            this_update: crl.tbs_cert_list.this_update.to_system_time(),
        },
    })
}

/// Verifies a CRL's signature with `issuer`'s key.
pub fn verify_crl(crl: &CertificateList, issuer: &Certificate) -> Result<(), PathError> {
    let tbs = crl
        .tbs_cert_list
        .to_der()
        .map_err(|e| PathError::Encoding(e.to_string()))?;
    let sig = crl
        .signature
        .as_bytes()
        .ok_or_else(|| PathError::Encoding("CRL signature has unused bits".into()))?;
    kokuin_hsm::verify_signature(
        issuer.tbs_certificate().subject_public_key_info(),
        &crl.signature_algorithm,
        None,
        &tbs,
        sig,
    )
    .map_err(|e| PathError::BadSignature {
        subject: format!("CRL of {}", subject_of(issuer)),
        reason: e.to_string(),
    })
}

/// Reads DER or PEM ("X509 CRL") CRLs.
pub fn parse_crls(bytes: &[u8]) -> Result<Vec<CertificateList>, String> {
    const END: &str = "-----END X509 CRL-----";
    if !bytes.starts_with(b"-----BEGIN") {
        return Ok(vec![
            CertificateList::from_der(bytes).map_err(|e| e.to_string())?,
        ]);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "CRL PEM is not text".to_string())?;
    let mut out = Vec::new();
    for block in text.split_inclusive(END).filter(|b| b.contains(END)) {
        let start = block.find("-----BEGIN").ok_or("CRL PEM: no BEGIN line")?;
        let (label, der) = der::pem::decode_vec(&block.as_bytes()[start..])
            .map_err(|e| format!("CRL PEM: {e}"))?;
        if label != "X509 CRL" {
            return Err(format!("PEM block {label:?} is not an X509 CRL"));
        }
        out.push(CertificateList::from_der(&der).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// PEM of a CRL.
pub fn to_pem(crl: &CertificateList) -> Result<String, der::Error> {
    der::EncodePem::to_pem(crl, der::pem::LineEnding::LF)
}

/// For display: "revoked since …".
pub fn describe(status: &RevocationStatus) -> String {
    match status {
        RevocationStatus::Good { this_update } => {
            format!("not revoked (CRL of {})", display_time(*this_update))
        }
        RevocationStatus::Revoked { since } => format!("revoked since {}", display_time(*since)),
        RevocationStatus::Unknown => "no CRL of the issuer".into(),
    }
}
