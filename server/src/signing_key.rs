//! Opening a configured key (file, PKCS #11 token, composite of two), checked against its
//! certificate, the key policy and the token's attestation; used by the TSA, the e-seal
//! service and `kokuin keys`.

use crate::config::Config;
use crate::error::StartError;
use crate::key_config::KeyConfig;
use kokuin_certs::path::{Purpose, check_purpose};
use kokuin_certs::pem::{load_certificates, to_pem_chain};
use kokuin_hsm::{SignatureAlgorithm, Signer, SoftwareSigner};
use kokuin_tsa::ActiveKey;
use kokuin_tsa::token::TokenSigner;
use std::sync::Arc;

/// A key ready to sign, with what `/tsa/certs` serves for it.
#[derive(Clone)]
pub struct LoadedKey {
    /// The key with its certificate and usage window.
    pub active: Arc<ActiveKey>,
    /// The certificate chain as PEM.
    pub chain_pem: String,
    /// The keyring entry's name, or "tsa.key".
    pub name: String,
    /// Whether its token attested it sensitive, generated there and never extractable.
    pub attested: bool,
}

/// Opens the key `key_cfg` describes, checks it against its certificate and the key policy,
/// and prepares it for signing.
pub fn load_key(cfg: &Config, key_cfg: &KeyConfig, name: &str) -> Result<LoadedKey, StartError> {
    let algorithm = key_cfg.algorithm().and_then(SignatureAlgorithm::from_name);
    let opened = open_key_with(cfg, key_cfg, algorithm, cfg.tsa.require_hsm_key)?;
    let (key, attested) = (opened.signer, opened.attested);
    let cert_path = cfg.resolve(key_cfg.certificate());
    let mut certs = load_certificates(&cert_path)?;
    let cert_err = |reason: String| StartError::Certificate {
        path: cert_path.display().to_string(),
        reason,
    };
    let tsu = certs.remove(0);
    if tsu.tbs_certificate().subject_public_key_info() != key.public_key() {
        return Err(cert_err(
            "its public key is not the configured key's".to_string(),
        ));
    }
    check_purpose(&tsu, Purpose::TimeStamping).map_err(|e| cert_err(e.to_string()))?;
    let chain_pem = to_pem_chain(&[std::slice::from_ref(&tsu), &certs].concat())
        .map_err(|e| cert_err(e.to_string()))?;
    let key_label = key.label().to_string();
    let signer = TokenSigner::new(key, tsu, &certs).map_err(|e| cert_err(e.to_string()))?;
    let mut active = ActiveKey::new(signer).map_err(|e| cert_err(e.to_string()))?;
    // Token records name a keyring key by its entry, which key.lifecycle records use too;
    // `tsa.key` keeps the signer's own label.
    if name != "tsa.key" {
        active = active.named(name);
    }
    let (from, until) = active.usage_window();
    let now = std::time::SystemTime::now();
    if now < from || now > until {
        tracing::error!(
            key = %key_label,
            "the TSU key is outside its usage period; every request will get systemFailure"
        );
    }
    Ok(LoadedKey {
        active: Arc::new(active),
        chain_pem,
        name: name.to_string(),
        attested,
    })
}

/// The configured TSU key, checked against `tsa.require_hsm_key`.
pub fn open_key(
    cfg: &Config,
    key_cfg: &KeyConfig,
    algorithm: Option<SignatureAlgorithm>,
) -> Result<Arc<dyn Signer>, StartError> {
    open_key_with(cfg, key_cfg, algorithm, cfg.tsa.require_hsm_key).map(|k| k.signer)
}

/// An opened key and whether its token attested it generated there and never extractable.
pub struct OpenedKey {
    /// The key.
    pub signer: Arc<dyn Signer>,
    /// Whether the token attested it sensitive, generated there and never extractable.
    pub attested: bool,
    /// Why it is not attested, for a token key (empty for software keys).
    pub failures: Vec<String>,
}

