//! A node's own signing key and its certificate by the audit key (docs/fleet.md, "Signed
//! heads"). The database is not trusted to say which rows a node wrote: each node signs its
//! chain's head with a key only it holds, and the fleet trusts a head only under a key the
//! audit key certified for that node id and that fleet.
//!
//! The node key is an Ed25519 key kept in the node's state directory (beside its serial
//! state and its verified checkpoint: the node's own disk, never the database), readable by
//! the service's user alone and zeroized in memory. It is not an HSM key: it speaks only for
//! "this node wrote these rows", a claim the node's disk already vouches for; what the
//! fleet signs for the world is signed by the audit key in the HSM. Each node with the
//! audit key certifies its own node key at start, a certificate the node keeps locally, puts
//! in each head row and records in its log (`node.key`).
//!
//! The certificate is a line of text rather than an X.509 certificate because it binds
//! exactly three things (node id, fleet origin, public key) and nothing reads it but Kokuin;
//! its signature is the audit key's, checked like a checkpoint's.

use crate::error::FleetError;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use kokuin_audit::checkpoint::{CheckpointSigner, CheckpointVerifier};
use std::path::Path;

/// How a certificate line starts.
const CERT_TAG: &str = "kokuin-node-cert:v1";

/// A node key's certificate: the audit key says that `public` signs for node `node_id` of the
/// fleet whose tree origin is `origin`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeCert {
    /// The node id it speaks for.
    pub node_id: u16,
    /// The fleet's tree origin.
    pub origin: String,
    /// The node's Ed25519 public key.
    pub public: [u8; 32],
    /// The audit key's signature algorithm and certificate id (`CheckpointSigner`).
    pub algorithm: String,
    /// The audit certificate's id (its SHA-256, hex).
    pub signer: String,
    /// The audit key's signature over [`NodeCert::message`].
    pub signature: Vec<u8>,
}

impl NodeCert {
    /// What the audit key signs: node id and key first, so the origin (which may hold any
    /// printable character but space) is unambiguous at the end.
    pub fn message(node_id: u16, public: &[u8; 32], origin: &str) -> Vec<u8> {
        format!(
            "kokuin-node-key:v1:{node_id}:{}:{origin}",
            hex::encode(public)
        )
        .into_bytes()
    }

    /// The certificate as one line (the format docs/fleet.md gives).
    pub fn text(&self) -> String {
        format!(
            "{CERT_TAG} {} {} {} {} {} {}",
            self.node_id,
            self.origin,
            hex::encode(self.public),
            self.algorithm,
            self.signer,
            hex::encode(&self.signature)
        )
    }

    /// Reads a certificate line (bounded: a line of a database row is not trusted).
    pub fn parse(text: &str) -> Result<Self, FleetError> {
        let bad = |why: &str| FleetError::NodeKey(format!("not a node certificate: {why}"));
        if text.len() > 1024 {
            return Err(bad("too long"));
        }
        let parts: Vec<&str> = text.trim_end().split(' ').collect();
        let [tag, node_id, origin, public, algorithm, signer, signature] = parts[..] else {
            return Err(bad("wrong number of fields"));
        };
        if tag != CERT_TAG {
            return Err(bad("unknown version"));
        }
        Ok(Self {
            node_id: node_id.parse().map_err(|_| bad("node id"))?,
            origin: origin.to_string(),
            public: hex::decode(public)
                .ok()
                .and_then(|p| p.try_into().ok())
                .ok_or_else(|| bad("public key"))?,
            algorithm: algorithm.to_string(),
            signer: signer.to_string(),
            signature: hex::decode(signature).map_err(|_| bad("signature"))?,
        })
    }

    /// Ok when the audit key (as `verifier` trusts it) certified this key for `node_id` of
    /// the fleet `origin`.
    pub fn verify(
        &self,
        verifier: &dyn CheckpointVerifier,
        node_id: u16,
        origin: &str,
    ) -> Result<(), FleetError> {
        if self.node_id != node_id || self.origin != origin {
            return Err(FleetError::NodeKey(format!(
                "a certificate for node {} of {}, not node {node_id} of {origin}",
                self.node_id, self.origin
            )));
        }
        verifier
            .verify(
                &self.signer,
                &self.algorithm,
                &Self::message(self.node_id, &self.public, &self.origin),
                &self.signature,
            )
            .map_err(|e| FleetError::NodeKey(format!("the audit key did not certify it: {e}")))
    }

