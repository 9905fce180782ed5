//! `kokuin keys list`: every key of the keyring with its state, the policies it serves, its
//! backend and attestation, and its certificate's validity and key usage period.

use super::common::usage;
use crate::cmd::CmdError;
use kokuin_certs::path::{extension, subject_of};
use kokuin_server::config::Config;
use kokuin_server::key_config::KeyConfig;
use kokuin_server::keyring::{KeyEntry, KeyState, Keyring};
use std::path::Path;
use std::time::SystemTime;
use x509_cert::ext::pkix::PrivateKeyUsagePeriod;

/// `keys list`.
pub fn list(config: &Path) -> Result<(), CmdError> {
    let cfg = Config::load(config).map_err(usage)?;
    let entries: Vec<KeyEntry> = match (&cfg.tsa.key, &cfg.tsa.keyring) {
        (Some(k), _) => vec![KeyEntry {
            name: "tsa.key".into(),
            state: KeyState::Active,
            activate_at: None,
            policy: None,
            key: k.clone(),
        }],
        (None, Some(_)) => {
            let ring = kokuin_server::keyring_store::open(&cfg)
                .map_err(|e| usage(e.to_string()))?
                .ok_or_else(|| usage("no tsa.keyring"))?
                .load()
                .map_err(usage)?;
            // Who may change these keys is part of what they are: an operator reading the
            // list should see at once whether one person can change it.
            match ring.quorum {
                Some(m) => println!(
                    "keyring version {}, under dual control: {} of {} officers ({})",
                    ring.version,
                    m,
                    ring.officers.len(),
                    ring.officers
                        .iter()
                        .map(|o| o.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => println!(
                    "keyring version {}, not under dual control (kokuin ceremony init)",
                    ring.version
                ),
            }
            ring.keys
        }
        _ => Vec::new(),
    };
    let ring = Keyring {
        keys: entries.clone(),
        ..Default::default()
    };
    let now = SystemTime::now();
    for e in &entries {
        let serving: Vec<&str> = cfg
            .tsa
            .policies
            .iter()
            .filter(|p| ring.in_force(now, &p.oid).is_some_and(|k| k.name == e.name))
            .map(|p| p.name.as_str())
            .collect();
        if serving.is_empty() {
            out!("{}: {}", e.name, e.state.name());
        } else {
            out!(
                "{}: {} (in force: {})",
                e.name,
                e.state.name(),
                serving.join(", ")
            );
        }
        if let Some(t) = &e.activate_at {
            out!("  activate at:  {t}");
        }
        if let Some(p) = &e.policy {
            out!("  policy:       {p}");
        }
        if e.state == KeyState::Destroyed {
            continue;
        }
        match &e.key {
            KeyConfig::Software { path, .. } => {
                out!(
                    "  backend:      software {} (not attested: not an HSM key)",
                    path.display()
                );
            }
            KeyConfig::Pkcs11 {
                token: t,
                key,
                wrapped,
                traditional_key,
                ..
            } => {
                let mldsa = match wrapped {
                    Some(file) => format!("wrapping key={key} seed={}", file.display()),
                    None => format!("key={key}"),
                };
                match traditional_key {
                    Some(trad) => out!("  backend:      pkcs11 token={t} {mldsa} + {trad}"),
                    None => out!("  backend:      pkcs11 token={t} {mldsa}"),
                }
                let alg = e
                    .key
                    .algorithm()
                    .and_then(kokuin_hsm::SignatureAlgorithm::from_name);
                match kokuin_server::signing_key::open_key_with(&cfg, &e.key, alg, false) {
                    Ok(k) if k.failures.is_empty() => {
                        out!("  attestation:  sensitive, never extractable, generated in the token")
                    }
                    Ok(k) if wrapped.is_some() => {
                        out!("  attestation:  none: {}", k.failures.join("; "))
                    }
                    Ok(k) => out!("  attestation:  FAILS: {}", k.failures.join("; ")),
                    Err(err) => out!("  attestation:  cannot open the key: {err}"),
                }
            }
        }
        match kokuin_certs::pem::load_certificates(&cfg.resolve(e.key.certificate())) {
            Ok(c) => {
                let tbs = c[0].tbs_certificate();
                out!("  certificate:  {}", subject_of(&c[0]));
                out!(
                    "  key:          {}",
                    key_kind(tbs.subject_public_key_info())
                );
                out!(
                    "  valid:        {} to {}",
                    tbs.validity().not_before,
                    tbs.validity().not_after
                );
                let pkup: Option<PrivateKeyUsagePeriod> = extension(&c[0]).ok().flatten();
                if let Some(end) = pkup.and_then(|p| p.not_after) {
                    out!("  key usage to: {}", end.to_date_time());
                }
            }
            Err(_) => out!("  certificate:  none yet"),
        }
    }
    Ok(())
}

/// What kind of key a certificate certifies, and whether it is quantum-safe.
fn key_kind(spki: &spki::SubjectPublicKeyInfoOwned) -> String {
    use kokuin_hsm::algorithm::{ec_curve, oid};
    let oid_ = spki.algorithm.oid;
    if let Some(l) = kokuin_hsm::MlDsaLevel::from_oid(&oid_) {
        return format!("{l} (quantum-safe)");
    }
    if let Some(c) = kokuin_hsm::CompositeId::from_oid(&oid_) {
        return format!("{} (composite, quantum-safe)", c.name());
    }
    match ec_curve(spki) {
        Some(oid::SECP256R1) => "ecdsa p-256 (classical)".into(),
        Some(oid::SECP384R1) => "ecdsa p-384 (classical)".into(),
        _ if oid_ == oid::RSA_ENCRYPTION => "rsa (classical)".into(),
        _ => format!("{oid_}"),
    }
}
