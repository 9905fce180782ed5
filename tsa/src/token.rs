//! Building the TimeStampToken: a CMS SignedData (RFC 5652 §5) over a TSTInfo, with the
//! signed attributes RFC 3161 §2.4.2 and RFC 5816 §2.2.1 require: content-type,
//! message-digest and signing-certificate-v2.
//!
//! Everything that is the same for every token of a key (certificates, identifiers, the
//! content-type and signing-certificate-v2 attributes) is encoded once in [`TokenSigner::new`];
//! per token only the TSTInfo, its digest and the signature are encoded, by the small DER
//! writer below. `tests::token_decodes_with_cms` checks the result against the `cms` types.

use crate::oid;
use der::Encode;
use der::asn1::SetOfVec;
use kokuin_cms::der_writer::{CONTEXT_0, OCTET_STRING, SEQUENCE, SET, attribute, tlv};
pub use kokuin_cms::signer_parts::{SignerParts, signing_certificate_v2};
use kokuin_hsm::{SignError, Signer};
use std::sync::Arc;
use x509_cert::Certificate;

/// A key and its certificate, ready to sign tokens.
pub struct TokenSigner {
    parts: SignerParts,
    attr_content_type: Vec<u8>,
    /// `certificates [0] IMPLICIT CertificateSet`, whole, for requests with certReq.
    certificates_field: Vec<u8>,
}

impl TokenSigner {
    /// `chain` holds certificates to send along with the signer's when certReq is set
    /// (intermediates; never the root, which the verifier must already trust).
    pub fn new(
        signer: Arc<dyn Signer>,
        certificate: Certificate,
        chain: &[Certificate],
    ) -> Result<Self, der::Error> {
        let mut certs = SetOfVec::new();
        certs.insert(cms::cert::CertificateChoices::Certificate(
            certificate.clone(),
        ))?;
        for c in chain {
            if c != &certificate {
                certs.insert(cms::cert::CertificateChoices::Certificate(c.clone()))?;
            }
        }
        let certs_content: Vec<u8> = {
            let mut v = Vec::new();
            for c in certs.iter() {
                v.extend(c.to_der()?);
            }
            v
        };
        Ok(Self {
            attr_content_type: attribute(&oid::CONTENT_TYPE, &oid::CT_TST_INFO.to_der()?)?,
            certificates_field: tlv(CONTEXT_0, &[&certs_content]),
            parts: SignerParts::new(signer, certificate)?,
        })
    }

    /// The TSU certificate.
    pub fn certificate(&self) -> &Certificate {
        self.parts.certificate()
    }

    /// The TSU key.
    pub fn signer(&self) -> &Arc<dyn Signer> {
        self.parts.signer()
    }

    /// The ContentInfo of a token over `tst_info` (its DER).
    pub fn sign(&self, tst_info: &[u8], include_certificates: bool) -> Result<Vec<u8>, TokenError> {
        let md = self.parts.digest().digest(tst_info);
        let attr_md = attribute(&oid::MESSAGE_DIGEST, &tlv(OCTET_STRING, &[&md]))
            .map_err(TokenError::Encoding)?;
        let signer_info = self
            .parts
            .signer_info(&[&self.attr_content_type, &attr_md])?;
        let encap = tlv(
            SEQUENCE,
            &[
                &oid::CT_TST_INFO.to_der().map_err(TokenError::Encoding)?,
                &tlv(CONTEXT_0, &[&tlv(OCTET_STRING, &[tst_info])]),
            ],
        );
        let certificates: &[u8] = if include_certificates {
            &self.certificates_field
        } else {
            &[]
        };
        let signed_data = tlv(
            SEQUENCE,
            &[
                // version 3: eContentType is not id-data (RFC 5652 §5.1).
                &[0x02, 0x01, 0x03],
                &tlv(SET, &[self.parts.digest_alg()]),
                &encap,
                certificates,
                &tlv(SET, &[&signer_info]),
            ],
        );
        Ok(tlv(
            SEQUENCE,
            &[
                &oid::SIGNED_DATA.to_der().map_err(TokenError::Encoding)?,
                &tlv(CONTEXT_0, &[&signed_data]),
            ],
        ))
    }
}

/// Why a token could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token cannot be encoded.
    #[error("encoding the token: {0}")]
    Encoding(der::Error),
    /// The key did not sign.
    #[error(transparent)]
    Sign(#[from] SignError),
}
