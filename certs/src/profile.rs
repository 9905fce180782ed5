//! Certificate profiles: CA, time-stamping unit (EN 319 422 §6, RFC 3161 §2.3), e-seal
//! (EN 319 412-3), TLS server and client.

use crate::oid;
use crate::tbs::{CertificateContent, IssueError, sign_certificate};
use const_oid::{AssociatedOid, ObjectIdentifier};
use der::asn1::{GeneralizedTime, Ia5String, OctetString};
use der::{DateTime, Encode};
use kokuin_hsm::Signer;
use spki::SubjectPublicKeyInfoOwned;
use std::net::IpAddr;
use std::time::SystemTime;
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::DistributionPointName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, CrlDistributionPoints,
    ExtendedKeyUsage, KeyUsage, KeyUsages, PrivateKeyUsagePeriod, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

/// What a certificate is for; decides its extensions.
#[derive(Clone, Debug)]
pub enum CertKind {
    /// A CA: basicConstraints cA (critical), keyCertSign + cRLSign (critical).
    Ca {
        /// pathLenConstraint, if any.
        path_len: Option<u8>,
    },
    /// A TSU (EN 319 422 §6): EKU id-kp-timeStamping only and critical (RFC 3161 §2.3),
    /// keyUsage digitalSignature + nonRepudiation, privateKeyUsagePeriod ending at
    /// `key_usage_until` (EN 319 421: key use shorter than the certificate).
    TimeStamping {
        /// The end of the key's privateKeyUsagePeriod.
        key_usage_until: SystemTime,
    },
    /// A TLS server for the HTTPS listener.
    TlsServer {
        /// subjectAltName dNSNames.
        dns_names: Vec<String>,
        /// subjectAltName iPAddresses.
        ips: Vec<IpAddr>,
    },
    /// A TLS client (e-seal API callers).
    TlsClient,
    /// An e-seal (EN 319 412-3): a legal person's subject (checked by
    /// [`crate::eseal::SealSubject`]), keyUsage nonRepudiation + digitalSignature (critical),
    /// the certificate policy stating the assurance level, and where its CRL is published.
    ESeal {
        /// The certificate policy stating the assurance level.
        policy: ObjectIdentifier,
        /// Where the issuer's CRL is published (cRLDistributionPoints).
        crl_url: Option<String>,
    },
    /// The key that signs audit-log checkpoints: digitalSignature + nonRepudiation, no EKU
    /// (no standard purpose exists; verifiers pin the certificate).
    AuditSigner,
}

/// Everything about a certificate that is not decided by the profile or the issuer.
#[derive(Clone, Debug)]
pub struct CertRequest {
    /// The subject's name.
    pub subject: Name,
    /// The subject's public key.
    pub public_key: SubjectPublicKeyInfoOwned,
    /// notBefore.
    pub not_before: SystemTime,
    /// notAfter.
    pub not_after: SystemTime,
    /// The profile.
    pub kind: CertKind,
}

