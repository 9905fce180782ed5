//! The embedded default: `kokuin serve --dev` creates, once, a state directory with a dev PKI,
//! software keys and the configuration it runs as; later starts reuse it.
//!
//! ```text
//! DIR/kokuin.toml          the configuration (written last: its presence marks a complete DIR)
//! DIR/pki/root.pem         trust anchor for verifiers
//! DIR/pki/tsu.pem          TSU certificate
//! DIR/pki/tls.pem          HTTPS server certificate (localhost, 127.0.0.1, ::1)
//! DIR/pki/audit.pem        certificate of the audit key (the key: keys/audit.key, or in the token)
//! DIR/pki/seal.pem         level-1 e-seal certificate of the key `dev-seal`
//! DIR/pki/client.pem       TLS client certificate granted `dev-seal` (key: client.key)
//! DIR/pki/client.key       …its key, mode 0600, beside it for `kokuin seal --client-key`
//! DIR/pki/root.crl         the root's CRL (one year), put into B-LT seals
//! DIR/audit/               the audit log
//! DIR/keys/*.key           PKCS #8 keys, mode 0600
//! DIR/hsm/                 with --pkcs11-module: SoftHSM2's configuration and token
//! DIR/keys/token.pin       …and the token's user PIN, mode 0600
//! DIR/state/serial.state   boot epoch for serial numbers
//! DIR/state/keyring.toml   the TSU keys, their states, activation times and policies
//! DIR/pki/tsu-ml-dsa-65.pem, DIR/pki/tsu-composite.pem   the post-quantum TSU certificates
//! ```
//!
//! Three policies run side by side (see `GET /tsa/policies`): the default, classical one
//! (P-256), one signed with ML-DSA-65 (RFC 9882) and one with the composite
//! id-MLDSA65-ECDSA-P256-SHA512; a client picks by reqPolicy. With --pkcs11-module the keys
//! are generated in the token (both halves of the composite), if it offers ML-DSA (kryoptic);
//! a token without it (SoftHSM2) serves the classical policy only.

use kokuin_certs::dev::DevPki;
use kokuin_certs::pem::to_pem_chain;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The dev TSA policy: an OID under the UUID arc (X.667, 2.25), so it collides with no one's.
/// Operators configure their own policy OIDs.
pub const DEV_POLICY_OID: &str = "2.25.184732620371192929406940453947404583605";
/// The dev policy whose tokens are signed with ML-DSA-65.
pub const DEV_MLDSA_POLICY_OID: &str = "2.25.326785163420712602118702155330699147300";
/// The dev policy whose tokens are signed with id-MLDSA65-ECDSA-P256-SHA512.
pub const DEV_COMPOSITE_POLICY_OID: &str = "2.25.338155222319321120337837938249247044349";

/// The post-quantum policies of a software dev server: (OID, name, key type, file stem).
const PQ_POLICIES: [(&str, &str, &str, &str); 2] = [
    (
        DEV_MLDSA_POLICY_OID,
        "Kokuin development time-stamp policy, ML-DSA-65",
        "ml-dsa-65",
        "tsu-ml-dsa-65",
    ),
    (
        DEV_COMPOSITE_POLICY_OID,
        "Kokuin development time-stamp policy, composite ML-DSA-65 + ECDSA P-256",
        "mldsa65-ecdsa-p256-sha512",
        "tsu-composite",
    ),
];

/// The dev server's plain HTTP listener unless `--http` is given.
pub const DEFAULT_HTTP: &str = "127.0.0.1:8080";
/// The dev server's HTTPS listener unless `--https` is given.
pub const DEFAULT_HTTPS: &str = "127.0.0.1:8443";

/// What a dev state directory holds for its user.
pub struct DevPaths {
    /// The configuration the dev server runs as.
    pub config: PathBuf,
    /// The dev root: the trust anchor to give verifiers.
    pub root: PathBuf,
    /// Whether it was created now (else reused).
    pub created: bool,
}

/// SoftHSM2's configuration for a dev state directory: tokens live under `DIR/hsm/tokens`.
pub fn softhsm_conf(dir: &Path) -> PathBuf {
    dir.join("hsm").join("softhsm2.conf")
}

