//! Where the fleet's database is and how to reach it.
//!
//! The URL (`postgres://user@host:port/db?sslmode=…`) holds no password: a password in it is
//! refused, since URLs end up in configuration files, command lines and logs. The password
//! comes from a file that only its owner can read, else the systemd credential
//! `kokuin-db-password`, else `KOKUIN_DATABASE_PASSWORD`. With a
//! CA file the connection is TLS (rustls, the server's certificate checked against that CA);
//! without one it is plain, for a database on the same host or a private network, and
//! `sslmode=require` without a CA is refused rather than quietly downgraded. Every call has a
//! deadline: a database that does not answer is a failure, not a wait.

use crate::error::FleetError;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::Client;
use tokio_postgres::config::SslMode;
use zeroize::Zeroizing;

/// The environment variable read for the password when no password file is given.
pub const PASSWORD_ENV: &str = "KOKUIN_DATABASE_PASSWORD";

/// The systemd credential read for the password when no password file is given.
pub const CREDENTIAL: &str = "kokuin-db-password";

/// The longest password file read.
const MAX_PASSWORD_FILE: u64 = 4096;

/// How to reach the database.
#[derive(Clone)]
pub struct DbConfig {
    pg: tokio_postgres::Config,
    tls: Option<Arc<rustls::ClientConfig>>,
    /// Every call (connect, query, commit) must finish within this.
    pub deadline: Duration,
    shown: String,
}

impl DbConfig {
    /// `url` without a password; the password from `password_file` (mode 0600 or stricter)
    /// or [`PASSWORD_ENV`]; TLS when `ca` names the PEM roots that certify the server.
    pub fn new(
        url: &str,
        password_file: Option<&Path>,
        ca: Option<&Path>,
    ) -> Result<Self, FleetError> {
        let mut pg = parse_url(url)?;
        let credential = std::env::var_os("CREDENTIALS_DIRECTORY")
            .map(|d| Path::new(&d).join(CREDENTIAL))
            .filter(|p| p.exists());
        let password = match (password_file, credential) {
            (Some(p), _) => Some(read_password(p)?),
            // systemd's LoadCredential= (deploy/kokuin-node@.service).
            (None, Some(p)) => Some(read_password(&p)?),
            (None, None) => std::env::var(PASSWORD_ENV).ok().map(Zeroizing::new),
        };
        if let Some(p) = &password {
            pg.password(p.as_bytes());
        }
        let tls = match ca {
            Some(ca) => {
                pg.ssl_mode(SslMode::Require);
                Some(Arc::new(tls_config(ca)?))
            }
            None if pg.get_ssl_mode() == SslMode::Require => {
                return Err(FleetError::Config(
                    "sslmode=require needs the CA that certifies the server (database_ca)".into(),
                ));
            }
            None => {
                pg.ssl_mode(SslMode::Disable);
                None
            }
        };
        let deadline = Duration::from_secs(2);
        pg.connect_timeout(deadline);
        pg.keepalives(true);
        pg.keepalives_idle(Duration::from_secs(10));
        pg.application_name("kokuin");
        let shown = show(&pg);
        Ok(Self {
            pg,
            tls,
            deadline,
            shown,
        })
    }

    /// Where the database is, for messages: hosts, ports, database and user, no password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Connects (within the deadline), with `synchronous_commit` on and a statement timeout
    /// of the deadline: a commit returns only once it is durable where the server's
    /// configuration says (its synchronous standbys included).
    pub async fn connect(&self) -> Result<Client, FleetError> {
        let connecting = async {
            let client = match &self.tls {
                Some(tls) => {
                    let tls = tokio_postgres_rustls::MakeRustlsConnect::new((**tls).clone());
                    let (client, conn) = self.pg.connect(tls).await?;
                    tokio::spawn(conn);
                    client
                }
                None => {
                    let (client, conn) = self.pg.connect(tokio_postgres::NoTls).await?;
                    tokio::spawn(conn);
                    client
                }
            };
            client
                .batch_execute(&format!(
                    "SET synchronous_commit TO on; SET client_min_messages TO warning; \
                     SET statement_timeout TO {}",
                    self.deadline.as_millis()
                ))
                .await?;
            Ok::<_, FleetError>(client)
        };
        tokio::time::timeout(self.deadline, connecting)
            .await
            .map_err(|_| FleetError::Timeout(self.deadline))?
    }
}

/// Whether `s` names a PostgreSQL database (`postgres://` or `postgresql://`) rather than a
/// file or directory.
pub fn is_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// Checks `url` as configuration is checked, before anything is read or connected: a
/// PostgreSQL URL, with no password in it.
pub fn check_url(url: &str) -> Result<(), FleetError> {
    parse_url(url).map(|_| ())
}

