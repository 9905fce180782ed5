//! E-seal certificates for legal persons (EN 319 412-3 §4.2.1): the subject names the
//! organisation with exactly one each of C, O, organizationIdentifier and CN, and a Japanese
//! organisation is identified by `NTRJP-` and its 13-digit corporate number (法人番号).

use crate::oid;
use crate::path::subject_of;
use const_oid::ObjectIdentifier;
use der::asn1::{PrintableStringRef, Utf8StringRef};
use der::{Tag, Tagged};
use x509_cert::Certificate;
use x509_cert::name::Name;

/// Why a name is not an e-seal subject (EN 319 412-3 §4.2.1) or its corporate number is not
/// valid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ESealNameError {
    #[error("{0:?} is not a corporate number: 13 digits are required")]
    /// A corporate number that is not 13 digits.
    NotThirteenDigits(String),
    #[error("corporate number {number}: check digit is {found}, the other digits give {expected}")]
    /// A corporate number whose check digit is wrong.
    CheckDigit {
        /// The number.
        number: String,
        /// Its check digit.
        found: u32,
        /// The check digit its other digits give.
        expected: u32,
    },
    #[error("organizationIdentifier {0:?} is not NTRJP- followed by a corporate number")]
    /// An organizationIdentifier that is not `NTRJP-` and a corporate number.
    Identifier(String),
    #[error("\"{subject}\": EN 319 412-3 requires exactly one {attribute}, found {count}")]
    /// A required attribute missing or repeated.
    Attribute {
        /// The name, as text.
        subject: String,
        /// The attribute.
        attribute: &'static str,
        /// How many times it occurs.
        count: usize,
    },
    #[error("\"{subject}\": attribute {attribute} is not a string")]
    /// An attribute whose value is not a string.
    Value {
        /// The name, as text.
        subject: String,
        /// The attribute.
        attribute: &'static str,
    },
}

/// Checks a 法人番号: 13 digits, the first a check digit over the other twelve. Counting
/// the twelve from the right (n = 1…12), with P(n) the digit and Q(n) 1 for odd n and 2 for
/// even: check = 9 − (Σ P(n)·Q(n) mod 9) (法人番号の指定等に関する省令 第2条).
pub fn check_corporate_number(number: &str) -> Result<(), ESealNameError> {
    let digits: Vec<u32> = number.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 13 || number.len() != 13 {
        return Err(ESealNameError::NotThirteenDigits(number.to_string()));
    }
    let sum: u32 = digits[1..]
        .iter()
        .rev()
        .enumerate()
        .map(|(i, p)| p * if i % 2 == 0 { 1 } else { 2 })
        .sum();
    let expected = 9 - sum % 9;
    if digits[0] != expected {
        return Err(ESealNameError::CheckDigit {
            number: number.to_string(),
            found: digits[0],
            expected,
        });
    }
    Ok(())
}

/// The corporate number in an organizationIdentifier value (`NTRJP-` + 13 digits), checked.
pub fn corporate_number_of_identifier(value: &str) -> Result<&str, ESealNameError> {
    let number = value
        .strip_prefix("NTRJP-")
        .ok_or_else(|| ESealNameError::Identifier(value.to_string()))?;
    check_corporate_number(number)?;
    Ok(number)
}

/// Who an e-seal certificate names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealSubject {
    /// countryName.
    pub country: String,
    /// organizationName: the legal person.
    pub organization: String,
    /// organizationIdentifier, e.g. `NTRJP-` and the corporate number.
    pub organization_identifier: String,
    /// commonName: the name the seal is known by.
    pub common_name: String,
}

impl SealSubject {
    /// The corporate number, when the identifier is a Japanese one.
    pub fn corporate_number(&self) -> Option<&str> {
        corporate_number_of_identifier(&self.organization_identifier).ok()
    }

    /// Reads and checks an e-seal subject (EN 319 412-3 §4.2.1). A Japanese organisation's
    /// identifier must carry a valid corporate number.
    pub fn from_certificate(cert: &Certificate) -> Result<Self, ESealNameError> {
        Self::from_name(cert.tbs_certificate().subject(), &subject_of(cert))
    }

