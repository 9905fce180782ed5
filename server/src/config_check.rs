//! `kokuin config check`: what a start would refuse, found before a restart, writing nothing
//! (as `nginx -t` and `haproxy -c` do): the configuration's rules, dual control in production,
//! the keyring verified from the pinned officers, each key in force opened and checked against
//! its certificate, the audit key and its certificate, the HTTPS certificate and key.

use crate::config::Config;
use std::time::SystemTime;

/// One thing checked: what, and `Ok` with what was found or `Err` with why not.
pub type Check = (String, Result<String, String>);

/// Every check of `cfg`, in order; a start needs them all `Ok`.
pub fn check(cfg: &Config) -> Vec<Check> {
    let mut out: Vec<Check> = Vec::new();
    let policies = cfg.tsa.policies.len();
    out.push((
        "configuration".into(),
        Ok(format!(
            "{policies} policies; the rules of docs/config.md hold"
        )),
    ));
    if !cfg.dev && (cfg.tsa.officers.is_none() || cfg.tsa.keyring.is_none()) {
        out.push((
            "dual control".into(),
            Err(
                "a production service needs tsa.keyring under officers pinned in tsa.officers \
                 (kokuin ceremony init)"
                    .into(),
            ),
        ));
    }
    keys(cfg, &mut out);
    out.push((
        "audit key".into(),
        if cfg.audit.enabled {
            crate::audit::checkpoint_key(cfg)
                .map(|_| "the key opens and its certificate is its own".to_string())
                .map_err(|e| e.to_string())
        } else {
            Ok("the audit log is off (dev mode only)".into())
        },
    ));
    if let (Some(c), Some(k)) = (&cfg.server.tls_certificate, &cfg.server.tls_key) {
        out.push((
            "HTTPS".into(),
            crate::http::check_tls(&cfg.resolve(c), &cfg.resolve(k))
                .map(|()| "the certificate and key load and belong together".into())
                .map_err(|e| e.to_string()),
        ));
    }
    out
}

/// The keyring (or `tsa.key`) and each policy's key in force.
fn keys(cfg: &Config, out: &mut Vec<Check>) {
    let ring = match (&cfg.tsa.key, &cfg.tsa.keyring) {
        (Some(k), _) => {
            out.push((
                "tsa.key".into(),
                crate::signing_key::load_key(cfg, k, "tsa.key")
                    .map(|l| described(&l))
                    .map_err(|e| e.to_string()),
            ));
            return;
        }
        (None, Some(_)) => crate::keyring_store::open(cfg)
            .map_err(|e| e.to_string())
            .and_then(|s| s.ok_or_else(|| "no tsa.keyring".to_string()))
            .and_then(|s| s.load().map_err(|e| e.to_string())),
        (None, None) => Err("no tsa.key or tsa.keyring".into()),
    };
    let ring = match ring {
        Ok(r) => r,
        Err(e) => {
            out.push(("keyring".into(), Err(e)));
            return;
        }
    };
    if let Some(pinned) = &cfg.tsa.officers {
        let state =
            crate::ceremony::state_hash(&ring, &crate::ceremony::accept::certificate_of(cfg));
        let verified = crate::ceremony::verify::bootstrap(&ring, pinned)
            .and_then(|a| crate::ceremony::verify::follow(&ring, &a, &state));
        out.push((
            "keyring".into(),
            verified
                .map(|(a, _)| {
                    format!(
                        "version {}, {} officers, quorum {}: every ceremony verified from the pin",
                        a.version,
                        a.officers.len(),
                        a.quorum
                    )
                })
                .map_err(|e| e.to_string()),
        ));
    } else {
        out.push((
            "keyring".into(),
            Ok(format!(
                "version {}, not under dual control (dev mode)",
                ring.version
            )),
        ));
    }
    let now = SystemTime::now();
    for p in &cfg.tsa.policies {
        let what = format!("key for {}", p.name);
        out.push(match ring.in_force(now, &p.oid) {
            Some(e) => (
                what,
                crate::signing_key::load_key(cfg, &e.key, &e.name)
                    .map(|l| described(&l))
                    .map_err(|e| e.to_string()),
            ),
            None => (what, Err(format!("no key in force for {}", p.oid))),
        });
    }
}

fn described(l: &crate::signing_key::LoadedKey) -> String {
    let (_, until) = l.active.usage_window();
    format!(
        "{}: {}, usage until {}{}",
        l.name,
        kokuin_certs::path::subject_of(l.active.certificate()),
        humantime::format_rfc3339_seconds(until),
        if l.attested {
            ", attested by its token"
        } else {
            ""
        }
    )
}
