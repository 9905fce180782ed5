//! Certification path validation (RFC 5280 §6, the parts a trust-service verifier needs):
//! signatures up to a trust anchor, validity of every certificate at a given time (a token's
//! genTime, not "now"), CA basic constraints and path length, key usage, unknown critical
//! extensions, and the leaf's purpose.

use crate::oid;
use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use std::time::SystemTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};

/// Longest chain followed, anchor included.
const MAX_DEPTH: usize = 8;

/// Candidate issuers whose signature check may fail while one path is built. A real chain
/// has one candidate per name (two around a key rollover); more are decoys, each costing a
/// signature check, so the search stops there.
pub const MAX_FAILED_CANDIDATES: usize = 8;

/// Extensions this validator processes (or that carry no constraint), so may be critical.
const UNDERSTOOD: [ObjectIdentifier; 8] = [
    oid::CE_SUBJECT_KEY_IDENTIFIER,
    oid::CE_KEY_USAGE,
    oid::CE_PRIVATE_KEY_USAGE_PERIOD,
    oid::CE_SUBJECT_ALT_NAME,
    oid::CE_BASIC_CONSTRAINTS,
    oid::CE_CERTIFICATE_POLICIES,
    oid::CE_AUTHORITY_KEY_IDENTIFIER,
    oid::CE_EXT_KEY_USAGE,
];

/// What the end-entity certificate must be good for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// RFC 3161 §2.3: extKeyUsage present, critical, and id-kp-timeStamping its only purpose.
    TimeStamping,
    /// An e-seal (EN 319 412-3 §4.3.2): keyUsage present with nonRepudiation (or
    /// digitalSignature, which EN 319 412-2 also allows for seals).
    ESeal,
    /// Any end-entity purpose; only the chain is checked.
    Any,
}

/// Why a certificate path does not validate (RFC 5280 §6).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathError {
    #[error("no issuer of \"{subject}\" among the given certificates chains to a trust anchor")]
    /// No issuer of a certificate chains to a trust anchor.
    NoIssuer {
        /// The certificate's subject.
        subject: String,
    },
    #[error("the signature on \"{subject}\" does not verify with its issuer's key ({reason})")]
    /// A certificate's signature does not verify with its issuer's key.
    BadSignature {
        /// The certificate's subject.
        subject: String,
        /// The verifier's reason.
        reason: String,
    },
    #[error("\"{subject}\" was not yet valid at {at} (notBefore {not_before})")]
    /// A certificate not yet valid at the time of validation.
    NotYetValid {
        /// The certificate's subject.
        subject: String,
        /// Its notBefore.
        not_before: String,
        /// The time of validation.
        at: String,
    },
    #[error("\"{subject}\" had expired at {at} (notAfter {not_after})")]
    /// A certificate expired at the time of validation.
    Expired {
        /// The certificate's subject.
        subject: String,
        /// Its notAfter.
        not_after: String,
        /// The time of validation.
        at: String,
    },
    #[error("\"{subject}\" issues certificates but is not a CA (basicConstraints)")]
    /// An issuer that is not a CA.
    NotCa {
        /// The certificate's subject.
        subject: String,
    },
    #[error("\"{subject}\" allows a path length of {allowed}, the chain below it has {actual}")]
    /// A CA whose pathLenConstraint the chain below it exceeds.
    PathLength {
        /// The certificate's subject.
        subject: String,
        /// Its pathLenConstraint.
        allowed: u8,
        /// The CAs below it.
        actual: usize,
    },
    #[error("\"{subject}\": keyUsage does not allow {needed}")]
    /// A keyUsage that does not allow what the certificate is used for.
    KeyUsage {
        /// The certificate's subject.
        subject: String,
        /// The usage needed.
        needed: &'static str,
    },
    #[error("\"{subject}\": {reason}")]
    /// An extendedKeyUsage that does not fit the purpose.
    ExtendedKeyUsage {
        /// The certificate's subject.
        subject: String,
        /// What is wrong with it.
        reason: String,
    },
    #[error("\"{subject}\" has an unrecognised critical extension {oid}")]
    /// A critical extension this validator does not process (RFC 5280 §4.2).
    UnknownCriticalExtension {
        /// The certificate's subject.
        subject: String,
        /// The extension's OID.
        oid: String,
    },
    #[error("\"{subject}\": malformed extension {oid}")]
    /// An extension that does not decode.
    MalformedExtension {
        /// The certificate's subject.
        subject: String,
        /// The extension's OID.
        oid: String,
    },
    #[error("the chain is longer than {MAX_DEPTH} certificates")]
    /// More certificates than a path may have.
    TooLong,
    #[error(
        "no issuer found after {MAX_FAILED_CANDIDATES} certificates that name the issuer \
         but did not sign"
    )]
    /// Too many candidate issuers whose signature check failed: decoys, not a chain.
    TooManyCandidates,
    /// A certificate that cannot be encoded to check it.
    #[error("{0}")]
    Encoding(String),
}

