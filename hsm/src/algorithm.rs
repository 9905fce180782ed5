//! Signature algorithms Kokuin signs with, and their AlgorithmIdentifiers.
//!
//! ECDSA identifiers follow RFC 5758 §3.2 (parameters absent); RSA PKCS #1 v1.5 and RSASSA-PSS
//! follow RFC 4055 §3 and RFC 8017 (PSS: MGF1 with the same hash, salt length = hash length,
//! the profile of RFC 4055 §3.1 that every verifier accepts).

use crate::composite::id::CompositeId;
use crate::composite::trad::{Curve, Trad};
use crate::digest::DigestAlgorithm;
use crate::mldsa::level::MlDsaLevel;
use const_oid::ObjectIdentifier;
use der::{Any, Decode, Encode};
use spki::AlgorithmIdentifierOwned;

/// Signature and key algorithm identifiers (RFC 5758, RFC 8017, RFC 5480).
pub mod oid {
    use const_oid::ObjectIdentifier;
    /// ecdsa-with-SHA256, RFC 5758 §3.2.
    pub const ECDSA_WITH_SHA256: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
    /// ecdsa-with-SHA384, RFC 5758 §3.2.
    pub const ECDSA_WITH_SHA384: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
    /// ecdsa-with-SHA512, RFC 5758 §3.2.
    pub const ECDSA_WITH_SHA512: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
    /// rsaEncryption (an RSA public key), RFC 8017 Appendix A.1.
    pub const RSA_ENCRYPTION: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    /// id-RSASSA-PSS, RFC 8017 Appendix A.2.3.
    pub const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
    /// sha256WithRSAEncryption (PKCS #1 v1.5), RFC 8017 Appendix A.2.4.
    pub const SHA256_WITH_RSA: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
    /// sha384WithRSAEncryption.
    pub const SHA384_WITH_RSA: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
    /// sha512WithRSAEncryption.
    pub const SHA512_WITH_RSA: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
    /// id-mgf1, RFC 8017 Appendix B.2.1.
    pub const MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
    /// id-ecPublicKey, RFC 5480 §2.1.1.
    pub const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    /// secp256r1 (P-256), RFC 5480 §2.1.1.1.
    pub const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    /// secp384r1 (P-384), RFC 5480 §2.1.1.1.
    pub const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
}

/// How a signature is made: the scheme and the hash it signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// ECDSA with this hash.
    Ecdsa(DigestAlgorithm),
    /// RSASSA-PKCS1-v1_5 with this hash.
    RsaPkcs1v15(DigestAlgorithm),
    /// RSASSA-PSS with this hash, MGF1 of it and a salt of its length.
    RsaPss(DigestAlgorithm),
    /// Pure ML-DSA (RFC 9881 for certificates, RFC 9882 for CMS).
    MlDsa(MlDsaLevel),
    /// Composite ML-DSA (draft-ietf-lamps-pq-composite-sigs); only composites whose
    /// traditional half Kokuin can sign are ever constructed (see [`Self::from_name`]).
    Composite(CompositeId),
}

impl SignatureAlgorithm {
    /// The algorithm a Kokuin signer must use for a composite's traditional half, if Kokuin
    /// can sign it.
    pub fn for_trad(trad: Trad) -> Option<Self> {
        match trad {
            Trad::RsaPss { hash, .. } => Some(Self::RsaPss(hash)),
            Trad::RsaPkcs1 { hash, .. } => Some(Self::RsaPkcs1v15(hash)),
            Trad::Ecdsa {
                curve: Curve::P256 | Curve::P384,
                hash,
            } => Some(Self::Ecdsa(hash)),
            _ => None,
        }
    }

    /// The SignerInfo digestAlgorithm, and for hash-then-sign schemes the hash signed.
    /// ML-DSA: SHA-512 (RFC 9882 §3.2 "MUST support SHA-512"); composite: its pre-hash
    /// (draft-ietf-lamps-cms-composite-sigs §3).
    pub fn digest(self) -> DigestAlgorithm {
        match self {
            Self::Ecdsa(d) | Self::RsaPkcs1v15(d) | Self::RsaPss(d) => d,
            Self::MlDsa(_) => DigestAlgorithm::Sha512,
            Self::Composite(c) => c.cms_digest().unwrap_or(DigestAlgorithm::Sha512),
        }
    }

