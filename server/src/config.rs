//! `kokuin.toml`: the configuration the server runs as. Unknown keys are errors, and every
//! error names the key it is about (`tsa.policies[0].oid: …`). Relative paths are resolved
//! against the directory of the configuration file.

use crate::key_config::KeyConfig;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Why a configuration cannot be used: the service then refuses to start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read configuration {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A key missing, unknown or with a value it cannot have.
    #[error("configuration {path}: {key}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// The key, as a TOML path (`tsa.policies[0].oid`).
        key: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// `kokuin.toml` (docs/config.md).
pub struct Config {
    /// Development configuration: software keys allowed, clock synchronisation not required
    /// (with a warning at start).
    #[serde(default)]
    pub dev: bool,
    /// `[server]`: listeners, limits, deadlines.
    #[serde(default)]
    pub server: ServerConfig,
    /// `[tsa]`: policies, keys, serials.
    pub tsa: TsaConfig,
    /// `[audit]`: the audit log.
    pub audit: AuditSection,
    /// `[clock]`: where genTime comes from.
    #[serde(default)]
    pub clock: ClockSection,
    /// The e-seal API; absent: no `/eseal/v1/*` routes.
    pub eseal: Option<ESealSection>,
    /// The verification page; absent: no `/verify` routes.
    pub verify: Option<VerifySection>,
    /// SHA-256 of the file as read, recorded in the audit log at start.
    #[serde(skip)]
    pub digest: String,
    /// Directory the configuration was read from; relative paths resolve against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
/// `[server]`.
pub struct ServerConfig {
    /// Plain HTTP listeners (behind a load balancer, or for local clients).
    pub http: Vec<SocketAddr>,
    /// Plain listeners (of `http`) that only a TLS-terminating proxy reaches: the e-seal API,
    /// which takes credentials, answers there. On other plain listeners it refuses (403).
    pub http_behind_tls_proxy: Vec<SocketAddr>,
    /// Addresses of proxies (HAProxy with `send-proxy-v2`) that open each connection with a
    /// PROXY protocol v2 header naming the real client: mandatory from these, never read from
    /// anyone else (`http/proxy_protocol.rs`).
    pub proxy_protocol_from: Vec<std::net::IpAddr>,
    /// A plain listener for `/metrics`, `/healthz` and `/readyz` only (bind it to loopback or
    /// a management network). When set, `/metrics` is served nowhere else.
    pub admin: Option<SocketAddr>,
    /// HTTPS listeners; need `tls_certificate` and `tls_key`.
    pub https: Vec<SocketAddr>,
    /// PEM chain of the TLS server certificate, leaf first.
    pub tls_certificate: Option<PathBuf>,
    /// PKCS #8 PEM key of the TLS server certificate.
    pub tls_key: Option<PathBuf>,
    /// Requests handled at once; more wait (up to `queue_timeout_ms`), then get 503.
    pub max_concurrency: usize,
    /// Open connections per listener; further connections wait in the kernel backlog.
    pub max_connections: usize,
    /// Time from accept for the TLS handshake and the first complete request head.
    pub header_timeout_ms: u64,
    /// Time an open connection (HTTP/1.1 keep-alive or HTTP/2) may stay without a request
    /// in flight before it is closed.
    pub idle_timeout_ms: u64,
    /// Time allowed for a client to send the request body (for large e-seal documents, plus
    /// one second per `body_min_bytes_per_second` bytes received).
    pub body_timeout_ms: u64,
    /// The slowest upload an e-seal document may arrive at, past `body_timeout_ms`.
    pub body_min_bytes_per_second: u64,
    /// How long a request waits for a free slot before 503.
    pub queue_timeout_ms: u64,
    /// Time in-flight requests get to finish after SIGTERM.
    pub shutdown_grace_ms: u64,
    /// Time-stamp requests per second per client address (token bucket); 0: no limit.
    pub rate_limit_per_second: u32,
    /// Burst allowed above the rate (default: one second's worth).
    pub rate_limit_burst: Option<std::num::NonZeroU32>,
    /// E-seal calls per second per client address, refusals included; 0: no limit.
    pub seal_rate_limit_per_second: u32,
    /// Burst allowed above it (default: twice the rate).
    pub seal_rate_limit_burst: Option<std::num::NonZeroU32>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            http: Vec::new(),
            http_behind_tls_proxy: Vec::new(),
            proxy_protocol_from: Vec::new(),
            admin: None,
            https: Vec::new(),
            tls_certificate: None,
            tls_key: None,
            max_concurrency: 512,
            max_connections: 4096,
            header_timeout_ms: 5_000,
            idle_timeout_ms: 30_000,
            body_timeout_ms: 10_000,
            body_min_bytes_per_second: 64 * 1024,
            queue_timeout_ms: 2_000,
            shutdown_grace_ms: 10_000,
            // On by default: generous for /tsa (one address may be a whole company's
            // gateway), tight for the e-seal API (each call signs or fails credentials).
            rate_limit_per_second: 10_000,
            rate_limit_burst: None,
            seal_rate_limit_per_second: 100,
            seal_rate_limit_burst: None,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// `[tsa]`.
pub struct TsaConfig {
    /// Distinct for every node of one service: part of every serial number.
    pub node_id: u16,
    /// Where the boot epoch for serial numbers is kept (see `kokuin_tsa::serial`).
    pub serial_state: PathBuf,
    /// Served policies; the first is the default.
    pub policies: Vec<PolicyConfig>,
    /// The accuracy every token declares (default 1 s).
    #[serde(default = "default_accuracy")]
    pub accuracy: AccuracyConfig,
    /// Write the TSU's name in the `tsa` field of every TSTInfo.
    #[serde(default = "yes")]
    pub include_tsa_name: bool,
    /// Refuse to start unless the key is in an HSM, generated there and never extractable
    /// (CKA_SENSITIVE, !CKA_EXTRACTABLE, CKA_NEVER_EXTRACTABLE, CKA_ALWAYS_SENSITIVE,
    /// CKA_LOCAL). Set it in production.
    #[serde(default)]
    pub require_hsm_key: bool,
    /// The signing key, or…
    pub key: Option<KeyConfig>,
    /// …a keyring of keys with their states and activation times (see `server/src/keyring.rs`),
    /// a file, or `postgres://…` for the fleet's shared keyring (with `audit.database`'s
    /// password and CA),
    /// for rotation without downtime.
    pub keyring: Option<PathBuf>,
    /// The PKCS #11 token that holds the keys of a keyring in the database: the row names keys
    /// by label only, never a module, token or PIN source (`keyring_row`).
    #[serde(default)]
    pub token: Option<TokenSection>,
    /// Dual control: the hash of the keyring's first officers and quorum
    /// (`sha256:…`, printed by `kokuin ceremony init`). Every keyring change is then
    /// followed only with its ceremony's approvals (`crate::ceremony`).
    #[serde(default)]
    pub officers: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
/// `tsa.token`: where this node's token is and how to log in.
pub struct TokenSection {
    /// The PKCS #11 module (shared library).
    pub module: PathBuf,
    /// Token label.
    pub token: String,
    /// File holding the user PIN (mode 0600), or…
    pub pin_file: Option<PathBuf>,
    /// …the environment variable holding it.
    pub pin_env: Option<String>,
    /// Sessions in each key's signing pool (default: the signing threads).
    pub sessions: Option<usize>,
}

/// Where genTime comes from.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClockSection {
    /// Refuse (timeNotAvailable) unless the kernel reports the clock synchronised with an
    /// error bound within `tsa.accuracy`. Only dev mode may turn this off.
    pub require_sync: bool,
    /// A `clock.reading` record (error bound, synchronisation) this often, in seconds
    /// (default 60): the audit report's curve of the clock's error over time.
    pub record_interval_s: u64,
    /// `[clock.traceability]`: the reference clock against UTC(NICT) by GNSS common view.
    pub traceability: Option<TraceabilityConfig>,
    /// `[clock.roughtime]`: an authenticated second opinion on the clock (RFC 10049).
    pub roughtime: Option<RoughtimeConfig>,
}

/// `[clock.roughtime]`: which Roughtime servers to ask, how often, and what a disagreement
/// does.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoughtimeConfig {
    /// The servers, as RFC 10049 server lists give them.
    pub servers: Vec<RoughtimeServer>,
    /// Seconds between rounds (default 60).
    #[serde(default = "default_roughtime_interval")]
    pub interval_s: u64,
    /// Servers that must agree with the local clock (default 2).
    #[serde(default = "default_min_agreeing")]
    pub min_agreeing: u32,
    /// `refuse` (the default: tokens and seals are refused until a round agrees) or `alarm`
    /// (recorded and logged only).
    #[serde(default)]
    pub action: RoughtimeAction,
    /// How long one attempt waits for a reply, ms (default 1000).
    #[serde(default = "default_roughtime_timeout")]
    pub timeout_ms: u64,
    /// Attempts per server in a round (default 3).
    #[serde(default = "default_roughtime_attempts")]
    pub attempts: u32,
    /// Where malfeasance reports are written (default `roughtime-malfeasance`, beside the
    /// configuration).
    #[serde(default = "default_malfeasance_dir")]
    pub malfeasance_dir: PathBuf,
}

fn default_malfeasance_dir() -> PathBuf {
    PathBuf::from("roughtime-malfeasance")
}

/// One Roughtime server.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoughtimeServer {
    /// A name for people and the audit log.
    pub name: String,
    /// `host:port` (UDP).
    pub address: String,
    /// The long-term Ed25519 key, base64.
    pub public_key: String,
}

/// What a round with too few agreeing servers does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoughtimeAction {
    /// Refuse tokens and seals (timeNotAvailable, 503) until a round agrees.
    #[default]
    Refuse,
    /// Record and log an alarm only.
    Alarm,
}