/// Writes the configurations of the soft tokens a dev server may use, if absent, and returns
/// each with the variable its module reads when it loads: SoftHSM2 (`DIR/hsm/softhsm2.conf`,
/// tokens under `DIR/hsm/tokens`) and kryoptic (`DIR/hsm/kryoptic.conf`, one slot stored in
/// `DIR/hsm/kryoptic.sql`). Only the module given with --pkcs11-module reads its file.
pub fn prepare_tokens(dir: &Path) -> Result<Vec<(&'static str, PathBuf)>, DevError> {
    let hsm = dir.join("hsm");
    let tokens = hsm.join("tokens");
    std::fs::create_dir_all(&tokens).map_err(|e| format!("{}: {e}", tokens.display()))?;
    let abs = std::fs::canonicalize(&hsm).map_err(|e| e.to_string())?;
    let files = [
        (
            "SOFTHSM2_CONF",
            softhsm_conf(dir),
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                abs.join("tokens").display()
            ),
        ),
        (
            "KRYOPTIC_CONF",
            hsm.join("kryoptic.conf"),
            format!(
                "[[slots]]\nslot = 1\ndbtype = \"sqlite\"\ndbargs = \"{}\"\n",
                abs.join("kryoptic.sql").display()
            ),
        ),
    ];
    let mut out = Vec::new();
    for (var, path, text) in files {
        if !path.exists() {
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        out.push((
            var,
            std::fs::canonicalize(&path).map_err(|e| e.to_string())?,
        ));
    }
    Ok(out)
}

/// The lock `serve --dev` holds in its state directory (`kokuin_audit::lock`).
pub const LOCK_FILE: &str = "serve.lock";

pub use crate::error::DevError;

