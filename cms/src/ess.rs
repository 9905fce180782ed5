//! Enhanced Security Services signing-certificate attributes: `SigningCertificateV2` and
//! `ESSCertIDv2` (RFC 5035 §3, as required in time-stamp tokens by RFC 5816 §2.2.1).

use der::Sequence;
use der::asn1::OctetString;
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::name::GeneralNames;
use x509_cert::serial_number::SerialNumber;

/// `IssuerSerial`, RFC 5035 §4.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    /// The issuer of the certificate, as GeneralNames (a directoryName).
    pub issuer: GeneralNames,
    /// The certificate's serial number.
    pub serial_number: SerialNumber,
}

/// `ESSCertIDv2`, RFC 5035 §4. `hashAlgorithm` is `DEFAULT {id-sha256}`: DER omits it when
/// it is SHA-256, so `None` means SHA-256.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    #[asn1(optional = "true")]
    /// The hash algorithm of `cert_hash`; `None`: SHA-256 (the DEFAULT).
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    /// The hash of the whole DER certificate.
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    /// Issuer and serial of the certificate, to tell it from others with the same key.
    pub issuer_serial: Option<IssuerSerial>,
}

/// `SigningCertificateV2`, RFC 5035 §3. Policies are not used by Kokuin and kept undecoded.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    /// The signer's certificate first, then any others the signer wants bound.
    pub certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    /// `SEQUENCE OF PolicyInformation`, undecoded.
    pub policies: Option<der::Any>,
}