impl RoughtimeAction {
    /// The name in the configuration and the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Self::Refuse => "refuse",
            Self::Alarm => "alarm",
        }
    }
}

fn default_roughtime_interval() -> u64 {
    60
}

fn default_min_agreeing() -> u32 {
    2
}

fn default_roughtime_timeout() -> u64 {
    1000
}

fn default_roughtime_attempts() -> u32 {
    3
}

/// `[clock.traceability]`: where the CGGTTS V2E files are, and when an offset is an alarm.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceabilityConfig {
    /// Where the provider's GNSS receiver drops its CGGTTS V2E files.
    pub local_dir: PathBuf,
    /// Where NICT's published CGGTTS V2E files for the same days are placed.
    pub reference_dir: PathBuf,
    /// An hour with a track farther from UTC(NICT) than this, in milliseconds, is an alarm and
    /// a finding (default 100).
    #[serde(default = "default_alarm_ms")]
    pub alarm_ms: f64,
    /// How often the directories are read, in seconds (default 3600).
    #[serde(default = "default_traceability_interval")]
    pub interval_s: u64,
}

fn default_alarm_ms() -> f64 {
    100.0
}

fn default_traceability_interval() -> u64 {
    3600
}

impl Default for ClockSection {
    fn default() -> Self {
        Self {
            require_sync: true,
            record_interval_s: 60,
            traceability: None,
            roughtime: None,
        }
    }
}

