//! Signing with a key in a PKCS #11 token.
//!
//! A pool of logged-in sessions sized to the signing concurrency, each with the private key's
//! handle found once (no C_FindObjects per signature). When the token loses the sessions
//! (CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_USER_NOT_LOGGED_IN,
//! CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT) the pool is rebuilt by one thread while the
//! others fail at once with [`SignError::Unavailable`] — a quick systemFailure, never a hang.
//!
//! Mechanisms hash locally and send the hash: CKM_ECDSA (the token's r‖s re-encoded as DER),
//! CKM_RSA_PKCS over a DigestInfo, CKM_RSA_PKCS_PSS with MGF1 of the same hash and a salt as
//! long as the hash.

use super::attest::{self, Attestation};
use super::error::{HsmError, ck};
use super::token::{Pkcs11Token, find_key};
use crate::algorithm::SignatureAlgorithm;
use crate::digest::DigestAlgorithm;
use crate::error::SignError;
use crate::key_type::KeyType;
use crate::signer::{KeyBackend, Signer};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::object::{ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use spki::SubjectPublicKeyInfoOwned;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a request waits for a free session before giving up.
const SESSION_WAIT: Duration = Duration::from_millis(500);
/// Least time between two attempts to rebuild a lost pool.
const RECOVERY_BACKOFF: Duration = Duration::from_millis(100);

/// A [`Signer`] over a private key in a PKCS #11 token, on a pool of logged-in sessions that
/// is rebuilt when the token is lost.
pub struct Pkcs11Signer {
    token: Arc<Pkcs11Token>,
    key_label: String,
    display: String,
    algorithm: SignatureAlgorithm,
    key_type: KeyType,
    spki: SubjectPublicKeyInfoOwned,
    attestation: Attestation,
    size: usize,
    pool: Mutex<Vec<(Session, ObjectHandle)>>,
    freed: Condvar,
    broken: AtomicBool,
    recovering: Mutex<Option<Instant>>,
    errors: AtomicU64,
}

impl Pkcs11Signer {
    /// The key labelled `key_label` in `token`, with `sessions` sessions.
    pub fn new(
        token: Arc<Pkcs11Token>,
        key_label: &str,
        algorithm: Option<SignatureAlgorithm>,
        sessions: usize,
    ) -> Result<Self, HsmError> {
        let s = token.session()?;
        let private = find_key(&s, key_label, ObjectClass::PRIVATE_KEY)?
            .ok_or_else(|| HsmError::NoKey(key_label.into()))?;
        let public =
            find_key(&s, key_label, ObjectClass::PUBLIC_KEY)?.ok_or_else(|| HsmError::Key {
                label: key_label.into(),
                reason: "no public key object with this label".into(),
            })?;
        let attestation = Attestation::read(&s, private)?;
        let (spki, key_type) = attest::public_key(&s, public)?;
        let algorithm = algorithm.unwrap_or(key_type.default_algorithm());
        if !key_type.fits(algorithm) {
            return Err(HsmError::Key {
                label: key_label.into(),
                reason: format!("{} does not fit a {} key", algorithm, key_type.name()),
            });
        }
        let signer = Self {
            display: format!("pkcs11:token={};object={}", token.label(), key_label),
            token,
            key_label: key_label.into(),
            algorithm,
            key_type,
            spki,
            attestation,
            size: sessions.max(1),
            pool: Mutex::new(Vec::new()),
            freed: Condvar::new(),
            broken: AtomicBool::new(false),
            recovering: Mutex::new(None),
            errors: AtomicU64::new(0),
        };
        let sessions = signer.open_sessions()?;
        if let Ok(mut p) = signer.pool.lock() {
            *p = sessions;
        }
        Ok(signer)
    }

    /// What the token reported of the key's protection when it was opened.
    pub fn attestation(&self) -> Attestation {
        self.attestation
    }

    /// The key's type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// Signatures the token refused or failed since start.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Closes every pooled session, as a token reset would. The pool rebuilds itself on the
    /// next signature (`kokuin` uses this to drop sessions on operator request, and tests use
    /// it to prove the recovery).
    pub fn close_sessions(&self) {
        if let Ok(mut p) = self.pool.lock() {
            for (s, _) in p.drain(..) {
                let _ = s.close();
            }
        }
        self.broken.store(true, Ordering::Release);
        self.freed.notify_all();
    }

    fn open_sessions(&self) -> Result<Vec<(Session, ObjectHandle)>, HsmError> {
        (0..self.size)
            .map(|_| {
                let s = self.token.session()?;
                let k = find_key(&s, &self.key_label, ObjectClass::PRIVATE_KEY)?
                    .ok_or_else(|| HsmError::NoKey(self.key_label.clone()))?;
                Ok((s, k))
            })
            .collect()
    }

    /// Rebuilds the pool, at most once per backoff period; only one thread tries.
    fn recover(&self) -> Result<(), SignError> {
        let Ok(mut last) = self.recovering.try_lock() else {
            return Err(SignError::Unavailable("the token is reconnecting".into()));
        };
        if last.is_some_and(|t| t.elapsed() < RECOVERY_BACKOFF) {
            return Err(SignError::Unavailable("the token is reconnecting".into()));
        }
        *last = Some(Instant::now());
        // Sessions still pooled belong to the lost generation.
        if let Ok(mut p) = self.pool.lock() {
            p.clear();
        }
        let fresh = self
            .open_sessions()
            .map_err(|e| SignError::Unavailable(format!("reconnecting to the token: {e}")))?;
        if let Ok(mut p) = self.pool.lock() {
            *p = fresh;
        }
        self.broken.store(false, Ordering::Release);
        self.freed.notify_all();
        tracing::info!(key = %self.display, "PKCS #11 sessions re-established");
        Ok(())
    }

    fn take(&self) -> Result<(Session, ObjectHandle), SignError> {
        let deadline = Instant::now() + SESSION_WAIT;
        let mut p = self
            .pool
            .lock()
            .map_err(|_| SignError::Unavailable("session pool poisoned".into()))?;
        loop {
            if self.broken.load(Ordering::Acquire) {
                return Err(SignError::Unavailable("the token lost its sessions".into()));
            }
            if let Some(s) = p.pop() {
                return Ok(s);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(SignError::Unavailable("no free token session".into()));
            }
            p = self
                .freed
                .wait_timeout(p, left)
                .map_err(|_| SignError::Unavailable("session pool poisoned".into()))?
                .0;
        }
    }

    fn give_back(&self, s: (Session, ObjectHandle)) {
        if let Ok(mut p) = self.pool.lock()
            && p.len() < self.size
            && !self.broken.load(Ordering::Acquire)
        {
            p.push(s);
        }
        self.freed.notify_one();
    }

    fn mechanism_and_data<'c>(
        &self,
        message: &[u8],
        ctx: &'c [u8],
    ) -> Result<(Mechanism<'c>, Vec<u8>), SignError> {
        if let SignatureAlgorithm::MlDsa(_) = self.algorithm {
            // CKM_ML_DSA (PKCS #11 3.2 §6.67.5): pure ML-DSA over the whole message, hedged,
            // with the context in CK_SIGN_ADDITIONAL_CONTEXT.
            use cryptoki::mechanism::dsa::{HedgeType, SignAdditionalContext};
            let params =
                SignAdditionalContext::new(HedgeType::Preferred, (!ctx.is_empty()).then_some(ctx));
            return Ok((Mechanism::MlDsa(params), message.to_vec()));
        }
        if !ctx.is_empty() {
            return Err(SignError::Failed(format!(
                "{} takes no context",
                self.algorithm
            )));
        }
        let d = self.algorithm.digest();
        let hash = d.digest(message);
        match self.algorithm {
            SignatureAlgorithm::Ecdsa(_) => Ok((Mechanism::Ecdsa, hash)),
            SignatureAlgorithm::RsaPkcs1v15(_) => {
                let mut info = digest_info_prefix(d)?.to_vec();
                info.extend_from_slice(&hash);
                Ok((Mechanism::RsaPkcs, info))
            }
            SignatureAlgorithm::RsaPss(_) => {
                let (hash_alg, mgf) = match d {
                    DigestAlgorithm::Sha256 => (
                        cryptoki::mechanism::MechanismType::SHA256,
                        PkcsMgfType::MGF1_SHA256,
                    ),
                    DigestAlgorithm::Sha384 => (
                        cryptoki::mechanism::MechanismType::SHA384,
                        PkcsMgfType::MGF1_SHA384,
                    ),
                    DigestAlgorithm::Sha512 => (
                        cryptoki::mechanism::MechanismType::SHA512,
                        PkcsMgfType::MGF1_SHA512,
                    ),
                    other => return Err(SignError::Failed(format!("RSA-PSS with {other}"))),
                };
                let params = PkcsPssParams {
                    hash_alg,
                    mgf,
                    s_len: (d.output_len() as u64).into(),
                };
                Ok((Mechanism::RsaPkcsPss(params), hash))
            }
            // ML-DSA returned above; composites sign through their two halves.
            SignatureAlgorithm::MlDsa(_) | SignatureAlgorithm::Composite(_) => Err(
                SignError::Failed(format!("{} is not a single token key", self.algorithm)),
            ),
        }
    }

    fn to_der_signature(&self, raw: Vec<u8>) -> Result<Vec<u8>, SignError> {
        let bad = |e: signature::Error| SignError::Failed(format!("token signature: {e}"));
        Ok(match self.key_type {
            KeyType::P256 => p256::ecdsa::Signature::from_slice(&raw)
                .map_err(bad)?
                .to_der()
                .as_bytes()
                .to_vec(),
            KeyType::P384 => p384::ecdsa::Signature::from_slice(&raw)
                .map_err(bad)?
                .to_der()
                .as_bytes()
                .to_vec(),
            KeyType::Rsa(_) | KeyType::MlDsa(_) => raw,
            KeyType::Composite(_) => {
                return Err(SignError::Failed("a composite is not a token key".into()));
            }
        })
    }
}

