//! Object identifiers of CAdES (EN 319 122-1) and the CMS attributes seals carry.

use const_oid::ObjectIdentifier;
pub use kokuin_tsa::oid::{
    CONTENT_TYPE, MESSAGE_DIGEST, SIGNED_DATA, SIGNING_CERTIFICATE_V2, SIGNING_TIME,
};

/// id-data, RFC 5652 §4: what a seal's eContentType is.
pub const DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// id-aa-signatureTimeStampToken, RFC 3161 Appendix A / EN 319 122-1 §5.3.
pub const SIGNATURE_TIME_STAMP: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// id-aa-ets-archiveTimestampV3, EN 319 122-1 §5.5.3.
pub const ARCHIVE_TIME_STAMP_V3: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.1733.2.4");
/// id-aa-ATSHashIndex-v3, EN 319 122-1 §5.5.2.
pub const ATS_HASH_INDEX_V3: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.19122.1.5");
/// id-aa-ets-certValues and id-aa-ets-revocationValues: EN 319 122-1 §5.5.1 forbids them in
/// baseline B-LT; a seal carrying them is not extended.
pub const CERTIFICATE_VALUES: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.23");
/// See [`CERTIFICATE_VALUES`].
pub const REVOCATION_VALUES: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.24");