/// The audit log (see the `kokuin_audit` crate).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// Turning the log off is allowed in dev mode only (to measure what it costs).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The Merkle tree over the log (proofs, tree checkpoints); turning it off is allowed in
    /// dev mode only, to measure what it costs (`scripts/bench-audit`).
    #[serde(default = "yes")]
    pub tree: bool,
    /// The log's directory (files), unless `database` is set (default `audit`).
    #[serde(default = "default_audit_dir")]
    pub dir: PathBuf,
    /// The fleet's PostgreSQL (`postgres://user@host:port/db`, no password in it): the log is
    /// kept there, one chain per node, and `tsa.node_id` is leased there (docs/fleet.md).
    #[serde(default)]
    pub database: Option<String>,
    /// The database password, in a file only its owner may read; default: the
    /// `KOKUIN_DATABASE_PASSWORD` environment variable, else none.
    #[serde(default)]
    pub database_password_file: Option<PathBuf>,
    /// PEM roots that certify the database server: the connection is then TLS.
    #[serde(default)]
    pub database_ca: Option<PathBuf>,
    /// The audit key as a PKCS #8 file (development; refused with `tsa.require_hsm_key`)…
    #[serde(default)]
    pub checkpoint_key: Option<PathBuf>,
    /// …and its certificate (auditors verify with it).
    #[serde(default)]
    pub checkpoint_certificate: Option<PathBuf>,
    /// …or the audit key where it belongs in production, in the HSM:
    /// `{ backend = "pkcs11", module, token, key, pin_file, certificate }` (ECDSA, so that it
    /// also signs the C2SP tree checkpoints).
    #[serde(default)]
    pub checkpoint: Option<KeyConfig>,
    /// A checkpoint after this many records (default 10,000)…
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: u64,
    /// …or this many seconds after the last (default 60).
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval_s: u64,
    /// A new segment past this size (MiB, default 256).
    #[serde(default = "default_segment_mb")]
    pub segment_max_mb: u64,
    /// A new segment each UTC day (default true).
    #[serde(default = "yes")]
    pub rotate_daily: bool,
    /// Refusals are counted per event, client address and reason, and recorded as one
    /// `refusals` record per count this often.
    #[serde(default = "default_refusal_interval")]
    pub refusal_interval_s: u64,
    /// In a fleet: `/readyz` fails once this node's records have waited longer than this for
    /// the fleet's tree (seconds, default 120).
    #[serde(default = "default_tree_lag_bound")]
    pub tree_lag_bound_s: u64,
    /// The origin line of the signed tree checkpoints (c2sp.org/tlog-checkpoint), e.g.
    /// `tsa.example.jp/audit`; default `kokuin/audit/` and the first 16 hex digits of the
    /// audit certificate's SHA-256.
    #[serde(default)]
    pub origin: Option<String>,
    /// `[[audit.witnesses]]`: witnesses every tree checkpoint is sent to
    /// (c2sp.org/tlog-witness).
    #[serde(default)]
    pub witnesses: Vec<WitnessConfig>,
}

