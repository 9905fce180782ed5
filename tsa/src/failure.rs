//! PKIStatus and PKIFailureInfo (RFC 3161 §2.4.2) and the rejection responses built from them.

use crate::asn1::{PkiStatusInfo, TimeStampResp};
use der::Encode;
use der::asn1::{BitString, Int};

/// PKIFailureInfo named bits, RFC 3161 §2.4.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureInfo {
    /// Unrecognized or unsupported algorithm identifier.
    BadAlg = 0,
    /// Transaction not permitted or supported.
    BadRequest = 2,
    /// The data submitted has the wrong format.
    BadDataFormat = 5,
    /// The TSA's time source is not available.
    TimeNotAvailable = 14,
    /// The requested TSA policy is not supported by the TSA.
    UnacceptedPolicy = 15,
    /// The requested extension is not supported by the TSA.
    UnacceptedExtension = 16,
    /// The additional information requested could not be understood or is not available.
    AddInfoNotAvailable = 17,
    /// The request cannot be handled due to system failure.
    SystemFailure = 25,
}

impl FailureInfo {
    /// Every failure Kokuin sends.
    pub const ALL: [FailureInfo; 8] = [
        Self::BadAlg,
        Self::BadRequest,
        Self::BadDataFormat,
        Self::TimeNotAvailable,
        Self::UnacceptedPolicy,
        Self::UnacceptedExtension,
        Self::AddInfoNotAvailable,
        Self::SystemFailure,
    ];

    /// Its bit in the PKIFailureInfo BIT STRING.
    pub fn bit(self) -> usize {
        self as usize
    }

    /// Its name in RFC 3161 (`badAlg`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::BadAlg => "badAlg",
            Self::BadRequest => "badRequest",
            Self::BadDataFormat => "badDataFormat",
            Self::TimeNotAvailable => "timeNotAvailable",
            Self::UnacceptedPolicy => "unacceptedPolicy",
            Self::UnacceptedExtension => "unacceptedExtension",
            Self::AddInfoNotAvailable => "addInfoNotAvailable",
            Self::SystemFailure => "systemFailure",
        }
    }

    /// The DER BIT STRING with this one bit set: trailing zero bits are dropped
    /// (X.690 §11.2.2), so bit 25 takes four octets with six unused bits.
    pub fn to_bit_string(self) -> Result<BitString, der::Error> {
        let bit = self.bit();
        let mut bytes = vec![0u8; bit / 8 + 1];
        bytes[bit / 8] = 0x80 >> (bit % 8);
        BitString::new(u8::try_from(7 - bit % 8).unwrap_or(0), bytes)
    }

    /// The named bits set in a received PKIFailureInfo.
    pub fn from_bit_string(b: &BitString) -> Vec<FailureInfo> {
        let raw = b.raw_bytes();
        Self::ALL
            .into_iter()
            .filter(|f| {
                let bit = f.bit();
                raw.get(bit / 8)
                    .is_some_and(|byte| byte & (0x80 >> (bit % 8)) != 0)
            })
            .collect()
    }
}

impl std::fmt::Display for FailureInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A refused request: the failure bit and a human statusString.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{info}: {text}")]
pub struct Rejection {
    /// The PKIFailureInfo bit.
    pub info: FailureInfo,
    /// The statusString.
    pub text: String,
}

impl Rejection {
    /// A refusal with `info` and the statusString `text`.
    pub fn new(info: FailureInfo, text: impl Into<String>) -> Self {
        Self {
            info,
            text: text.into(),
        }
    }

    /// TimeStampResp with status rejection(2), the failure bit and statusString.
    pub fn to_response_der(&self) -> Vec<u8> {
        let build = || -> Result<Vec<u8>, der::Error> {
            TimeStampResp {
                status: PkiStatusInfo {
                    status: Int::new(&[status::REJECTION])?,
                    status_string: Some(vec![self.text.clone()]),
                    fail_info: Some(self.info.to_bit_string()?),
                },
                time_stamp_token: None,
            }
            .to_der()
        };
        // Encoding a three-field structure of valid parts cannot fail; should it ever, the
        // fixed bytes below still tell the client "rejection, systemFailure".
        build().unwrap_or_else(|_| SYSTEM_FAILURE_DER.to_vec())
    }
}

/// SEQUENCE { SEQUENCE { INTEGER 2, BIT STRING systemFailure } }.
const SYSTEM_FAILURE_DER: [u8; 14] = [
    0x30, 0x0c, 0x30, 0x0a, 0x02, 0x01, 0x02, 0x03, 0x05, 0x06, 0x00, 0x00, 0x00, 0x40,
];

/// PKIStatus values, RFC 3161 §2.4.2.
pub mod status {
    /// A token is in the reply.
    pub const GRANTED: u8 = 0;
    /// A token, with changes to the request (never sent by Kokuin).
    pub const GRANTED_WITH_MODS: u8 = 1;
    /// Refused; failInfo says why.
    pub const REJECTION: u8 = 2;
    /// Not yet (never sent by Kokuin).
    pub const WAITING: u8 = 3;
    /// A revocation is imminent.
    pub const REVOCATION_WARNING: u8 = 4;
    /// A revocation has occurred.
    pub const REVOCATION_NOTIFICATION: u8 = 5;

    /// The status's name, for messages.
    pub fn name(s: &[u8]) -> &'static str {
        match s {
            [0] => "granted",
            [1] => "grantedWithMods",
            [2] => "rejection",
            [3] => "waiting",
            [4] => "revocationWarning",
            [5] => "revocationNotification",
            _ => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;

    #[test]
    fn bit_strings_are_der() {
        assert_eq!(
            FailureInfo::BadAlg
                .to_bit_string()
                .unwrap()
                .to_der()
                .unwrap(),
            [0x03, 0x02, 0x07, 0x80]
        );
        assert_eq!(
            FailureInfo::SystemFailure
                .to_bit_string()
                .unwrap()
                .to_der()
                .unwrap(),
            [0x03, 0x05, 0x06, 0x00, 0x00, 0x00, 0x40]
        );
        for f in FailureInfo::ALL {
            let b = f.to_bit_string().unwrap();
            assert_eq!(FailureInfo::from_bit_string(&b), vec![f]);
        }
    }

    #[test]
    fn fallback_is_a_valid_response() {
        let r = TimeStampResp::from_der(&SYSTEM_FAILURE_DER).unwrap();
        assert_eq!(
            FailureInfo::from_bit_string(r.status.fail_info.as_ref().unwrap()),
            vec![FailureInfo::SystemFailure]
        );
    }
}
