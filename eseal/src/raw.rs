//! A seal split into its encoded parts (RFC 5652 §5.1, §5.3), so that extending it adds
//! certificates, CRLs and unsigned attributes while every earlier part keeps its exact bytes
//! (EN 319 122-1 §5.5: "earlier encodings preserved"). Only definite-length DER is accepted,
//! with one SignerInfo: the shape every Kokuin seal has.

use kokuin_cms::der_writer::{CONTEXT_0, CONTEXT_1, Der, SEQUENCE, SET, children, read_tlv, tlv};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a DER CMS SignedData with one SignerInfo: {0}")]
/// A seal whose encoding could not be taken apart, and where.
pub struct RawError(pub &'static str);

/// SignedData, part by part. The encapsulated content is borrowed from the encoding parsed:
/// an enveloped document of tens of MiB is not copied to look at or extend a seal.
#[derive(Clone, Debug)]
pub struct RawSignedData<'a> {
    /// The ContentInfo's contentType TLV (id-signedData).
    pub content_type: Vec<u8>,
    /// The SignedData's `version` TLV.
    pub version: Vec<u8>,
    /// The `digestAlgorithms` SET TLV.
    pub digest_algorithms: Vec<u8>,
    /// The `encapContentInfo` TLV, borrowed.
    pub encap_content_info: &'a [u8],
    /// Each CertificateChoices of `certificates [0]`, as encoded.
    pub certificates: Vec<Vec<u8>>,
    /// Each RevocationInfoChoice of `crls [1]`, as encoded.
    pub crls: Vec<Vec<u8>>,
    /// The one SignerInfo.
    pub signer: RawSignerInfo,
}

/// SignerInfo, part by part.
#[derive(Clone, Debug)]
pub struct RawSignerInfo {
    /// The SignerInfo's `version` TLV.
    pub version: Vec<u8>,
    /// The `sid` (SignerIdentifier) TLV.
    pub sid: Vec<u8>,
    /// The `digestAlgorithm` TLV.
    pub digest_algorithm: Vec<u8>,
    /// `[0] IMPLICIT SignedAttributes`, as encoded.
    pub signed_attrs: Vec<u8>,
    /// The `signatureAlgorithm` TLV.
    pub signature_algorithm: Vec<u8>,
    /// The `signature` OCTET STRING TLV.
    pub signature: Vec<u8>,
    /// Each Attribute of `unsignedAttrs [1]`, as encoded.
    pub unsigned_attrs: Vec<Vec<u8>>,
}

impl<'a> RawSignedData<'a> {
    /// Takes a ContentInfo with SignedData and one SignerInfo apart; checks only its shape.
    pub fn parse(der: &'a [u8]) -> Result<Self, RawError> {
        let err = RawError;
        let (whole, ci, rest) = read_tlv(der).ok_or(err("ContentInfo"))?;
        if !rest.is_empty() || whole[0] != SEQUENCE {
            return Err(err("trailing data after ContentInfo"));
        }
        let (ct, rest) = read_tlv(ci)
            .map(|(w, _, r)| (w, r))
            .ok_or(err("contentType"))?;
        let (_, explicit, _) = read_tlv(rest).ok_or(err("content"))?;
        let (_, sd, _) = read_tlv(explicit).ok_or(err("SignedData"))?;
        let parts = children(sd).ok_or(err("SignedData fields"))?;
        let mut it = parts.into_iter().peekable();
        let mut next = |what| it.next().map(<[u8]>::to_vec).ok_or(err(what));
        let version = next("version")?;
        let digest_algorithms = next("digestAlgorithms")?;
        let encap_content_info = it.next().ok_or(err("encapContentInfo"))?;
        let mut rest: Vec<&[u8]> = Vec::new();
        for p in it {
            rest.push(p);
        }
        let mut certificates = Vec::new();
        let mut crls = Vec::new();
        let mut idx = 0;
        if rest.get(idx).is_some_and(|p| p[0] == CONTEXT_0) {
            let (_, v, _) = read_tlv(rest[idx]).ok_or(err("certificates"))?;
            certificates = list(v).ok_or(err("certificates"))?;
            idx += 1;
        }
        if rest.get(idx).is_some_and(|p| p[0] == CONTEXT_1) {
            let (_, v, _) = read_tlv(rest[idx]).ok_or(err("crls"))?;
            crls = list(v).ok_or(err("crls"))?;
            idx += 1;
        }
        let infos = rest.get(idx).ok_or(err("signerInfos"))?;
        if idx + 1 != rest.len() || infos[0] != SET {
            return Err(err("signerInfos"));
        }
        let (_, infos_v, _) = read_tlv(infos).ok_or(err("signerInfos"))?;
        let infos = children(infos_v).ok_or(err("signerInfos"))?;
        let [si] = infos.as_slice() else {
            return Err(err("exactly one SignerInfo"));
        };
        Ok(Self {
            content_type: ct.to_vec(),
            version,
            digest_algorithms,
            encap_content_info,
            certificates,
            crls,
            signer: RawSignerInfo::parse(si)?,
        })
    }

