//! RSA signing in RustCrypto (PKCS #1 v1.5 and PSS), for the pairs AWS-LC does not sign.

use crate::digest::DigestAlgorithm;
use crate::error::SignError;
use signature::{RandomizedSigner, Signer as _};

pub(super) fn rsa_pkcs1(
    k: &rsa::RsaPrivateKey,
    d: DigestAlgorithm,
    msg: &[u8],
) -> Result<Vec<u8>, SignError> {
    use rsa::pkcs1v15::SigningKey;
    let fail = |e: signature::Error| SignError::Failed(e.to_string());
    let sig: Box<[u8]> = match d {
        DigestAlgorithm::Sha256 => SigningKey::<sha2::Sha256>::new(k.clone())
            .try_sign(msg)
            .map_err(fail)?
            .into(),
        DigestAlgorithm::Sha384 => SigningKey::<sha2::Sha384>::new(k.clone())
            .try_sign(msg)
            .map_err(fail)?
            .into(),
        DigestAlgorithm::Sha512 => SigningKey::<sha2::Sha512>::new(k.clone())
            .try_sign(msg)
            .map_err(fail)?
            .into(),
        other => return Err(SignError::Failed(format!("RSA with {other}"))),
    };
    Ok(sig.into_vec())
}

pub(super) fn rsa_pss(
    k: &rsa::RsaPrivateKey,
    d: DigestAlgorithm,
    msg: &[u8],
) -> Result<Vec<u8>, SignError> {
    use rsa::pss::SigningKey;
    let fail = |e: signature::Error| SignError::Failed(e.to_string());
    let mut rng = rsa::rand_core::UnwrapErr(getrandom::SysRng);
    let sig: Box<[u8]> = match d {
        DigestAlgorithm::Sha256 => SigningKey::<sha2::Sha256>::new(k.clone())
            .try_sign_with_rng(&mut rng, msg)
            .map_err(fail)?
            .into(),
        DigestAlgorithm::Sha384 => SigningKey::<sha2::Sha384>::new(k.clone())
            .try_sign_with_rng(&mut rng, msg)
            .map_err(fail)?
            .into(),
        DigestAlgorithm::Sha512 => SigningKey::<sha2::Sha512>::new(k.clone())
            .try_sign_with_rng(&mut rng, msg)
            .map_err(fail)?
            .into(),
        other => return Err(SignError::Failed(format!("RSA-PSS with {other}"))),
    };
    Ok(sig.into_vec())
}
