//! Opening a token by label, logging in once, generating keys in it, finding them.

use super::attest;
use super::error::{HsmError, ck};
use crate::key_type::KeyType;
use crate::mldsa::level::MlDsaLevel;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Where the PIN comes from. The PIN itself is never configured inline.
#[derive(Clone, Debug)]
pub enum PinSource {
    /// A file holding the PIN (refused if others can read it).
    File(PathBuf),
    /// An environment variable holding the PIN.
    Env(String),
}

impl PinSource {
    /// The PIN, held so that it is zeroized when dropped.
    pub fn read(&self) -> Result<AuthPin, HsmError> {
        let raw: Zeroizing<String> = match self {
            Self::File(p) => {
                let mode =
                    file_mode(p).map_err(|e| HsmError::Pin(format!("{}: {e}", p.display())))?;
                if mode & 0o077 != 0 {
                    return Err(HsmError::Pin(format!(
                        "{} is readable by group or others (mode {mode:o}); make it 0600",
                        p.display()
                    )));
                }
                Zeroizing::new(
                    std::fs::read_to_string(p)
                        .map_err(|e| HsmError::Pin(format!("{}: {e}", p.display())))?,
                )
            }
            Self::Env(v) => Zeroizing::new(
                std::env::var(v).map_err(|_| HsmError::Pin(format!("${v} is not set")))?,
            ),
        };
        Ok(AuthPin::from(
            raw.trim_end_matches(['\n', '\r']).to_string(),
        ))
    }
}

