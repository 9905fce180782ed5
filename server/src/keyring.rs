//! The keyring: which keys the TSA has, their state, and from when each signs.
//!
//! ```toml
//! [[keys]]
//! name = "tsu-2026"
//! state = "active"                       # pending | active | retired | destroyed
//! activate_at = "2026-11-23T09:00:00Z"   # optional: signs from then on
//! policy = "1.3.6.1.4.1.32473.1.2"       # optional: the one TSA policy it serves
//! [keys.key]                             # where the key is: as [tsa.key]
//! backend = "pkcs11"
//! …
//! ```
//!
//! The key in force for a policy is the `active` entry with the latest `activate_at` not in
//! the future (absent counts as always) among the entries naming that policy — or, when none
//! names it, among the entries naming no policy. A policy with keys of its own never falls
//! back to the shared ones: an ML-DSA policy whose key is retired refuses instead of signing
//! with a classical key. A rotation therefore adds an entry and never edits the one in
//! use: the running server switches when the new entry's time comes, and requests already
//! signing finish with the old key. Where it is kept is a [`crate::keyring_store`]: written
//! by `kokuin keys`, read by the server on change and on SIGHUP. The server
//! — the audit log's only writer — records every change it sees (`key.lifecycle`).

use crate::error::KeyringError;
use crate::key_config::KeyConfig;
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
/// Where a key is in its lifecycle.
pub enum KeyState {
    /// Generated, not yet certified or not yet to be used.
    Pending,
    /// Signs from `activate_at` until superseded or retired.
    Active,
    /// Signs no more; kept for verification.
    Retired,
    /// Removed from the token or disk.
    Destroyed,
}