/// DigestInfo DER prefixes, RFC 8017 §9.2 note 1.
fn digest_info_prefix(d: DigestAlgorithm) -> Result<&'static [u8], SignError> {
    Ok(match d {
        DigestAlgorithm::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        DigestAlgorithm::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        DigestAlgorithm::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
        other => return Err(SignError::Failed(format!("RSA PKCS #1 v1.5 with {other}"))),
    })
}

/// Return values after which a session, or all of them, are gone.
fn session_lost(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::UserNotLoggedIn
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::DeviceError,
            _
        )
    )
}

impl Signer for Pkcs11Signer {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    fn backend(&self) -> KeyBackend {
        KeyBackend::Pkcs11
    }

    fn label(&self) -> &str {
        &self.display
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.sign_with_context(message, b"")
    }
}

impl Pkcs11Signer {
    fn sign_with_context(&self, message: &[u8], ctx: &[u8]) -> Result<Vec<u8>, SignError> {
        if self.broken.load(Ordering::Acquire) {
            self.recover()?;
        }
        let (mech, data) = self.mechanism_and_data(message, ctx)?;
        let (session, key) = self.take()?;
        match session.sign(&mech, key, &data) {
            Ok(raw) => {
                self.give_back((session, key));
                self.to_der_signature(raw)
            }
            Err(e) if session_lost(&e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                self.broken.store(true, Ordering::Release);
                drop(session);
                self.freed.notify_all();
                tracing::warn!(key = %self.display, error = %e, "PKCS #11 sessions lost; reconnecting");
                Err(SignError::Unavailable(ck("C_Sign")(e).to_string()))
            }
            Err(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                self.give_back((session, key));
                Err(SignError::Failed(ck("C_Sign")(e).to_string()))
            }
        }
    }
}

