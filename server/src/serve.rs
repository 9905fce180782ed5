//! `kokuin serve`: the configuration (or the dev state) loaded, the service built, the
//! server run until a signal.

use crate::config::{Config, ConfigError};
use crate::error::StartError;
use std::net::SocketAddr;
use std::path::PathBuf;

/// What `kokuin serve` was asked.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// The configuration file (unless `dev`).
    pub config: Option<PathBuf>,
    /// Run on the embedded default, created once in `state_dir`.
    pub dev: bool,
    /// The dev state directory.
    pub state_dir: PathBuf,
    /// With `dev`: keep the TSU key in a SoftHSM2 token under the state directory.
    pub pkcs11_module: Option<PathBuf>,
    /// Plain HTTP listeners replacing the configured ones.
    pub http: Vec<SocketAddr>,
    /// HTTPS listeners replacing the configured ones.
    pub https: Vec<SocketAddr>,
    /// Replaces `server.rate_limit_per_second`.
    pub rate_limit: Option<u32>,
    /// The fleet's database: replaces `audit.database`; with `dev`, the keyring moves there
    /// too (seeded from the dev keyring the first time).
    pub database: Option<String>,
    /// Replaces `tsa.node_id`.
    pub node_id: Option<u16>,
    /// Replaces `server.proxy_protocol_from` when not empty.
    pub proxy_protocol_from: Vec<std::net::IpAddr>,
}

/// Why `serve` ended in error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Neither a configuration nor `--dev`.
    #[error("--config or --dev is required")]
    NoConfig,
    /// The dev state directory cannot be made or used.
    #[error("{0}")]
    Dev(String),
    /// The configuration cannot be read.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The service refused to start.
    #[error("{0}")]
    Start(#[from] StartError),
    /// The async runtime cannot start.
    #[error("runtime: {0}")]
    Runtime(String),
    /// The server failed (bind, TLS setup).
    #[error("{0}")]
    Server(#[from] crate::error::HttpError),
}

/// Loads the configuration (or makes or reuses the dev state), builds the service and runs
/// the server until SIGTERM or Ctrl-C.
pub fn serve(opts: ServeOptions) -> Result<(), ServeError> {
    let ServeOptions {
        config,
        dev,
        state_dir,
        pkcs11_module,
        http,
        https,
        rate_limit,
        database,
        node_id,
        proxy_protocol_from,
    } = opts;
    let config_path = if dev {
        dev_state(&state_dir, pkcs11_module.as_deref(), &http, &https)?
    } else {
        config.ok_or(ServeError::NoConfig)?
    };
    warn_if_readable_by_others(&config_path);
    let mut cfg = Config::load(&config_path)?;
    if !http.is_empty() || !https.is_empty() {
        cfg.server.http = http;
        cfg.server.https = https;
    }
    if let Some(r) = rate_limit {
        cfg.server.rate_limit_per_second = r;
    }
    if let Some(n) = node_id {
        cfg.tsa.node_id = n;
    }
    if !proxy_protocol_from.is_empty() {
        cfg.server.proxy_protocol_from = proxy_protocol_from;
    }
    if let Some(url) = database {
        cfg.audit.database = Some(url.clone());
        if dev {
            dev_database_keyring(&cfg, &url)?;
            cfg.tsa.keyring = Some(PathBuf::from(url));
        }
    }
    let metrics = std::sync::Arc::new(crate::metrics::Metrics::new());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Runtime(e.to_string()))?;
    // Listening first: a start that cannot have its ports opens no log and writes nothing.
    let listeners = rt.block_on(crate::http::bind(&cfg.server))?;
    let service = crate::service::build(&cfg, &metrics)?;
    rt.block_on(crate::http::run_bound(
        cfg, listeners, service, metrics, None,
    ))
    .map_err(ServeError::Server)
}

/// The configuration holds API-token hashes and key locations: others should not read it
/// (key files themselves are refused when they are readable by others).
fn warn_if_readable_by_others(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path)
        && m.permissions().mode() & 0o007 != 0
    {
        tracing::warn!(
            mode = format!("{:o}", m.permissions().mode() & 0o777),
            "the configuration file is readable by other users; chmod o-rwx it"
        );
    }
}