fn default_audit_dir() -> PathBuf {
    PathBuf::from("audit")
}

fn default_refusal_interval() -> u64 {
    10
}

fn default_checkpoint_every() -> u64 {
    10_000
}

fn default_checkpoint_interval() -> u64 {
    60
}

fn default_tree_lag_bound() -> u64 {
    120
}

fn default_segment_mb() -> u64 {
    256
}

/// `[verify]`: the verification page (`GET /verify`, `POST /verify/v1`), where a recipient
/// checks a seal or token against the anchors listed here, and nothing else.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySection {
    /// Trust anchors, PEM or DER: the roots whose tokens and seals the page calls valid.
    pub trust: Vec<PathBuf>,
    /// Largest seal or token the page accepts (KiB, default 4096); the document itself
    /// never reaches the server, only its digest.
    #[serde(default = "default_max_evidence_kb")]
    pub max_evidence_kb: u64,
}

fn default_max_evidence_kb() -> u64 {
    4096
}

/// `[[audit.witnesses]]`: a witness of the audit log.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// Its submission prefix (`add-checkpoint` is appended).
    pub url: String,
    /// Its Ed25519 cosignature verifier key, `name+hexid+base64key`.
    pub vkey: String,
}

/// `[eseal]`: seal keys, who may use them, and where B-T/B-LT material comes from.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ESealSection {
    /// `[[eseal.keys]]`: the seal keys.
    pub keys: Vec<SealKeyConfig>,
    /// PEM CA certificates the operator marks accredited by the minister: a level-2 key's
    /// certificate must chain to one.
    #[serde(default)]
    pub accredited_cas: Vec<PathBuf>,
    /// PEM CA certificates whose TLS client certificates may call the API (each identity
    /// still needs a `[[eseal.clients]]` grant).
    #[serde(default)]
    pub client_cas: Vec<PathBuf>,
    /// `[[eseal.clients]]`: who may call the API, and with which keys.
    #[serde(default)]
    pub clients: Vec<SealClientConfig>,
    /// CRLs (DER or PEM) put into B-LT seals; re-read at each seal, so a cron job that
    /// fetches fresh CRLs needs no restart.
    #[serde(default)]
    pub crls: Vec<PathBuf>,
    /// Certificates to add to B-LT seals besides the seal key's and TSA's chains (roots).
    #[serde(default)]
    pub validation_certificates: Vec<PathBuf>,
    /// An external TSA for B-T and B-LTA; absent: this service's own.
    pub tsa_url: Option<String>,
    /// PEM trust anchors for `tsa_url`'s HTTPS certificate (default: Mozilla's roots).
    pub tsa_ca: Option<PathBuf>,
    /// Largest document accepted for an enveloping seal (it is held in memory). Detached
    /// seals stream the document through the hash and have no limit.
    #[serde(default = "default_enveloping_mb")]
    pub max_enveloping_mb: u64,
    /// Bytes of enveloped documents and seals sent to be extended held in memory at once,
    /// across all requests (MiB); further ones wait for room (then 503).
    #[serde(default = "default_enveloping_in_flight_mb")]
    pub max_enveloping_in_flight_mb: u32,
    /// Policy OIDs of accredited CAs that state an assurance level: `{ oid = "…", level = 2 }`.
    #[serde(default)]
    pub level_policies: Vec<LevelPolicyConfig>,
    /// The TrueType/OpenType font visible PDF seals are set in (a subset is embedded);
    /// absent: IPAex or IPA Gothic where Debian installs them, else no visible seals.
    pub stamp_font: Option<PathBuf>,
}

