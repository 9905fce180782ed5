//! ML-DSA (FIPS 204) keys in software, with the key formats of RFC 9881.
//!
//! The private key is the 32-byte seed (RFC 9881 §6, "seed" is RECOMMENDED); it is zeroized
//! on drop, and the expanded form is derived from it. Signing is hedged (FIPS 204 §3.4): fresh
//! randomness from the OS for every signature. Keys in the `expandedKey` or `both` forms are
//! accepted only after the consistency checks of RFC 9881 §6.3, so an inconsistent key is
//! refused at load instead of producing signatures nobody can verify.

mod expanded;
pub mod level;

use level::MlDsaLevel;
pub use level::oid;

use crate::error::SignError;
use der::{Decode, Encode};
use ml_dsa::{EncodedSignature, EncodedVerifyingKey, ExpandedSigningKey, MlDsaParams, Signature};
use ml_dsa::{MlDsa44, MlDsa65, MlDsa87, SigningKey, VerifyingKey};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use zeroize::Zeroizing;

/// Verifies an ML-DSA signature (FIPS 204 Algorithm 3) over `message` with context `ctx`.
/// `public_key` is the raw pkEncode; wrong lengths simply do not verify.
pub fn verify(
    level: MlDsaLevel,
    public_key: &[u8],
    message: &[u8],
    ctx: &[u8],
    sig: &[u8],
) -> bool {
    fn with<P: MlDsaParams>(pk: &[u8], msg: &[u8], ctx: &[u8], sig: &[u8]) -> bool {
        let Ok(pk) = EncodedVerifyingKey::<P>::try_from(pk) else {
            return false;
        };
        let Ok(sig) = EncodedSignature::<P>::try_from(sig) else {
            return false;
        };
        let Some(sig) = Signature::<P>::decode(&sig) else {
            return false;
        };
        VerifyingKey::<P>::decode(&pk).verify_with_context(msg, ctx, &sig)
    }
    match level {
        MlDsaLevel::L44 => with::<MlDsa44>(public_key, message, ctx, sig),
        MlDsaLevel::L65 => with::<MlDsa65>(public_key, message, ctx, sig),
        MlDsaLevel::L87 => with::<MlDsa87>(public_key, message, ctx, sig),
    }
}

/// Why an ML-DSA private key was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MlDsaKeyError {
    /// Not an ML-DSA OneAsymmetricKey in a form RFC 9881 defines.
    #[error("not an ML-DSA PKCS #8 private key: {0}")]
    Malformed(String),
    /// The `both` form whose seed does not give its expanded key.
    #[error("the seed and the expanded key disagree (RFC 9881 §6.3)")]
    SeedMismatch,
    /// An expanded key that fails a consistency check.
    #[error("the expanded key is inconsistent: {0} (RFC 9881 §6.3)")]
    Inconsistent(&'static str),
}

enum Expanded {
    L44(Box<ExpandedSigningKey<MlDsa44>>),
    L65(Box<ExpandedSigningKey<MlDsa65>>),
    L87(Box<ExpandedSigningKey<MlDsa87>>),
}

/// An ML-DSA private key in memory. The expanded key types zeroize themselves on drop
/// (`ml-dsa`'s `zeroize` feature); the seed is held in `Zeroizing`.
pub struct MlDsaKey {
    level: MlDsaLevel,
    seed: Option<Zeroizing<[u8; 32]>>,
    key: Expanded,
    public_key: Vec<u8>,
}

impl std::fmt::Debug for MlDsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlDsaKey")
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

fn from_seed<P: MlDsaParams>(seed: &[u8; 32]) -> (Box<ExpandedSigningKey<P>>, Vec<u8>) {
    let sk = SigningKey::<P>::from_seed(&(*seed).into());
    let pk = sk.expanded_key().verifying_key().encode().to_vec();
    (Box::new(sk.expanded_key().clone()), pk)
}

#[allow(deprecated)] // skEncode/skDecode: RFC 9881 still defines the expanded form.
fn expanded_bytes<P: MlDsaParams>(k: &ExpandedSigningKey<P>) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(k.to_expanded().to_vec())
}

/// Decodes an expanded key once [`expanded::check`] has vouched for it.
#[allow(deprecated)] // skDecode: RFC 9881 still defines the expanded form.
fn from_expanded<P: MlDsaParams>(
    level: MlDsaLevel,
    bytes: &[u8],
) -> Result<(Box<ExpandedSigningKey<P>>, Vec<u8>), MlDsaKeyError> {
    let pk = expanded::check(level, bytes).map_err(MlDsaKeyError::Inconsistent)?;
    let enc = ml_dsa::ExpandedSigningKeyBytes::<P>::try_from(bytes)
        .map_err(|_| MlDsaKeyError::Malformed("expandedKey has the wrong length".into()))?;
    let key = ExpandedSigningKey::<P>::from_expanded(&enc);
    if key.verifying_key().encode().as_slice() != pk.as_slice() {
        return Err(MlDsaKeyError::Inconsistent(
            "public key derivations disagree",
        ));
    }
    Ok((Box::new(key), pk))
}

