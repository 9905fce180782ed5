//! Object identifiers of the time-stamp protocol; the CMS ones it uses are `kokuin_cms::oid`.

use const_oid::ObjectIdentifier;

/// id-ct-TSTInfo, RFC 3161 §2.4.2.
pub const CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

pub use kokuin_cms::oid::{
    CONTENT_TYPE, MESSAGE_DIGEST, SIGNED_DATA, SIGNING_CERTIFICATE, SIGNING_CERTIFICATE_V2,
    SIGNING_TIME,
};
