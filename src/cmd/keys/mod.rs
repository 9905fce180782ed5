//! `kokuin keys`: the key lifecycle on the keyring — generate (in the token), csr,
//! install-cert, rotate, retire, destroy, list. The running server follows the keyring and
//! records every change in the audit log.

pub mod args;
pub(crate) mod common;
pub(crate) mod lifecycle;
mod list;
mod sign_rate;

pub use list::list;
pub use sign_rate::sign_rate;

use common::{entry, open, policy_of, signer, usage};
use lifecycle::check_tsu_cert;

use super::CmdError;
use super::ceremony::commit;
use kokuin_certs::path::subject_of;
use kokuin_hsm::{KeyType, Signer, SoftwareSigner};
use kokuin_server::ceremony::Op;
use kokuin_server::keyring::KeyState;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// The wrapping key `keys generate --wrap` uses when none is named.
pub const DEFAULT_WRAPPING_KEY: &str = "kokuin-wrap";

/// `keys generate`: a new key, in the token where the keyring's keys are (or in software).
///
/// With `wrap` (the wrapping key's label), an ML-DSA key for a token without ML-DSA: its seed
/// is born in the token and kept in `keys/NAME.wrapped`, wrapped under that AES key (see
/// `kokuin_hsm::pkcs11::wrapped`).
pub fn generate(
    config: &Path,
    name: &str,
    key_type: KeyType,
    policy: Option<&str>,
    wrap: Option<&str>,
) -> Result<(), CmdError> {
    generate_then(
        config,
        name,
        key_type,
        policy,
        wrap,
        "certify it (keys csr, keys install-cert)",
    )
}

/// [`generate`], saying what happens to the pending key `next`.
fn generate_then(
    config: &Path,
    name: &str,
    key_type: KeyType,
    policy: Option<&str>,
    wrap: Option<&str>,
    next: &str,
) -> Result<(), CmdError> {
    let (cfg, _, _) = open(config)?;
    let policy = policy.map(|p| policy_of(&cfg, Some(p))).transpose()?;
    commit(
        config,
        vec![Op::Generate {
            name: name.into(),
            key_type: key_type.name(),
            policy,
            wrap: wrap.map(String::from),
        }],
        BTreeMap::new(),
    )?;
    let wrapped = wrap.map(|k| format!(", seed wrapped under {k}"));
    out!(
        "generated {name} ({}{}), pending: {next}",
        key_type.name(),
        wrapped.unwrap_or_default()
    );
    Ok(())
}

/// `keys csr`: a PKCS #10 request signed by the key itself.
pub fn csr(config: &Path, name: &str, subject: &str, out: &Path) -> Result<(), CmdError> {
    let (cfg, _, mut ring) = open(config)?;
    let e = entry(&mut ring, name)?;
    let s = signer(&cfg, &e.key)?;
    let subject = subject
        .parse()
        .map_err(|_| CmdError::usage(format!("{subject:?} is not a distinguished name")))?;
    let req = kokuin_certs::csr::sign_csr(subject, s.as_ref()).map_err(usage)?;
    let pem = der::EncodePem::to_pem(&req, der::pem::LineEnding::LF).map_err(usage)?;
    std::fs::write(out, pem).map_err(|e| usage(format!("{}: {e}", out.display())))?;
    out!("wrote {}", out.display());
    Ok(())
}

/// `keys install-cert`.
pub fn install_cert(config: &Path, name: &str, cert: &Path) -> Result<(), CmdError> {
    let (cfg, _, mut ring) = open(config)?;
    let e = entry(&mut ring, name)?;
    let certs = kokuin_certs::pem::load_certificates(cert).map_err(usage)?;
    check_tsu_cert(&certs[0], signer(&cfg, &e.key)?.as_ref())?;
    let pem = kokuin_certs::pem::to_pem_chain(&certs).map_err(usage)?;
    commit(
        config,
        vec![Op::InstallCert { name: name.into() }],
        BTreeMap::from([(name.to_string(), pem)]),
    )?;
    out!("installed {} for {name}", subject_of(&certs[0]));
    Ok(())
}