impl MlDsaKey {
    /// ML-DSA.KeyGen with a fresh seed from the operating system.
    pub fn generate(level: MlDsaLevel) -> Result<Self, SignError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| SignError::Failed(e.to_string()))?;
        Ok(Self::from_seed(level, &seed))
    }

    /// ML-DSA.KeyGen_internal(ξ) (FIPS 204 Algorithm 6).
    pub fn from_seed(level: MlDsaLevel, seed: &[u8; 32]) -> Self {
        let (key, public_key) = match level {
            MlDsaLevel::L44 => {
                let (k, pk) = from_seed::<MlDsa44>(seed);
                (Expanded::L44(k), pk)
            }
            MlDsaLevel::L65 => {
                let (k, pk) = from_seed::<MlDsa65>(seed);
                (Expanded::L65(k), pk)
            }
            MlDsaLevel::L87 => {
                let (k, pk) = from_seed::<MlDsa87>(seed);
                (Expanded::L87(k), pk)
            }
        };
        Self {
            level,
            seed: Some(Zeroizing::new(*seed)),
            key,
            public_key,
        }
    }

    /// Locks the pages holding the expanded key and `self` (call it on a boxed key: the seed
    /// is in `self`) in RAM, so that they are never swapped out. The locks last as long as
    /// the process: `region`'s guard is not `Send`, and a page freed while locked is merely
    /// kept resident.
    pub fn lock_in_memory(&self) -> Result<(), String> {
        let (ptr, len): (*const u8, usize) = match &self.key {
            Expanded::L44(k) => (
                std::ptr::from_ref(k.as_ref()).cast(),
                size_of_val(k.as_ref()),
            ),
            Expanded::L65(k) => (
                std::ptr::from_ref(k.as_ref()).cast(),
                size_of_val(k.as_ref()),
            ),
            Expanded::L87(k) => (
                std::ptr::from_ref(k.as_ref()).cast(),
                size_of_val(k.as_ref()),
            ),
        };
        let me: *const u8 = std::ptr::from_ref(self).cast();
        for (p, n) in [(ptr, len), (me, size_of::<Self>())] {
            let guard = region::lock(p, n).map_err(|e| format!("mlock: {e}"))?;
            std::mem::forget(guard);
        }
        Ok(())
    }

    fn from_expanded(level: MlDsaLevel, bytes: &[u8]) -> Result<Self, MlDsaKeyError> {
        let (key, public_key) = match level {
            MlDsaLevel::L44 => {
                let (k, pk) = from_expanded::<MlDsa44>(level, bytes)?;
                (Expanded::L44(k), pk)
            }
            MlDsaLevel::L65 => {
                let (k, pk) = from_expanded::<MlDsa65>(level, bytes)?;
                (Expanded::L65(k), pk)
            }
            MlDsaLevel::L87 => {
                let (k, pk) = from_expanded::<MlDsa87>(level, bytes)?;
                (Expanded::L87(k), pk)
            }
        };
        Ok(Self {
            level,
            seed: None,
            key,
            public_key,
        })
    }

    /// A PKCS #8 OneAsymmetricKey carrying any of the three ML-DSA-PrivateKey forms of
    /// RFC 9881 §6 (`seed` [0], `expandedKey`, `both`).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, MlDsaKeyError> {
        let malformed = |e: &dyn std::fmt::Display| MlDsaKeyError::Malformed(e.to_string());
        let info = pkcs8::PrivateKeyInfoRef::from_der(der).map_err(|e| malformed(&e))?;
        let level = MlDsaLevel::from_oid(&info.algorithm.oid)
            .ok_or_else(|| MlDsaKeyError::Malformed(format!("algorithm {}", info.algorithm.oid)))?;
        if info.algorithm.parameters.is_some() {
            return Err(MlDsaKeyError::Malformed("parameters must be absent".into()));
        }
        let body = info.private_key.as_bytes();
        let any = der::asn1::AnyRef::from_der(body).map_err(|e| malformed(&e))?;
        let seed_of = |v: &[u8]| -> Result<[u8; 32], MlDsaKeyError> {
            v.try_into()
                .map_err(|_| MlDsaKeyError::Malformed("seed is not 32 bytes".into()))
        };
        let key = match body.first() {
            Some(0x80) => Self::from_seed(level, &seed_of(any.value())?),
            Some(0x04) => Self::from_expanded(level, any.value())?,
            Some(0x30) => {
                use der::Reader as _;
                let mut r = der::SliceReader::new(body).map_err(|e| malformed(&e))?;
                let (seed, expanded) = r
                    .sequence(|r| {
                        let seed = <&der::asn1::OctetStringRef>::decode(r)?;
                        let expanded = <&der::asn1::OctetStringRef>::decode(r)?;
                        Ok::<_, der::Error>((seed, expanded))
                    })
                    .map_err(|e| malformed(&e))?;
                r.finish().map_err(|e| malformed(&e))?;
                let key = Self::from_seed(level, &seed_of(seed.as_bytes())?);
                if key.expanded_bytes()[..] != *expanded.as_bytes() {
                    return Err(MlDsaKeyError::SeedMismatch);
                }
                key
            }
            _ => {
                return Err(MlDsaKeyError::Malformed(
                    "unknown ML-DSA-PrivateKey choice".into(),
                ));
            }
        };
        if let Some(pk) = info.public_key
            && pk.raw_bytes() != key.public_key.as_slice()
        {
            return Err(MlDsaKeyError::Inconsistent(
                "publicKey does not match the private key",
            ));
        }
        Ok(key)
    }

    /// The seed form of RFC 9881 §6 in a PKCS #8 OneAsymmetricKey; `None` for keys loaded
    /// from an expanded key without a seed.
    pub fn to_pkcs8_der(&self) -> Option<Zeroizing<Vec<u8>>> {
        let seed = self.seed.as_ref()?;
        let mut inner = Zeroizing::new(vec![0x80, 32]);
        inner.extend_from_slice(seed.as_ref());
        let info = pkcs8::PrivateKeyInfoRef {
            algorithm: spki::AlgorithmIdentifierRef {
                oid: self.level.oid(),
                parameters: None,
            },
            private_key: der::asn1::OctetStringRef::new(&inner).ok()?,
            public_key: None,
        };
        info.to_der().ok().map(Zeroizing::new)
    }

    fn expanded_bytes(&self) -> Zeroizing<Vec<u8>> {
        match &self.key {
            Expanded::L44(k) => expanded_bytes(k),
            Expanded::L65(k) => expanded_bytes(k),
            Expanded::L87(k) => expanded_bytes(k),
        }
    }

    /// Its parameter set.
    pub fn level(&self) -> MlDsaLevel {
        self.level
    }

    /// The raw pkEncode.
    pub fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    /// Its public key as a SubjectPublicKeyInfo (RFC 9881 §4).
    pub fn subject_public_key_info(&self) -> Result<SubjectPublicKeyInfoOwned, der::Error> {
        spki_for(self.level.algorithm_identifier(), &self.public_key)
    }

    /// Hedged ML-DSA.Sign (FIPS 204 Algorithm 2) with context `ctx` (at most 255 bytes).
    pub fn sign(&self, message: &[u8], ctx: &[u8]) -> Result<Vec<u8>, SignError> {
        let ctx_len = u8::try_from(ctx.len())
            .map_err(|_| SignError::Failed("ML-DSA context longer than 255 bytes".into()))?;
        let mut rnd = Zeroizing::new([0u8; 32]);
        getrandom::fill(rnd.as_mut()).map_err(|e| SignError::Failed(e.to_string()))?;
        let rnd = (*rnd).into();
        // M' = 0 ‖ len(ctx) ‖ ctx ‖ M, then Sign_internal (FIPS 204 Algorithm 2, line 10).
        let prefix = [0u8, ctx_len];
        let parts: [&[u8]; 3] = [&prefix, ctx, message];
        Ok(match &self.key {
            Expanded::L44(k) => k.sign_internal(&parts, &rnd).encode().to_vec(),
            Expanded::L65(k) => k.sign_internal(&parts, &rnd).encode().to_vec(),
            Expanded::L87(k) => k.sign_internal(&parts, &rnd).encode().to_vec(),
        })
    }
}

