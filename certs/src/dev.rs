//! The development PKI: a root CA (ECDSA P-256) issuing the TSU, HTTPS, audit-checkpoint,
//! e-seal and API-client certificates, all with software keys, and the root's CRL. For
//! `kokuin serve --dev` and tests only.

use crate::eseal::SealSubject;
use crate::profile::{CertKind, CertRequest, ProfileError, issue};
use const_oid::ObjectIdentifier;
use kokuin_hsm::{KeyError, KeyType, Signer, SoftwareSigner};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::{Duration, SystemTime};
use x509_cert::Certificate;
use x509_cert::name::Name;

const DAY: u64 = 86_400;

#[derive(Debug, thiserror::Error)]
/// Why the dev PKI could not be made.
pub enum DevPkiError {
    #[error(transparent)]
    /// A key could not be generated.
    Key(#[from] KeyError),
    #[error(transparent)]
    /// A certificate could not be issued.
    Profile(#[from] ProfileError),
    #[error("invalid name {0:?}")]
    /// A name that does not parse (RFC 4514).
    Name(String),
}

/// The development PKI `serve --dev` runs on: a root and the certificates and software keys
/// of every role, all issued by it. Never for production.
pub struct DevPki {
    /// The root CA's key.
    pub root_key: SoftwareSigner,
    /// The self-signed root: the trust anchor verifiers are given.
    pub root: Certificate,
    /// The TSU's key.
    pub tsu_key: SoftwareSigner,
    /// The TSU certificate.
    pub tsu: Certificate,
    /// The HTTPS server's key.
    pub tls_key: SoftwareSigner,
    /// The HTTPS server certificate (localhost, 127.0.0.1, ::1).
    pub tls: Certificate,
    /// The audit-checkpoint key.
    pub audit_key: SoftwareSigner,
    /// The audit-checkpoint key's certificate.
    pub audit: Certificate,
    /// The level-1 e-seal key `dev-seal` of the fictional dev organisation.
    pub seal_key: SoftwareSigner,
    /// The level-1 e-seal certificate of `seal_key`.
    pub seal: Certificate,
    /// A TLS client certificate for the e-seal API, granted `dev-seal` in dev mode.
    pub client_key: SoftwareSigner,
    /// The TLS client certificate of `client_key`.
    pub client: Certificate,
}

/// The dev organisation's corporate number: fictional, with a valid check digit.
pub const CORPORATE_NUMBER: &str = "7123456789012";

/// The dev organisation as an e-seal subject (EN 319 412-3).
pub fn seal_subject(common_name: &str) -> SealSubject {
    SealSubject {
        country: "JP".into(),
        organization: ORGANIZATION.into(),
        organization_identifier: format!("NTRJP-{CORPORATE_NUMBER}"),
        common_name: common_name.into(),
    }
}

/// The dev organisation's name.
pub const ORGANIZATION: &str = "Kokuin Development";

/// A name from its RFC 4514 text.
pub fn name(s: &str) -> Result<Name, DevPkiError> {
    Name::from_str(s).map_err(|_| DevPkiError::Name(s.to_string()))
}

impl DevPki {
    /// Root valid 10 years; TSU certificate 4 years with a 1-year key usage period (the
    /// EN 319 421 example); TLS certificate 1 year for localhost.
    pub fn generate(now: SystemTime) -> Result<Self, DevPkiError> {
        let start = now - Duration::from_secs(60);
        let root_key = SoftwareSigner::generate(KeyType::P256, "dev-root")?;
        let root = issue(
            &CertRequest {
                subject: name(&format!("CN=Kokuin Dev Root CA,O={ORGANIZATION},C=JP"))?,
                public_key: root_key.public_key().clone(),
                not_before: start,
                not_after: start + Duration::from_secs(10 * 365 * DAY),
                kind: CertKind::Ca { path_len: Some(1) },
            },
            None,
            &root_key,
        )?;
        let tsu_key = SoftwareSigner::generate(KeyType::P256, "dev-tsu")?;
        let tsu = issue_tsu(
            &root,
            &root_key,
            &tsu_key,
            "Kokuin Dev TSU 1",
            start,
            start + Duration::from_secs(4 * 365 * DAY),
            start + Duration::from_secs(365 * DAY),
        )?;
        let tls_key = SoftwareSigner::generate(KeyType::P256, "dev-tls")?;
        let tls = issue(
            &CertRequest {
                subject: name(&format!("CN=localhost,O={ORGANIZATION},C=JP"))?,
                public_key: tls_key.public_key().clone(),
                not_before: start,
                not_after: start + Duration::from_secs(365 * DAY),
                kind: CertKind::TlsServer {
                    dns_names: vec!["localhost".into()],
                    ips: vec![
                        IpAddr::V4(Ipv4Addr::LOCALHOST),
                        IpAddr::V6(Ipv6Addr::LOCALHOST),
                    ],
                },
            },
            Some(&root),
            &root_key,
        )?;
        let audit_key = SoftwareSigner::generate(KeyType::P256, "dev-audit")?;
        let audit = issue_audit(
            &root,
            &root_key,
            &audit_key,
            "Kokuin Dev Audit Log",
            (start, start + Duration::from_secs(10 * 365 * DAY)),
        )?;
        let seal_key = SoftwareSigner::generate(KeyType::P256, "dev-seal")?;
        let seal = issue_eseal(
            &root,
            &root_key,
            &seal_key,
            &seal_subject("Kokuin Dev Seal"),
            crate::oid::LEVEL_1_POLICY,
            (start, start + Duration::from_secs(2 * 365 * DAY)),
            None,
        )?;
        let client_key = SoftwareSigner::generate(KeyType::P256, "dev-client")?;
        let client = issue(
            &CertRequest {
                subject: name(&format!("CN=Kokuin Dev API Client,O={ORGANIZATION},C=JP"))?,
                public_key: client_key.public_key().clone(),
                not_before: start,
                not_after: start + Duration::from_secs(365 * DAY),
                kind: CertKind::TlsClient,
            },
            Some(&root),
            &root_key,
        )?;
        Ok(Self {
            seal_key,
            seal,
            client_key,
            client,
            audit_key,
            audit,
            root_key,
            root,
            tsu_key,
            tsu,
            tls_key,
            tls,
        })
    }
}

/// Issues an e-seal certificate under `ca` with validity `(not_before, not_after)`.
pub fn issue_eseal(
    ca: &Certificate,
    ca_key: &dyn Signer,
    key: &dyn Signer,
    subject: &SealSubject,
    policy: ObjectIdentifier,
    (not_before, not_after): (SystemTime, SystemTime),
    crl_url: Option<String>,
) -> Result<Certificate, DevPkiError> {
    Ok(issue(
        &CertRequest {
            subject: subject.to_name().map_err(ProfileError::from)?,
            public_key: key.public_key().clone(),
            not_before,
            not_after,
            kind: CertKind::ESeal { policy, crl_url },
        },
        Some(ca),
        ca_key,
    )?)
}

/// An audit-log signing certificate for `audit_key` (a file, or a key in a dev token),
/// issued by the dev CA for `validity`.
pub fn issue_audit(
    ca: &Certificate,
    ca_key: &dyn Signer,
    audit_key: &dyn Signer,
    common_name: &str,
    validity: (SystemTime, SystemTime),
) -> Result<Certificate, DevPkiError> {
    Ok(issue(
        &CertRequest {
            subject: name(&format!("CN={common_name},O={ORGANIZATION},C=JP"))?,
            public_key: audit_key.public_key().clone(),
            not_before: validity.0,
            not_after: validity.1,
            kind: CertKind::AuditSigner,
        },
        Some(ca),
        ca_key,
    )?)
}

/// Issues a TSU certificate under `ca` (also used by tests to make expired or odd ones).
pub fn issue_tsu(
    ca: &Certificate,
    ca_key: &dyn Signer,
    tsu_key: &dyn Signer,
    common_name: &str,
    not_before: SystemTime,
    not_after: SystemTime,
    key_usage_until: SystemTime,
) -> Result<Certificate, DevPkiError> {
    Ok(issue(
        &CertRequest {
            subject: name(&format!("CN={common_name},O={ORGANIZATION},C=JP"))?,
            public_key: tsu_key.public_key().clone(),
            not_before,
            not_after,
            kind: CertKind::TimeStamping { key_usage_until },
        },
        Some(ca),
        ca_key,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::{PathError, Purpose, validate_path};

    #[test]
    fn dev_pki_validates_and_fails_where_it_should() {
        let now = SystemTime::now();
        let pki = DevPki::generate(now).unwrap();
        let anchors = [pki.root.clone()];
        let chain = validate_path(&pki.tsu, &[], &anchors, now, Purpose::TimeStamping).unwrap();
        assert_eq!(chain.len(), 2);
        // The TLS certificate is no TSU certificate.
        assert!(matches!(
            validate_path(&pki.tls, &[], &anchors, now, Purpose::TimeStamping),
            Err(PathError::ExtendedKeyUsage { .. })
        ));
        // Expired at the time asked about.
        let later = now + Duration::from_secs(5 * 365 * DAY);
        assert!(matches!(
            validate_path(&pki.tsu, &[], &anchors, later, Purpose::TimeStamping),
            Err(PathError::Expired { .. })
        ));
        // A foreign root.
        let other = DevPki::generate(now).unwrap();
        assert!(matches!(
            validate_path(&pki.tsu, &[], &[other.root], now, Purpose::TimeStamping),
            Err(PathError::NoIssuer { .. })
        ));
        // The TSU cannot act as a CA.
        let sub = issue_tsu(
            &pki.tsu,
            &pki.tsu_key,
            &other.tsu_key,
            "sub",
            now - Duration::from_secs(10),
            now + Duration::from_secs(DAY),
            now + Duration::from_secs(DAY),
        )
        .unwrap();
        assert!(matches!(
            validate_path(
                &sub,
                std::slice::from_ref(&pki.tsu),
                &anchors,
                now,
                Purpose::TimeStamping
            ),
            Err(PathError::NotCa { .. })
        ));
    }

    #[test]
    fn tsu_subject_needs_country_and_organisation() {
        let now = SystemTime::now();
        let pki = DevPki::generate(now).unwrap();
        let r = issue(
            &CertRequest {
                subject: name("CN=no org").unwrap(),
                public_key: pki.tsu_key.public_key().clone(),
                not_before: now,
                not_after: now + Duration::from_secs(DAY),
                kind: CertKind::TimeStamping {
                    key_usage_until: now + Duration::from_secs(DAY),
                },
            },
            Some(&pki.root),
            &pki.root_key,
        );
        assert!(matches!(r, Err(ProfileError::Subject(_))));
    }
}