impl KeyState {
    /// Its name in the keyring file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Retired => "retired",
            Self::Destroyed => "destroyed",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// One key of the keyring.
pub struct KeyEntry {
    /// Its name, unique in the keyring.
    pub name: String,
    /// Where it is in its lifecycle.
    pub state: KeyState,
    /// When it starts signing (RFC 3339); absent: as soon as it is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activate_at: Option<String>,
    /// The OID of the one policy this key serves; absent: every policy without keys of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Where the key is.
    pub key: KeyConfig,
}

/// A key's `activate_at` that is not an RFC 3339 time.
#[derive(Debug, thiserror::Error)]
#[error("key {key}: activate_at {value:?}: {reason}")]
pub struct ActivateAtError {
    /// The key's name.
    pub key: String,
    /// What the keyring says.
    pub value: String,
    /// Why it is not a time.
    pub reason: humantime::TimestampError,
}

impl KeyEntry {
    /// `activate_at`, parsed.
    pub fn activate_at(&self) -> Result<Option<SystemTime>, ActivateAtError> {
        self.activate_at
            .as_deref()
            .map(|t| {
                humantime::parse_rfc3339(t).map_err(|e| ActivateAtError {
                    key: self.name.clone(),
                    value: t.to_string(),
                    reason: e,
                })
            })
            .transpose()
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
/// The TSA's keys with their states and activation times, and under dual control the
/// officers who approve every change, the quorum, and the ceremonies that made it
/// (`crate::ceremony`).
pub struct Keyring {
    /// Under dual control: bumped by each ceremony (0: none yet).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub version: u64,
    /// Under dual control: approvals a change needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<u32>,
    /// Under dual control: who approves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub officers: Vec<kokuin_ceremony::record::Officer>,
    /// The keys.
    #[serde(default)]
    pub keys: Vec<KeyEntry>,
    /// Under dual control: every ceremony that changed the keyring, with its approvals, the
    /// evidence each node verifies before it follows a change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ceremonies: Vec<kokuin_ceremony::record::CeremonyRecord>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Keyring {
    /// Parses and checks a keyring's TOML text; `origin` names where it came from, for
    /// messages.
    pub fn parse(text: &str, origin: &str) -> Result<Self, KeyringError> {
        let invalid = |reason: String| KeyringError::Invalid {
            origin: origin.to_string(),
            reason,
        };
        let de =
            toml::Deserializer::parse(text).map_err(|e| invalid(e.to_string().trim().into()))?;
        let k: Keyring = serde_path_to_error::deserialize(de)
            .map_err(|e| invalid(format!("{}: {}", e.path(), e.inner().message())))?;
        let mut names = std::collections::HashSet::new();
        for e in &k.keys {
            if !names.insert(e.name.as_str()) {
                return Err(invalid(format!("key name {:?} twice", e.name)));
            }
            e.activate_at().map_err(|e| invalid(e.to_string()))?;
            if let Some(p) = &e.policy {
                p.parse::<kokuin_tsa::asn1::PolicyId>()
                    .map_err(|m| invalid(format!("key {}: policy {p:?}: {m}", e.name)))?;
            }
        }
        Ok(k)
    }

    /// The keyring as TOML text, as [`Keyring::parse`] reads it.
    pub fn to_text(&self) -> Result<String, KeyringError> {
        toml::to_string_pretty(self).map_err(|e| KeyringError::Invalid {
            origin: "keyring".into(),
            reason: e.to_string(),
        })
    }

    /// The key named `name`.
    pub fn get(&self, name: &str) -> Option<&KeyEntry> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// The key named `name`, to change.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut KeyEntry> {
        self.keys.iter_mut().find(|k| k.name == name)
    }

    /// The key that signs tokens of `policy` (an OID) at `now`, if any.
    pub fn in_force(&self, now: SystemTime, policy: &str) -> Option<&KeyEntry> {
        let own = self
            .keys
            .iter()
            .any(|k| k.policy.as_deref() == Some(policy));
        let wanted = if own { Some(policy) } else { None };
        self.keys
            .iter()
            .filter(|k| k.policy.as_deref() == wanted)
            .filter(|k| k.state == KeyState::Active)
            .filter_map(|k| match k.activate_at() {
                Ok(None) => Some((SystemTime::UNIX_EPOCH, k)),
                Ok(Some(t)) if t <= now => Some((t, k)),
                _ => None,
            })
            .max_by_key(|(t, _)| *t)
            .map(|(_, k)| k)
    }

    /// What changed from `old` to `self`, as (key, event) pairs for the audit log.
    pub fn changes_since(&self, old: &Keyring) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for k in &self.keys {
            match old.get(&k.name) {
                None => out.push((k.name.clone(), format!("added as {}", k.state.name()))),
                Some(o) if o.state != k.state => out.push((
                    k.name.clone(),
                    format!("{} -> {}", o.state.name(), k.state.name()),
                )),
                Some(o) if o.activate_at != k.activate_at => out.push((
                    k.name.clone(),
                    format!("activation time {:?}", k.activate_at),
                )),
                _ => {}
            }
        }
        for o in &old.keys {
            if self.get(&o.name).is_none() {
                out.push((o.name.clone(), "removed from the keyring".into()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry(name: &str, state: KeyState, at: Option<&str>) -> KeyEntry {
        KeyEntry {
            name: name.into(),
            state,
            activate_at: at.map(String::from),
            policy: None,
            key: KeyConfig::Software {
                path: "k".into(),
                algorithm: None,
                certificate: "c".into(),
            },
        }
    }

    #[test]
    fn the_latest_activation_not_in_the_future_is_in_force() {
        let now = humantime::parse_rfc3339("2026-11-23T09:00:00Z").unwrap();
        let mut k = Keyring {
            keys: vec![
                entry("old", KeyState::Active, None),
                entry("new", KeyState::Active, Some("2026-11-23T10:00:00Z")),
                entry("gone", KeyState::Retired, Some("2026-11-23T08:00:00Z")),
            ],
            ..Default::default()
        };
        assert_eq!(k.in_force(now, P).unwrap().name, "old");
        assert_eq!(
            k.in_force(now + Duration::from_secs(3600), P).unwrap().name,
            "new"
        );
        k.get_mut("old").unwrap().state = KeyState::Retired;
        assert!(k.in_force(now, P).is_none());
        let old = Keyring {
            keys: vec![entry("old", KeyState::Active, None)],
            ..Default::default()
        };
        let ch = k.changes_since(&old);
        assert!(ch.contains(&("old".into(), "active -> retired".into())));
        assert!(ch.iter().any(|(n, e)| n == "new" && e.starts_with("added")));
    }

    const P: &str = "2.25.1";

    #[test]
    fn a_policy_with_keys_of_its_own_never_signs_with_the_shared_ones() {
        let now = humantime::parse_rfc3339("2026-11-23T09:00:00Z").unwrap();
        let mut pq = entry("pq", KeyState::Active, None);
        pq.policy = Some("2.25.2".into());
        let mut k = Keyring {
            keys: vec![entry("shared", KeyState::Active, None), pq],
            ..Default::default()
        };
        assert_eq!(k.in_force(now, P).unwrap().name, "shared");
        assert_eq!(k.in_force(now, "2.25.2").unwrap().name, "pq");
        assert_eq!(k.in_force(now, "2.25.3").unwrap().name, "shared");
        k.get_mut("pq").unwrap().state = KeyState::Retired;
        assert!(k.in_force(now, "2.25.2").is_none());
    }
}