/// A certificate's subject as text (RFC 4514), for messages and reports.
pub fn subject_of(c: &Certificate) -> String {
    c.tbs_certificate().subject().to_string()
}

/// Validates `leaf` up to one of `anchors` at time `at`, using `intermediates` as needed.
/// Returns the path, leaf first and anchor last.
pub fn validate_path(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    at: SystemTime,
    purpose: Purpose,
) -> Result<Vec<Certificate>, PathError> {
    let chain = build_chain(leaf, intermediates, anchors)?;
    for c in &chain {
        check_validity(c, at)?;
        check_critical_extensions(c)?;
    }
    // Every certificate above the leaf issued the one below it: it must be a CA allowed to.
    for (i, ca) in chain.iter().enumerate().skip(1) {
        // Formatted only for an error: a name costs as much to print as a hash to compute.
        let subject = || subject_of(ca);
        let bc: Option<BasicConstraints> = extension(ca)?;
        let Some(bc) = bc.filter(|b| b.ca) else {
            return Err(PathError::NotCa { subject: subject() });
        };
        // Non-self-issued intermediates between this CA and the leaf (RFC 5280 §6.1.4 (l)).
        let below = i - 1;
        if let Some(allowed) = bc.path_len_constraint
            && below > usize::from(allowed)
        {
            return Err(PathError::PathLength {
                subject: subject(),
                allowed,
                actual: below,
            });
        }
        let ku: Option<KeyUsage> = extension(ca)?;
        if let Some(ku) = ku
            && !ku.0.contains(KeyUsages::KeyCertSign)
        {
            return Err(PathError::KeyUsage {
                subject: subject(),
                needed: "keyCertSign",
            });
        }
    }
    check_purpose(leaf, purpose)?;
    Ok(chain)
}

fn build_chain(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
) -> Result<Vec<Certificate>, PathError> {
    let mut chain = vec![leaf.clone()];
    let mut failed = 0usize;
    loop {
        let current = chain.last().ok_or(PathError::TooLong)?;
        if anchors.iter().any(|a| a == current) {
            return Ok(chain);
        }
        if chain.len() >= MAX_DEPTH {
            return Err(PathError::TooLong);
        }
        let mut last_failure = None;
        let mut next = None;
        // Anchors first: a shorter path to a trusted key beats any intermediate.
        for cand in anchors.iter().chain(intermediates.iter()) {
            if chain.contains(cand) || !may_have_issued(cand, current)? {
                continue;
            }
            match verify_issued_by(current, cand) {
                Ok(()) => {
                    next = Some(cand.clone());
                    break;
                }
                Err(e) => {
                    failed += 1;
                    if failed > MAX_FAILED_CANDIDATES {
                        return Err(PathError::TooManyCandidates);
                    }
                    last_failure = Some(e);
                }
            }
        }
        match next {
            Some(c) => chain.push(c),
            None => {
                return Err(last_failure.unwrap_or(PathError::NoIssuer {
                    subject: subject_of(current),
                }));
            }
        }
    }
}

