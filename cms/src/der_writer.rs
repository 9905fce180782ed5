//! A small DER writer for CMS structures built from pre-encoded parts: tokens and seals are
//! assembled from DER pieces encoded once per key, and extending a seal must keep every
//! earlier encoding byte for byte, which re-encoding decoded `cms` types would not.

use der::Encode;
use std::cmp::Ordering;

/// Tag of a universal SEQUENCE (constructed).
pub const SEQUENCE: u8 = 0x30;
/// Tag of a universal SET (constructed).
pub const SET: u8 = 0x31;
/// Tag of a universal OCTET STRING (primitive).
pub const OCTET_STRING: u8 = 0x04;
/// Tag of a constructed context-specific `[0]`.
pub const CONTEXT_0: u8 = 0xa0;
/// Tag of a constructed context-specific `[1]`.
pub const CONTEXT_1: u8 = 0xa1;

/// `Attribute ::= SEQUENCE { attrType OID, attrValues SET OF value }` with one value.
pub fn attribute(
    attr_type: &const_oid::ObjectIdentifier,
    value_der: &[u8],
) -> Result<Vec<u8>, der::Error> {
    Ok(tlv(
        SEQUENCE,
        &[&attr_type.to_der()?, &tlv(SET, &[value_der])],
    ))
}

/// X.690 §11.6: SET OF components in ascending order of their encodings, the shorter padded
/// with zero octets.
pub fn der_set_order(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            a.get(i)
                .copied()
                .unwrap_or(0)
                .cmp(&b.get(i).copied().unwrap_or(0))
        })
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// One DER TLV whose value is the concatenation of `parts` (definite length, minimal form).
pub fn tlv(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + 6);
    header(&mut out, tag, len);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// A tag and a definite length (X.690 §8.1.3: short form below 128, else long form).
fn header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// A DER value still in parts: encoded pieces and the TLVs around them, written out in one
/// pass into a buffer of the exact size. Nesting [`tlv`] calls copies the innermost content
/// once per enclosing TLV, with the copies alive together; an enveloped document of tens of
/// MiB must be copied once.
pub enum Der<'a> {
    /// Octets already DER-encoded, copied as they are.
    Raw(&'a [u8]),
    /// A TLV with this tag around the parts, its length computed from them.
    Tlv(u8, Vec<Der<'a>>),
    /// Content of this length that is already where it belongs (see [`Der::split`]).
    Hole(usize),
}

impl Der<'_> {
    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        match self {
            Der::Raw(b) => b.len(),
            Der::Hole(n) => *n,
            Der::Tlv(_, parts) => {
                let n: usize = parts.iter().map(Der::encoded_len).sum();
                let long = if n < 0x80 {
                    0
                } else {
                    (usize::BITS - n.leading_zeros()).div_ceil(8) as usize
                };
                2 + long + n
            }
        }
    }

    /// Writes into `out[0]` up to the hole, into `out[1]` after it (`after` says which).
    fn write(&self, out: &mut [Vec<u8>; 2], after: &mut bool) {
        match self {
            Der::Raw(b) => out[usize::from(*after)].extend_from_slice(b),
            Der::Hole(_) => *after = true,
            Der::Tlv(tag, parts) => {
                let len = parts.iter().map(Der::encoded_len).sum();
                header(&mut out[usize::from(*after)], *tag, len);
                for p in parts {
                    p.write(out, after);
                }
            }
        }
    }

    /// The encoding, for a value without a hole.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = [Vec::with_capacity(self.encoded_len()), Vec::new()];
        self.write(&mut out, &mut false);
        let [before, _] = out;
        before
    }

    /// The encoding before and after the (first) hole: a large content already in a buffer
    /// is wrapped where it lies instead of being copied into a new one.
    pub fn split(&self) -> (Vec<u8>, Vec<u8>) {
        let mut out = [Vec::new(), Vec::new()];
        self.write(&mut out, &mut false);
        let [before, after] = out;
        (before, after)
    }
}

/// A SignerInfo (RFC 5652 §5.3), version 1 with an issuerAndSerialNumber `sid`, over `attrs`
/// (each an encoded Attribute): they are put in DER order, signed as a SET OF (§5.4) by
/// `sign`, and carried under `[0] IMPLICIT`. Tokens and seals both sign this way.
pub fn signer_info<E>(
    sid: &[u8],
    digest_alg: &[u8],
    attrs: &mut [&[u8]],
    signature_alg: &[u8],
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, E> {
    attrs.sort_by(|a, b| der_set_order(a, b));
    let mut signed_attrs = tlv(SET, attrs);
    let signature = sign(&signed_attrs)?;
    signed_attrs[0] = CONTEXT_0;
    Ok(tlv(
        SEQUENCE,
        &[
            &[0x02, 0x01, 0x01],
            sid,
            digest_alg,
            &signed_attrs,
            signature_alg,
            &tlv(OCTET_STRING, &[&signature]),
        ],
    ))
}

/// Splits one TLV off `input`: (the whole TLV, its value, what follows). Definite lengths
/// of up to four octets and single-octet tags: all CMS uses. None if it does not fit.
pub fn read_tlv(input: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let first = *input.get(1)?;
    let (len, hdr) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for b in input.get(2..2 + n)? {
            len = (len << 8) | usize::from(*b);
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    let whole = input.get(..end)?;
    Some((whole, &whole[hdr..], &input[end..]))
}

/// The TLVs that make up `value`, in order.
pub fn children(mut value: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !value.is_empty() {
        let (whole, _, rest) = read_tlv(value)?;
        out.push(whole);
        value = rest;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_lengths_are_minimal() {
        assert_eq!(tlv(0x04, &[&[1, 2]]), [0x04, 0x02, 1, 2]);
        let v = vec![0u8; 200];
        assert_eq!(&tlv(0x04, &[&v])[..3], [0x04, 0x81, 200]);
        let v = vec![0u8; 300];
        assert_eq!(&tlv(0x04, &[&v])[..4], [0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn set_order_pads_with_zeros() {
        assert_eq!(der_set_order(&[1, 2], &[1, 2, 0]), Ordering::Equal);
        assert_eq!(der_set_order(&[0x30, 0x0f], &[0x30, 0x81]), Ordering::Less);
    }
}