/// Opens a key; with `require_hsm`, only an attested HSM key is accepted.
pub fn open_key_with(
    cfg: &Config,
    key_cfg: &KeyConfig,
    algorithm: Option<SignatureAlgorithm>,
    require_hsm: bool,
) -> Result<OpenedKey, StartError> {
    let policy = |reason: String| {
        StartError::Other(format!("tsa.require_hsm_key: {reason}; refusing to start"))
    };
    match key_cfg {
        KeyConfig::Software { path, .. } => {
            if require_hsm {
                return Err(policy(
                    "the key is a software key, not one held in an HSM".into(),
                ));
            }
            Ok(OpenedKey {
                signer: Arc::new(SoftwareSigner::load(
                    &cfg.resolve(path),
                    algorithm,
                    cfg.dev,
                )?),
                attested: false,
                failures: Vec::new(),
            })
        }
        KeyConfig::Pkcs11 {
            module,
            token,
            key,
            pin_file,
            pin_env,
            sessions,
            wrapped,
            traditional_key,
            ..
        } => {
            let pin = match (pin_file, pin_env) {
                (Some(f), _) => kokuin_hsm::PinSource::File(cfg.resolve(f)),
                (None, Some(v)) => kokuin_hsm::PinSource::Env(v.clone()),
                (None, None) => return Err(StartError::Other("tsa.key: no PIN source".into())),
            };
            let hsm = |e: kokuin_hsm::HsmError| StartError::Other(format!("tsa.key: {e}"));
            let t = Arc::new(
                kokuin_hsm::Pkcs11Token::open(&cfg.resolve(module), token, &pin).map_err(hsm)?,
            );
            let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
            let sessions = sessions.unwrap_or(threads).min(cfg.server.max_concurrency);
            let read_blob = |file: &std::path::PathBuf| {
                let path = cfg.resolve(file);
                std::fs::read(&path)
                    .map_err(|e| StartError::Other(format!("{}: {e}", path.display())))
            };
            if let Some(trad) = traditional_key {
                let Some(SignatureAlgorithm::Composite(id)) = algorithm else {
                    return Err(StartError::Other(
                        "a key with a traditional_key needs algorithm = \"<composite>\"".into(),
                    ));
                };
                let blob = wrapped.as_ref().map(read_blob).transpose()?;
                let half = match &blob {
                    Some(blob) => kokuin_hsm::pkcs11::composite::MlDsaHalf::Wrapped {
                        wrapping_label: key,
                        blob,
                    },
                    None => kokuin_hsm::pkcs11::composite::MlDsaHalf::InToken(key),
                };
                let opened = kokuin_hsm::pkcs11::composite::open(&t, id, half, trad, sessions)
                    .map_err(hsm)?;
                return attested(opened.signer, opened.failures, require_hsm);
            }
            if let Some(file) = wrapped {
                if require_hsm {
                    return Err(policy(format!(
                        "the key is an {}",
                        kokuin_hsm::pkcs11::wrapped::DESCRIPTION
                    )));
                }
                let Some(SignatureAlgorithm::MlDsa(level)) = algorithm else {
                    return Err(StartError::Other(
                        "a wrapped key needs algorithm = \"ml-dsa-…\"".into(),
                    ));
                };
                let path = cfg.resolve(file);
                let blob = read_blob(file)?;
                let signer = kokuin_hsm::pkcs11::wrapped::wrapped_mldsa_signer(
                    &t,
                    key,
                    &blob,
                    level,
                    &format!("{token}/{}", path.display()),
                )
                .map_err(hsm)?;
                tracing::warn!(
                    key = %signer.label(),
                    "{}",
                    kokuin_hsm::pkcs11::wrapped::DESCRIPTION
                );
                return Ok(OpenedKey {
                    signer: Arc::new(signer),
                    attested: false,
                    failures: vec![kokuin_hsm::pkcs11::wrapped::DESCRIPTION.to_string()],
                });
            }
            let signer = kokuin_hsm::Pkcs11Signer::new(t, key, algorithm, sessions).map_err(hsm)?;
            let failures = signer.attestation().failures();
            attested(
                signer,
                failures.into_iter().map(String::from).collect(),
                require_hsm,
            )
        }
    }
}

/// A token key with the reasons it is not an attested HSM key: logged, and fatal under
/// `tsa.require_hsm_key`.
fn attested(
    signer: impl Signer + 'static,
    failures: Vec<String>,
    require_hsm: bool,
) -> Result<OpenedKey, StartError> {
    if failures.is_empty() {
        tracing::info!(key = %signer.label(), "key attestation: generated in the token, never extractable");
    } else {
        tracing::warn!(key = %signer.label(), failures = %failures.join("; "), "key attestation failed");
        if require_hsm {
            return Err(StartError::Other(format!(
                "tsa.require_hsm_key: {}; refusing to start",
                failures.join("; ")
            )));
        }
    }
    Ok(OpenedKey {
        signer: Arc::new(signer),
        attested: failures.is_empty(),
        failures,
    })
}
