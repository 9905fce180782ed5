//! `kokuin serve --check-config` (and `kokuin config check`): what a start would refuse,
//! found before a restart (as `nginx -t` and `haproxy -c` do): the configuration's rules, dual
//! control in production, the keyring verified from the pinned officers, each key in force
//! opened and checked against its certificate, the audit key and its certificate, the HTTPS
//! certificate and key, the e-seal keys against their levels, every certificate and CRL file,
//! the verification page's anchors, and the directories the service writes.
//!
//! Safe beside a running server on the same files: it binds nothing, takes no lock, claims no
//! serial epoch or node lease, and writes no file or record. Keys are opened to sign nothing;
//! a directory's writability is asked of the kernel (`access(2)`), not tried.

use crate::config::Config;
use rustix::fs::Access;
use std::path::{Path, PathBuf};
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
    if let Some(section) = &cfg.eseal {
        out.extend(crate::eseal_service::check(cfg, section));
    }
    if let Some(v) = &cfg.verify {
        for p in &v.trust {
            out.push((
                format!("verify.trust {}", p.display()),
                kokuin_certs::pem::load_certificates(&cfg.resolve(p))
                    .map(|c| format!("{} certificate(s)", c.len()))
                    .map_err(|e| e.to_string()),
            ));
        }
    }
    directories(cfg, &mut out);
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

/// The directories the service writes must be writable, or creatable under a writable one;
/// the ones it only reads must be readable.
fn directories(cfg: &Config, out: &mut Vec<Check>) {
    let mut writes: Vec<(&str, PathBuf)> = Vec::new();
    if cfg.audit.database.is_none() {
        writes.push((
            "tsa.serial_state",
            parent(&cfg.resolve(&cfg.tsa.serial_state)),
        ));
        if cfg.audit.enabled {
            writes.push(("audit.dir", cfg.resolve(&cfg.audit.dir)));
        }
    }
    if let Some(r) = &cfg.clock.roughtime {
        writes.push((
            "clock.roughtime.malfeasance_dir",
            cfg.resolve(&r.malfeasance_dir),
        ));
    }
    for (what, dir) in writes {
        out.push((format!("{what} {}", dir.display()), writable(&dir)));
    }
    if let Some(t) = &cfg.clock.traceability {
        for (what, dir) in [
            ("clock.traceability.local_dir", &t.local_dir),
            ("clock.traceability.reference_dir", &t.reference_dir),
        ] {
            let dir = cfg.resolve(dir);
            out.push((format!("{what} {}", dir.display()), readable(&dir)));
        }
    }
}

fn parent(p: &Path) -> PathBuf {
    p.parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `dir` is a writable directory, or would be created under its nearest existing ancestor,
/// which is a writable directory.
fn writable(dir: &Path) -> Result<String, String> {
    let mut at = dir;
    loop {
        match std::fs::metadata(at) {
            Ok(m) if !m.is_dir() => return Err(format!("{} is not a directory", at.display())),
            Ok(_) => {
                return rustix::fs::access(at, Access::WRITE_OK | Access::EXEC_OK)
                    .map(|()| {
                        if at == dir {
                            "a writable directory".to_string()
                        } else {
                            format!("absent; created at start under {}", at.display())
                        }
                    })
                    .map_err(|e| format!("{} is not writable by this user: {e}", at.display()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match at.parent() {
                Some(p) if !p.as_os_str().is_empty() => at = p,
                _ => return Err(format!("{}: no existing ancestor", dir.display())),
            },
            Err(e) => return Err(format!("{}: {e}", at.display())),
        }
    }
}

/// `dir` is a directory this user can list and read.
fn readable(dir: &Path) -> Result<String, String> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => rustix::fs::access(dir, Access::READ_OK | Access::EXEC_OK)
            .map(|()| "a readable directory".to_string())
            .map_err(|e| format!("not readable by this user: {e}")),
        Ok(_) => Err("not a directory".into()),
        Err(e) => Err(e.to_string()),
    }
}