/// Creates `dir` if it holds no configuration yet; returns where things are. With a PKCS #11
/// module, the TSU key is generated in a fresh token instead of in software.
pub fn ensure_state_dir(
    dir: &Path,
    http: &[SocketAddr],
    https: &[SocketAddr],
    pkcs11: Option<&Path>,
) -> Result<DevPaths, DevError> {
    let config = dir.join("kokuin.toml");
    let root = dir.join("pki").join("root.pem");
    if config.exists() {
        return Ok(DevPaths {
            config,
            root,
            created: false,
        });
    }
    let nonempty = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name() != "hsm" && e.file_name() != LOCK_FILE)
        })
        .unwrap_or(false);
    if nonempty {
        return Err(DevError(format!(
            "{} exists but holds no kokuin.toml; use an empty or new directory",
            dir.display()
        )));
    }
    let io = |what: &Path, e: std::io::Error| format!("{}: {e}", what.display());
    for sub in ["pki", "keys", "state"] {
        let p = dir.join(sub);
        std::fs::create_dir_all(&p).map_err(|e| io(&p, e))?;
    }
    let pki = DevPki::generate(SystemTime::now()).map_err(|e| e.to_string())?;
    let write_key = |name: &str, k: &kokuin_hsm::SoftwareSigner| {
        let p = dir.join("keys").join(name);
        k.write_pkcs8_pem(&p).map_err(|e| e.to_string())
    };
    write_key("root.key", &pki.root_key)?;
    let token = pkcs11.map(|m| dev_token(dir, m)).transpose()?;
    let (from, to, until) = tsu_window(&pki)?;
    let (tsu, key) = match &token {
        None => {
            write_key("tsu.key", &pki.tsu_key)?;
            (
                pki.tsu.clone(),
                crate::key_config::KeyConfig::Software {
                    path: "keys/tsu.key".into(),
                    algorithm: None,
                    certificate: "pki/tsu.pem".into(),
                },
            )
        }
        Some((module, t)) => {
            let (signer, key) = token_key(
                module,
                t,
                "dev-tsu",
                kokuin_hsm::KeyType::P256,
                "pki/tsu.pem",
            )?;
            let cert = kokuin_certs::dev::issue_tsu(
                &pki.root,
                &pki.root_key,
                signer.as_ref(),
                "Kokuin Dev TSU 1 (HSM)",
                from,
                to,
                until,
            )
            .map_err(|e| e.to_string())?;
            (cert, key)
        }
    };
    let entry = |name: &str, policy: Option<&str>, key| crate::keyring::KeyEntry {
        name: name.into(),
        state: crate::keyring::KeyState::Active,
        activate_at: None,
        policy: policy.map(String::from),
        key,
    };
    // The classical key names no policy: it serves every policy without keys of its own, so a
    // key generated without --policy replaces it.
    let mut keys = vec![entry("dev-tsu-1", None, key)];
    let mut policies = format!(
        "[[tsa.policies]]\noid = \"{DEV_POLICY_OID}\"\nname = \"Kokuin development time-stamp policy\"\n"
    );
    // A token without ML-DSA (SoftHSM2) serves the classical policy only: its post-quantum
    // keys could be wrapped seeds, which the token policy (require_hsm_key) refuses.
    let pq_here = token.as_ref().is_none_or(|(_, t)| t.offers_mldsa());
    if !pq_here {
        tracing::warn!(
            "the token offers no ML-DSA: serving the classical policy only (kryoptic has ML-DSA)"
        );
    }
    for (oid, title, type_name, stem) in PQ_POLICIES.into_iter().filter(|_| pq_here) {
        let key_type = kokuin_hsm::KeyType::from_name(type_name)
            .ok_or_else(|| format!("unknown key type {type_name}"))?;
        let certificate = format!("pki/{stem}.pem");
        let (signer, key): (std::sync::Arc<dyn kokuin_hsm::Signer>, _) = match &token {
            None => {
                let key = kokuin_hsm::SoftwareSigner::generate(key_type, stem)
                    .map_err(|e| e.to_string())?;
                write_key(&format!("{stem}.key"), &key)?;
                let kc = crate::key_config::KeyConfig::Software {
                    path: format!("keys/{stem}.key").into(),
                    algorithm: None,
                    certificate: certificate.clone().into(),
                };
                (std::sync::Arc::new(key), kc)
            }
            Some((module, t)) => {
                token_key(module, t, &format!("dev-{stem}"), key_type, &certificate)?
            }
        };
        let cert = kokuin_certs::dev::issue_tsu(
            &pki.root,
            &pki.root_key,
            signer.as_ref(),
            &format!("Kokuin Dev TSU 1 ({})", key_type.name()),
            from,
            to,
            until,
        )
        .map_err(|e| e.to_string())?;
        let p = dir.join(&certificate);
        std::fs::write(&p, to_pem_chain(&[cert]).map_err(|e| e.to_string())?)
            .map_err(|e| io(&p, e))?;
        keys.push(entry(&format!("dev-{stem}-1"), Some(oid), key));
        policies.push_str(&format!(
            "\n[[tsa.policies]]\noid = \"{oid}\"\nname = \"{title}\"\n"
        ));
    }
    write_key("tls.key", &pki.tls_key)?;
    // With a token, the audit key is generated there too: a production configuration
    // (tsa.require_hsm_key) refuses an audit key in a file.
    let (audit_cert, audit_key_toml) = match &token {
        None => {
            write_key("audit.key", &pki.audit_key)?;
            (
                pki.audit.clone(),
                "checkpoint_key = \"keys/audit.key\"\ncheckpoint_certificate = \"pki/audit.pem\""
                    .to_string(),
            )
        }
        Some((module, t)) => {
            let (signer, key) = token_key(
                module,
                t,
                "dev-audit",
                kokuin_hsm::KeyType::P256,
                "pki/audit.pem",
            )?;
            let v = pki.audit.tbs_certificate().validity();
            let cert = kokuin_certs::dev::issue_audit(
                &pki.root,
                &pki.root_key,
                signer.as_ref(),
                "Kokuin Dev Audit Log (HSM)",
                (v.not_before.to_system_time(), v.not_after.to_system_time()),
            )
            .map_err(|e| e.to_string())?;
            (cert, format!("checkpoint = {}", inline_table(&key)?))
        }
    };
    write_key("seal.key", &pki.seal_key)?;
    let stamp = dir.join("pki").join("seal-stamp.png");
    std::fs::write(&stamp, crate::dev_stamp::png()?).map_err(|e| io(&stamp, e))?;
    pki.client_key
        .write_pkcs8_pem(&dir.join("pki").join("client.key"))
        .map_err(|e| e.to_string())?;
    let now = SystemTime::now();
    let crl = kokuin_certs::crl::issue_crl(
        &pki.root,
        &pki.root_key,
        &[],
        now,
        now + std::time::Duration::from_secs(365 * 86_400),
        1,
    )
    .map_err(|e| e.to_string())?;
    let crl_path = dir.join("pki").join("root.crl");
    std::fs::write(
        &crl_path,
        kokuin_certs::crl::to_pem(&crl).map_err(|e| e.to_string())?,
    )
    .map_err(|e| io(&crl_path, e))?;
    let client_sha256: String = hex::encode(
        kokuin_hsm::DigestAlgorithm::Sha256
            .digest(&der::Encode::to_der(&pki.client).map_err(|e| e.to_string())?),
    );
    let write_pem = |name: &str, certs: &[x509_cert::Certificate]| {
        let p = dir.join("pki").join(name);
        let pem = to_pem_chain(certs).map_err(|e| e.to_string())?;
        std::fs::write(&p, pem).map_err(|e| io(&p, e))
    };
    write_pem("root.pem", std::slice::from_ref(&pki.root))?;
    write_pem("tsu.pem", std::slice::from_ref(&tsu))?;
    write_pem("tls.pem", std::slice::from_ref(&pki.tls))?;
    write_pem("audit.pem", std::slice::from_ref(&audit_cert))?;
    write_pem("seal.pem", std::slice::from_ref(&pki.seal))?;
    write_pem("client.pem", std::slice::from_ref(&pki.client))?;
    // Last, once every certificate it hashes is written: the keyring, under the dev officers.
    let officers_pin = {
        use crate::keyring_store::KeyringStore;
        let mut ring = crate::keyring::Keyring {
            keys,
            ..Default::default()
        };
        let pin = dev_officers(dir, &mut ring)?;
        crate::keyring_store::FileKeyring::new(dir.join("state").join("keyring.toml"))
            .save(&ring)
            .map_err(|e| e.to_string())?;
        pin
    };
    let list = |a: &[SocketAddr]| {
        a.iter()
            .map(|x| format!("\"{x}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = format!(
        r#"# Kokuin development configuration, written by `kokuin serve --dev`.
# Software keys and a dev PKI: for trying Kokuin out and for tests, never for production.
dev = true

[server]
http = [{http}]
https = [{https}]
tls_certificate = "pki/tls.pem"
tls_key = "keys/tls.key"

[tsa]
node_id = 1
serial_state = "state/serial.state"
include_tsa_name = true
accuracy = {{ seconds = 1 }}
require_hsm_key = {require_hsm}
# Keys, their states and activation times: `kokuin keys list --config DIR/kokuin.toml`.
keyring = "state/keyring.toml"
# The officers and quorum every keyring change needs (docs/ceremonies.md): three dev officers,
# two approvals; their keys are in officers/ (each passphrase in officer-N.pass).
officers = "{officers_pin}"
{token_toml}
# Served side by side; the first is the default for requests without reqPolicy.
{policies}
[audit]
dir = "audit"
{audit_key_toml}

[clock]
# DEV ONLY: issue even when the kernel does not report the clock synchronised within the
# declared accuracy (warned at every start). Production configurations refuse instead.
require_sync = false

# The e-seal API (POST /eseal/v1/seal, /eseal/v1/extend) on the HTTPS listener.
[eseal]
client_cas = ["pki/root.pem"]
crls = ["pki/root.crl"]
validation_certificates = ["pki/root.pem"]

[[eseal.keys]]
name = "dev-seal"
level = 1
key = {{ backend = "software", path = "keys/seal.key", certificate = "pki/seal.pem" }}
stamp_image = "pki/seal-stamp.png"   # drawn in its visible PDF seals

[[eseal.clients]]
name = "dev-client"
certificate_sha256 = "{client_sha256}"
keys = ["dev-seal"]

# The verification page (GET /verify): seals and tokens under the dev root.
[verify]
trust = ["pki/root.pem"]
"#,
        http = list(http),
        https = list(https),
        require_hsm = pkcs11.is_some(),
        officers_pin = officers_pin,
        token_toml = match &token {
            // The token the keys are in: what a keyring in the database names keys of.
            Some((module, _)) => format!(
                "token = {{ module = {}, token = \"kokuin-dev\", pin_file = \"keys/token.pin\" }}\n",
                toml::Value::String(module.display().to_string())
            ),
            None => String::new(),
        },
    );
    // Whole or absent after a crash: a half-written configuration would hold the directory.
    kokuin_audit::atomic::write(&config, text.as_bytes()).map_err(|e| io(&config, e))?;
    Ok(DevPaths {
        config,
        root,
        created: true,
    })
}

/// How many dev officers a dev state directory has; any two approve a ceremony.
pub const DEV_OFFICERS: u32 = 3;

/// The key file of dev officer `n` (1…[`DEV_OFFICERS`]) in a dev state directory, and the
/// file holding its passphrase.
pub fn officer_files(dir: &Path, n: u32) -> (PathBuf, PathBuf) {
    let d = dir.join("officers");
    (
        d.join(format!("officer-{n}.key")),
        d.join(format!("officer-{n}.pass")),
    )
}

/// Makes the dev officers (keys encrypted under random passphrases, each in a 0600 file) and
/// puts `ring` under their dual control, two approvals needed; returns the pin.
fn dev_officers(dir: &Path, ring: &mut crate::keyring::Keyring) -> Result<String, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let d = dir.join("officers");
    std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    let mut officers = Vec::new();
    for n in 1..=DEV_OFFICERS {
        let (key_file, pass_file) = officer_files(dir, n);
        let mut raw = zeroize::Zeroizing::new([0u8; 16]);
        getrandom::fill(raw.as_mut()).map_err(|e| format!("no randomness: {e}"))?;
        let pass = zeroize::Zeroizing::new(hex::encode(raw.as_ref()));
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&pass_file)
            .and_then(|mut f| f.write_all(pass.as_bytes()))
            .map_err(|e| format!("{}: {e}", pass_file.display()))?;
        let key = kokuin_hsm::SoftwareSigner::generate(kokuin_hsm::KeyType::P256, "officer")
            .map_err(|e| e.to_string())?;
        key.write_encrypted_pkcs8_pem(&key_file, pass.as_bytes())
            .map_err(|e| e.to_string())?;
        officers.push(
            crate::ceremony::plan::officer(&format!("officer-{n}"), "dev officer", &key)
                .map_err(|e| e.to_string())?,
        );
    }
    crate::ceremony::plan::init(ring, officers, 2, &|k: &crate::keyring::KeyEntry| {
        std::fs::read(dir.join(k.key.certificate())).ok()
    })
    .map_err(|e| e.to_string())
}

