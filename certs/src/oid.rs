//! The object identifiers of the certificate profiles and validation: extensions
//! (RFC 5280 §4.2), key purposes, name attributes (X.520) and the dev PKI's level policies.
//! Identifiers only; `path`, `profile` and `eseal` use them.

use const_oid::ObjectIdentifier;

/// RFC 5280 §4.2.1.2.
pub const CE_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
/// RFC 5280 §4.2.1.3.
pub const CE_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
/// RFC 3280 §4.2.1.4 (kept by EN 319 421 for TSU keys).
pub const CE_PRIVATE_KEY_USAGE_PERIOD: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.16");
/// RFC 5280 §4.2.1.6.
pub const CE_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
/// RFC 5280 §4.2.1.9.
pub const CE_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
/// RFC 5280 §4.2.1.4.
pub const CE_CERTIFICATE_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32");
/// RFC 5280 §4.2.1.1.
pub const CE_AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
/// RFC 5280 §4.2.1.12.
pub const CE_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");

/// id-kp-timeStamping, RFC 3161 §2.3.
pub const KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
/// id-kp-serverAuth, RFC 5280 §4.2.1.12.
pub const KP_SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
/// id-kp-clientAuth, RFC 5280 §4.2.1.12.
pub const KP_CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

/// X.520 commonName.
pub const AT_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// X.520 countryName.
pub const AT_COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
/// X.520 organizationName.
pub const AT_ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
/// X.520 organizationIdentifier (EN 319 412-1 §5.1.4).
pub const AT_ORGANIZATION_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.97");

/// Certificate policy OIDs stating the e-seal assurance level in the dev PKI's certificates,
/// under IANA's enterprise number for documentation (32473, RFC 5612): no registry assigns
/// e-seal level OIDs yet, and neither a UUID arc (2.25) nor the example arc (2.999) fits
/// `const-oid`. An accredited CA states the level with its own policy OIDs, which operators
/// map to levels in `eseal.level_policies`.
pub const LEVEL_1_POLICY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.4419.1.1");
/// Level 2 of [`LEVEL_1_POLICY`]'s arc.
pub const LEVEL_2_POLICY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.4419.1.2");
