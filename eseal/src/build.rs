//! CAdES-B-B (EN 319 122-1 §5.2, §6.3): a CMS SignedData (RFC 5652 §5) over id-data with the
//! signed attributes content-type, message-digest, signing-time and signing-certificate-v2,
//! and the signer's certificate in `certificates`. Detached (the document stays with the
//! caller) or enveloping (the document inside the seal).
//!
//! What is the same for every seal of a key is encoded once in [`SealKey::new`].

use crate::oid;
use der::Encode;
use kokuin_hsm::{DigestAlgorithm, SignError, Signer};
use kokuin_tsa::der_writer::{CONTEXT_0, Der, OCTET_STRING, SEQUENCE, SET, attribute, tlv};
use kokuin_tsa::signer_parts::SignerParts;
use std::sync::Arc;
use std::time::SystemTime;
use x509_cert::Certificate;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("encoding the seal: {0}")]
    Encoding(#[from] der::Error),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("the digest is {got} octets; {alg} gives {want}")]
    DigestLength {
        alg: DigestAlgorithm,
        got: usize,
        want: usize,
    },
    #[error("the signing time is out of range: {0}")]
    Time(String),
}

/// What is sealed.
#[derive(Clone, Copy, Debug)]
pub enum SealContent<'a> {
    /// Detached: the digest of the document, computed with [`SealKey::digest_algorithm`].
    Detached { digest: &'a [u8] },
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

    pub fn certificate(&self) -> &Certificate {
        self.parts.certificate()
    }

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
        let md = match content {
            SealContent::Detached { digest } => {
                if digest.len() != alg.output_len() {
                    return Err(SealError::DigestLength {
                        alg,
                        got: digest.len(),
                        want: alg.output_len(),
                    });
                }
                digest.to_vec()
            }
            SealContent::Enveloping(doc) => alg.digest(doc),
        };
        let attr_md = attribute(&oid::MESSAGE_DIGEST, &tlv(OCTET_STRING, &[&md]))?;
        let attr_time = attribute(&oid::SIGNING_TIME, &signing_time_der(signing_time)?)?;
        let signer_info =
            self.parts
                .signer_info(&[&self.attr_content_type, &attr_md, &attr_time])?;
        let data_oid = oid::DATA.to_der()?;
        // Written in one pass: an enveloped document is copied once, into the seal.
        let encap = match content {
            SealContent::Detached { .. } => Der::Tlv(SEQUENCE, vec![Der::Raw(&data_oid)]),
            SealContent::Enveloping(doc) => Der::Tlv(
                SEQUENCE,
                vec![
                    Der::Raw(&data_oid),
                    Der::Tlv(CONTEXT_0, vec![Der::Tlv(OCTET_STRING, vec![Der::Raw(doc)])]),
                ],
            ),
        };
        let digest_algorithms = tlv(SET, &[self.parts.digest_alg()]);
        let certificates = self.certificates.concat();
        let signer_infos = tlv(SET, &[&signer_info]);
        let content_type = oid::SIGNED_DATA.to_der()?;
        let signed_data = Der::Tlv(
            SEQUENCE,
            vec![
                // version 1: id-data, issuerAndSerialNumber, no attribute certificates (§5.1).
                Der::Raw(&[0x02, 0x01, 0x01]),
                Der::Raw(&digest_algorithms),
                encap,
                Der::Tlv(CONTEXT_0, vec![Der::Raw(&certificates)]),
                Der::Raw(&signer_infos),
            ],
        );
        Ok(Der::Tlv(
            SEQUENCE,
            vec![
                Der::Raw(&content_type),
                Der::Tlv(CONTEXT_0, vec![signed_data]),
            ],
        )
        .to_vec())
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