    /// Whether a quantum computer leaves the signature standing: ML-DSA alone or in a
    /// composite (where the ML-DSA half must verify too).
    pub fn is_quantum_safe(self) -> bool {
        matches!(self, Self::MlDsa(_) | Self::Composite(_))
    }

    /// Names as used in configuration: `ecdsa-sha256`, `rsa-pkcs1-sha256`, `rsa-pss-sha384`…
    pub fn name(self) -> String {
        match self {
            Self::Ecdsa(d) => format!("ecdsa-{d}"),
            Self::RsaPkcs1v15(d) => format!("rsa-pkcs1-{d}"),
            Self::RsaPss(d) => format!("rsa-pss-{d}"),
            Self::MlDsa(l) => l.name().to_string(),
            Self::Composite(c) => c.name(),
        }
    }

    /// The algorithm named as in configuration (`ecdsa-sha256`, `rsa-pss-sha384`,
    /// `ml-dsa-65`, `mldsa65-ecdsa-p256-sha512`, …).
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.to_ascii_lowercase();
        if let Some(l) = MlDsaLevel::from_name(&name) {
            return Some(Self::MlDsa(l));
        }
        if let Some(c) = CompositeId::from_name(&name) {
            return Self::for_trad(c.spec().trad)
                .and(c.cms_digest())
                .map(|_| Self::Composite(c));
        }
        let (ctor, rest): (fn(DigestAlgorithm) -> Self, &str) =
            if let Some(r) = name.strip_prefix("ecdsa-") {
                (Self::Ecdsa, r)
            } else if let Some(r) = name.strip_prefix("rsa-pkcs1-") {
                (Self::RsaPkcs1v15, r)
            } else if let Some(r) = name.strip_prefix("rsa-pss-") {
                (Self::RsaPss, r)
            } else {
                return None;
            };
        let d = DigestAlgorithm::from_name(rest)?;
        let alg = ctor(d);
        alg.algorithm_identifier().ok().map(|_| alg)
    }

    /// The signatureAlgorithm written in SignerInfo and certificates.
    pub fn algorithm_identifier(self) -> Result<AlgorithmIdentifierOwned, der::Error> {
        match self {
            Self::MlDsa(l) => return Ok(l.algorithm_identifier()),
            Self::Composite(c) => return Ok(c.algorithm_identifier()),
            _ => {}
        }
        let unsupported = || {
            der::Error::from(der::ErrorKind::OidUnknown {
                oid: self.digest().oid(),
            })
        };
        Ok(match self {
            Self::Ecdsa(d) => AlgorithmIdentifierOwned {
                oid: match d {
                    DigestAlgorithm::Sha256 => oid::ECDSA_WITH_SHA256,
                    DigestAlgorithm::Sha384 => oid::ECDSA_WITH_SHA384,
                    DigestAlgorithm::Sha512 => oid::ECDSA_WITH_SHA512,
                    _ => return Err(unsupported()),
                },
                parameters: None,
            },
            Self::RsaPkcs1v15(d) => AlgorithmIdentifierOwned {
                oid: match d {
                    DigestAlgorithm::Sha256 => oid::SHA256_WITH_RSA,
                    DigestAlgorithm::Sha384 => oid::SHA384_WITH_RSA,
                    DigestAlgorithm::Sha512 => oid::SHA512_WITH_RSA,
                    _ => return Err(unsupported()),
                },
                parameters: Some(Any::null()),
            },
            Self::RsaPss(d) => {
                let params = match d {
                    DigestAlgorithm::Sha256 => rsa::pkcs1::RsaPssParamsRef::new::<sha2::Sha256>(32),
                    DigestAlgorithm::Sha384 => rsa::pkcs1::RsaPssParamsRef::new::<sha2::Sha384>(48),
                    DigestAlgorithm::Sha512 => rsa::pkcs1::RsaPssParamsRef::new::<sha2::Sha512>(64),
                    _ => return Err(unsupported()),
                };
                AlgorithmIdentifierOwned {
                    oid: oid::RSASSA_PSS,
                    parameters: Some(Any::from_der(&params.to_der()?)?),
                }
            }
            Self::MlDsa(_) | Self::Composite(_) => return Err(unsupported()),
        })
    }
}