    /// The certified key.
    pub fn key(&self) -> Result<VerifyingKey, FleetError> {
        VerifyingKey::from_bytes(&self.public)
            .map_err(|_| FleetError::NodeKey("not an Ed25519 public key".into()))
    }
}

/// A node's key with its certificate.
pub struct NodeKey {
    key: SigningKey,
    /// Its certificate by the audit key.
    pub cert: NodeCert,
}

impl NodeKey {
    /// The node key kept at `path` (made on first start), with a certificate by `audit` kept
    /// at `path` + `.cert` (made again when missing or for another key, node or origin).
    pub fn load_or_make(
        path: &Path,
        node_id: u16,
        origin: &str,
        audit: &dyn CheckpointSigner,
    ) -> Result<Self, FleetError> {
        let io = |what: &str, e: std::io::Error| FleetError::NodeKey(format!("{what}: {e}"));
        let key = match std::fs::read(path) {
            Ok(bytes) => {
                let mut secret = zeroize::Zeroizing::new([0u8; 32]);
                let hex = zeroize::Zeroizing::new(bytes);
                if hex.len() != 64 || hex::decode_to_slice(&hex[..], &mut secret[..]).is_err() {
                    return Err(FleetError::NodeKey(
                        "the node key file does not hold a key".into(),
                    ));
                }
                SigningKey::from_bytes(&secret)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut secret = zeroize::Zeroizing::new([0u8; 32]);
                getrandom::fill(&mut secret[..])
                    .map_err(|e| FleetError::NodeKey(format!("no randomness: {e}")))?;
                let hex = zeroize::Zeroizing::new(hex::encode(&secret[..]));
                kokuin_audit::atomic::write_private(path, hex.as_bytes())
                    .map_err(|e| io("cannot keep the node key", e))?;
                SigningKey::from_bytes(&secret)
            }
            Err(e) => return Err(io("cannot read the node key", e)),
        };
        let public = key.verifying_key().to_bytes();
        let cert_path = cert_path(path);
        let kept = std::fs::read_to_string(&cert_path)
            .ok()
            .and_then(|t| NodeCert::parse(&t).ok())
            .filter(|c| {
                c.public == public
                    && c.node_id == node_id
                    && c.origin == origin
                    && c.signer == audit.key_id()
            });
        let cert = match kept {
            Some(c) => c,
            None => {
                let signature = audit
                    .sign(&NodeCert::message(node_id, &public, origin))
                    .map_err(|e| FleetError::NodeKey(format!("the audit key cannot sign: {e}")))?;
                let c = NodeCert {
                    node_id,
                    origin: origin.to_string(),
                    public,
                    algorithm: audit.algorithm(),
                    signer: audit.key_id(),
                    signature,
                };
                kokuin_audit::atomic::write(&cert_path, format!("{}\n", c.text()).as_bytes())
                    .map_err(|e| io("cannot keep the node certificate", e))?;
                c
            }
        };
        Ok(Self { key, cert })
    }

    /// Signs `message` (a head's: `heads::Head::signed_by`).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message).to_bytes().to_vec()
    }
}

/// Where a node key's certificate is kept.
pub fn cert_path(key: &Path) -> std::path::PathBuf {
    let mut name = key.file_name().unwrap_or_default().to_os_string();
    name.push(".cert");
    key.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_lines_round_trip_and_bad_ones_are_refused() {
        let c = NodeCert {
            node_id: 3,
            origin: "kokuin/audit/x/fleet".into(),
            public: [9; 32],
            algorithm: "ecdsa-p256-sha256".into(),
            signer: "ab".repeat(32),
            signature: vec![1, 2, 3],
        };
        assert_eq!(NodeCert::parse(&c.text()).unwrap(), c);
        for bad in [
            String::new(),
            c.text().replace(CERT_TAG, "kokuin-node-cert:v2"),
            c.text().replace(" 3 ", " x "),
            format!("{} extra", c.text()),
            "a".repeat(2000),
        ] {
            assert!(NodeCert::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