    /// The ContentInfo, written in one pass: the encapsulated content (an enveloped
    /// document) is copied once.
    pub fn encode(&self) -> Vec<u8> {
        fn list(tag: u8, items: &[Vec<u8>]) -> Option<Der<'_>> {
            (!items.is_empty()).then(|| Der::Tlv(tag, items.iter().map(|c| Der::Raw(c)).collect()))
        }
        let signer_infos = tlv(SET, &[&self.signer.encode()]);
        let mut sd = vec![
            Der::Raw(&self.version),
            Der::Raw(&self.digest_algorithms),
            Der::Raw(self.encap_content_info),
        ];
        sd.extend(list(CONTEXT_0, &self.certificates));
        sd.extend(list(CONTEXT_1, &self.crls));
        sd.push(Der::Raw(&signer_infos));
        Der::Tlv(
            SEQUENCE,
            vec![
                Der::Raw(&self.content_type),
                Der::Tlv(CONTEXT_0, vec![Der::Tlv(SEQUENCE, sd)]),
            ],
        )
        .to_vec()
    }

    /// The eContentType TLV (EN 319 122-1 §5.5.3 item 1).
    pub fn econtent_type(&self) -> Option<&[u8]> {
        let (_, v, _) = read_tlv(self.encap_content_info)?;
        read_tlv(v).map(|(w, _, _)| w)
    }

    /// The encapsulated content's octets, when enveloping.
    pub fn econtent(&self) -> Option<&'a [u8]> {
        let (_, v, _) = read_tlv(self.encap_content_info)?;
        let (_, _, rest) = read_tlv(v)?;
        let (_, explicit, _) = read_tlv(rest)?;
        let (_, octets, _) = read_tlv(explicit)?;
        Some(octets)
    }
}

impl RawSignerInfo {
    /// The `sid`, decoded: which certificate made the signature.
    pub fn signer_identifier(&self) -> Option<cms::signed_data::SignerIdentifier> {
        der::Decode::from_der(&self.sid).ok()
    }

    /// The octets of the message-digest signed attribute (RFC 5652 §11.2), when there is
    /// exactly one with one value: what the signature says the content hashes to.
    pub fn message_digest(&self) -> Option<Vec<u8>> {
        let oid = der::Encode::to_der(&crate::oid::MESSAGE_DIGEST).ok()?;
        let (_, attrs, _) = read_tlv(&self.signed_attrs)?;
        let mut found = children(attrs)?
            .into_iter()
            .filter_map(attribute_parts)
            .filter(|(t, _)| *t == oid.as_slice());
        let (_, values) = found.next()?;
        if found.next().is_some() || values.len() != 1 {
            return None;
        }
        let (whole, octets, _) = read_tlv(&values[0])?;
        (whole.first() == Some(&0x04)).then(|| octets.to_vec())
    }

    fn parse(si: &[u8]) -> Result<Self, RawError> {
        let err = RawError;
        let (_, v, _) = read_tlv(si).ok_or(err("SignerInfo"))?;
        let parts = children(v).ok_or(err("SignerInfo fields"))?;
        let (fixed, unsigned) = match parts.len() {
            6 => (&parts[..], None),
            7 if parts[6][0] == CONTEXT_1 => (&parts[..6], Some(parts[6])),
            _ => return Err(err("SignerInfo fields")),
        };
        if fixed[3][0] != CONTEXT_0 {
            return Err(err("signedAttrs"));
        }
        let unsigned_attrs = match unsigned {
            Some(u) => {
                list(read_tlv(u).ok_or(err("unsignedAttrs"))?.1).ok_or(err("unsignedAttrs"))?
            }
            None => Vec::new(),
        };
        Ok(Self {
            version: fixed[0].to_vec(),
            sid: fixed[1].to_vec(),
            digest_algorithm: fixed[2].to_vec(),
            signed_attrs: fixed[3].to_vec(),
            signature_algorithm: fixed[4].to_vec(),
            signature: fixed[5].to_vec(),
            unsigned_attrs,
        })
    }

    /// The SignerInfo encoded again from its parts (the same bytes when nothing changed).
    pub fn encode(&self) -> Vec<u8> {
        let unsigned = if self.unsigned_attrs.is_empty() {
            Vec::new()
        } else {
            tlv(CONTEXT_1, &[&self.unsigned_attrs.concat()])
        };
        tlv(
            SEQUENCE,
            &[
                &self.version,
                &self.sid,
                &self.digest_algorithm,
                &self.signed_attrs,
                &self.signature_algorithm,
                &self.signature,
                &unsigned,
            ],
        )
    }

    /// The signature value's octets: what a signature-time-stamp's imprint covers
    /// (RFC 3161 Appendix A).
    pub fn signature_value(&self) -> &[u8] {
        read_tlv(&self.signature).map_or(&[][..], |(_, v, _)| v)
    }

    /// The unsigned attributes of type `oid` (its DER TLV), with each one's values.
    pub fn unsigned_of(&self, oid_der: &[u8]) -> Vec<(usize, Vec<Vec<u8>>)> {
        self.unsigned_attrs
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let (t, vals) = attribute_parts(a)?;
                (t == oid_der).then_some((i, vals))
            })
            .collect()
    }
}

/// An Attribute's type TLV and each of its values' TLVs.
pub fn attribute_parts(attr: &[u8]) -> Option<(&[u8], Vec<Vec<u8>>)> {
    let (_, v, _) = read_tlv(attr)?;
    let (t, _, rest) = read_tlv(v)?;
    let (_, set, _) = read_tlv(rest)?;
    Some((t, list(set)?))
}

fn list(v: &[u8]) -> Option<Vec<Vec<u8>>> {
    children(v).map(|c| c.into_iter().map(<[u8]>::to_vec).collect())
}