/// A SubjectPublicKeyInfo with a raw key and the given identifier.
pub(crate) fn spki_for(
    algorithm: AlgorithmIdentifierOwned,
    key: &[u8],
) -> Result<SubjectPublicKeyInfoOwned, der::Error> {
    Ok(SubjectPublicKeyInfoOwned {
        algorithm,
        subject_public_key: der::asn1::BitString::from_bytes(key)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_each_level_with_and_without_context() {
        for level in MlDsaLevel::ALL {
            let k = MlDsaKey::generate(level).unwrap();
            assert_eq!(k.public_key().len(), level.public_key_len());
            let sig = k.sign(b"m", b"").unwrap();
            assert_eq!(sig.len(), level.signature_len());
            assert!(verify(level, k.public_key(), b"m", b"", &sig));
            assert!(!verify(level, k.public_key(), b"n", b"", &sig));
            let sig = k.sign(b"m", b"ctx").unwrap();
            assert!(verify(level, k.public_key(), b"m", b"ctx", &sig));
            assert!(!verify(level, k.public_key(), b"m", b"", &sig));
        }
    }

    #[test]
    fn seed_pkcs8_round_trips() {
        let k = MlDsaKey::generate(MlDsaLevel::L65).unwrap();
        let der = k.to_pkcs8_der().unwrap();
        let back = MlDsaKey::from_pkcs8_der(&der).unwrap();
        assert_eq!(back.public_key(), k.public_key());
    }

    #[test]
    fn context_longer_than_255_bytes_is_refused() {
        let k = MlDsaKey::generate(MlDsaLevel::L44).unwrap();
        assert!(k.sign(b"m", &[0; 256]).is_err());
    }
}