/// Why a certificate could not be issued under its profile.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// Encoding or signing failed.
    #[error("{0}")]
    Issue(#[from] IssueError),
    /// The subject lacks an attribute the profile requires.
    #[error("subject must contain {0} (EN 319 422 §6)")]
    Subject(&'static str),
    /// A validity time that cannot be encoded.
    #[error("a certificate time is out of range: {0}")]
    Time(String),
    /// A subjectAltName that cannot be encoded.
    #[error("invalid subject alternative name {0:?}")]
    AltName(String),
    /// An e-seal subject that EN 319 412-3 does not allow.
    #[error(transparent)]
    SealSubject(#[from] crate::eseal::ESealNameError),
}

/// Issues a certificate. `issuer` is `None` for a self-signed root, whose key must then be
/// `issuer_key` itself.
pub fn issue(
    req: &CertRequest,
    issuer: Option<&Certificate>,
    issuer_key: &dyn Signer,
) -> Result<Certificate, ProfileError> {
    if matches!(req.kind, CertKind::TimeStamping { .. }) {
        if !has_attribute(&req.subject, oid::AT_COUNTRY) {
            return Err(ProfileError::Subject("a country (C)"));
        }
        if !has_attribute(&req.subject, oid::AT_ORGANIZATION) {
            return Err(ProfileError::Subject("an organisation name (O)"));
        }
    }
    if matches!(req.kind, CertKind::ESeal { .. }) {
        crate::eseal::SealSubject::from_name(&req.subject, &req.subject.to_string())?;
    }
    let ski = key_identifier(&req.public_key);
    let (issuer_name, aki) = match issuer {
        Some(c) => (
            c.tbs_certificate().subject().clone(),
            key_identifier(c.tbs_certificate().subject_public_key_info()),
        ),
        None => (req.subject.clone(), ski.clone()),
    };
    let mut ext = Vec::new();
    match &req.kind {
        CertKind::Ca { path_len } => {
            push(
                &mut ext,
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: *path_len,
                },
            )?;
            push(
                &mut ext,
                true,
                &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            )?;
        }
        CertKind::TimeStamping { key_usage_until } => {
            push(
                &mut ext,
                true,
                &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
            )?;
            push(
                &mut ext,
                true,
                &ExtendedKeyUsage(vec![oid::KP_TIME_STAMPING]),
            )?;
            push(
                &mut ext,
                false,
                &PrivateKeyUsagePeriod {
                    not_before: Some(generalized(req.not_before)?),
                    not_after: Some(generalized(*key_usage_until)?),
                },
            )?;
        }
        CertKind::TlsServer { dns_names, ips } => {
            push(
                &mut ext,
                true,
                &KeyUsage(KeyUsages::DigitalSignature.into()),
            )?;
            push(
                &mut ext,
                false,
                &ExtendedKeyUsage(vec![oid::KP_SERVER_AUTH]),
            )?;
            let mut names = Vec::new();
            for d in dns_names {
                names.push(GeneralName::DnsName(
                    Ia5String::new(d).map_err(|_| ProfileError::AltName(d.clone()))?,
                ));
            }
            for ip in ips {
                let bytes = match ip {
                    IpAddr::V4(v) => v.octets().to_vec(),
                    IpAddr::V6(v) => v.octets().to_vec(),
                };
                names.push(GeneralName::IpAddress(
                    OctetString::new(bytes).map_err(|_| ProfileError::AltName(ip.to_string()))?,
                ));
            }
            push(&mut ext, false, &SubjectAltName(names))?;
        }
        CertKind::ESeal { policy, crl_url } => {
            push(
                &mut ext,
                true,
                &KeyUsage(KeyUsages::NonRepudiation | KeyUsages::DigitalSignature),
            )?;
            push(
                &mut ext,
                false,
                &CertificatePolicies(vec![PolicyInformation {
                    policy_identifier: *policy,
                    policy_qualifiers: None,
                }]),
            )?;
            if let Some(url) = crl_url {
                let uri = Ia5String::new(url).map_err(|_| ProfileError::AltName(url.clone()))?;
                push(
                    &mut ext,
                    false,
                    &CrlDistributionPoints(vec![DistributionPoint {
                        distribution_point: Some(DistributionPointName::FullName(vec![
                            GeneralName::UniformResourceIdentifier(uri),
                        ])),
                        reasons: None,
                        crl_issuer: None,
                    }]),
                )?;
            }
        }
        CertKind::AuditSigner => {
            push(
                &mut ext,
                true,
                &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
            )?;
        }
        CertKind::TlsClient => {
            push(
                &mut ext,
                true,
                &KeyUsage(KeyUsages::DigitalSignature.into()),
            )?;
            push(
                &mut ext,
                false,
                &ExtendedKeyUsage(vec![oid::KP_CLIENT_AUTH]),
            )?;
        }
    }
    push(&mut ext, false, &SubjectKeyIdentifier(octets(&ski)?))?;
    push(
        &mut ext,
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(octets(&aki)?),
            ..Default::default()
        },
    )?;
    let content = CertificateContent {
        serial_number: random_serial()?,
        issuer: issuer_name,
        validity: Validity::new(time(req.not_before)?, time(req.not_after)?),
        subject: req.subject.clone(),
        subject_public_key_info: req.public_key.clone(),
        extensions: ext,
    };
    Ok(sign_certificate(content, issuer_key)?)
}

fn has_attribute(name: &Name, oid: ObjectIdentifier) -> bool {
    name.iter().any(|atv| atv.oid == oid)
}

fn push<T: Encode + AssociatedOid>(
    ext: &mut Vec<Extension>,
    critical: bool,
    value: &T,
) -> Result<(), ProfileError> {
    ext.push(Extension {
        extn_id: T::OID,
        critical,
        extn_value: octets(&value.to_der().map_err(IssueError::from)?)?,
    });
    Ok(())
}

fn octets(b: &[u8]) -> Result<OctetString, ProfileError> {
    Ok(OctetString::new(b).map_err(IssueError::from)?)
}

/// Key identifier per RFC 7093 §2 method 1: the leftmost 160 bits of the SHA-256 of the
/// subjectPublicKey bits (SHA-1, RFC 5280's example, is not used anywhere in Kokuin).
pub fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    let d = kokuin_hsm::DigestAlgorithm::Sha256.digest(spki.subject_public_key.raw_bytes());
    d[..20].to_vec()
}

/// 128 random bits, positive and without a leading zero octet (RFC 5280 §4.1.2.2).
fn random_serial() -> Result<SerialNumber, ProfileError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| ProfileError::Time(format!("random source: {e}")))?;
    b[0] = (b[0] & 0x7f) | 0x40;
    Ok(SerialNumber::new(&b).map_err(IssueError::from)?)
}

fn datetime(t: SystemTime) -> Result<DateTime, ProfileError> {
    // Certificates carry whole seconds.
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|e| ProfileError::Time(e.to_string()))?
        .as_secs();
    DateTime::from_unix_duration(std::time::Duration::from_secs(secs))
        .map_err(|e| ProfileError::Time(e.to_string()))
}

/// UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
fn time(t: SystemTime) -> Result<Time, ProfileError> {
    Ok(Time::from(datetime(t)?))
}

fn generalized(t: SystemTime) -> Result<GeneralizedTime, ProfileError> {
    Ok(GeneralizedTime::from_date_time(datetime(t)?))
}
