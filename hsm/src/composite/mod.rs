//! Composite ML-DSA (draft-ietf-lamps-pq-composite-sigs): ML-DSA and a traditional signature
//! over one message representative, valid only if both verify.
//!
//! All 18 composite algorithms of the draft verify here ([`verify`]); Kokuin signs with those
//! whose traditional half it can hold — ECDSA P-256/P-384 and RSA — in software or in a
//! PKCS #11 token ([`signer::CompositeSigner`]).

pub mod id;
pub mod signer;
pub mod trad;

use id::{CompositeId, CompositeSpec, PREFIX};

/// M' = Prefix ‖ Label ‖ len(ctx) ‖ ctx ‖ PH(M) (draft §2.2); `None` if ctx exceeds 255 bytes.
pub fn message_representative(spec: &CompositeSpec, ctx: &[u8], message: &[u8]) -> Option<Vec<u8>> {
    let ctx_len = u8::try_from(ctx.len()).ok()?;
    let ph = spec.prehash.hash(message);
    let mut m = Vec::with_capacity(PREFIX.len() + spec.label.len() + 1 + ctx.len() + ph.len());
    m.extend_from_slice(PREFIX);
    m.extend_from_slice(spec.label.as_bytes());
    m.push(ctx_len);
    m.extend_from_slice(ctx);
    m.extend_from_slice(&ph);
    Some(m)
}

/// Composite-ML-DSA.Verify (draft §4.3): true only if both components verify.
/// `public_key` is the raw composite key (mldsaPK ‖ tradPK), `signature` mldsaSig ‖ tradSig.
pub fn verify(
    id: CompositeId,
    public_key: &[u8],
    message: &[u8],
    ctx: &[u8],
    signature: &[u8],
) -> bool {
    let spec = id.spec();
    let (pk_len, sig_len) = (spec.mldsa.public_key_len(), spec.mldsa.signature_len());
    if public_key.len() <= pk_len || signature.len() <= sig_len {
        return false;
    }
    let (ml_pk, trad_pk) = public_key.split_at(pk_len);
    let (ml_sig, trad_sig) = signature.split_at(sig_len);
    let Some(m) = message_representative(spec, ctx, message) else {
        return false;
    };
    crate::mldsa::verify(spec.mldsa, ml_pk, &m, spec.label.as_bytes(), ml_sig)
        && spec.trad.verify(trad_pk, &m, trad_sig)
}
