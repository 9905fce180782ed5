//! The embedded default: `kokuin serve --dev` creates, once, a state directory with a dev PKI,
//! software keys and the configuration it runs as; later starts reuse it.
//!
//! ```text
//! DIR/kokuin.toml          the configuration (written last: its presence marks a complete DIR)
//! DIR/pki/root.pem         trust anchor for verifiers
//! DIR/pki/tsu.pem          TSU certificate
//! DIR/pki/tls.pem          HTTPS server certificate (localhost, 127.0.0.1, ::1)
//! DIR/pki/audit.pem        certificate of the audit-checkpoint key
//! DIR/audit/               the audit log
//! DIR/keys/*.key           PKCS #8 keys, mode 0600
//! DIR/state/serial.state   boot epoch for serial numbers
//! ```

use kokuin_certs::dev::DevPki;
use kokuin_certs::pem::to_pem_chain;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The dev TSA policy: an OID under the UUID arc (X.667, 2.25), so it collides with no one's.
/// Operators configure their own policy OIDs.
pub const DEV_POLICY_OID: &str = "2.25.184732620371192929406940453947404583605";

pub const DEFAULT_HTTP: &str = "127.0.0.1:8080";
pub const DEFAULT_HTTPS: &str = "127.0.0.1:8443";

pub struct DevPaths {
    pub config: PathBuf,
    pub root: PathBuf,
    pub created: bool,
}

/// Creates `dir` if it holds no configuration yet; returns where things are.
pub fn ensure_state_dir(
    dir: &Path,
    http: &[SocketAddr],
    https: &[SocketAddr],
) -> Result<DevPaths, String> {
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
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    if nonempty {
        return Err(format!(
            "{} exists but holds no kokuin.toml; use an empty or new directory",
            dir.display()
        ));
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
    write_key("tsu.key", &pki.tsu_key)?;
    write_key("tls.key", &pki.tls_key)?;
    write_key("audit.key", &pki.audit_key)?;
    let write_pem = |name: &str, certs: &[x509_cert::Certificate]| {
        let p = dir.join("pki").join(name);
        let pem = to_pem_chain(certs).map_err(|e| e.to_string())?;
        std::fs::write(&p, pem).map_err(|e| io(&p, e))
    };
    write_pem("root.pem", std::slice::from_ref(&pki.root))?;
    write_pem("tsu.pem", std::slice::from_ref(&pki.tsu))?;
    write_pem("tls.pem", std::slice::from_ref(&pki.tls))?;
    write_pem("audit.pem", std::slice::from_ref(&pki.audit))?;
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

[[tsa.policies]]
oid = "{DEV_POLICY_OID}"
name = "Kokuin development time-stamp policy"

[tsa.key]
backend = "software"
path = "keys/tsu.key"
certificate = "pki/tsu.pem"

[audit]
dir = "audit"
checkpoint_key = "keys/audit.key"
checkpoint_certificate = "pki/audit.pem"

[clock]
# DEV ONLY: issue even when the kernel does not report the clock synchronised within the
# declared accuracy (warned at every start). Production configurations refuse instead.
require_sync = false
"#,
        http = list(http),
        https = list(https),
    );
    let tmp = dir.join("kokuin.toml.tmp");
    std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, &config).map_err(|e| io(&config, e))?;
    Ok(DevPaths {
        config,
        root,
        created: true,
    })
}
