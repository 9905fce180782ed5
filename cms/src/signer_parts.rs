//! What every SignerInfo of one key shares, encoded once per key: the signer identifier
//! (issuerAndSerialNumber, RFC 5652 §5.3), digest and signature AlgorithmIdentifiers, and
//! the signing-certificate-v2 attribute (RFC 5035 §3). Tokens and seals both sign through it.

use crate::der_writer::{attribute, signer_info};
use crate::ess::{EssCertIdV2, IssuerSerial, SigningCertificateV2};
use crate::oid;
use cms::cert::IssuerAndSerialNumber;
use der::Encode;
use der::asn1::OctetString;
use kokuin_hsm::{DigestAlgorithm, SignError, Signer};
use std::sync::Arc;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;

/// A signer's fixed parts of every SignerInfo it makes (digest and signature
/// AlgorithmIdentifiers, SignerIdentifier, the signing-certificate-v2 attribute), encoded once
/// when the key is loaded instead of once per token or seal.
pub struct SignerParts {
    signer: Arc<dyn Signer>,
    certificate: Certificate,
    digest: DigestAlgorithm,
    digest_alg: Vec<u8>,
    signature_alg: Vec<u8>,
    sid: Vec<u8>,
    attr_signing_certificate: Vec<u8>,
}

impl SignerParts {
    /// Encodes the fixed parts for `signer` with `certificate` (which must hold its public key).
    pub fn new(signer: Arc<dyn Signer>, certificate: Certificate) -> Result<Self, der::Error> {
        let digest = signer.algorithm().digest();
        let tbs = certificate.tbs_certificate();
        let sid = IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        };
        Ok(Self {
            digest,
            digest_alg: digest.algorithm_identifier().to_der()?,
            signature_alg: signer.algorithm().algorithm_identifier()?.to_der()?,
            sid: sid.to_der()?,
            attr_signing_certificate: signing_certificate_v2(&certificate)?,
            signer,
            certificate,
        })
    }

    /// The key that signs.
    pub fn signer(&self) -> &Arc<dyn Signer> {
        &self.signer
    }

    /// The signer's certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The digest of message-digest and of the SignerInfo: the signature algorithm's.
    pub fn digest(&self) -> DigestAlgorithm {
        self.digest
    }

    /// The digest AlgorithmIdentifier, DER (also SignedData.digestAlgorithms' one member).
    pub fn digest_alg(&self) -> &[u8] {
        &self.digest_alg
    }

    /// The SignerInfo over `attrs` plus signing-certificate-v2, signed by the key.
    pub fn signer_info(&self, attrs: &[&[u8]]) -> Result<Vec<u8>, SignError> {
        let mut all: Vec<&[u8]> = attrs.to_vec();
        all.push(&self.attr_signing_certificate);
        signer_info(
            &self.sid,
            &self.digest_alg,
            &mut all,
            &self.signature_alg,
            |m| self.signer.sign(m),
        )
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
