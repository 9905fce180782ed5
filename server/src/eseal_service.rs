//! Builds the e-seal service from `[eseal]`: each seal key opened, checked against its
//! certificate and against the rules of its declared assurance level, and refused at start
//! if it fails one; who may use which key; where time-stamps and CRLs come from.

use crate::config::{Config, ESealSection};
use crate::error::StartError;
use crate::signing_key::open_key_with;
use kokuin_certs::crl::parse_crls;
use kokuin_certs::eseal::SealSubject;
use kokuin_certs::path::{Purpose, check_purpose, validate_path};
use kokuin_certs::pem::load_certificates;
use kokuin_eseal::assurance::{KeyFacts, check_key, level_of_certificate};
use kokuin_eseal::{AssuranceLevel, SealKey, TimeStamper};
use kokuin_hsm::{DigestAlgorithm, KeyBackend, KeyType, SignatureAlgorithm};
use kokuin_tsa::TimeStampAuthority;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;

/// A seal key ready to seal, with what its level allows.
pub struct LoadedSealKey {
    /// The key and certificate.
    pub seal: SealKey,
    /// The assurance level it was checked against.
    pub level: AssuranceLevel,
    /// The certificate's chain as configured (signer first): what B-LT adds.
    pub chain: Vec<Certificate>,
    /// The seal image of its visible PDF seals, if configured.
    pub stamp_image: Option<Arc<kokuin_pades::StampImage>>,
}

/// A caller of the API and the keys it may use.
#[derive(Clone)]
pub struct Client {
    /// Its name, in audit records.
    pub name: String,
    /// SHA-256 (hex, lower case) of its TLS client certificate.
    pub certificate_sha256: Option<String>,
    /// SHA-256 (hex, lower case) of its API token.
    pub token_sha256: Option<String>,
    /// The seal keys it may use.
    pub keys: Vec<String>,
}

/// The e-seal API's state: keys, clients, time-stamps, CRLs, memory budget.
pub struct SealService {
    /// The seal keys by name.
    pub keys: HashMap<String, LoadedSealKey>,
    /// What a seal sent to be extended must chain to, its time-stamps included: the roots of
    /// the seal keys' chains and `validation_certificates` (where an external TSA's root
    /// belongs, since B-LT seals carry it anyway).
    pub trust_anchors: Vec<Certificate>,
    /// The service's trusted clock gives every seal its signing-time: no trusted time, no
    /// seal, at any level.
    pub authority: Arc<TimeStampAuthority>,
    /// Who may call.
    pub clients: Vec<Client>,
    /// CAs of accepted TLS client certificates.
    pub client_cas: Vec<Certificate>,
    /// Where signature and archive time-stamps come from.
    pub stamper: Arc<dyn TimeStamper>,
    crl_paths: Vec<PathBuf>,
    /// Certificates added to B-LT seals besides the chains.
    pub validation_certificates: Vec<Certificate>,
    /// Largest enveloped document, in octets.
    pub max_enveloping: u64,
    /// MiB of whole bodies (enveloped documents, seals to extend) held at once.
    pub in_memory: Arc<tokio::sync::Semaphore>,
    /// The size of `in_memory`, MiB.
    pub in_memory_mb: u32,
    /// The font of visible PDF seals, if there is one.
    pub stamp_font: Option<Arc<kokuin_pades::StampFont>>,
}

/// Where Debian installs the freely licensed Japanese fonts a stamp is set in when
/// `eseal.stamp_font` names none (fonts-ipaexfont-gothic, fonts-ipafont-gothic: IPA
/// P Gothic, whose Latin letters are proportional).
pub const DEFAULT_STAMP_FONTS: [&str; 2] = [
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf",
];

/// The configured stamp font, checked; or the first default one that is usable; or none.
/// A configured font that cannot be used is an error (the start is refused).
pub fn stamp_font(
    cfg: &Config,
    section: &ESealSection,
) -> Result<Option<Arc<kokuin_pades::StampFont>>, String> {
    let open = |p: &std::path::Path| {
        std::fs::read(p)
            .map_err(|e| format!("eseal.stamp_font {}: {e}", p.display()))
            .and_then(|d| {
                kokuin_pades::StampFont::new(d)
                    .map_err(|e| format!("eseal.stamp_font {}: {e}", p.display()))
            })
            .map(Arc::new)
    };
    match &section.stamp_font {
        Some(p) => open(&cfg.resolve(p)).map(Some),
        None => Ok(DEFAULT_STAMP_FONTS
            .iter()
            .find_map(|p| open(std::path::Path::new(p)).ok())),
    }
}

/// A configured CRL file that cannot be read or parsed: for the operator's log (it names the
/// file), never for a caller.
#[derive(Debug, thiserror::Error)]
#[error("CRL {}: {reason}", path.display())]
pub struct CrlError {
    /// The file.
    pub path: PathBuf,
    /// What failed.
    pub reason: String,
}

