//! PKCS #10 certification requests (RFC 2986 §4) signed by any [`Signer`], so that a key
//! that never leaves its HSM can still be certified by an outside CA.

use crate::tbs::IssueError;
use der::asn1::BitString;
use der::{Decode, Encode};
use kokuin_hsm::Signer;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, CertReqInfo, Version};

/// A PKCS #10 request (RFC 2986) for `subject` and the signer's key, signed by it.
pub fn sign_csr(subject: Name, signer: &dyn Signer) -> Result<CertReq, IssueError> {
    let info = CertReqInfo {
        version: Version::V1,
        subject,
        public_key: signer.public_key().clone(),
        attributes: Default::default(),
    };
    let sig = signer.sign(&info.to_der()?)?;
    Ok(CertReq {
        info,
        algorithm: signer.algorithm().algorithm_identifier()?,
        signature: BitString::from_bytes(&sig)?,
    })
}

/// Checks the request's self-signature (proof of possession of the key).
pub fn verify_csr(req: &CertReq) -> Result<(), String> {
    let tbs = req.info.to_der().map_err(|e| e.to_string())?;
    let sig = req
        .signature
        .as_bytes()
        .ok_or("signature has unused bits")?;
    kokuin_hsm::verify_signature(&req.info.public_key, &req.algorithm, None, &tbs, sig)
        .map_err(|e| e.to_string())
}

/// A PKCS #10 request from PEM (`CERTIFICATE REQUEST`) or DER.
pub fn parse_csr(bytes: &[u8]) -> Result<CertReq, String> {
    if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        let (label, der) = der::pem::decode_vec(bytes).map_err(|e| e.to_string())?;
        if label != "CERTIFICATE REQUEST" {
            return Err(format!("PEM label {label}"));
        }
        CertReq::from_der(&der).map_err(|e| e.to_string())
    } else {
        CertReq::from_der(bytes).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kokuin_hsm::{KeyType, SoftwareSigner};
    use std::str::FromStr;

    #[test]
    fn csr_round_trips_and_proves_possession() {
        let k = SoftwareSigner::generate(KeyType::P256, "k").unwrap();
        let csr = sign_csr(Name::from_str("CN=TSU,O=Org,C=JP").unwrap(), &k).unwrap();
        let pem = der::EncodePem::to_pem(&csr, der::pem::LineEnding::LF).unwrap();
        let back = parse_csr(pem.as_bytes()).unwrap();
        verify_csr(&back).unwrap();
        let mut forged = back.clone();
        forged.info.subject = Name::from_str("CN=Other,O=Org,C=JP").unwrap();
        assert!(verify_csr(&forged).is_err());
    }
}