fn parse_url(url: &str) -> Result<tokio_postgres::Config, FleetError> {
    let pg: tokio_postgres::Config = url
        .parse()
        .map_err(|e| FleetError::Config(format!("not a PostgreSQL URL: {e}")))?;
    if pg.get_password().is_some() {
        return Err(FleetError::Config(format!(
            "the URL carries a password: put it in a password file or {PASSWORD_ENV}"
        )));
    }
    Ok(pg)
}

fn show(pg: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = pg
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .collect();
    format!(
        "postgres://{}@{}:{}/{}",
        pg.get_user().unwrap_or(""),
        hosts.join(","),
        pg.get_ports()
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(","),
        pg.get_dbname().unwrap_or("")
    )
}

fn read_password(path: &Path) -> Result<Zeroizing<String>, FleetError> {
    use std::io::Read;
    let f = std::fs::File::open(path)
        .map_err(|e| FleetError::Config(format!("password file {}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        let mode = rustix::fs::fstat(&f)
            .map_err(|e| FleetError::Config(format!("password file {}: {e}", path.display())))?
            .st_mode;
        if mode & 0o077 != 0 {
            return Err(FleetError::Config(format!(
                "password file {}: group or others may read it (chmod 600)",
                path.display()
            )));
        }
    }
    let mut text = Zeroizing::new(String::new());
    f.take(MAX_PASSWORD_FILE)
        .read_to_string(&mut text)
        .map_err(|e| FleetError::Config(format!("password file {}: {e}", path.display())))?;
    let trimmed = Zeroizing::new(text.trim_end_matches(['\r', '\n']).to_string());
    if trimmed.is_empty() {
        return Err(FleetError::Config(format!(
            "password file {} is empty",
            path.display()
        )));
    }
    Ok(trimmed)
}

fn tls_config(ca: &Path) -> Result<rustls::ClientConfig, FleetError> {
    use rustls_pki_types::pem::PemObject;
    let bad = |e: String| FleetError::Config(format!("database_ca {}: {e}", ca.display()));
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types::CertificateDer::pem_file_iter(ca).map_err(|e| bad(e.to_string()))? {
        roots
            .add(c.map_err(|e| bad(e.to_string()))?)
            .map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no certificate in it".into()));
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad(e.to_string()))
    .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

/// The database for callers without a runtime of their own (the audit log's writer thread,
/// the command line): one connection, driven by a runtime of one thread, reconnected after
/// any failure.
pub struct SyncDb {
    cfg: DbConfig,
    rt: tokio::runtime::Runtime,
    client: Option<Arc<Client>>,
    /// Statements prepared on the current connection: a statement run by text is parsed
    /// and described by the server first, a round trip more on every call.
    prepared: std::collections::HashMap<&'static str, tokio_postgres::Statement>,
}

impl SyncDb {
    /// Does not connect yet: the first call does.
    pub fn new(cfg: DbConfig) -> Result<Self, FleetError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("kokuin-db")
            .enable_all()
            .build()
            .map_err(|e| FleetError::Io(format!("cannot start the database runtime: {e}")))?;
        Ok(Self {
            cfg,
            rt,
            client: None,
            prepared: std::collections::HashMap::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DbConfig {
        &self.cfg
    }

    /// Runs `f` on the connection (connecting first if needed) within the deadline. After a
    /// failure the connection is dropped, so the next call starts afresh.
    pub fn call<T, F, Fut>(&mut self, f: F) -> Result<T, FleetError>
    where
        F: FnOnce(Arc<Client>) -> Fut,
        Fut: Future<Output = Result<T, FleetError>>,
    {
        let client = self.client()?;
        let deadline = self.cfg.deadline;
        let r = self
            .rt
            .block_on(async { tokio::time::timeout(deadline, f(client)).await })
            .map_err(|_| FleetError::Timeout(deadline))
            .and_then(|r| r);
        if r.is_err() {
            self.client = None;
        }
        r
    }

    /// Like [`Self::call`], with `sql` prepared once per connection.
    pub fn call_prepared<T, F, Fut>(&mut self, sql: &'static str, f: F) -> Result<T, FleetError>
    where
        F: FnOnce(Arc<Client>, tokio_postgres::Statement) -> Fut,
        Fut: Future<Output = Result<T, FleetError>>,
    {
        let client = self.client()?;
        let statement = match self.prepared.get(sql) {
            Some(s) => s.clone(),
            None => {
                let c = client.clone();
                let s = self.call(|_| async move { Ok(c.prepare(sql).await?) })?;
                self.prepared.insert(sql, s.clone());
                s
            }
        };
        self.call(|c| f(c, statement))
    }

    /// The connection, made (within the deadline) if there is none or it closed.
    fn client(&mut self) -> Result<Arc<Client>, FleetError> {
        match &self.client {
            Some(c) if !c.is_closed() => Ok(c.clone()),
            _ => {
                self.prepared.clear();
                let c = Arc::new(self.rt.block_on(self.cfg.connect())?);
                self.client = Some(c.clone());
                Ok(c)
            }
        }
    }
}