#[cfg(unix)]
fn file_mode(p: &Path) -> std::io::Result<u32> {
    use std::os::unix::fs::PermissionsExt;
    Ok(std::fs::metadata(p)?.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn file_mode(p: &Path) -> std::io::Result<u32> {
    std::fs::metadata(p).map(|_| 0o600)
}

/// An open token: the module, the slot holding the token, and the user PIN.
pub struct Pkcs11Token {
    pub(super) ctx: Pkcs11,
    pub(super) slot: Slot,
    pin: AuthPin,
    label: String,
}

impl Pkcs11Token {
    /// Loads `module`, finds the token labelled `label` and checks the PIN by logging in.
    pub fn open(module: &Path, label: &str, pin: &PinSource) -> Result<Self, HsmError> {
        let ctx = load(module)?;
        let slot = find_slot(&ctx, label)?;
        let token = Self {
            ctx,
            slot,
            pin: pin.read()?,
            label: label.to_string(),
        };
        token.session()?;
        Ok(token)
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// A read-write session, logged in as the user. PKCS #11 logs in the application, not
    /// the session: after the first login, later ones report "already logged in".
    pub fn session(&self) -> Result<Session, HsmError> {
        let s = self
            .ctx
            .open_rw_session(self.slot)
            .map_err(ck("C_OpenSession"))?;
        match s.login(UserType::User, Some(&self.pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(s),
            Err(e) => Err(ck("C_Login")(e)),
        }
    }

    /// Generates a key pair inside the token: sensitive, never extractable, token objects,
    /// private key usable only to sign.
    pub fn generate(&self, key_label: &str, key_type: KeyType) -> Result<(), HsmError> {
        let s = self.session()?;
        if find_key(&s, key_label, ObjectClass::PRIVATE_KEY)?.is_some() {
            return Err(HsmError::Key {
                label: key_label.into(),
                reason: "a key with this label exists already".into(),
            });
        }
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|e| HsmError::Key {
            label: key_label.into(),
            reason: e.to_string(),
        })?;
        let common = |private: bool| {
            vec![
                Attribute::Token(true),
                Attribute::Label(key_label.as_bytes().to_vec()),
                Attribute::Id(id.to_vec()),
                Attribute::Private(private),
            ]
        };
        let mut public = common(false);
        let mut private = common(true);
        private.extend([
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
        ]);
        public.push(Attribute::Verify(true));
        let mech = match key_type {
            KeyType::P256 | KeyType::P384 => {
                let curve = if key_type == KeyType::P256 {
                    crate::algorithm::oid::SECP256R1
                } else {
                    crate::algorithm::oid::SECP384R1
                };
                let params = der::Encode::to_der(&curve).map_err(|e| HsmError::Key {
                    label: key_label.into(),
                    reason: e.to_string(),
                })?;
                public.push(Attribute::EcParams(params));
                Mechanism::EccKeyPairGen
            }
            KeyType::Rsa(bits) => {
                public.push(Attribute::ModulusBits((bits as u64).into()));
                public.push(Attribute::PublicExponent(vec![1, 0, 1]));
                Mechanism::RsaPkcsKeyPairGen
            }
            KeyType::MlDsa(level) => {
                use cryptoki::object::MlDsaParameterSetType as P;
                let set = match level {
                    MlDsaLevel::L44 => P::ML_DSA_44,
                    MlDsaLevel::L65 => P::ML_DSA_65,
                    MlDsaLevel::L87 => P::ML_DSA_87,
                };
                public.push(Attribute::ParameterSet(set.into()));
                Mechanism::MlDsaKeyPairGen
            }
            KeyType::Composite(id) => return self.generate_composite(key_label, id),
        };
        s.generate_key_pair(&mech, &public, &private)
            .map_err(ck("C_GenerateKeyPair"))?;
        Ok(())
    }

    /// Destroys both halves of a key pair.
    pub fn destroy(&self, key_label: &str) -> Result<(), HsmError> {
        let s = self.session()?;
        let mut any = false;
        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            if let Some(h) = find_key(&s, key_label, class)? {
                s.destroy_object(h).map_err(ck("C_DestroyObject"))?;
                any = true;
            }
        }
        if !any {
            return Err(HsmError::NoKey(key_label.into()));
        }
        Ok(())
    }
}

/// Loads and initialises a PKCS #11 module for multi-threaded use, once per process:
/// C_Initialize and C_Finalize act on the whole process, so every user shares one context.
pub fn load(module: &Path) -> Result<Pkcs11, HsmError> {
    static LOADED: std::sync::Mutex<Vec<(PathBuf, Pkcs11)>> = std::sync::Mutex::new(Vec::new());
    let err = |reason: String| HsmError::Module {
        module: module.display().to_string(),
        reason,
    };
    let mut loaded = LOADED
        .lock()
        .map_err(|_| err("module table poisoned".into()))?;
    if let Some((_, ctx)) = loaded.iter().find(|(p, _)| p == module) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(module).map_err(|e| err(e.to_string()))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {
            loaded.push((module.to_path_buf(), ctx.clone()));
            Ok(ctx)
        }
        Err(e) => Err(err(e.to_string())),
    }
}

fn find_slot(ctx: &Pkcs11, label: &str) -> Result<Slot, HsmError> {
    for slot in ctx.get_slots_with_token().map_err(ck("C_GetSlotList"))? {
        let info = ctx.get_token_info(slot).map_err(ck("C_GetTokenInfo"))?;
        if info.label().trim_end() == label {
            return Ok(slot);
        }
    }
    Err(HsmError::NoToken(label.into()))
}

/// The object of `class` labelled `label`, if exactly one exists.
pub(crate) fn find_key(
    s: &Session,
    label: &str,
    class: ObjectClass,
) -> Result<Option<ObjectHandle>, HsmError> {
    let found = s
        .find_objects(&[
            Attribute::Class(class),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(ck("C_FindObjects"))?;
    match found.len() {
        0 => Ok(None),
        1 => Ok(Some(found[0])),
        n => Err(HsmError::Key {
            label: label.into(),
            reason: format!("{n} objects carry this label"),
        }),
    }
}

/// Initialises a fresh token in the first uninitialised slot (SoftHSM2 offers one): for dev
/// mode and tests, never for production tokens, which their officers initialise.
pub fn init_token(
    module: &Path,
    label: &str,
    so_pin: &str,
    user_pin: &str,
) -> Result<(), HsmError> {
    // Two initialisations at once would pick the same free slot.
    static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INIT.lock();
    let ctx = load(module)?;
    let slot = ctx
        .get_all_slots()
        .map_err(ck("C_GetSlotList"))?
        .into_iter()
        .find(|s| {
            ctx.get_token_info(*s)
                .map(|i| !i.token_initialized())
                .unwrap_or(false)
        })
        .ok_or_else(|| HsmError::NoToken("(an uninitialised slot)".into()))?;
    let so = AuthPin::from(so_pin.to_string());
    ctx.init_token(slot, &so, label)
        .map_err(ck("C_InitToken"))?;
    let slot = find_slot(&ctx, label)?;
    let s = ctx.open_rw_session(slot).map_err(ck("C_OpenSession"))?;
    s.login(UserType::So, Some(&so))
        .map_err(ck("C_Login(SO)"))?;
    s.init_pin(&AuthPin::from(user_pin.to_string()))
        .map_err(ck("C_InitPIN"))?;
    s.logout().map_err(ck("C_Logout"))?;
    Ok(())
}

/// Signatures per second that the token itself makes with `key_label` (C_Sign of a P-256 or
/// P-384 ECDSA hash, or an RSA PKCS #1 DigestInfo), `threads` sessions in parallel for
/// `duration`: the reference a server's token rate is measured against.
pub fn raw_sign_rate(
    token: &Pkcs11Token,
    key_label: &str,
    threads: usize,
    duration: std::time::Duration,
) -> Result<f64, HsmError> {
    let s = token.session()?;
    let public = find_key(&s, key_label, ObjectClass::PUBLIC_KEY)?
        .ok_or_else(|| HsmError::NoKey(key_label.into()))?;
    let (_, key_type) = attest::public_key(&s, public)?;
    drop(s);
    let ec = matches!(key_type, KeyType::P256 | KeyType::P384);
    let mldsa = matches!(key_type, KeyType::MlDsa(_));
    let data: Vec<u8> = match key_type {
        KeyType::P256 | KeyType::P384 => vec![0x5a; 32],
        KeyType::MlDsa(_) => vec![0x5a; 64],
        KeyType::Composite(_) => {
            return Err(HsmError::Key {
                label: key_label.into(),
                reason: "a composite has no single raw signing rate".into(),
            });
        }
        KeyType::Rsa(_) => {
            let mut v = vec![
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ];
            v.extend([0x5a; 32]);
            v
        }
    };
    let start = std::time::Instant::now();
    let counts = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                let data = &data;
                sc.spawn(move || -> Result<u64, HsmError> {
                    let mech = if mldsa {
                        Mechanism::MlDsa(cryptoki::mechanism::dsa::SignAdditionalContext::new(
                            cryptoki::mechanism::dsa::HedgeType::Preferred,
                            None,
                        ))
                    } else if ec {
                        Mechanism::Ecdsa
                    } else {
                        Mechanism::RsaPkcs
                    };
                    let s = token.session()?;
                    let k = find_key(&s, key_label, ObjectClass::PRIVATE_KEY)?
                        .ok_or_else(|| HsmError::NoKey(key_label.into()))?;
                    let mut n = 0u64;
                    while start.elapsed() < duration {
                        s.sign(&mech, k, data).map_err(ck("C_Sign"))?;
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Ok(0)))
            .collect::<Result<Vec<u64>, HsmError>>()
    })?;
    Ok(counts.iter().sum::<u64>() as f64 / start.elapsed().as_secs_f64())
}