/// The dev TSU certificate's validity and the end of its key usage period, which every dev
/// TSU certificate shares whatever its key.
/// Soft tokens take their storage from a variable read when the module loads ($SOFTHSM2_CONF,
/// $KRYOPTIC_CONF). A dev server with an HSM therefore runs itself again with the variables
/// pointing into its state directory (re-executing keeps this process's environment untouched).
pub fn reexec_with_token_env(state_dir: &Path) -> Result<(), DevError> {
    let confs = prepare_tokens(state_dir)?;
    if confs
        .iter()
        .all(|(var, conf)| std::env::var_os(var).is_some_and(|v| std::path::Path::new(&v) == conf))
    {
        return Ok(());
    }
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(std::env::args_os().skip(1));
    for (var, conf) in &confs {
        cmd.env(var, conf);
    }
    let err = cmd.exec();
    Err(DevError(format!(
        "cannot restart with the token configuration: {err}"
    )))
}

fn tsu_window(pki: &DevPki) -> Result<(SystemTime, SystemTime, SystemTime), String> {
    let v = pki.tsu.tbs_certificate().validity();
    let pkup: Option<x509_cert::ext::pkix::PrivateKeyUsagePeriod> =
        kokuin_certs::path::extension(&pki.tsu).map_err(|e| e.to_string())?;
    let to = v.not_after.to_system_time();
    let until = pkup
        .and_then(|p| p.not_after)
        .map_or(to, |t| t.to_system_time());
    Ok((v.not_before.to_system_time(), to, until))
}

