//! Reading `kokuin.toml` and checking it before anything starts: unknown keys, impossible
//! values and what only dev mode may use are refused with the key they are about.

use crate::config::{Config, ConfigError};
use std::path::{Path, PathBuf};

impl Config {
    /// Reads and checks the configuration at `path`: unknown keys, impossible values and
    /// settings that only dev mode may use are refused here, before anything starts.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut cfg = Self::parse(&text).map_err(|(key, message)| ConfigError::Invalid {
            path: path.display().to_string(),
            key,
            message,
        })?;
        cfg.digest = hex::encode(kokuin_hsm::DigestAlgorithm::Sha256.digest(text.as_bytes()));
        cfg.base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(cfg)
    }

    /// Parses and checks; an error is (key path, message).
    pub fn parse(text: &str) -> Result<Self, (String, String)> {
        let de = toml::Deserializer::parse(text).map_err(|e| {
            (
                "(syntax)".to_string(),
                // toml's own message: the line, a caret under the column, what was expected.
                e.to_string().trim_end().to_string(),
            )
        })?;
        let cfg: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            // With the line and a caret when toml knows where (it keeps the input).
            let msg = match inner.span() {
                Some(_) => inner.to_string().trim_end().to_string(),
                None => inner.message().to_string(),
            };
            (
                if key == "." {
                    "(top level)".into()
                } else {
                    key
                },
                msg,
            )
        })?;
        cfg.check()?;
        Ok(cfg)
    }

    fn check(&self) -> Result<(), (String, String)> {
        let err = |k: &str, m: String| Err((k.to_string(), m));
        if self.tsa.policies.is_empty() {
            return err("tsa.policies", "at least one policy is required".into());
        }
        for (i, w) in self.audit.witnesses.iter().enumerate() {
            if let Err(e) = kokuin_audit::cosignature::WitnessKey::parse_vkey(&w.vkey) {
                return err(&format!("audit.witnesses[{i}].vkey"), e.to_string());
            }
        }
        for (i, p) in self.tsa.policies.iter().enumerate() {
            if let Err(e) = p.oid.parse::<kokuin_tsa::asn1::PolicyId>() {
                return err(&format!("tsa.policies[{i}].oid"), e.to_string());
            }
        }
        let a = self.tsa.accuracy;
        if a.millis > 999 || a.micros > 999 {
            return err(
                "tsa.accuracy",
                "millis and micros are 0 to 999 (RFC 3161 §2.4.2)".into(),
            );
        }
        if a.seconds == 0 && a.millis == 0 && a.micros == 0 {
            return err(
                "tsa.accuracy",
                "accuracy must be declared (EN 319 422)".into(),
            );
        }
        if !self.server.https.is_empty()
            && (self.server.tls_certificate.is_none() || self.server.tls_key.is_none())
        {
            return err(
                "server.https",
                "HTTPS listeners need server.tls_certificate and server.tls_key".into(),
            );
        }
        if self.server.max_concurrency == 0 || self.server.max_connections == 0 {
            return err("server.max_concurrency", "limits must be at least 1".into());
        }
        if let Some(r) = &self.clock.roughtime {
            r.check()?;
        }
        if !self.clock.require_sync && !self.dev {
            return err(
                "clock.require_sync",
                "only dev mode may issue without a synchronised clock".into(),
            );
        }
        if !self.audit.tree && !self.dev {
            return err(
                "audit.tree",
                "only dev mode may turn the Merkle tree off".into(),
            );
        }
        if !self.audit.enabled && !self.dev {
            return err(
                "audit.enabled",
                "the audit log can be turned off only in dev mode".into(),
            );
        }
        match (
            &self.audit.checkpoint,
            &self.audit.checkpoint_key,
            &self.audit.checkpoint_certificate,
        ) {
            (Some(k), None, None) => k.check("audit.checkpoint")?,
            (None, Some(_), Some(_)) => {}
            _ => {
                return err(
                    "audit.checkpoint",
                    "configure audit.checkpoint (a key in the HSM), or checkpoint_key with \
                     checkpoint_certificate, not both"
                        .into(),
                );
            }
        }
        if self.audit.checkpoint_every == 0 || self.audit.segment_max_mb == 0 {
            return err(
                "audit.checkpoint_every",
                "checkpoint_every and segment_max_mb must be at least 1".into(),
            );
        }
        if let Some(e) = &self.eseal {
            e.check()?;
        }
        if let Some(url) = &self.audit.database
            && let Err(e) = kokuin_fleet::db::check_url(url)
        {
            return err("audit.database", e.to_string());
        }
        if self.clock.record_interval_s == 0 {
            return err("clock.record_interval_s", "at least 1 second".into());
        }
        if let Some(v) = &self.verify
            && (v.trust.is_empty() || v.max_evidence_kb == 0)
        {
            return err(
                "verify.trust",
                "the page needs at least one trust anchor and max_evidence_kb of 1 or more".into(),
            );
        }
        match (&self.tsa.key, &self.tsa.keyring) {
            (Some(k), None) => k.check("tsa.key")?,
            (None, Some(_)) => {}
            _ => {
                return err(
                    "tsa.key",
                    "configure either tsa.key or tsa.keyring, not both or neither".into(),
                );
            }
        }
        Ok(())
    }
}

impl crate::config::RoughtimeConfig {
    /// The servers as the rounds use them, every key decoded.
    pub fn trusted(&self) -> Result<Vec<kokuin_roughtime::TrustedServer>, (String, String)> {
        self.servers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                kokuin_roughtime::TrustedServer::new(&s.name, &s.address, &s.public_key).map_err(
                    |e| {
                        (
                            format!("clock.roughtime.servers[{i}].public_key"),
                            e.to_string(),
                        )
                    },
                )
            })
            .collect()
    }

    fn check(&self) -> Result<(), (String, String)> {
        let err = |k: &str, m: &str| Err((format!("clock.roughtime.{k}"), m.to_string()));
        let servers = self.trusted()?;
        if servers.is_empty() {
            return err("servers", "name at least one server");
        }
        for (i, s) in servers.iter().enumerate() {
            if servers[..i].iter().any(|o| o.name == s.name) {
                return err(
                    &format!("servers[{i}].name"),
                    "each server needs its own name",
                );
            }
            if servers[..i].iter().any(|o| o.key_bytes() == s.key_bytes()) {
                return err(
                    &format!("servers[{i}].public_key"),
                    "the same key twice is one server: it cannot agree with itself",
                );
            }
        }
        if self.min_agreeing == 0 || self.min_agreeing as usize > servers.len() {
            return err(
                "min_agreeing",
                "between 1 and the number of servers (an unreachable quorum refuses forever)",
            );
        }
        if self.interval_s == 0 || self.timeout_ms == 0 || self.attempts == 0 {
            return err(
                "interval_s",
                "interval_s, timeout_ms and attempts are at least 1",
            );
        }
        // A round must end before the next is due: every attempt of every server timing out.
        let worst_ms = self.timeout_ms * u64::from(self.attempts) * servers.len() as u64;
        if worst_ms >= self.interval_s * 1000 {
            return err(
                "interval_s",
                "a round whose servers all time out takes timeout_ms × attempts × servers; \
                 the interval must be longer",
            );
        }
        Ok(())
    }
}
