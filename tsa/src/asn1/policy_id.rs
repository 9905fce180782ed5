//! TSAPolicyId (RFC 3161 §2.4.1): an OBJECT IDENTIFIER whose arcs may be up to 128 bits.
//!
//! `const-oid` 0.10 refuses arcs over 32 bits, yet policy OIDs under the UUID arc
//! (ITU-T X.667: `2.25.<128-bit integer>`) are the ordinary way to get an OID without a
//! registration, and Kokuin's dev policy is one. This type keeps the DER content octets and
//! checks them as X.690 §8.19 requires.

use der::{DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Tag, Writer};
use std::fmt;
use std::str::FromStr;

/// Longest OID content accepted: far beyond any real policy, small enough to bound memory.
const MAX_LEN: usize = 128;

/// A `TSAPolicyId` (RFC 3161 §2.4.1): an OBJECT IDENTIFIER of any arc size, UUID arcs
/// (X.667, 128 bits) included.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyId {
    content: Vec<u8>,
}

impl PolicyId {
    /// The arcs; `None` only for content that [`Self::validate`] would have refused.
    pub fn arcs(&self) -> Option<Vec<u128>> {
        let mut subids = Vec::new();
        let mut acc: u128 = 0;
        for b in &self.content {
            acc = acc.checked_mul(128)?.checked_add(u128::from(b & 0x7f))?;
            if b & 0x80 == 0 {
                subids.push(acc);
                acc = 0;
            }
        }
        let first = *subids.first()?;
        let (a0, a1) = match first {
            0..=39 => (0, first),
            40..=79 => (1, first - 40),
            _ => (2, first - 80),
        };
        let mut arcs = vec![a0, a1];
        arcs.extend_from_slice(&subids[1..]);
        Some(arcs)
    }

    /// The OID of these arcs (X.690 §8.19 encoding).
    pub fn from_arcs(arcs: &[u128]) -> Result<Self, PolicyIdError> {
        let (&a0, rest) = arcs.split_first().ok_or(PolicyIdError::Empty)?;
        let (&a1, rest) = rest.split_first().ok_or(PolicyIdError::OneArc)?;
        if a0 > 2 || (a0 < 2 && a1 > 39) {
            return Err(PolicyIdError::FirstArcs);
        }
        let first = (a0 * 40)
            .checked_add(a1)
            .ok_or(PolicyIdError::ArcTooLarge)?;
        let mut content = Vec::new();
        for arc in std::iter::once(first).chain(rest.iter().copied()) {
            let mut groups = vec![(arc & 0x7f) as u8];
            let mut v = arc >> 7;
            while v > 0 {
                groups.push((v & 0x7f) as u8 | 0x80);
                v >>= 7;
            }
            content.extend(groups.iter().rev());
        }
        if content.len() > MAX_LEN {
            return Err(PolicyIdError::TooLong);
        }
        Ok(Self { content })
    }

    /// X.690 §8.19.2: every subidentifier minimal (no leading 0x80) and terminated.
    fn validate(content: &[u8]) -> bool {
        if content.is_empty()
            || content.len() > MAX_LEN
            || content.last().is_some_and(|b| b & 0x80 != 0)
        {
            return false;
        }
        let mut start = true;
        for b in content {
            if start && *b == 0x80 {
                return false;
            }
            start = b & 0x80 == 0;
        }
        Self {
            content: content.to_vec(),
        }
        .arcs()
        .is_some()
    }
}

/// Why a TSAPolicyId cannot be made (X.660 arcs, X.690 §8.19 encoding).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyIdError {
    /// No arcs at all.
    #[error("empty OID")]
    Empty,
    /// One arc: an OID has at least two.
    #[error("an OID has at least two arcs")]
    OneArc,
    /// The first two arcs are outside X.660's ranges.
    #[error("first arcs out of range (X.660)")]
    FirstArcs,
    /// An arc that does not fit.
    #[error("arc too large")]
    ArcTooLarge,
    /// Longer than this crate accepts in a request.
    #[error("OID too long")]
    TooLong,
    /// Text that is not dotted decimal arcs.
    #[error("{0:?} is not an object identifier")]
    NotAnOid(String),
}

impl FromStr for PolicyId {
    type Err = PolicyIdError;
    fn from_str(s: &str) -> Result<Self, PolicyIdError> {
        let arcs = s
            .split('.')
            .map(|a| {
                if a.is_empty() || (a.len() > 1 && a.starts_with('0')) {
                    return Err(PolicyIdError::NotAnOid(s.to_string()));
                }
                a.parse::<u128>()
                    .map_err(|_| PolicyIdError::NotAnOid(s.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_arcs(&arcs)
    }
}

impl From<const_oid::ObjectIdentifier> for PolicyId {
    fn from(o: const_oid::ObjectIdentifier) -> Self {
        Self {
            content: o.as_bytes().to_vec(),
        }
    }
}

impl fmt::Display for PolicyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.arcs() {
            Some(a) => {
                let s: Vec<String> = a.iter().map(u128::to_string).collect();
                f.write_str(&s.join("."))
            }
            None => f.write_str("(invalid OID)"),
        }
    }
}

impl fmt::Debug for PolicyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PolicyId({self})")
    }
}

impl FixedTag for PolicyId {
    const TAG: Tag = Tag::ObjectIdentifier;
}

impl EncodeValue for PolicyId {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.content.len())
    }
    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(&self.content)
    }
}

impl<'a> DecodeValue<'a> for PolicyId {
    type Error = der::Error;
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let len = usize::try_from(header.length())?;
        if len == 0 || len > MAX_LEN {
            return Err(reader.error(Tag::ObjectIdentifier.value_error()));
        }
        let content = reader.read_vec(header.length())?;
        if !Self::validate(&content) {
            return Err(reader.error(Tag::ObjectIdentifier.value_error()));
        }
        Ok(Self { content })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Decode, Encode};

    #[test]
    fn uuid_arcs_round_trip() {
        let s = "2.25.184732620371192929406940453947404583605";
        let p: PolicyId = s.parse().unwrap();
        assert_eq!(p.to_string(), s);
        let der = p.to_der().unwrap();
        assert_eq!(PolicyId::from_der(&der).unwrap(), p);
        let small: PolicyId = "1.3.6.1.4.1.4146.2.2".parse().unwrap();
        let o = const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.4146.2.2");
        assert_eq!(small.to_der().unwrap(), o.to_der().unwrap());
        assert_eq!(PolicyId::from(o), small);
    }

    #[test]
    fn refuses_malformed() {
        for bad in ["", "1", "3.1", "1.40", "1.2.03", "1..2", "x.1"] {
            assert!(bad.parse::<PolicyId>().is_err(), "{bad}");
        }
        // Leading 0x80 in a subidentifier; unterminated last subidentifier.
        assert!(PolicyId::from_der(&[0x06, 0x03, 0x2a, 0x80, 0x01]).is_err());
        assert!(PolicyId::from_der(&[0x06, 0x02, 0x2a, 0x81]).is_err());
    }
}