/// Name chaining, refined by key identifiers where both are present.
fn may_have_issued(issuer: &Certificate, child: &Certificate) -> Result<bool, PathError> {
    if issuer.tbs_certificate().subject() != child.tbs_certificate().issuer() {
        return Ok(false);
    }
    let aki: Option<AuthorityKeyIdentifier> = extension(child)?;
    let ski: Option<SubjectKeyIdentifier> = extension(issuer)?;
    Ok(match (aki.and_then(|a| a.key_identifier), ski) {
        (Some(a), Some(s)) => a == s.0,
        _ => true,
    })
}

/// Certificate signatures verified in this process, by SHA-256 of (the child's DER, the
/// issuer's public key): a signature over fixed bytes with a fixed key verifies once and for
/// all, and a batch of thousands of tokens from one TSU (`kokuin verify --batch`, the
/// verification page) would otherwise check the same CA signature on every one. Only
/// successes are kept; at [`VERIFIED_MAX`] entries the set starts over.
static VERIFIED: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<Vec<u8>>>> =
    std::sync::LazyLock::new(Default::default);

/// Certificate signatures that failed, kept the same way: the same decoys sent again cost a
/// lookup, not a signature check.
static FAILED: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<Vec<u8>>>> =
    std::sync::LazyLock::new(Default::default);

/// How many verified (and failed) certificate signatures [`verify_issued_by`] remembers.
pub const VERIFIED_MAX: usize = 4096;

/// Verifies the signature on `child` with the key of `issuer`.
pub fn verify_issued_by(child: &Certificate, issuer: &Certificate) -> Result<(), PathError> {
    let key = {
        let mut h = kokuin_hsm::DigestAlgorithm::Sha256.hasher();
        h.update(
            &child
                .to_der()
                .map_err(|e| PathError::Encoding(e.to_string()))?,
        );
        h.update(
            &issuer
                .tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .map_err(|e| PathError::Encoding(e.to_string()))?,
        );
        h.finalize()
    };
    if VERIFIED.lock().is_ok_and(|v| v.contains(&key)) {
        return Ok(());
    }
    if FAILED.lock().is_ok_and(|v| v.contains(&key)) {
        return Err(PathError::BadSignature {
            subject: subject_of(child),
            reason: "the signature does not verify (checked before)".into(),
        });
    }
    if let Err(e) = verify_signature_of(child, issuer) {
        if let Ok(mut v) = FAILED.lock() {
            if v.len() >= VERIFIED_MAX {
                v.clear();
            }
            v.insert(key);
        }
        return Err(e);
    }
    if let Ok(mut v) = VERIFIED.lock() {
        if v.len() >= VERIFIED_MAX {
            v.clear();
        }
        v.insert(key);
    }
    Ok(())
}

fn verify_signature_of(child: &Certificate, issuer: &Certificate) -> Result<(), PathError> {
    let tbs = child
        .tbs_certificate()
        .to_der()
        .map_err(|e| PathError::Encoding(e.to_string()))?;
    let sig = child
        .signature()
        .as_bytes()
        .ok_or_else(|| PathError::Encoding("signature BIT STRING has unused bits".into()))?;
    kokuin_hsm::verify_signature(
        issuer.tbs_certificate().subject_public_key_info(),
        child.signature_algorithm(),
        None,
        &tbs,
        sig,
    )
    .map_err(|e| PathError::BadSignature {
        subject: subject_of(child),
        reason: e.to_string(),
    })
}

/// Whether `c` is within its validity at `at`.
pub fn check_validity(c: &Certificate, at: SystemTime) -> Result<(), PathError> {
    let v = c.tbs_certificate().validity();
    let nb = v.not_before.to_system_time();
    let na = v.not_after.to_system_time();
    if at < nb {
        return Err(PathError::NotYetValid {
            subject: subject_of(c),
            not_before: v.not_before.to_string(),
            at: display_time(at),
        });
    }
    if at > na {
        return Err(PathError::Expired {
            subject: subject_of(c),
            not_after: v.not_after.to_string(),
            at: display_time(at),
        });
    }
    Ok(())
}

