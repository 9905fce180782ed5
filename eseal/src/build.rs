//! CAdES-B-B (EN 319 122-1 §5.2, §6.3): a CMS SignedData (RFC 5652 §5) over id-data with the
//! signed attributes content-type, message-digest, signing-time and signing-certificate-v2,
//! and the signer's certificate in `certificates`. Detached (the document stays with the
//! caller) or enveloping (the document inside the seal).
//!
//! What is the same for every seal of a key is encoded once in [`SealKey::new`].

use crate::oid;
use der::Encode;
use kokuin_cms::der_writer::{CONTEXT_0, Der, OCTET_STRING, SEQUENCE, SET, attribute, tlv};
use kokuin_cms::signer_parts::SignerParts;
use kokuin_hsm::{DigestAlgorithm, SignError, Signer};
use std::sync::Arc;
use std::time::SystemTime;
use x509_cert::Certificate;

#[derive(Debug, thiserror::Error)]
/// Why a seal could not be made.
pub enum SealError {
    #[error("encoding the seal: {0}")]
    /// The seal cannot be encoded.
    Encoding(#[from] der::Error),
    #[error(transparent)]
    /// The key did not sign.
    Sign(#[from] SignError),
    #[error("the digest is {got} octets; {alg} gives {want}")]
    /// A detached seal's digest of the wrong length for the key's digest algorithm.
    DigestLength {
        /// The key's digest algorithm.
        alg: DigestAlgorithm,
        /// The length given.
        got: usize,
        /// The length the algorithm gives.
        want: usize,
    },
    #[error("the signing time is out of range: {0}")]
    /// The signing time cannot be encoded.
    Time(String),
}

/// What is sealed.
#[derive(Clone, Copy, Debug)]
pub enum SealContent<'a> {
    /// Detached: the digest of the document, computed with [`SealKey::digest_algorithm`].
    Detached {
        /// The document's digest.
        digest: &'a [u8],
    },
    /// Enveloping: the document goes inside the seal.
    Enveloping(&'a [u8]),
}

/// A seal key with its certificate, ready to seal.
pub struct SealKey {
    parts: SignerParts,
    attr_content_type: Vec<u8>,
    /// Every CertificateChoices the seal carries from the start: signer first.
    certificates: Vec<Vec<u8>>,
}

impl SealKey {
    /// `chain`: intermediates to carry besides the signer's certificate (B-B needs only the
    /// signer's; B-LT adds the rest when the seal is extended).
    pub fn new(
        signer: Arc<dyn Signer>,
        certificate: Certificate,
        chain: &[Certificate],
    ) -> Result<Self, SealError> {
        let mut certificates = vec![certificate.to_der()?];
        for c in chain {
            let der = c.to_der()?;
            if !certificates.contains(&der) {
                certificates.push(der);
            }
        }
        Ok(Self {
            attr_content_type: attribute(&oid::CONTENT_TYPE, &oid::DATA.to_der()?)?,
            certificates,
            parts: SignerParts::new(signer, certificate)?,
        })
    }

    /// The seal key's certificate.
    pub fn certificate(&self) -> &Certificate {
        self.parts.certificate()
    }

    /// The key that signs.
    pub fn signer(&self) -> &Arc<dyn Signer> {
        self.parts.signer()
    }

    /// The digest the message-digest attribute uses: the signature algorithm's (SHA-256
    /// for ECDSA P-256 and RSA, SHA-512 for ML-DSA per RFC 9882, a composite's pre-hash).
    pub fn digest_algorithm(&self) -> DigestAlgorithm {
        self.parts.digest()
    }

    /// A B-B seal: the DER ContentInfo.
    pub fn seal(
        &self,
        content: SealContent<'_>,
        signing_time: SystemTime,
    ) -> Result<Vec<u8>, SealError> {
        let alg = self.parts.digest();
        let (md, doc) = match content {
            SealContent::Detached { digest } => {
                if digest.len() != alg.output_len() {
                    return Err(SealError::DigestLength {
                        alg,
                        got: digest.len(),
                        want: alg.output_len(),
                    });
                }
                (digest.to_vec(), None)
            }
            SealContent::Enveloping(doc) => (alg.digest(doc), Some(Der::Raw(doc))),
        };
        let fields = self.fields(&md, Some(signing_time))?;
        Ok(fields.content_info(doc).to_vec())
    }

    /// A detached B-B signature for a PDF (PAdES, EN 319 142-1): the same as a
    /// detached seal but **without** the signing-time attribute, which PAdES forbids (the
    /// claimed time is the signature dictionary's `/M`). `digest`: of the signature's byte
    /// ranges, with [`SealKey::digest_algorithm`].
    pub fn seal_for_pdf(&self, digest: &[u8]) -> Result<Vec<u8>, SealError> {
        let alg = self.parts.digest();
        if digest.len() != alg.output_len() {
            return Err(SealError::DigestLength {
                alg,
                got: digest.len(),
                want: alg.output_len(),
            });
        }
        Ok(self.fields(digest, None)?.content_info(None).to_vec())
    }

    /// An enveloping B-B seal made around the document where it lies: `buf[headroom..]` is
    /// the document, and the seal is `buf[start..]` of the returned buffer, the document not
    /// copied (only what follows it is appended). Falls back to a copy when `headroom` is too
    /// small for what precedes the document (about a hundred octets).
    pub fn seal_in_place(
        &self,
        mut buf: Vec<u8>,
        headroom: usize,
        signing_time: SystemTime,
    ) -> Result<(Vec<u8>, usize), SealError> {
        let doc = buf.get(headroom..).unwrap_or_default();
        let md = self.parts.digest().digest(doc);
        let fields = self.fields(&md, Some(signing_time))?;
        let (before, after) = fields.content_info(Some(Der::Hole(doc.len()))).split();
        let Some(start) = headroom.checked_sub(before.len()) else {
            let copy = fields.content_info(Some(Der::Raw(doc))).to_vec();
            return Ok((copy, 0));
        };
        buf[start..headroom].copy_from_slice(&before);
        buf.extend_from_slice(&after);
        Ok((buf, start))
    }

    /// Everything of a B-B seal but its content, encoded.
    fn fields(&self, md: &[u8], signing_time: Option<SystemTime>) -> Result<Fields, SealError> {
        let attr_md = attribute(&oid::MESSAGE_DIGEST, &tlv(OCTET_STRING, &[md]))?;
        let attr_time = match signing_time {
            Some(t) => Some(attribute(&oid::SIGNING_TIME, &signing_time_der(t)?)?),
            None => None,
        };
        let mut attrs: Vec<&[u8]> = vec![&self.attr_content_type, &attr_md];
        attrs.extend(attr_time.as_deref());
        let signer_info = self.parts.signer_info(&attrs)?;
        Ok(Fields {
            data_oid: oid::DATA.to_der()?,
            digest_algorithms: tlv(SET, &[self.parts.digest_alg()]),
            certificates: self.certificates.concat(),
            signer_infos: tlv(SET, &[&signer_info]),
            content_type: oid::SIGNED_DATA.to_der()?,
        })
    }
}

/// The encoded fields of one seal around its content.
struct Fields {
    data_oid: Vec<u8>,
    digest_algorithms: Vec<u8>,
    certificates: Vec<u8>,
    signer_infos: Vec<u8>,
    content_type: Vec<u8>,
}

impl Fields {
    /// The ContentInfo, with `content` enveloped (or detached when `None`).
    fn content_info<'a>(&'a self, content: Option<Der<'a>>) -> Der<'a> {
        let mut encap = vec![Der::Raw(&self.data_oid)];
        if let Some(c) = content {
            encap.push(Der::Tlv(CONTEXT_0, vec![Der::Tlv(OCTET_STRING, vec![c])]));
        }
        let signed_data = Der::Tlv(
            SEQUENCE,
            vec![
                // version 1: id-data, issuerAndSerialNumber, no attribute certificates (§5.1).
                Der::Raw(&[0x02, 0x01, 0x01]),
                Der::Raw(&self.digest_algorithms),
                Der::Tlv(SEQUENCE, encap),
                Der::Tlv(CONTEXT_0, vec![Der::Raw(&self.certificates)]),
                Der::Raw(&self.signer_infos),
            ],
        );
        Der::Tlv(
            SEQUENCE,
            vec![
                Der::Raw(&self.content_type),
                Der::Tlv(CONTEXT_0, vec![signed_data]),
            ],
        )
    }
}

/// signing-time (RFC 5652 §11.3): UTCTime through 2049, GeneralizedTime after, whole seconds.
fn signing_time_der(t: SystemTime) -> Result<Vec<u8>, SealError> {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|e| SealError::Time(e.to_string()))?
        .as_secs();
    let dt = der::DateTime::from_unix_duration(std::time::Duration::from_secs(secs))
        .map_err(|e| SealError::Time(e.to_string()))?;
    Ok(x509_cert::time::Time::from(dt).to_der()?)
}
