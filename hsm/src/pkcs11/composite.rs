//! A composite key whose halves live in a token (draft-ietf-lamps-pq-composite-sigs §4.2 lets
//! the component keys sit in separate keystores): two key pairs generated there, the ML-DSA
//! half under the key's label and the traditional half under [`traditional_label`]. A token
//! without ML-DSA holds the traditional half and the AES key that wraps the ML-DSA seed
//! ([`super::wrapped`]).

use super::error::HsmError;
use super::signer::Pkcs11Signer;
use super::token::Pkcs11Token;
use crate::composite::id::CompositeId;
use crate::composite::signer::CompositeSigner;
use crate::composite::trad::{Curve, Trad};
use crate::key_type::KeyType;
use crate::mldsa_signer::MlDsaComponent;
use std::sync::Arc;

/// The label of a composite's traditional half, from the label of its ML-DSA half.
pub fn traditional_label(label: &str) -> String {
    format!("{label}.trad")
}

/// The key type of a composite's traditional half, if a token can generate it.
pub fn traditional_key_type(id: CompositeId) -> Option<KeyType> {
    match id.spec().trad {
        Trad::Ecdsa {
            curve: Curve::P256, ..
        } => Some(KeyType::P256),
        Trad::Ecdsa {
            curve: Curve::P384, ..
        } => Some(KeyType::P384),
        Trad::RsaPss { bits, .. } | Trad::RsaPkcs1 { bits, .. } => Some(KeyType::Rsa(bits)),
        _ => None,
    }
}

/// Where a composite's ML-DSA half is.
pub enum MlDsaHalf<'a> {
    /// A key pair in the token under this label.
    InToken(&'a str),
    /// A seed wrapped under the token's AES key `wrapping_label`.
    Wrapped {
        /// The label of the token's AES wrapping key.
        wrapping_label: &'a str,
        /// The wrapped seed.
        blob: &'a [u8],
    },
}

/// A composite signer over two token keys, and every reason its halves are not attested HSM
/// keys (empty when both were generated in the token and never left it).
pub struct OpenedComposite {
    /// The signer.
    pub signer: CompositeSigner,
    /// Why it is not an attested HSM key (empty: it is).
    pub failures: Vec<String>,
}

/// Opens composite `id` from its halves in `token`, `sessions` sessions for each.
pub fn open(
    token: &Arc<Pkcs11Token>,
    id: CompositeId,
    mldsa: MlDsaHalf<'_>,
    trad_label: &str,
    sessions: usize,
) -> Result<OpenedComposite, HsmError> {
    let spec = id.spec();
    let mut failures = Vec::new();
    let (mldsa, name): (Box<dyn MlDsaComponent>, String) = match mldsa {
        MlDsaHalf::InToken(label) => {
            let s = Pkcs11Signer::new(token.clone(), label, None, sessions)?;
            failures.extend(
                s.attestation()
                    .failures()
                    .into_iter()
                    .map(|f| format!("ML-DSA half {label}: {f}")),
            );
            (Box::new(s.into_mldsa_component()?), label.to_string())
        }
        MlDsaHalf::Wrapped {
            wrapping_label,
            blob,
        } => {
            let label = format!("{}/wrapped", token.label());
            let key =
                super::wrapped::wrapped_mldsa_key(token, wrapping_label, blob, spec.mldsa, &label)?;
            failures.push(format!("ML-DSA half: {}", super::wrapped::DESCRIPTION));
            (key, format!("wrapped:{wrapping_label}"))
        }
    };
    let trad = Pkcs11Signer::new(
        token.clone(),
        trad_label,
        crate::algorithm::SignatureAlgorithm::for_trad(spec.trad),
        sessions,
    )?;
    failures.extend(
        trad.attestation()
            .failures()
            .into_iter()
            .map(|f| format!("traditional half {trad_label}: {f}")),
    );
    let label = format!("pkcs11:token={};object={name}+{trad_label}", token.label());
    let signer =
        CompositeSigner::new(id, mldsa, Box::new(trad), &label).map_err(|e| HsmError::Key {
            label: label.clone(),
            reason: e.to_string(),
        })?;
    Ok(OpenedComposite { signer, failures })
}

impl Pkcs11Token {
    /// Generates both halves of composite `id` in the token: ML-DSA under `label`, the
    /// traditional half under [`traditional_label`]. If the second fails the first is
    /// destroyed, so no half-made composite is left.
    pub fn generate_composite(&self, label: &str, id: CompositeId) -> Result<(), HsmError> {
        self.generate(label, KeyType::MlDsa(id.spec().mldsa))?;
        self.generate_traditional_half(label, id).inspect_err(|_| {
            let _ = self.destroy(label);
        })
    }

    /// Generates only the traditional half of composite `id` (its ML-DSA half is elsewhere,
    /// such as a wrapped seed).
    pub fn generate_traditional_half(&self, label: &str, id: CompositeId) -> Result<(), HsmError> {
        let kt = traditional_key_type(id).ok_or_else(|| HsmError::Key {
            label: label.into(),
            reason: format!(
                "{} has a traditional half no token here generates",
                id.name()
            ),
        })?;
        self.generate(&traditional_label(label), kt)
    }

    /// Whether the token generates ML-DSA keys (PKCS #11 3.2 CKM_ML_DSA_KEY_PAIR_GEN).
    pub fn offers_mldsa(&self) -> bool {
        // One mechanism asked for by name: listing them all makes cryptoki log an error for
        // every mechanism it has no name for.
        self.ctx
            .get_mechanism_info(
                self.slot,
                cryptoki::mechanism::MechanismType::ML_DSA_KEY_PAIR_GEN,
            )
            .is_ok()
    }
}
