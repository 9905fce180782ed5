//! Assurance levels of the e-seal guideline (eシールに係る指針, 2nd ed.) and the rules a seal
//! key must meet for the level it declares. Level 2 is built to the EU equivalents the
//! guideline points at (EN 319 411-1 QSCD-backed seals): key generated and used only in an
//! HSM, certificate from a CA the minister accredited, strong algorithms, time-stamped and
//! audited seals. A key failing its level refuses to start, naming the rule.

use crate::level::BaselineLevel;
use const_oid::ObjectIdentifier;
use kokuin_hsm::KeyType;
use x509_cert::Certificate;
use x509_cert::ext::pkix::CertificatePolicies;

pub use kokuin_certs::oid::{LEVEL_1_POLICY, LEVEL_2_POLICY};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
/// The e-seal assurance levels of the Japanese e-seal guideline (REQUIREMENTS.md): level 2
/// needs an attested HSM key under an accredited CA; level 1 allows software keys.
pub enum AssuranceLevel {
    /// Level 1.
    One,
    /// Level 2.
    Two,
}

impl AssuranceLevel {
    /// The level numbered `n` (1 or 2).
    pub fn from_number(n: u8) -> Option<Self> {
        match n {
            1 => Some(Self::One),
            2 => Some(Self::Two),
            _ => None,
        }
    }

    /// The level's number.
    pub fn number(self) -> u8 {
        match self {
            Self::One => 1,
            Self::Two => 2,
        }
    }

    /// The dev PKI's certificate policy stating this level.
    pub fn policy(self) -> ObjectIdentifier {
        match self {
            Self::One => LEVEL_1_POLICY,
            Self::Two => LEVEL_2_POLICY,
        }
    }

    /// The lowest CAdES level a seal of this assurance level may have.
    pub fn minimum_baseline(self) -> BaselineLevel {
        match self {
            Self::One => BaselineLevel::B,
            Self::Two => BaselineLevel::T,
        }
    }
}

impl std::fmt::Display for AssuranceLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "level {}", self.number())
    }
}

/// The level a certificate states through its policies (the highest, if several).
pub fn level_of_certificate(
    cert: &Certificate,
    extra: &[(ObjectIdentifier, AssuranceLevel)],
) -> Option<AssuranceLevel> {
    let policies: CertificatePolicies = kokuin_certs::path::extension(cert).ok().flatten()?;
    policies
        .0
        .iter()
        .filter_map(|p| {
            let oid = p.policy_identifier;
            if oid == LEVEL_1_POLICY {
                Some(AssuranceLevel::One)
            } else if oid == LEVEL_2_POLICY {
                Some(AssuranceLevel::Two)
            } else {
                extra.iter().find(|(o, _)| *o == oid).map(|(_, l)| *l)
            }
        })
        .max()
}

/// What is known about a seal key when the service starts.
#[derive(Clone, Debug)]
pub struct KeyFacts {
    /// Generated in an HSM and never extractable, as the token attested.
    pub hsm_attested: bool,
    /// Its certificate chains to a CA the operator marked accredited.
    pub accredited_ca: bool,
    /// The level the certificate states.
    pub certificate_level: Option<AssuranceLevel>,
    /// The key's type (curve, modulus size, ML-DSA level), for the key-size rules.
    pub key_type: Option<KeyType>,
    /// Every seal is recorded in the audit log.
    pub audited: bool,
}

/// A rule a key breaks, named for the operator.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {reason}")]
pub struct RuleViolation {
    /// The rule's stable name (`level-2-hsm-key`, …).
    pub rule: &'static str,
    /// Why the key breaks it.
    pub reason: String,
}

/// Every rule of `level` the key breaks; empty when it may seal at that level.
pub fn check_key(level: AssuranceLevel, facts: &KeyFacts) -> Vec<RuleViolation> {
    let mut out = Vec::new();
    let mut fail = |rule, reason: String| out.push(RuleViolation { rule, reason });
    if facts.certificate_level.is_none_or(|c| c < level) {
        fail(
            "certificate-policy",
            format!(
                "the certificate states {}, the key is declared {level}",
                facts
                    .certificate_level
                    .map_or("no assurance level".into(), |l| l.to_string())
            ),
        );
    }
    match facts.key_type {
        Some(KeyType::Rsa(bits)) if bits < 2048 => {
            fail("algorithm", format!("RSA-{bits} is below 2048 bits"))
        }
        Some(_) => {}
        None => fail(
            "algorithm",
            "the key is neither RSA ≥ 2048, ECDSA P-256/P-384, ML-DSA nor composite".into(),
        ),
    }
    // Digests need no rule: every digest Kokuin accepts is SHA-256 or stronger.
    if level == AssuranceLevel::Two {
        if !facts.hsm_attested {
            fail(
                "level-2-hsm-key",
                "level 2 needs a key generated in an HSM and never extractable, as the token \
                 attests; this key is not"
                    .into(),
            );
        }
        if !facts.accredited_ca {
            fail(
                "level-2-accredited-ca",
                "the certificate does not chain to a CA marked accredited (eseal.accredited_cas)"
                    .into(),
            );
        }
        if !facts.audited {
            fail(
                "level-2-audit",
                "level 2 seals must all be audited; the audit log is off".into(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> KeyFacts {
        KeyFacts {
            hsm_attested: true,
            accredited_ca: true,
            certificate_level: Some(AssuranceLevel::Two),
            key_type: Some(KeyType::P256),
            audited: true,
        }
    }

    #[test]
    fn level_two_names_each_failed_rule() {
        assert!(check_key(AssuranceLevel::Two, &good()).is_empty());
        let software = KeyFacts {
            hsm_attested: false,
            ..good()
        };
        let v = check_key(AssuranceLevel::Two, &software);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].rule, "level-2-hsm-key");
        // Level 1 allows software keys.
        assert!(check_key(AssuranceLevel::One, &software).is_empty());
        let weak = KeyFacts {
            key_type: Some(KeyType::Rsa(1024)),
            certificate_level: Some(AssuranceLevel::One),
            accredited_ca: false,
            ..software
        };
        let rules: Vec<_> = check_key(AssuranceLevel::Two, &weak)
            .iter()
            .map(|r| r.rule)
            .collect();
        assert_eq!(
            rules,
            [
                "certificate-policy",
                "algorithm",
                "level-2-hsm-key",
                "level-2-accredited-ca"
            ]
        );
    }
}