fn check_critical_extensions(c: &Certificate) -> Result<(), PathError> {
    for e in c.tbs_certificate().extensions().into_iter().flatten() {
        if e.critical && !UNDERSTOOD.contains(&e.extn_id) {
            return Err(PathError::UnknownCriticalExtension {
                subject: subject_of(c),
                oid: e.extn_id.to_string(),
            });
        }
    }
    Ok(())
}

/// Whether the leaf's keyUsage and extendedKeyUsage fit `purpose` (for a TSU: the critical
/// id-kp-timeStamping alone, RFC 3161 §2.3).
pub fn check_purpose(leaf: &Certificate, purpose: Purpose) -> Result<(), PathError> {
    let subject = || subject_of(leaf);
    match purpose {
        Purpose::Any => Ok(()),
        Purpose::ESeal => {
            let ku: Option<KeyUsage> = extension(leaf)?;
            match ku {
                Some(ku)
                    if ku.0.contains(KeyUsages::NonRepudiation)
                        || ku.0.contains(KeyUsages::DigitalSignature) =>
                {
                    Ok(())
                }
                _ => Err(PathError::KeyUsage {
                    subject: subject(),
                    needed: "nonRepudiation (EN 319 412-3)",
                }),
            }
        }
        Purpose::TimeStamping => {
            let eku_ext = leaf
                .tbs_certificate()
                .extensions()
                .into_iter()
                .flatten()
                .find(|e| e.extn_id == oid::CE_EXT_KEY_USAGE);
            let eku_err = |reason: &str| PathError::ExtendedKeyUsage {
                subject: subject(),
                reason: reason.to_string(),
            };
            let Some(ext) = eku_ext else {
                return Err(eku_err(
                    "no extendedKeyUsage; RFC 3161 §2.3 requires id-kp-timeStamping",
                ));
            };
            if !ext.critical {
                return Err(eku_err("extendedKeyUsage is not critical (RFC 3161 §2.3)"));
            }
            let eku = ExtendedKeyUsage::from_der(ext.extn_value.as_bytes()).map_err(|_| {
                PathError::MalformedExtension {
                    subject: subject(),
                    oid: ext.extn_id.to_string(),
                }
            })?;
            if eku.0 != [oid::KP_TIME_STAMPING] {
                return Err(eku_err(
                    "extendedKeyUsage must contain id-kp-timeStamping and nothing else (RFC 3161 §2.3)",
                ));
            }
            let ku: Option<KeyUsage> = extension(leaf)?;
            if let Some(ku) = ku
                && !ku.0.contains(KeyUsages::DigitalSignature)
                && !ku.0.contains(KeyUsages::NonRepudiation)
            {
                return Err(PathError::KeyUsage {
                    subject: subject(),
                    needed: "digitalSignature or nonRepudiation",
                });
            }
            Ok(())
        }
    }
}

/// Decodes the extension of type `T`, if present; a malformed one is an error, not absence.
pub fn extension<T>(c: &Certificate) -> Result<Option<T>, PathError>
where
    T: for<'a> Decode<'a> + const_oid::AssociatedOid,
{
    c.tbs_certificate()
        .get_extension::<T>()
        .map(|o| o.map(|(_, v)| v))
        .map_err(|_| PathError::MalformedExtension {
            subject: subject_of(c),
            oid: T::OID.to_string(),
        })
}

/// A time as RFC 3339 UTC, for messages and reports.
pub fn display_time(t: SystemTime) -> String {
    match der::DateTime::from_system_time(t) {
        Ok(d) => d.to_string(),
        Err(_) => format!("{t:?}"),
    }
}
