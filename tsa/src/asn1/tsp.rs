//! Time-Stamp Protocol types, RFC 3161 §2.4, field for field.
//!
//! Hand-written: RustCrypto's `x509-tsp` is built on `der` 0.7, and Kokuin needs
//! GeneralizedTime with fractional seconds (see [`super::time`]).

use super::policy_id::PolicyId;
use super::time::GenTime;
use der::asn1::{Int, OctetString};
use der::{Any, Sequence, ValueOrd};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::name::GeneralName;

/// `MessageImprint`, RFC 3161 §2.4.1.
#[derive(Clone, Debug, Eq, PartialEq, Sequence, ValueOrd)]
pub struct MessageImprint {
    /// The hash algorithm.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// The hash of the data.
    pub hashed_message: OctetString,
}

/// `TimeStampReq`, RFC 3161 §2.4.1.
///
/// `certReq` is `BOOLEAN DEFAULT FALSE`; DER omits a default value, but BouncyCastle's request
/// generator writes an explicit FALSE when told `setCertReq(false)`. It is read here as
/// optional so those clients work; an explicit FALSE means what the default means.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampReq {
    /// `v1`.
    pub version: Int,
    /// The hash of the data to be time-stamped.
    pub message_imprint: MessageImprint,
    /// The TSA policy asked for.
    #[asn1(optional = "true")]
    pub req_policy: Option<PolicyId>,
    /// A number the token must echo.
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// Whether the token must carry the TSA's certificate.
    #[asn1(optional = "true")]
    pub cert_req: Option<bool>,
    /// `[0] Extensions`.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// `PKIStatusInfo`, RFC 3161 §2.4.2 (from RFC 4210 §5.2.3).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    /// PKIStatus (see `failure::status`).
    pub status: Int,
    /// PKIFreeText: why, for a person.
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    /// PKIFailureInfo bits.
    #[asn1(optional = "true")]
    pub fail_info: Option<der::asn1::BitString>,
}

/// `TimeStampResp`, RFC 3161 §2.4.2, with the token kept as its DER (a ContentInfo).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    /// The status.
    pub status: PkiStatusInfo,
    /// The token, when granted.
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<Any>,
}

/// `Accuracy`, RFC 3161 §2.4.2.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, Sequence)]
pub struct Accuracy {
    /// Whole seconds.
    #[asn1(optional = "true")]
    pub seconds: Option<u32>,
    /// `[0]` milliseconds, 1–999.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    /// `[1]` microseconds, 1–999.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

impl std::fmt::Display for Accuracy {
    /// `1s 0ms 0us`: absent fields are zero (RFC 3161 §2.4.2).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}s {}ms {}us",
            self.seconds.unwrap_or(0),
            self.millis.unwrap_or(0),
            self.micros.unwrap_or(0)
        )
    }
}

/// `TSTInfo`, RFC 3161 §2.4.2.
///
/// `ordering` (BOOLEAN DEFAULT FALSE) is read as optional so that a non-DER explicit FALSE in
/// another TSA's token is still understood; Kokuin never writes it (EN 319 422 §5.2).
/// `tsa` is a CHOICE and so explicitly tagged.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TstInfo {
    /// `v1`.
    pub version: Int,
    /// The TSA policy the token was issued under.
    pub policy: PolicyId,
    /// The request's imprint, echoed.
    pub message_imprint: MessageImprint,
    /// Unique per token.
    pub serial_number: Int,
    /// When the token was made.
    pub gen_time: GenTime,
    /// The bound of genTime's error.
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    /// Whether genTimes order tokens (absent: FALSE).
    #[asn1(optional = "true")]
    pub ordering: Option<bool>,
    /// The request's nonce, echoed.
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// `[0]` the TSA's name.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    /// `[1] Extensions`.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}
