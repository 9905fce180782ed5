//! Issuing certificates (RFC 5280 §4.1) with `x509-cert`'s certificate builder, signed by any
//! Kokuin [`Signer`]: a software key, a PKCS #11 token session or a composite.
//!
//! The builder's finalize/assemble split is meant for external signers: `finalize` returns
//! the TBSCertificate's DER, the [`Signer`] signs it, `assemble` puts the signature in. The
//! builder asks its signer only for the public key (`Keypair`) and the signature
//! AlgorithmIdentifier (`DynSignatureAlgorithmIdentifier`), which [`BuilderKey`] answers from
//! the [`Signer`]; it never signs through the `signature` traits, which HSM sessions and
//! composites do not implement. The extensions are the profile's (`profile.rs`), handed to
//! the builder through [`Preset`].

use der::Document;
use der::asn1::BitString;
use kokuin_hsm::Signer;
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef,
};
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

/// Why a certificate could not be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The certificate cannot be encoded.
    #[error("certificate encoding: {0}")]
    Encoding(#[from] der::Error),
    /// The builder refused the certificate (names, validity).
    #[error("certificate: {0}")]
    Builder(#[from] x509_cert::builder::Error),
    /// The issuer's key did not sign.
    #[error("signing the certificate: {0}")]
    Sign(#[from] kokuin_hsm::SignError),
}

/// What a certificate says, decided by the profile before it is issued.
pub struct CertificateContent {
    /// The certificate's serial number.
    pub serial_number: SerialNumber,
    /// The issuer's name (the subject's own for a self-signed CA).
    pub issuer: Name,
    /// notBefore and notAfter.
    pub validity: Validity,
    /// The subject's name.
    pub subject: Name,
    /// The subject's public key.
    pub subject_public_key_info: SubjectPublicKeyInfoOwned,
    /// Every extension, in order.
    pub extensions: Vec<Extension>,
}

/// Issues `content` signed by `issuer_key`; the signature algorithm is the key's.
pub fn sign_certificate(
    content: CertificateContent,
    issuer_key: &dyn Signer,
) -> Result<Certificate, IssueError> {
    let key = BuilderKey(issuer_key);
    let mut builder = CertificateBuilder::new(
        Preset {
            issuer: content.issuer,
            subject: content.subject,
            extensions: content.extensions,
        },
        content.serial_number,
        content.validity,
        content.subject_public_key_info,
    )?;
    let tbs = builder.finalize(&key)?;
    let signature = issuer_key.sign(&tbs)?;
    Ok(builder.assemble(BitString::from_bytes(&signature)?, &key)?)
}

/// The profile's names and extensions, as the builder asks for them.
struct Preset {
    issuer: Name,
    subject: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for Preset {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

/// A [`Signer`] as the builder's signer: its public key and algorithm, nothing more.
struct BuilderKey<'a>(&'a dyn Signer);

/// The issuer's public key, as `Keypair` hands it out.
#[derive(Clone)]
struct PublicKey(SubjectPublicKeyInfoOwned);

impl EncodePublicKey for PublicKey {
    fn to_public_key_der(&self) -> spki::Result<Document> {
        Ok(Document::encode_msg(&self.0)?)
    }
}

impl signature::Keypair for BuilderKey<'_> {
    type VerifyingKey = PublicKey;

    fn verifying_key(&self) -> PublicKey {
        PublicKey(self.0.public_key().clone())
    }
}

impl DynSignatureAlgorithmIdentifier for BuilderKey<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.0.algorithm().algorithm_identifier()?)
    }
}