impl std::fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// A signature algorithm identifier as an auditor reads it: a name, and whether the signature
/// stands against a quantum computer (pure ML-DSA, or a composite whose ML-DSA half must
/// verify). `None` for identifiers Kokuin does not verify.
pub fn describe(oid_: &ObjectIdentifier) -> Option<(String, bool)> {
    if let Some(l) = MlDsaLevel::from_oid(oid_) {
        return Some((l.name().to_string(), true));
    }
    if let Some(c) = CompositeId::from_oid(oid_) {
        return Some((c.name(), true));
    }
    let name = match *oid_ {
        oid::ECDSA_WITH_SHA256 => "ecdsa-sha256",
        oid::ECDSA_WITH_SHA384 => "ecdsa-sha384",
        oid::ECDSA_WITH_SHA512 => "ecdsa-sha512",
        oid::SHA256_WITH_RSA => "rsa-pkcs1-sha256",
        oid::SHA384_WITH_RSA => "rsa-pkcs1-sha384",
        oid::SHA512_WITH_RSA => "rsa-pkcs1-sha512",
        oid::RSA_ENCRYPTION => "rsa-pkcs1",
        oid::RSASSA_PSS => "rsa-pss",
        _ => return None,
    };
    Some((name.to_string(), false))
}

/// The parameters of an RSASSA-PSS AlgorithmIdentifier that verification needs.
pub(crate) fn pss_params(params: Option<&Any>) -> Option<(DigestAlgorithm, usize)> {
    let der = params?.to_der().ok()?;
    let p = rsa::pkcs1::RsaPssParamsOwned::from_der(&der).ok()?;
    let hash = DigestAlgorithm::from_algorithm_identifier(&(&p.hash).into())?;
    if p.mask_gen.oid != oid::MGF1 {
        return None;
    }
    let mgf_hash = p.mask_gen.parameters.as_ref()?;
    let mgf_hash = DigestAlgorithm::from_algorithm_identifier(&mgf_hash.into())?;
    if mgf_hash != hash {
        return None;
    }
    Some((hash, usize::from(p.salt_len)))
}

/// The curve of an EC SubjectPublicKeyInfo, if it is one Kokuin knows.
pub fn ec_curve(spki: &spki::SubjectPublicKeyInfoOwned) -> Option<ObjectIdentifier> {
    if spki.algorithm.oid != oid::EC_PUBLIC_KEY {
        return None;
    }
    spki.algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for n in [
            "ecdsa-sha256",
            "ecdsa-sha384",
            "rsa-pkcs1-sha256",
            "rsa-pss-sha512",
            "ml-dsa-65",
            "mldsa65-ecdsa-p256-sha512",
            "mldsa65-rsa3072-pss-sha512",
        ] {
            let a = SignatureAlgorithm::from_name(n).expect(n);
            assert_eq!(a.name(), n);
        }
        assert!(SignatureAlgorithm::from_name("ecdsa-sha3-256").is_none());
        assert!(SignatureAlgorithm::from_name("dsa-sha256").is_none());
        // Verifiable, but Kokuin holds no Ed448 or brainpool keys to sign with.
        assert!(SignatureAlgorithm::from_name("mldsa87-ed448-shake256").is_none());
        assert!(SignatureAlgorithm::from_name("mldsa65-ecdsa-brainpoolp256r1-sha512").is_none());
    }

    #[test]
    fn pss_identifier_parses_back() {
        let ai = SignatureAlgorithm::RsaPss(DigestAlgorithm::Sha384)
            .algorithm_identifier()
            .unwrap();
        assert_eq!(ai.oid, oid::RSASSA_PSS);
        assert_eq!(
            pss_params(ai.parameters.as_ref()),
            Some((DigestAlgorithm::Sha384, 48))
        );
    }
}