impl SealService {
    /// The CRLs to put in B-LT seals, read now (they are refreshed outside Kokuin).
    pub fn crls(&self) -> Result<Vec<CertificateList>, CrlError> {
        let mut out = Vec::new();
        for p in &self.crl_paths {
            let failed = |reason: String| CrlError {
                path: p.clone(),
                reason,
            };
            let bytes = std::fs::read(p).map_err(|e| failed(e.to_string()))?;
            out.extend(parse_crls(&bytes).map_err(|e| failed(e.to_string()))?);
        }
        Ok(out)
    }
}

/// Builds the e-seal service from `[eseal]`: every key opened and checked against its level,
/// or the start is refused.
pub fn build(
    cfg: &Config,
    section: &ESealSection,
    issuance: Arc<crate::issuance::Issuance>,
) -> Result<SealService, StartError> {
    let authority = issuance.authority.clone();
    let load_all = |paths: &[PathBuf]| -> Result<Vec<Certificate>, StartError> {
        let mut v = Vec::new();
        for p in paths {
            v.extend(load_certificates(&cfg.resolve(p))?);
        }
        Ok(v)
    };
    let accredited = load_all(&section.accredited_cas)?;
    let level_policies = section
        .level_policies
        .iter()
        .filter_map(|p| Some((p.oid.parse().ok()?, AssuranceLevel::from_number(p.level)?)))
        .collect::<Vec<_>>();
    let mut keys = HashMap::new();
    for k in &section.keys {
        let loaded = load_seal_key(cfg, k, &accredited, &level_policies, issuance.audited())?;
        tracing::info!(key = %k.name, level = k.level, "seal key ready");
        keys.insert(k.name.clone(), loaded);
    }
    let stamper: Arc<dyn TimeStamper> = match &section.tsa_url {
        Some(url) => Arc::new(HttpStamper {
            url: url.clone(),
            agent: kokuin_client::agent(kokuin_client::TlsOptions {
                ca: section.tsa_ca.as_deref().map(|p| cfg.resolve(p)).as_deref(),
                client: None,
            })
            .map_err(|e| StartError::Other(format!("eseal.tsa_url: {e}")))?,
        }),
        None => Arc::new(crate::issuance::OwnTimeStamper(issuance)),
    };
    let validation_certificates = load_all(&section.validation_certificates)?;
    let mut trust_anchors: Vec<Certificate> = Vec::new();
    let roots = keys.values().filter_map(|k: &LoadedSealKey| k.chain.last());
    for c in roots.chain(&validation_certificates) {
        if !trust_anchors.contains(c) {
            trust_anchors.push(c.clone());
        }
    }
    Ok(SealService {
        keys,
        trust_anchors,
        authority,
        clients: section
            .clients
            .iter()
            .map(|c| Client {
                name: c.name.clone(),
                certificate_sha256: c
                    .certificate_sha256
                    .as_ref()
                    .map(|h| h.to_ascii_lowercase()),
                token_sha256: c.token_sha256.as_ref().map(|h| h.to_ascii_lowercase()),
                keys: c.keys.clone(),
            })
            .collect(),
        client_cas: load_all(&section.client_cas)?,
        stamper,
        crl_paths: section.crls.iter().map(|p| cfg.resolve(p)).collect(),
        validation_certificates,
        max_enveloping: section.max_enveloping_mb.saturating_mul(1024 * 1024),
        in_memory: Arc::new(tokio::sync::Semaphore::new(
            section.max_enveloping_in_flight_mb.max(1) as usize,
        )),
        in_memory_mb: section.max_enveloping_in_flight_mb.max(1),
        stamp_font: stamp_font(cfg, section).map_err(StartError::Other)?,
    })
}