/// `key` as a TOML inline table (`{ backend = "pkcs11", … }`), for one line of the config.
fn inline_table(key: &crate::key_config::KeyConfig) -> Result<String, String> {
    let v = toml::Value::try_from(key).map_err(|e| e.to_string())?;
    let t = v.as_table().ok_or("a key description is a table")?;
    let fields: Vec<String> = t.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    Ok(format!("{{ {} }}", fields.join(", ")))
}

/// A fresh token labelled `kokuin-dev` in `module`, its PINs random and kept under `keys/`
/// (mode 0600).
fn dev_token(
    dir: &Path,
    module: &Path,
) -> Result<(PathBuf, std::sync::Arc<kokuin_hsm::Pkcs11Token>), String> {
    use kokuin_hsm::{PinSource, Pkcs11Token};
    let random_pin = || -> Result<String, String> {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).map_err(|e| e.to_string())?;
        Ok(hex::encode(b))
    };
    let (user, so) = (random_pin()?, random_pin()?);
    let write_secret = |name: &str, v: &str| -> Result<(), String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let p = dir.join("keys").join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&p)
            .map_err(|e| format!("{}: {e}", p.display()))?;
        f.write_all(v.as_bytes()).map_err(|e| e.to_string())
    };
    write_secret("token.pin", &user)?;
    write_secret("token-so.pin", &so)?;
    kokuin_hsm::pkcs11::init_token(module, "kokuin-dev", &so, &user).map_err(|e| e.to_string())?;
    let pin = PinSource::File(dir.join("keys").join("token.pin"));
    let token = Pkcs11Token::open(module, "kokuin-dev", &pin).map_err(|e| e.to_string())?;
    Ok((module.to_path_buf(), std::sync::Arc::new(token)))
}

