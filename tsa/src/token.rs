//! Building the TimeStampToken: a CMS SignedData (RFC 5652 §5) over a TSTInfo, with the
//! signed attributes RFC 3161 §2.4.2 and RFC 5816 §2.2.1 require: content-type,
//! message-digest and signing-certificate-v2.
//!
//! Everything that is the same for every token of a key (certificates, identifiers, the
//! content-type and signing-certificate-v2 attributes) is encoded once in [`TokenSigner::new`];
//! per token only the TSTInfo, its digest and the signature are encoded, by the small DER
//! writer below. `tests::token_decodes_with_cms` checks the result against the `cms` types.

use crate::asn1::{EssCertIdV2, IssuerSerial, SigningCertificateV2};
use crate::der_writer::{CONTEXT_0, OCTET_STRING, SEQUENCE, SET, attribute, signer_info, tlv};
use crate::oid;
use cms::cert::IssuerAndSerialNumber;
use der::Encode;
use der::asn1::{OctetString, SetOfVec};
use kokuin_hsm::{DigestAlgorithm, SignError, Signer};
use std::sync::Arc;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;

/// A key and its certificate, ready to sign tokens.
pub struct TokenSigner {
    signer: Arc<dyn Signer>,
    certificate: Certificate,
    digest: DigestAlgorithm,
    digest_alg: Vec<u8>,
    signature_alg: Vec<u8>,
    sid: Vec<u8>,
    attr_content_type: Vec<u8>,
    attr_signing_certificate: Vec<u8>,
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
        let digest = signer.algorithm().digest();
        let tbs = certificate.tbs_certificate();
        let sid = IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        };
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
            digest,
            digest_alg: digest.algorithm_identifier().to_der()?,
            signature_alg: signer.algorithm().algorithm_identifier()?.to_der()?,
            sid: sid.to_der()?,
            attr_content_type: attribute(&oid::CONTENT_TYPE, &oid::CT_TST_INFO.to_der()?)?,
            attr_signing_certificate: signing_certificate_v2(&certificate)?,
            certificates_field: tlv(CONTEXT_0, &[&certs_content]),
            signer,
            certificate,
        })
    }

    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    pub fn signer(&self) -> &Arc<dyn Signer> {
        &self.signer
    }

    /// The ContentInfo of a token over `tst_info` (its DER).
    pub fn sign(&self, tst_info: &[u8], include_certificates: bool) -> Result<Vec<u8>, TokenError> {
        let md = self.digest.digest(tst_info);
        let attr_md = attribute(&oid::MESSAGE_DIGEST, &tlv(OCTET_STRING, &[&md]))
            .map_err(TokenError::Encoding)?;
        let mut attrs = [
            self.attr_content_type.as_slice(),
            attr_md.as_slice(),
            self.attr_signing_certificate.as_slice(),
        ];
        let signer_info = signer_info(
            &self.sid,
            &self.digest_alg,
            &mut attrs,
            &self.signature_alg,
            |m| self.signer.sign(m),
        )?;
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
                &tlv(SET, &[&self.digest_alg]),
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

/// The signing-certificate-v2 attribute (RFC 5035 §3) naming `certificate` by its SHA-256
/// and issuer and serial: what binds a token or a seal to its signer's certificate.
pub fn signing_certificate_v2(certificate: &Certificate) -> Result<Vec<u8>, der::Error> {
    let tbs = certificate.tbs_certificate();
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            // SHA-256 is the DEFAULT and so omitted (RFC 5035 §4, X.690 §11.5).
            hash_algorithm: None,
            cert_hash: OctetString::new(DigestAlgorithm::Sha256.digest(&certificate.to_der()?))?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(tbs.issuer().clone())],
                serial_number: tbs.serial_number().clone(),
            }),
        }],
        policies: None,
    };
    attribute(&oid::SIGNING_CERTIFICATE_V2, &ess.to_der()?)
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("encoding the token: {0}")]
    Encoding(der::Error),
    #[error(transparent)]
    Sign(#[from] SignError),
}
