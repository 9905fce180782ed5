//! Issuing certificates: TBSCertificate (RFC 5280 §4.1) encoded by hand and signed by any
//! [`Signer`].
//!
//! Hand-written because `x509-cert` 0.3 keeps TBSCertificate's fields crate-private and its
//! builder signs only through the `signature` crate's traits, which HSM sessions and composite
//! signers do not implement. Decoding still goes through `x509_cert::Certificate`.

use der::asn1::BitString;
use der::{Decode, Encode, Sequence};
use kokuin_hsm::Signer;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::ext::Extensions;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

/// TBSCertificate, RFC 5280 §4.1, always version 3 (RFC 5280 §4.1.2.1: extensions present).
#[derive(Clone, Debug, Sequence)]
pub struct TbsCertificate {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    pub version: u8,
    pub serial_number: SerialNumber,
    pub signature: AlgorithmIdentifierOwned,
    pub issuer: Name,
    pub validity: Validity,
    pub subject: Name,
    pub subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// Certificate, RFC 5280 §4.1.1, over the raw TBSCertificate bytes that were signed.
#[derive(Sequence)]
struct SignedCertificate<'a> {
    tbs_certificate: der::asn1::AnyRef<'a>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature_value: BitString,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("certificate encoding: {0}")]
    Encoding(#[from] der::Error),
    #[error("signing the certificate: {0}")]
    Sign(#[from] kokuin_hsm::SignError),
}

/// Signs `tbs` with `issuer_key`; `tbs.signature` is set from the key's algorithm.
pub fn sign_certificate(
    mut tbs: TbsCertificate,
    issuer_key: &dyn Signer,
) -> Result<Certificate, IssueError> {
    let alg = issuer_key.algorithm().algorithm_identifier()?;
    tbs.signature = alg.clone();
    tbs.version = 2;
    let tbs_der = tbs.to_der()?;
    let signature = issuer_key.sign(&tbs_der)?;
    let cert = SignedCertificate {
        tbs_certificate: der::asn1::AnyRef::from_der(&tbs_der)?,
        signature_algorithm: alg,
        signature_value: BitString::from_bytes(&signature)?,
    };
    Ok(Certificate::from_der(&cert.to_der()?)?)
}
