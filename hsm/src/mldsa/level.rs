//! The ML-DSA parameter sets (FIPS 204 Table 1) and their identifiers (RFC 9881 §2).

use const_oid::ObjectIdentifier;
use spki::AlgorithmIdentifierOwned;

/// `id-ml-dsa-44` and friends (RFC 9881 §2, NIST CSOR sigAlgs arc).
pub mod oid {
    use const_oid::ObjectIdentifier;
    /// id-ml-dsa-44.
    pub const ML_DSA_44: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.17");
    /// id-ml-dsa-65.
    pub const ML_DSA_65: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.18");
    /// id-ml-dsa-87.
    pub const ML_DSA_87: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.19");
}

/// An ML-DSA parameter set (FIPS 204 §4, Table 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MlDsaLevel {
    /// ML-DSA-44 (NIST category 2).
    L44,
    /// ML-DSA-65 (category 3).
    L65,
    /// ML-DSA-87 (category 5).
    L87,
}

impl MlDsaLevel {
    /// Every parameter set.
    pub const ALL: [MlDsaLevel; 3] = [Self::L44, Self::L65, Self::L87];

    /// Its OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::L44 => oid::ML_DSA_44,
            Self::L65 => oid::ML_DSA_65,
            Self::L87 => oid::ML_DSA_87,
        }
    }

    /// The parameter set of this OID.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.oid() == *oid)
    }

    /// `ml-dsa-65` etc., as in configuration and `kokuin verify`.
    pub fn name(self) -> &'static str {
        match self {
            Self::L44 => "ml-dsa-44",
            Self::L65 => "ml-dsa-65",
            Self::L87 => "ml-dsa-87",
        }
    }

    /// The parameter set of this name (`ml-dsa-65`, `mldsa65`).
    pub fn from_name(name: &str) -> Option<Self> {
        let n = name.to_ascii_lowercase().replace('_', "-");
        Self::ALL
            .into_iter()
            .find(|l| l.name() == n || l.name().replace('-', "") == n)
    }

    /// pkEncode length (FIPS 204 Table 2).
    pub fn public_key_len(self) -> usize {
        match self {
            Self::L44 => 1312,
            Self::L65 => 1952,
            Self::L87 => 2592,
        }
    }

    /// sigEncode length (FIPS 204 Table 2).
    pub fn signature_len(self) -> usize {
        match self {
            Self::L44 => 2420,
            Self::L65 => 3309,
            Self::L87 => 4627,
        }
    }

    /// skEncode length (FIPS 204 Table 2), the `expandedKey` of RFC 9881 §6.
    pub fn expanded_key_len(self) -> usize {
        match self {
            Self::L44 => 2560,
            Self::L65 => 4032,
            Self::L87 => 4896,
        }
    }

    /// η of FIPS 204 Table 1: the bound of the secret vectors s1, s2.
    pub(crate) fn eta(self) -> u8 {
        match self {
            Self::L44 | Self::L87 => 2,
            Self::L65 => 4,
        }
    }

    /// The AlgorithmIdentifier of keys and signatures: parameters absent (RFC 9881 §2).
    pub fn algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: None,
        }
    }
}

impl std::fmt::Display for MlDsaLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
