//! Key attestation from the token's own attributes, and the public key as the token holds it.
//!
//! An accredited TSA key (EN 319 421) and a level-2 e-seal key must have been generated in the
//! HSM and never have left it: CKA_SENSITIVE and CKA_ALWAYS_SENSITIVE true, CKA_EXTRACTABLE
//! and never-extractable accordingly, CKA_LOCAL true (generated on the token, not imported).

use super::error::{HsmError, ck};
use crate::algorithm::oid;
use crate::key_type::KeyType;
use crate::mldsa::level::MlDsaLevel;
use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use cryptoki::session::Session;
use der::asn1::{BitString, OctetString};
use der::{Any, Decode, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// The private key's protection, as the token reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attestation {
    /// CKA_SENSITIVE: the value never leaves in plaintext.
    pub sensitive: bool,
    /// CKA_EXTRACTABLE: the value may be wrapped out.
    pub extractable: bool,
    /// CKA_NEVER_EXTRACTABLE: it never was extractable.
    pub never_extractable: bool,
    /// CKA_ALWAYS_SENSITIVE: it always was sensitive.
    pub always_sensitive: bool,
    /// CKA_LOCAL: generated in the token, not imported.
    pub local: bool,
}

impl Attestation {
    /// Reads the attributes of `key`.
    pub fn read(s: &Session, key: ObjectHandle) -> Result<Self, HsmError> {
        let attrs = s
            .get_attributes(
                key,
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::NeverExtractable,
                    AttributeType::AlwaysSensitive,
                    AttributeType::Local,
                ],
            )
            .map_err(ck("C_GetAttributeValue"))?;
        let mut a = Self::default();
        for attr in attrs {
            match attr {
                Attribute::Sensitive(v) => a.sensitive = v,
                Attribute::Extractable(v) => a.extractable = v,
                Attribute::NeverExtractable(v) => a.never_extractable = v,
                Attribute::AlwaysSensitive(v) => a.always_sensitive = v,
                Attribute::Local(v) => a.local = v,
                _ => {}
            }
        }
        Ok(a)
    }

    /// Each attribute that disqualifies the key as an HSM-held key, named as PKCS #11 does.
    pub fn failures(&self) -> Vec<&'static str> {
        let mut f = Vec::new();
        if !self.sensitive {
            f.push("CKA_SENSITIVE is false");
        }
        if self.extractable {
            f.push("CKA_EXTRACTABLE is true");
        }
        if !self.never_extractable {
            f.push("CKA_NEVER_EXTRACTABLE is false (the key was extractable once)");
        }
        if !self.always_sensitive {
            f.push("CKA_ALWAYS_SENSITIVE is false");
        }
        if !self.local {
            f.push("CKA_LOCAL is false (the key was imported, not generated in the token)");
        }
        f
    }
}

/// The public key object's SubjectPublicKeyInfo and key type.
pub fn public_key(
    s: &Session,
    public: ObjectHandle,
) -> Result<(SubjectPublicKeyInfoOwned, KeyType), HsmError> {
    let attrs = s
        .get_attributes(
            public,
            &[
                AttributeType::KeyType,
                AttributeType::EcParams,
                AttributeType::EcPoint,
                AttributeType::Modulus,
                AttributeType::PublicExponent,
            ],
        )
        .map_err(ck("C_GetAttributeValue"))?;
    let (mut params, mut point, mut modulus, mut exponent) = (None, None, None, None);
    let mut key_type = None;
    for a in &attrs {
        if let Attribute::KeyType(k) = a {
            key_type = Some(*k);
        }
    }
    if key_type == Some(cryptoki::object::KeyType::ML_DSA) {
        return mldsa_public_key(s, public);
    }
    for a in attrs {
        match a {
            Attribute::EcParams(v) => params = Some(v),
            Attribute::EcPoint(v) => point = Some(v),
            Attribute::Modulus(v) => modulus = Some(v),
            Attribute::PublicExponent(v) => exponent = Some(v),
            _ => {}
        }
    }
    let bad = |r: &str| HsmError::Key {
        label: "(public key)".into(),
        reason: r.to_string(),
    };
    if let (Some(params), Some(point)) = (params, point) {
        let curve = const_oid::ObjectIdentifier::from_der(&params)
            .map_err(|_| bad("CKA_EC_PARAMS is not a named curve"))?;
        let key_type = match curve {
            oid::SECP256R1 => KeyType::P256,
            oid::SECP384R1 => KeyType::P384,
            _ => return Err(bad("unsupported curve")),
        };
        // CKA_EC_POINT is the DER OCTET STRING of the point (PKCS #11 2.40 §2.3.3); some
        // tokens give the raw point.
        let raw = OctetString::from_der(&point)
            .map(|o| o.into_bytes().into_vec())
            .unwrap_or(point);
        let spki = SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: oid::EC_PUBLIC_KEY,
                parameters: Some(Any::from(&curve)),
            },
            subject_public_key: BitString::from_bytes(&raw).map_err(|e| bad(&e.to_string()))?,
        };
        return Ok((spki, key_type));
    }
    if let (Some(n), Some(e)) = (modulus, exponent) {
        let pk = rsa::pkcs1::RsaPublicKey {
            modulus: der::asn1::UintRef::new(&n).map_err(|e| bad(&e.to_string()))?,
            public_exponent: der::asn1::UintRef::new(&e).map_err(|e| bad(&e.to_string()))?,
        };
        let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
        let spki = SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: oid::RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            },
            subject_public_key: BitString::from_bytes(
                &pk.to_der().map_err(|e| bad(&e.to_string()))?,
            )
            .map_err(|e| bad(&e.to_string()))?,
        };
        return Ok((spki, KeyType::Rsa(bits)));
    }
    Err(bad("neither an EC nor an RSA public key"))
}

/// An ML-DSA public key object (PKCS #11 3.2 §6.67): CKA_PARAMETER_SET names the parameter
/// set, CKA_VALUE holds pkEncode.
fn mldsa_public_key(
    s: &Session,
    public: ObjectHandle,
) -> Result<(SubjectPublicKeyInfoOwned, KeyType), HsmError> {
    use cryptoki::object::MlDsaParameterSetType as P;
    let bad = |r: &str| HsmError::Key {
        label: "(public key)".into(),
        reason: r.to_string(),
    };
    let attrs = s
        .get_attributes(public, &[AttributeType::ParameterSet, AttributeType::Value])
        .map_err(ck("C_GetAttributeValue"))?;
    let (mut set, mut value) = (None, None);
    for a in attrs {
        match a {
            Attribute::ParameterSet(p) => set = Some(cryptoki::types::Ulong::from(p)),
            Attribute::Value(v) => value = Some(v),
            _ => {}
        }
    }
    let ps = |p: P| cryptoki::types::Ulong::from(cryptoki::object::ParameterSetType::from(p));
    let level = match set {
        Some(v) if v == ps(P::ML_DSA_44) => MlDsaLevel::L44,
        Some(v) if v == ps(P::ML_DSA_65) => MlDsaLevel::L65,
        Some(v) if v == ps(P::ML_DSA_87) => MlDsaLevel::L87,
        _ => return Err(bad("unknown CKA_PARAMETER_SET for ML-DSA")),
    };
    let value = value.ok_or_else(|| bad("no CKA_VALUE on the ML-DSA public key"))?;
    if value.len() != level.public_key_len() {
        return Err(bad("CKA_VALUE has the wrong length for its parameter set"));
    }
    let spki = crate::mldsa::spki_for(level.algorithm_identifier(), &value)
        .map_err(|e| bad(&e.to_string()))?;
    Ok((spki, KeyType::MlDsa(level)))
}
