//! Message digests accepted for message imprints and used for signing.
//!
//! The allowlist follows RFC 3161 §2.4.1 ("the TSA SHOULD check whether or not the given hash
//! algorithm is known to be 'sufficient'") read with RFC 5754: SHA-2 and SHA-3 of at least
//! 256 bits. SHA-1 and MD5 are known only so that they can be named when refused.

use const_oid::ObjectIdentifier;
use der::asn1::AnyRef;
use sha2::Digest as _;
use spki::{AlgorithmIdentifierOwned, AlgorithmIdentifierRef};

/// `id-sha256` and friends (RFC 5754 §2, FIPS 202 OIDs from NIST's CSOR arc).
pub mod oid {
    use const_oid::ObjectIdentifier;
    /// id-sha256 (NIST CSOR).
    pub const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
    /// id-sha384.
    pub const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
    /// id-sha512.
    pub const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
    /// id-sha3-256.
    pub const SHA3_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.8");
    /// id-sha3-384.
    pub const SHA3_384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.9");
    /// id-sha3-512.
    pub const SHA3_512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.10");
    /// Refused: collisions are practical.
    pub const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
    /// Refused: collisions are practical.
    pub const MD5: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.5");
}

/// A digest algorithm Kokuin accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestAlgorithm {
    /// SHA-256 (FIPS 180-4).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// SHA3-256 (FIPS 202).
    Sha3_256,
    /// SHA3-384.
    Sha3_384,
    /// SHA3-512.
    Sha3_512,
}

impl DigestAlgorithm {
    /// Every digest accepted.
    pub const ALL: [DigestAlgorithm; 6] = [
        Self::Sha256,
        Self::Sha384,
        Self::Sha512,
        Self::Sha3_256,
        Self::Sha3_384,
        Self::Sha3_512,
    ];

    /// Its OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => oid::SHA256,
            Self::Sha384 => oid::SHA384,
            Self::Sha512 => oid::SHA512,
            Self::Sha3_256 => oid::SHA3_256,
            Self::Sha3_384 => oid::SHA3_384,
            Self::Sha3_512 => oid::SHA3_512,
        }
    }

    /// The digest of this OID, if accepted.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.oid() == *oid)
    }

    /// Accepts an AlgorithmIdentifier whose parameters are absent or NULL: RFC 5754 §2 says
    /// absent, but many clients (OpenSSL among them) send NULL, so both are read.
    pub fn from_algorithm_identifier(alg: &AlgorithmIdentifierRef<'_>) -> Option<Self> {
        match alg.parameters {
            None => {}
            Some(p) if p == AnyRef::NULL => {}
            Some(_) => return None,
        }
        Self::from_oid(&alg.oid)
    }

    /// The identifier as Kokuin writes it: parameters absent (RFC 5754 §2).
    pub fn algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: None,
        }
    }

    /// Its output length in octets.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 | Self::Sha3_256 => 32,
            Self::Sha384 | Self::Sha3_384 => 48,
            Self::Sha512 | Self::Sha3_512 => 64,
        }
    }

    /// Its name (`sha256`, `sha3-256`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
            Self::Sha3_256 => "sha3-256",
            Self::Sha3_384 => "sha3-384",
            Self::Sha3_512 => "sha3-512",
        }
    }

    /// The digest of this name (`_` for `-` accepted).
    pub fn from_name(name: &str) -> Option<Self> {
        let n = name.to_ascii_lowercase().replace('_', "-");
        Self::ALL.into_iter().find(|d| d.name() == n)
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finalize()
    }

    /// A hasher to feed data in pieces.
    pub fn hasher(self) -> Hasher {
        match self {
            Self::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Self::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            Self::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
            Self::Sha3_256 => Hasher::Sha3_256(sha3::Sha3_256::new()),
            Self::Sha3_384 => Hasher::Sha3_384(sha3::Sha3_384::new()),
            Self::Sha3_512 => Hasher::Sha3_512(sha3::Sha3_512::new()),
        }
    }
}

impl std::fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Names a digest OID for messages, including the refused ones.
pub fn describe_digest_oid(oid: &ObjectIdentifier) -> String {
    if let Some(d) = DigestAlgorithm::from_oid(oid) {
        return d.name().to_string();
    }
    match *oid {
        oid::SHA1 => "sha1".to_string(),
        oid::MD5 => "md5".to_string(),
        _ => oid.to_string(),
    }
}

/// Incremental hashing, so that large files are hashed without being held in memory.
#[derive(Clone)]
pub enum Hasher {
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-384.
    Sha384(sha2::Sha384),
    /// SHA-512.
    Sha512(sha2::Sha512),
    /// SHA3-256.
    Sha3_256(sha3::Sha3_256),
    /// SHA3-384.
    Sha3_384(sha3::Sha3_384),
    /// SHA3-512.
    Sha3_512(sha3::Sha3_512),
}

impl Hasher {
    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(data),
            Self::Sha384(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
            Self::Sha3_256(h) => h.update(data),
            Self::Sha3_384(h) => h.update(data),
            Self::Sha3_512(h) => h.update(data),
        }
    }

    /// The digest of everything fed.
    pub fn finalize(self) -> Vec<u8> {
        match self {
            Self::Sha256(h) => h.finalize().to_vec(),
            Self::Sha384(h) => h.finalize().to_vec(),
            Self::Sha512(h) => h.finalize().to_vec(),
            Self::Sha3_256(h) => h.finalize().to_vec(),
            Self::Sha3_384(h) => h.finalize().to_vec(),
            Self::Sha3_512(h) => h.finalize().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // FIPS 180-4 / FIPS 202 "abc" examples.
        let abc = b"abc";
        assert_eq!(
            hex::encode(DigestAlgorithm::Sha256.digest(abc)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(DigestAlgorithm::Sha3_256.digest(abc)),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
        );
        for d in DigestAlgorithm::ALL {
            assert_eq!(d.digest(abc).len(), d.output_len());
            assert_eq!(DigestAlgorithm::from_oid(&d.oid()), Some(d));
            assert_eq!(DigestAlgorithm::from_name(d.name()), Some(d));
        }
        assert_eq!(DigestAlgorithm::from_oid(&oid::SHA1), None);
    }
}
