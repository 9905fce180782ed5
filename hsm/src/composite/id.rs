//! The composite algorithms of draft-ietf-lamps-pq-composite-sigs §7 (name, OID, label,
//! ML-DSA level, pre-hash, traditional half): identifiers only; signing and verifying use them.

use super::trad::{Curve, Trad};
use crate::digest::DigestAlgorithm;
use crate::mldsa::level::MlDsaLevel;
use const_oid::ObjectIdentifier;
use sha2::Digest as _;
use shake::{ExtendableOutput, Update, XofReader};
use spki::AlgorithmIdentifierOwned;

/// "CompositeAlgorithmSignatures2025" (draft §2.2, Prefix).
pub const PREFIX: &[u8] = b"CompositeAlgorithmSignatures2025";

/// PH of the draft §2.1, chosen per algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PreHash {
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
    /// SHAKE256 with 64 bytes of output (the Ed448 composite).
    Shake256,
}

impl PreHash {
    pub(crate) fn hash(self, m: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => sha2::Sha256::digest(m).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(m).to_vec(),
            Self::Shake256 => {
                let mut out = vec![0u8; 64];
                let mut h = shake::Shake256::default();
                h.update(m);
                h.finalize_xof().read(&mut out);
                out
            }
        }
    }
}

/// One row of the draft's "Algorithm Identifiers and Parameters" (§7).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CompositeSpec {
    /// The draft's name without `id-`, e.g. `MLDSA65-ECDSA-P256-SHA512`.
    pub name: &'static str,
    /// Its OID.
    pub oid: ObjectIdentifier,
    /// The domain-separation label (draft §2.2).
    pub label: &'static str,
    /// The ML-DSA half's parameter set.
    pub mldsa: MlDsaLevel,
    /// The pre-hash of the message.
    pub prehash: PreHash,
    /// The traditional half.
    pub trad: Trad,
}

const fn pkix_alg(arc: u32) -> ObjectIdentifier {
    // id-pkix-alg (1.3.6.1.5.5.7.6); arcs 37–54 assigned by IANA (draft §10.2).
    match ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.6").push_arc(arc) {
        Ok(o) => o,
        Err(_) => panic!("composite OID arc out of range"),
    }
}

macro_rules! spec {
    ($name:literal, $arc:literal, $label:literal, $ml:ident, $ph:ident, $trad:expr) => {
        CompositeSpec {
            name: $name,
            oid: pkix_alg($arc),
            label: $label,
            mldsa: MlDsaLevel::$ml,
            prehash: PreHash::$ph,
            trad: $trad,
        }
    };
}

use DigestAlgorithm::{Sha256 as S256, Sha384 as S384, Sha512 as S512};