/// What a start would refuse in `[eseal]`, found without starting anything (`serve
/// --check-config`): every certificate and CRL file read, every seal key opened and held to
/// its level as [`build`] holds it. Each problem is its own entry, so one run lists them all.
pub fn check(cfg: &Config, section: &ESealSection) -> Vec<(String, Result<String, String>)> {
    let mut out = Vec::new();
    let mut read = |what: &str, paths: &[PathBuf]| -> Vec<Certificate> {
        let mut all = Vec::new();
        for p in paths {
            match load_certificates(&cfg.resolve(p)) {
                Ok(c) => {
                    out.push((
                        format!("{what} {}", p.display()),
                        Ok(format!("{} certificate(s)", c.len())),
                    ));
                    all.extend(c);
                }
                Err(e) => out.push((format!("{what} {}", p.display()), Err(e.to_string()))),
            }
        }
        all
    };
    let accredited = read("eseal.accredited_cas", &section.accredited_cas);
    read("eseal.client_cas", &section.client_cas);
    read(
        "eseal.validation_certificates",
        &section.validation_certificates,
    );
    if let Some(ca) = &section.tsa_ca {
        read("eseal.tsa_ca", std::slice::from_ref(ca));
    }
    for p in &section.crls {
        let parsed = std::fs::read(cfg.resolve(p))
            .map_err(|e| e.to_string())
            .and_then(|b| parse_crls(&b).map_err(|e| e.to_string()));
        out.push((
            format!("eseal.crls {}", p.display()),
            parsed.map(|c| format!("{} CRL(s)", c.len())),
        ));
    }
    out.push((
        "eseal.stamp_font".into(),
        stamp_font(cfg, section).map(|f| match f {
            Some(_) if section.stamp_font.is_some() => "usable for visible seals".into(),
            Some(_) => "a default font: visible seals can be made".into(),
            None => "none found: visible seals are refused".into(),
        }),
    ));
    let level_policies = section
        .level_policies
        .iter()
        .filter_map(|p| Some((p.oid.parse().ok()?, AssuranceLevel::from_number(p.level)?)))
        .collect::<Vec<_>>();
    for k in &section.keys {
        let loaded = load_seal_key(cfg, k, &accredited, &level_policies, cfg.audit.enabled);
        out.push((
            format!("seal key {}", k.name),
            loaded
                .map(|l| {
                    format!(
                        "{}, meets assurance {}",
                        kokuin_certs::path::subject_of(l.seal.certificate()),
                        l.level
                    )
                })
                .map_err(|e| e.to_string()),
        ));
    }
    out
}

fn load_seal_key(
    cfg: &Config,
    k: &crate::config::SealKeyConfig,
    accredited: &[Certificate],
    level_policies: &[(const_oid::ObjectIdentifier, AssuranceLevel)],
    audited: bool,
) -> Result<LoadedSealKey, StartError> {
    let refuse = |reason: String| {
        StartError::Other(format!(
            "seal key {:?}: {reason}; refusing to start",
            k.name
        ))
    };
    let level = AssuranceLevel::from_number(k.level)
        .ok_or_else(|| refuse("level must be 1 or 2".into()))?;
    let algorithm = k.key.algorithm().and_then(SignatureAlgorithm::from_name);
    // Level rules, not tsa.require_hsm_key, decide whether a software seal key may serve.
    let opened = open_key_with(cfg, &k.key, algorithm, false)?;
    let signer = opened.signer;
    let mut chain = load_certificates(&cfg.resolve(k.key.certificate()))?;
    let cert = chain.remove(0);
    if cert.tbs_certificate().subject_public_key_info() != signer.public_key() {
        return Err(refuse(
            "the certificate's public key is not the key's".into(),
        ));
    }
    check_purpose(&cert, Purpose::ESeal).map_err(|e| refuse(e.to_string()))?;
    SealSubject::from_certificate(&cert).map_err(|e| refuse(e.to_string()))?;
    let now = std::time::SystemTime::now();
    let accredited_ca = !accredited.is_empty()
        && validate_path(&cert, &chain, accredited, now, Purpose::ESeal).is_ok();
    let facts = KeyFacts {
        hsm_attested: signer.backend() == KeyBackend::Pkcs11 && opened.attested,
        accredited_ca,
        certificate_level: level_of_certificate(&cert, level_policies),
        key_type: KeyType::of_public_key(signer.public_key()),
        audited,
    };
    let failures = check_key(level, &facts);
    if !failures.is_empty() {
        let rules: Vec<String> = failures.iter().map(|f| f.to_string()).collect();
        return Err(refuse(format!(
            "does not meet assurance {level}: {}",
            rules.join("; ")
        )));
    }
    let seal = SealKey::new(signer, cert.clone(), &chain).map_err(|e| refuse(e.to_string()))?;
    let mut full = vec![cert];
    full.extend(chain);
    let stamp_image = match &k.stamp_image {
        Some(p) => {
            let p = cfg.resolve(p);
            let data = std::fs::read(&p)
                .map_err(|e| refuse(format!("stamp_image {}: {e}", p.display())))?;
            Some(Arc::new(
                kokuin_pades::StampImage::from_png(&data)
                    .map_err(|e| refuse(format!("stamp_image {}: {e}", p.display())))?,
            ))
        }
        None => None,
    };
    Ok(LoadedSealKey {
        seal,
        level,
        chain: full,
        stamp_image,
    })
}

/// An external RFC 3161 TSA over HTTP(S).
struct HttpStamper {
    url: String,
    agent: ureq::Agent,
}

impl TimeStamper for HttpStamper {
    fn timestamp(&self, digest: DigestAlgorithm, imprint: &[u8]) -> Result<Vec<u8>, String> {
        kokuin_client::timestamp(&self.agent, &self.url, digest, imprint).map_err(|e| e.to_string())
    }
}