    /// Reads and checks an e-seal subject from a name; `display` is the name as text, for
    /// messages.
    pub fn from_name(name: &Name, display: &str) -> Result<Self, ESealNameError> {
        let one = |oid: ObjectIdentifier, attribute: &'static str| {
            let values: Vec<_> = name.iter().filter(|atv| atv.oid == oid).collect();
            if values.len() != 1 {
                return Err(ESealNameError::Attribute {
                    subject: display.to_string(),
                    attribute,
                    count: values.len(),
                });
            }
            string_value(&values[0].value).ok_or(ESealNameError::Value {
                subject: display.to_string(),
                attribute,
            })
        };
        let s = Self {
            country: one(oid::AT_COUNTRY, "countryName (C)")?,
            organization: one(oid::AT_ORGANIZATION, "organizationName (O)")?,
            organization_identifier: one(
                oid::AT_ORGANIZATION_IDENTIFIER,
                "organizationIdentifier",
            )?,
            common_name: one(oid::AT_COMMON_NAME, "commonName (CN)")?,
        };
        if s.organization_identifier.starts_with("NTRJP-") || s.country == "JP" {
            corporate_number_of_identifier(&s.organization_identifier)?;
        }
        Ok(s)
    }

    /// The subject Name, as RFC 4514 text parsed by `x509-cert`; organizationIdentifier is
    /// written by OID because not every parser knows its short name.
    pub fn to_name(&self) -> Result<Name, ESealNameError> {
        let escape = |s: &str| {
            s.chars()
                .flat_map(|c| match c {
                    ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=' => vec!['\\', c],
                    _ => vec![c],
                })
                .collect::<String>()
        };
        let text = format!(
            "CN={},2.5.4.97={},O={},C={}",
            escape(&self.common_name),
            escape(&self.organization_identifier),
            escape(&self.organization),
            escape(&self.country)
        );
        let name: Name = text
            .parse()
            .map_err(|_| ESealNameError::Identifier(self.organization_identifier.clone()))?;
        Self::from_name(&name, &text)?;
        Ok(name)
    }
}

fn string_value(v: &der::Any) -> Option<String> {
    match v.tag() {
        Tag::Utf8String => v
            .decode_as::<Utf8StringRef<'_>>()
            .ok()
            .map(|s| s.as_str().to_string()),
        Tag::PrintableString => v
            .decode_as::<PrintableStringRef<'_>>()
            .ok()
            .map(|s| s.as_str().to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corporate_numbers_of_real_organisations_check() {
        // 国税庁 and トヨタ自動車株式会社, as published by the National Tax Agency.
        check_corporate_number("7000012050002").unwrap();
        check_corporate_number("1180301018771").unwrap();
        assert_eq!(
            check_corporate_number("8000012050002"),
            Err(ESealNameError::CheckDigit {
                number: "8000012050002".into(),
                found: 8,
                expected: 7
            })
        );
        assert!(check_corporate_number("700001205000").is_err());
        assert!(check_corporate_number("70000120500０2").is_err());
        assert!(corporate_number_of_identifier("NTRGB-7000012050002").is_err());
    }

    #[test]
    fn subject_round_trips_and_is_checked() {
        let s = SealSubject {
            country: "JP".into(),
            organization: "Kokuin, Inc.".into(),
            organization_identifier: "NTRJP-7000012050002".into(),
            common_name: "Invoices".into(),
        };
        let name = s.to_name().unwrap();
        assert_eq!(SealSubject::from_name(&name, "").unwrap(), s);
        assert_eq!(s.corporate_number(), Some("7000012050002"));
        let bad = SealSubject {
            organization_identifier: "NTRJP-7000012050003".into(),
            ..s.clone()
        };
        assert!(matches!(
            bad.to_name(),
            Err(ESealNameError::CheckDigit { .. })
        ));
        let no_org_id: Name = "CN=x,O=y,C=JP".parse().unwrap();
        assert!(matches!(
            SealSubject::from_name(&no_org_id, ""),
            Err(ESealNameError::Attribute {
                attribute: "organizationIdentifier",
                ..
            })
        ));
    }
}
