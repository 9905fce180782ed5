//! The key types Kokuin generates and loads (curve or modulus size, ML-DSA level, composite).

use crate::algorithm::{SignatureAlgorithm, oid};
use crate::composite::id::CompositeId;
use crate::digest::DigestAlgorithm;
use crate::mldsa::level::MlDsaLevel;
use der::Encode;
use spki::SubjectPublicKeyInfoOwned;

/// A key type Kokuin can generate and load in software.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// ECDSA on P-256.
    P256,
    /// ECDSA on P-384.
    P384,
    /// RSA with this modulus size (2048–4096).
    Rsa(usize),
    /// ML-DSA of this parameter set.
    MlDsa(MlDsaLevel),
    /// A composite whose two halves are held together (software) or in tokens.
    Composite(CompositeId),
}

impl KeyType {
    /// Its name as in `kokuin keys --type`.
    pub fn name(self) -> String {
        match self {
            Self::P256 => "p256".into(),
            Self::P384 => "p384".into(),
            Self::Rsa(bits) => format!("rsa{bits}"),
            Self::MlDsa(l) => l.name().to_string(),
            Self::Composite(c) => c.name(),
        }
    }

    /// The type of this name (`p256`, `rsa3072`, `ml-dsa-65`, a composite's name).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "p256" | "p-256" | "ec-p256" => Some(Self::P256),
            "p384" | "p-384" | "ec-p384" => Some(Self::P384),
            other if MlDsaLevel::from_name(other).is_some() => {
                MlDsaLevel::from_name(other).map(Self::MlDsa)
            }
            other if CompositeId::from_name(other).is_some() => {
                match SignatureAlgorithm::from_name(other)? {
                    SignatureAlgorithm::Composite(c) => Some(Self::Composite(c)),
                    _ => None,
                }
            }
            other => {
                let bits: usize = other
                    .strip_prefix("rsa")?
                    .trim_start_matches('-')
                    .parse()
                    .ok()?;
                (2048..=4096).contains(&bits).then_some(Self::Rsa(bits))
            }
        }
    }

    /// The type of a public key, for policy checks (key sizes, curves); None for keys Kokuin
    /// does not sign with (P-521, EdDSA, …).
    pub fn of_public_key(spki: &SubjectPublicKeyInfoOwned) -> Option<Self> {
        let alg = &spki.algorithm;
        if alg.oid == oid::EC_PUBLIC_KEY {
            match alg
                .parameters
                .as_ref()?
                .decode_as::<const_oid::ObjectIdentifier>()
            {
                Ok(oid::SECP256R1) => Some(Self::P256),
                Ok(oid::SECP384R1) => Some(Self::P384),
                _ => None,
            }
        } else if alg.oid == oid::RSA_ENCRYPTION {
            use rsa::pkcs8::DecodePublicKey;
            let k = rsa::RsaPublicKey::from_public_key_der(&spki.to_der().ok()?).ok()?;
            Some(Self::Rsa(rsa::traits::PublicKeyParts::n(&k).bits() as usize))
        } else if let Some(l) = MlDsaLevel::from_oid(&alg.oid) {
            Some(Self::MlDsa(l))
        } else {
            CompositeId::from_oid(&alg.oid).map(Self::Composite)
        }
    }

    /// The algorithm a key of this type signs with unless configured otherwise.
    pub fn default_algorithm(self) -> SignatureAlgorithm {
        match self {
            Self::P256 => SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256),
            Self::P384 => SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha384),
            Self::Rsa(_) => SignatureAlgorithm::RsaPss(DigestAlgorithm::Sha256),
            Self::MlDsa(l) => SignatureAlgorithm::MlDsa(l),
            Self::Composite(c) => SignatureAlgorithm::Composite(c),
        }
    }

    /// Whether a key of this type can sign with `alg`.
    pub fn fits(self, alg: SignatureAlgorithm) -> bool {
        matches!(
            (self, alg),
            (Self::P256 | Self::P384, SignatureAlgorithm::Ecdsa(_))
                | (
                    Self::Rsa(_),
                    SignatureAlgorithm::RsaPkcs1v15(_) | SignatureAlgorithm::RsaPss(_)
                )
        ) || matches!((self, alg), (Self::MlDsa(a), SignatureAlgorithm::MlDsa(b)) if a == b)
            || matches!((self, alg), (Self::Composite(a), SignatureAlgorithm::Composite(b)) if a == b)
    }
}