/// The 18 composite algorithms of the draft, in OID order (§7, §10.2).
pub static ALGORITHMS: [CompositeSpec; 18] = [
    spec!(
        "MLDSA44-RSA2048-PSS-SHA256",
        37,
        "COMPSIG-MLDSA44-RSA2048-PSS-SHA256",
        L44,
        Sha256,
        Trad::RsaPss {
            bits: 2048,
            hash: S256
        }
    ),
    spec!(
        "MLDSA44-RSA2048-PKCS15-SHA256",
        38,
        "COMPSIG-MLDSA44-RSA2048-PKCS15-SHA256",
        L44,
        Sha256,
        Trad::RsaPkcs1 {
            bits: 2048,
            hash: S256
        }
    ),
    spec!(
        "MLDSA44-Ed25519-SHA512",
        39,
        "COMPSIG-MLDSA44-Ed25519-SHA512",
        L44,
        Sha512,
        Trad::Ed25519
    ),
    spec!(
        "MLDSA44-ECDSA-P256-SHA256",
        40,
        "COMPSIG-MLDSA44-ECDSA-P256-SHA256",
        L44,
        Sha256,
        Trad::Ecdsa {
            curve: Curve::P256,
            hash: S256
        }
    ),
    spec!(
        "MLDSA65-RSA3072-PSS-SHA512",
        41,
        "COMPSIG-MLDSA65-RSA3072-PSS-SHA512",
        L65,
        Sha512,
        Trad::RsaPss {
            bits: 3072,
            hash: S256
        }
    ),
    spec!(
        "MLDSA65-RSA3072-PKCS15-SHA512",
        42,
        "COMPSIG-MLDSA65-RSA3072-PKCS15-SHA512",
        L65,
        Sha512,
        Trad::RsaPkcs1 {
            bits: 3072,
            hash: S256
        }
    ),
    spec!(
        "MLDSA65-RSA4096-PSS-SHA512",
        43,
        "COMPSIG-MLDSA65-RSA4096-PSS-SHA512",
        L65,
        Sha512,
        Trad::RsaPss {
            bits: 4096,
            hash: S384
        }
    ),
    spec!(
        "MLDSA65-RSA4096-PKCS15-SHA512",
        44,
        "COMPSIG-MLDSA65-RSA4096-PKCS15-SHA512",
        L65,
        Sha512,
        Trad::RsaPkcs1 {
            bits: 4096,
            hash: S384
        }
    ),
    spec!(
        "MLDSA65-ECDSA-P256-SHA512",
        45,
        "COMPSIG-MLDSA65-ECDSA-P256-SHA512",
        L65,
        Sha512,
        Trad::Ecdsa {
            curve: Curve::P256,
            hash: S256
        }
    ),
    spec!(
        "MLDSA65-ECDSA-P384-SHA512",
        46,
        "COMPSIG-MLDSA65-ECDSA-P384-SHA512",
        L65,
        Sha512,
        Trad::Ecdsa {
            curve: Curve::P384,
            hash: S384
        }
    ),
    spec!(
        "MLDSA65-ECDSA-brainpoolP256r1-SHA512",
        47,
        "COMPSIG-MLDSA65-ECDSA-BP256-SHA512",
        L65,
        Sha512,
        Trad::Ecdsa {
            curve: Curve::BrainpoolP256,
            hash: S256
        }
    ),
    spec!(
        "MLDSA65-Ed25519-SHA512",
        48,
        "COMPSIG-MLDSA65-Ed25519-SHA512",
        L65,
        Sha512,
        Trad::Ed25519
    ),
    spec!(
        "MLDSA87-ECDSA-P384-SHA512",
        49,
        "COMPSIG-MLDSA87-ECDSA-P384-SHA512",
        L87,
        Sha512,
        Trad::Ecdsa {
            curve: Curve::P384,
            hash: S384
        }
    ),
    spec!(
        "MLDSA87-ECDSA-brainpoolP384r1-SHA512",
        50,
        "COMPSIG-MLDSA87-ECDSA-BP384-SHA512",
        L87,
        Sha512,
        Trad::Ecdsa {
            curve: Curve::BrainpoolP384,
            hash: S384
        }
    ),
    spec!(
        "MLDSA87-Ed448-SHAKE256",
        51,
        "COMPSIG-MLDSA87-Ed448-SHAKE256",
        L87,
        Shake256,
        Trad::Ed448
    ),
    spec!(
        "MLDSA87-RSA3072-PSS-SHA512",
        52,
        "COMPSIG-MLDSA87-RSA3072-PSS-SHA512",
        L87,
        Sha512,
        Trad::RsaPss {
            bits: 3072,
            hash: S256
        }
    ),
    spec!(
        "MLDSA87-RSA4096-PSS-SHA512",
        53,
        "COMPSIG-MLDSA87-RSA4096-PSS-SHA512",
        L87,
        Sha512,
        Trad::RsaPss {
            bits: 4096,
            hash: S384
        }
    ),
    spec!(
        "MLDSA87-ECDSA-P521-SHA512",
        54,
        "COMPSIG-MLDSA87-ECDSA-P521-SHA512",
        L87,
        Sha512,
        Trad::Ecdsa {
            curve: Curve::P521,
            hash: S512
        }
    ),
];

/// A composite algorithm, by its row in [`ALGORITHMS`]; small and `Copy` so that
/// `SignatureAlgorithm` stays a plain value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompositeId(u8);

impl CompositeId {
    /// Every composite algorithm of the draft.
    pub fn all() -> impl Iterator<Item = CompositeId> {
        (0..ALGORITHMS.len() as u8).map(CompositeId)
    }

    /// Its row of the table.
    pub fn spec(self) -> &'static CompositeSpec {
        &ALGORITHMS[usize::from(self.0)]
    }

    /// The algorithm of this OID.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::all().find(|c| c.spec().oid == *oid)
    }

    /// Names as in configuration: the draft name in lower case (`mldsa65-ecdsa-p256-sha512`).
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.strip_prefix("id-").unwrap_or(name);
        Self::all().find(|c| c.spec().name.eq_ignore_ascii_case(name))
    }

    /// Its name as in configuration (lower case).
    pub fn name(self) -> String {
        self.spec().name.to_ascii_lowercase()
    }

    /// Keys and signatures share one identifier, parameters absent (draft §5.4, §7).
    pub fn algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.spec().oid,
            parameters: None,
        }
    }

    /// The CMS digestAlgorithm: the pre-hash (draft-ietf-lamps-cms-composite-sigs §3).
    /// `None` for SHAKE256, which Kokuin does not write into CMS.
    pub fn cms_digest(self) -> Option<DigestAlgorithm> {
        match self.spec().prehash {
            PreHash::Sha256 => Some(DigestAlgorithm::Sha256),
            PreHash::Sha512 => Some(DigestAlgorithm::Sha512),
            PreHash::Shake256 => None,
        }
    }
}