/// A key generated in the dev token, its signer (to certify it) and its configuration. A
/// composite's two halves are both generated there.
fn token_key(
    module: &Path,
    token: &std::sync::Arc<kokuin_hsm::Pkcs11Token>,
    label: &str,
    key_type: kokuin_hsm::KeyType,
    certificate: &str,
) -> Result<
    (
        std::sync::Arc<dyn kokuin_hsm::Signer>,
        crate::key_config::KeyConfig,
    ),
    String,
> {
    use kokuin_hsm::pkcs11::composite;
    token.generate(label, key_type).map_err(|e| e.to_string())?;
    let (signer, algorithm, traditional_key): (std::sync::Arc<dyn kokuin_hsm::Signer>, _, _) =
        match key_type {
            kokuin_hsm::KeyType::Composite(id) => {
                let trad = composite::traditional_label(label);
                let opened =
                    composite::open(token, id, composite::MlDsaHalf::InToken(label), &trad, 1)
                        .map_err(|e| e.to_string())?;
                (
                    std::sync::Arc::new(opened.signer),
                    Some(id.name()),
                    Some(trad),
                )
            }
            _ => (
                std::sync::Arc::new(
                    kokuin_hsm::Pkcs11Signer::new(token.clone(), label, None, 1)
                        .map_err(|e| e.to_string())?,
                ),
                None,
                None,
            ),
        };
    let key = crate::key_config::KeyConfig::Pkcs11 {
        module: module.to_path_buf(),
        token: "kokuin-dev".into(),
        key: label.into(),
        pin_file: Some("keys/token.pin".into()),
        pin_env: None,
        algorithm,
        certificate: certificate.into(),
        sessions: None,
        wrapped: None,
        traditional_key,
    };
    Ok((signer, key))
}