/// An ML-DSA key in the token as the ML-DSA half of a composite (the composite passes its
/// label as the context).
pub struct Pkcs11MlDsa {
    signer: Pkcs11Signer,
    level: crate::mldsa::level::MlDsaLevel,
}

impl Pkcs11Signer {
    /// This signer as an ML-DSA component; refused unless the key is ML-DSA.
    pub fn into_mldsa_component(self) -> Result<Pkcs11MlDsa, HsmError> {
        match self.key_type {
            KeyType::MlDsa(level) => Ok(Pkcs11MlDsa {
                signer: self,
                level,
            }),
            other => Err(HsmError::Key {
                label: self.key_label.clone(),
                reason: format!("a {} key is not an ML-DSA key", other.name()),
            }),
        }
    }
}

impl crate::mldsa_signer::MlDsaComponent for Pkcs11MlDsa {
    fn level(&self) -> crate::mldsa::level::MlDsaLevel {
        self.level
    }
    fn public_key(&self) -> &[u8] {
        self.signer.spki.subject_public_key.raw_bytes()
    }
    fn backend(&self) -> KeyBackend {
        KeyBackend::Pkcs11
    }
    fn sign_with_context(&self, message: &[u8], ctx: &[u8]) -> Result<Vec<u8>, SignError> {
        self.signer.sign_with_context(message, ctx)
    }
}