fn default_enveloping_mb() -> u64 {
    64
}

fn default_enveloping_in_flight_mb() -> u32 {
    256
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// `[[eseal.keys]]`.
pub struct SealKeyConfig {
    /// The name callers give in `?key=`.
    pub name: String,
    /// Declared assurance level, 1 or 2; the key must meet its rules or the service refuses
    /// to start.
    pub level: u8,
    /// Where the key is, as `[tsa.key]`; `certificate` holds the e-seal certificate first,
    /// then its chain.
    pub key: KeyConfig,
    /// A PNG (at most 1024 × 1024) drawn in this key's visible PDF seals: the
    /// organisation's seal image.
    pub stamp_image: Option<PathBuf>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// `[[eseal.clients]]`.
pub struct SealClientConfig {
    /// The client's name, in audit records.
    pub name: String,
    /// SHA-256 (hex) of the client's TLS certificate, or…
    pub certificate_sha256: Option<String>,
    /// …SHA-256 (hex) of its API token, sent as `Authorization: Bearer TOKEN`. The token
    /// itself is never stored.
    pub token_sha256: Option<String>,
    /// Seal keys this client may use.
    pub keys: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// An accredited CA's policy OID and the assurance level it states.
pub struct LevelPolicyConfig {
    /// The certificate policy OID.
    pub oid: String,
    /// The level it states, 1 or 2.
    pub level: u8,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// `[[tsa.policies]]`: a TSA policy served.
pub struct PolicyConfig {
    /// Its OID (UUID arcs allowed).
    pub oid: String,
    /// Its name, for people (`/tsa/policies`).
    pub name: String,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// `tsa.accuracy`: RFC 3161 Accuracy; absent fields are zero.
pub struct AccuracyConfig {
    /// Seconds.
    #[serde(default)]
    pub seconds: u32,
    /// Milliseconds, 0–999.
    #[serde(default)]
    pub millis: u16,
    /// Microseconds, 0–999.
    #[serde(default)]
    pub micros: u16,
}

impl AccuracyConfig {
    /// The accuracy as a duration.
    pub fn duration(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.seconds))
            + std::time::Duration::from_millis(u64::from(self.millis))
            + std::time::Duration::from_micros(u64::from(self.micros))
    }
}

fn default_accuracy() -> AccuracyConfig {
    AccuracyConfig {
        seconds: 1,
        millis: 0,
        micros: 0,
    }
}

fn yes() -> bool {
    true
}

impl ESealSection {
    pub(crate) fn check(&self) -> Result<(), (String, String)> {
        let err = |k: String, m: String| Err((k, m));
        let mut names = std::collections::HashSet::new();
        for (i, k) in self.keys.iter().enumerate() {
            if !names.insert(k.name.as_str()) {
                return err(
                    format!("eseal.keys[{i}].name"),
                    format!("{:?} twice", k.name),
                );
            }
            if !(1..=2).contains(&k.level) {
                return err(format!("eseal.keys[{i}].level"), "1 or 2".into());
            }
            k.key.check(&format!("eseal.keys[{i}].key"))?;
        }
        for (i, c) in self.clients.iter().enumerate() {
            let hex = |v: &Option<String>| {
                v.as_ref()
                    .is_none_or(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()))
            };
            if c.certificate_sha256.is_none() && c.token_sha256.is_none() {
                return err(
                    format!("eseal.clients[{i}]"),
                    "give certificate_sha256 or token_sha256".into(),
                );
            }
            if !hex(&c.certificate_sha256) || !hex(&c.token_sha256) {
                return err(
                    format!("eseal.clients[{i}]"),
                    "SHA-256 values are 64 hex digits".into(),
                );
            }
            if let Some(k) = c.keys.iter().find(|k| !names.contains(k.as_str())) {
                return err(
                    format!("eseal.clients[{i}].keys"),
                    format!("no seal key {k:?}"),
                );
            }
        }
        for (i, p) in self.level_policies.iter().enumerate() {
            if p.oid.parse::<const_oid::ObjectIdentifier>().is_err() || !(1..=2).contains(&p.level)
            {
                return err(
                    format!("eseal.level_policies[{i}]"),
                    "an OID and a level 1 or 2".into(),
                );
            }
        }
        Ok(())
    }
}

impl Config {
    /// The audit key's certificate file, whichever way the key is configured.
    pub fn audit_certificate(&self) -> PathBuf {
        let a = &self.audit;
        match (&a.checkpoint, &a.checkpoint_certificate) {
            (Some(k), _) => self.resolve(k.certificate()),
            (None, Some(c)) => self.resolve(c),
            (None, None) => PathBuf::new(),
        }
    }

    /// The fleet's database, when `audit.database` is set: its URL with the password file and
    /// CA resolved against the configuration's directory.
    pub fn database(&self) -> Option<Result<kokuin_fleet::DbConfig, kokuin_fleet::FleetError>> {
        self.audit
            .database
            .as_ref()
            .map(|url| self.database_at(url))
    }

    /// How to reach the database at `url` (the audit log's, or `tsa.keyring`'s), with
    /// `audit.database_password_file` and `audit.database_ca` resolved against the
    /// configuration's directory.
    pub fn database_at(
        &self,
        url: &str,
    ) -> Result<kokuin_fleet::DbConfig, kokuin_fleet::FleetError> {
        let a = &self.audit;
        kokuin_fleet::DbConfig::new(
            url,
            a.database_password_file
                .as_ref()
                .map(|p| self.resolve(p))
                .as_deref(),
            a.database_ca.as_ref().map(|p| self.resolve(p)).as_deref(),
        )
    }

    /// `p` against the configuration's directory, unless absolute.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}