/// `keys rotate`: puts `name` in force from `at` (default now). In dev mode, without a name,
/// generates a key like the one in force and certifies it with the dev CA first.
pub fn rotate(
    config: &Path,
    name: Option<&str>,
    at: Option<&str>,
    key_type: Option<KeyType>,
    policy: Option<&str>,
    wrap: Option<&str>,
) -> Result<(), CmdError> {
    let when = match at {
        Some(t) => humantime::parse_rfc3339(t).map_err(usage)?,
        None => SystemTime::now(),
    };
    let at = humantime::format_rfc3339_millis(when).to_string();
    let (name, certificates) = match name {
        Some(n) => (n.to_string(), BTreeMap::new()),
        None => dev_new_key(config, key_type, policy, wrap)?,
    };
    let mut ops = Vec::new();
    if !certificates.is_empty() {
        ops.push(Op::InstallCert { name: name.clone() });
    }
    ops.push(Op::Rotate {
        name: name.clone(),
        at,
    });
    let (cfg, ring) = commit(config, ops, certificates)?;
    let serves: Vec<&str> = cfg
        .tsa
        .policies
        .iter()
        .filter(|p| ring.in_force(when, &p.oid).is_some_and(|k| k.name == name))
        .map(|p| p.oid.as_str())
        .collect();
    if serves.is_empty() {
        eprintln!(
            "warning: {name} serves no configured policy: each has keys of its own (keys generate --policy)"
        );
    }
    out!(
        "{name} signs from {} for {}; a running server switches by itself",
        humantime::format_rfc3339_millis(when),
        serves.join(", ")
    );
    Ok(())
}

/// Dev mode: a new key like the one in force for `policy`, generated, and its certificate
/// from the dev CA (PEM, by key name) for the ceremony that installs it.
fn dev_new_key(
    config: &Path,
    key_type: Option<KeyType>,
    policy: Option<&str>,
    wrap: Option<&str>,
) -> Result<(String, BTreeMap<String, String>), CmdError> {
    let (cfg, _, ring) = open(config)?;
    if !cfg.dev {
        return Err(CmdError::usage(
            "outside dev mode name the key to rotate to (keys generate, csr, install-cert)",
        ));
    }
    let now = SystemTime::now();
    let policy = policy_of(&cfg, policy)?;
    let current = ring
        .in_force(now, &policy)
        .ok_or_else(|| CmdError::usage(format!("no key in force for {policy} to rotate from")))?;
    // Like replaces like: the new key serves what the old one served.
    let serves = current.policy.clone();
    let current_key = signer(&cfg, &current.key)?;
    let key_type = key_type.unwrap_or_else(|| key_type_of(current_key.as_ref()));
    let name = format!(
        "tsu-{}",
        now.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    );
    generate_then(
        config,
        &name,
        key_type,
        serves.as_deref(),
        wrap,
        "the dev CA certifies it and puts it in force next",
    )?;
    let (cfg, _, mut ring) = open(config)?;
    let e = entry(&mut ring, &name)?;
    let s = signer(&cfg, &e.key)?;
    let root_key = SoftwareSigner::load(&cfg.resolve(Path::new("keys/root.key")), None, true)
        .map_err(usage)?;
    let root = kokuin_certs::pem::load_certificates(&cfg.resolve(Path::new("pki/root.pem")))
        .map_err(usage)?
        .remove(0);
    let start = now - Duration::from_secs(60);
    let cert = kokuin_certs::dev::issue_tsu(
        &root,
        &root_key,
        s.as_ref(),
        &format!("Kokuin Dev TSU {name}"),
        start,
        start + Duration::from_secs(4 * 365 * 86_400),
        start + Duration::from_secs(365 * 86_400),
    )
    .map_err(usage)?;
    let pem = kokuin_certs::pem::to_pem_chain(&[cert]).map_err(usage)?;
    Ok((name.clone(), BTreeMap::from([(name, pem)])))
}

/// The type of an existing key, so that a dev rotation replaces like with like.
fn key_type_of(key: &dyn Signer) -> KeyType {
    use kokuin_hsm::SignatureAlgorithm as A;
    match key.algorithm() {
        A::MlDsa(l) => KeyType::MlDsa(l),
        A::Composite(c) => KeyType::Composite(c),
        A::Ecdsa(_) => match kokuin_hsm::algorithm::ec_curve(key.public_key()) {
            Some(kokuin_hsm::algorithm::oid::SECP384R1) => KeyType::P384,
            _ => KeyType::P256,
        },
        A::RsaPkcs1v15(_) | A::RsaPss(_) => KeyType::Rsa(2048),
    }
}

/// `keys retire`: signs no more, kept for verification.
pub fn retire(config: &Path, name: &str) -> Result<(), CmdError> {
    commit(
        config,
        vec![Op::Retire { name: name.into() }],
        BTreeMap::new(),
    )?;
    out!("{name} retired");
    Ok(())
}

/// `keys destroy`: removes the key from its token (or disk) after confirmation.
pub fn destroy(config: &Path, name: &str, yes: bool) -> Result<(), CmdError> {
    let (_, _, mut ring) = open(config)?;
    if entry(&mut ring, name)?.state == KeyState::Active {
        return Err(CmdError::usage(format!(
            "{name} is active: retire it first"
        )));
    }
    if !yes {
        eprint!("destroy key {name} for good? type its name to confirm: ");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(usage)?;
        if line.trim() != name {
            return Err(CmdError::negative("not confirmed; nothing destroyed"));
        }
    }
    commit(
        config,
        vec![Op::Destroy { name: name.into() }],
        BTreeMap::new(),
    )?;
    out!("{name} destroyed");
    Ok(())
}