/// A dev node on the fleet's database keeps the keyring there: the first one copies the dev
/// keyring file into it, so every node serves the same keys and `kokuin keys` on the
/// database acts for all of them.
fn dev_database_keyring(cfg: &Config, url: &str) -> Result<(), ServeError> {
    let fail = |e: String| ServeError::Dev(format!("keyring in {url}: {e}"));
    let mut db = cfg
        .database()
        .ok_or_else(|| fail("no database".into()))?
        .and_then(kokuin_fleet::SyncDb::new)
        .map_err(|e| fail(e.to_string()))?;
    // A dev node makes the schema on its own throwaway database; in production the tables'
    // owner runs `kokuin fleet migrate` and the nodes only check. Two dev nodes starting at
    // once may race: the loser finds the schema made.
    let check = |db: &mut kokuin_fleet::SyncDb| {
        db.call(|c| async move { kokuin_fleet::schema::check(&c).await })
    };
    if check(&mut db).is_err() {
        let migrated = db.call(|c| async move {
            kokuin_fleet::schema::migrate(&c, &kokuin_fleet::schema::Roles::default()).await
        });
        if let Err(e) = migrated {
            check(&mut db).map_err(|_| fail(e.to_string()))?;
        }
    }
    let Some(file) = &cfg.tsa.keyring else {
        return Ok(());
    };
    if kokuin_fleet::keyring::load(&mut db)
        .map_err(|e| fail(e.to_string()))?
        .is_none()
    {
        use crate::keyring_store::KeyringStore;
        let ring = crate::keyring_store::FileKeyring::new(cfg.resolve(file))
            .load()
            .map_err(|e| fail(e.to_string()))?;
        // Labels and certificates only (`keyring_row`). Another node seeding at the same
        // moment wins; either copy is the same.
        let _ =
            crate::keyring_store::DbKeyring::new(db, crate::keyring_store::local(cfg)).save(&ring);
    }
    // The configuration `kokuin keys … --config DIR/kokuin-fleet.toml` and `kokuin audit`
    // use to act on the fleet's database: the dev one, with the log and keyring there.
    let dev = cfg.base_dir.join("kokuin.toml");
    let fleet = cfg.base_dir.join(FLEET_CONFIG);
    let text = std::fs::read_to_string(&dev).map_err(|e| fail(e.to_string()))?;
    let url_toml = toml::Value::String(url.to_string()).to_string();
    let text = text
        .replace(
            "keyring = \"state/keyring.toml\"",
            &format!("keyring = {url_toml}"),
        )
        .replace("[audit]\n", &format!("[audit]\ndatabase = {url_toml}\n"));
    kokuin_audit::atomic::write(&fleet, text.as_bytes()).map_err(|e| fail(e.to_string()))?;
    Ok(())
}

/// Written beside a dev fleet node's `kokuin.toml`: the same service with the audit log and
/// the keyring in the database.
pub const FLEET_CONFIG: &str = "kokuin-fleet.toml";

/// The dev state in `state_dir` (made once, then reused): its configuration's path.
#[cfg(feature = "dev")]
fn dev_state(
    state_dir: &std::path::Path,
    pkcs11_module: Option<&std::path::Path>,
    http: &[SocketAddr],
    https: &[SocketAddr],
) -> Result<PathBuf, ServeError> {
    if pkcs11_module.is_some() || crate::dev::softhsm_conf(state_dir).exists() {
        crate::dev::reexec_with_token_env(state_dir).map_err(|e| ServeError::Dev(e.0))?;
    }
    std::fs::create_dir_all(state_dir)
        .map_err(|e| ServeError::Dev(format!("{}: {e}", state_dir.display())))?;
    // Two starts making the same state at once would each write half of it. Held while it is
    // made or checked only: the running service's own state (its log, its serial state) is
    // locked where it is written, and fleet nodes share the dev PKI read-only.
    let _lock = kokuin_audit::lock::WriterLock::acquire_file(
        &state_dir.join(crate::dev::LOCK_FILE),
        "dev state directory",
        state_dir,
    )
    .map_err(|e| ServeError::Dev(e.to_string()))?;
    let (dh, ds) = if http.is_empty() && https.is_empty() {
        (
            vec![
                crate::dev::DEFAULT_HTTP
                    .parse()
                    .map_err(|_| ServeError::Dev("address".into()))?,
            ],
            vec![
                crate::dev::DEFAULT_HTTPS
                    .parse()
                    .map_err(|_| ServeError::Dev("address".into()))?,
            ],
        )
    } else {
        (http.to_vec(), https.to_vec())
    };
    let paths = crate::dev::ensure_state_dir(state_dir, &dh, &ds, pkcs11_module)
        .map_err(|e| ServeError::Dev(e.0))?;
    announce!(
        "kokuin dev mode: {} state directory {}",
        if paths.created { "created" } else { "reusing" },
        state_dir.display()
    );
    announce!("  config:       {}", paths.config.display());
    announce!("  trust anchor: {}", paths.root.display());
    Ok(paths.config)
}

/// Built without the `dev` feature: there is no embedded default.
#[cfg(not(feature = "dev"))]
fn dev_state(
    _: &std::path::Path,
    _: Option<&std::path::Path>,
    _: &[SocketAddr],
    _: &[SocketAddr],
) -> Result<PathBuf, ServeError> {
    Err(ServeError::Dev(
        "this build has no embedded default (the dev feature is off); use --config".into(),
    ))
}
