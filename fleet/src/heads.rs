//! Signed heads: a node's word on how far its chain goes (docs/fleet.md, "Signed heads").
//!
//! A head says "node N, in lease epoch E, wrote its chain up to record `seq`, whose line hashes
//! to `hash`", signed by the node's key (`node_key`). A node writes one at most once a second,
//! in the same statement as a batch (or, idle, after its last batch). The integrator takes a
//! node's records into the fleet's tree only up to a head that verifies, and only when they
//! continue, link by link, the chain from the head it integrated before: a row no node signed
//! for — another node id, a seq far ahead, a changed line, an extension after the last head —
//! is never signed into a checkpoint.

use crate::error::FleetError;
use crate::node_key::NodeCert;
use kokuin_audit::checkpoint::CheckpointVerifier;
use kokuin_audit::record::{Record, line_hash};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// A node's head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// The node.
    pub node_id: u16,
    /// Its lease epoch when it signed.
    pub epoch: u32,
    /// The last record the head covers.
    pub seq: u64,
    /// That record's line hash (`record::line_hash`): the next record's `prev`.
    pub hash: String,
}

impl Head {
    /// What the node key signs; the origin binds it to one fleet.
    pub fn message(&self, origin: &str) -> Vec<u8> {
        format!(
            "kokuin-node-head:v1:{}:{}:{}:{}:{origin}",
            self.node_id, self.epoch, self.seq, self.hash
        )
        .into_bytes()
    }

    /// The node key's signature over it.
    pub fn signed_by(&self, key: &crate::node_key::NodeKey, origin: &str) -> Vec<u8> {
        key.sign(&self.message(origin))
    }
}

/// A head row as read from the database: nothing in it is trusted until [`HeadTrust::check`].
pub struct HeadRow {
    /// The head it claims.
    pub head: Head,
    /// The certificate line it carries.
    pub cert: String,
    /// The node key's signature.
    pub signature: Vec<u8>,
}

/// What heads are verified against: the fleet's origin and the audit key, which certifies
/// node keys. Certificates already verified are remembered (one audit-key check each); clones
/// share what they remember.
#[derive(Clone)]
pub struct HeadTrust {
    origin: String,
    audit: Arc<dyn CheckpointVerifier + Send + Sync>,
    certified: Arc<Mutex<HashSet<String>>>,
}

impl HeadTrust {
    /// Trust in heads of the fleet `origin` whose keys `audit` certified.
    pub fn new(origin: String, audit: Arc<dyn CheckpointVerifier + Send + Sync>) -> Self {
        Self {
            origin,
            audit,
            certified: Arc::default(),
        }
    }

    /// The fleet's origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Ok when the row's certificate is the audit key's for its node and fleet, and its
    /// signature is that key's over the head.
    pub fn check(&self, row: &HeadRow) -> Result<(), FleetError> {
        let cert = NodeCert::parse(&row.cert)?;
        let known = self.certified.lock().is_ok_and(|c| c.contains(&row.cert));
        if !known {
            cert.verify(self.audit.as_ref(), row.head.node_id, &self.origin)?;
            if let Ok(mut c) = self.certified.lock() {
                if c.len() > 4096 {
                    c.clear();
                }
                c.insert(row.cert.clone());
            }
        } else if cert.node_id != row.head.node_id {
            return Err(FleetError::NodeKey(format!(
                "a certificate for node {}, not node {}",
                cert.node_id, row.head.node_id
            )));
        }
        let sig = ed25519_dalek::Signature::from_slice(&row.signature)
            .map_err(|_| FleetError::NodeKey("not an Ed25519 signature".into()))?;
        cert.key()?
            .verify_strict(&row.head.message(&self.origin), &sig)
            .map_err(|_| FleetError::NodeKey("the head's signature does not verify".into()))
    }
}

/// The columns [`head_row`] reads, in its order.
pub const HEAD_COLUMNS: &str = "node_id, seq, epoch, hash, cert, signature";

/// A head row read with [`HEAD_COLUMNS`]; a row out of range is an error, not a head.
pub fn head_row(r: &tokio_postgres::Row) -> Result<HeadRow, FleetError> {
    let bad = |what: &str| FleetError::Db(format!("a head row with a bad {what}"));
    let (node_id, seq, epoch): (i32, i64, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
    Ok(HeadRow {
        head: Head {
            node_id: u16::try_from(node_id).map_err(|_| bad("node id"))?,
            epoch: u32::try_from(epoch).map_err(|_| bad("epoch"))?,
            seq: u64::try_from(seq).map_err(|_| bad("seq"))?,
            hash: r.try_get(3)?,
        },
        cert: r.try_get(4)?,
        signature: r.try_get(5)?,
    })
}

/// A node's newest head rows, newest first, unchecked, at most `limit`.
pub async fn newest(
    c: &tokio_postgres::Client,
    node_id: u16,
    limit: i64,
) -> Result<Vec<HeadRow>, FleetError> {
    c.query(
        &format!(
            "SELECT {HEAD_COLUMNS} FROM kokuin_node_heads WHERE node_id = $1
             ORDER BY seq DESC LIMIT $2"
        ),
        &[&i32::from(node_id), &limit],
    )
    .await?
    .iter()
    .map(head_row)
    .collect()
}

/// Where a walk along a chain stands: the next seq and the hash it must chain to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainPoint {
    /// The seq the next record must have.
    pub next_seq: u64,
    /// The `prev` the next record must have.
    pub head: String,
}

impl ChainPoint {
    /// The start of every chain.
    pub fn genesis() -> Self {
        Self {
            next_seq: 0,
            head: kokuin_audit::record::GENESIS.to_string(),
        }
    }

    /// Just after the record a head covers.
    pub fn after(head: &Head) -> Self {
        Self {
            next_seq: head.seq + 1,
            head: head.hash.clone(),
        }
    }

    /// Steps over the row `(seq, line)` if it continues the chain here; else says why not.
    pub fn step(&mut self, seq: u64, line: &str) -> Result<(), String> {
        if seq != self.next_seq {
            return Err(format!("seq {seq} where {} was next", self.next_seq));
        }
        let r = Record::parse_line(line).map_err(|e| format!("seq {seq}: not a record: {e}"))?;
        if r.seq != seq {
            return Err(format!("seq {seq}: the line says seq {}", r.seq));
        }
        if r.prev != self.head {
            return Err(format!(
                "seq {seq}: does not continue the chain (its prev is not the hash of the \
                 record before it)"
            ));
        }
        self.next_seq += 1;
        self.head = line_hash(line);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seq: u64, prev: &str) -> String {
        Record::new(
            seq,
            std::time::SystemTime::UNIX_EPOCH,
            "test",
            Default::default(),
            prev,
        )
        .to_line()
        .unwrap()
    }

    #[test]
    fn a_walk_takes_a_chain_and_stops_at_a_gap_a_changed_line_or_a_stranger() {
        let mut p = ChainPoint::genesis();
        let l0 = line(0, &p.head.clone());
        p.step(0, &l0).unwrap();
        let l1 = line(1, &line_hash(&l0));
        let mut q = p.clone();
        q.step(1, &l1).unwrap();
        assert_eq!(q.head, line_hash(&l1));
        assert!(p.clone().step(2, &line(2, &line_hash(&l1))).is_err(), "gap");
        assert!(
            p.clone().step(1, &line(1, &"0".repeat(64))).is_err(),
            "prev"
        );
        assert!(p.clone().step(1, &line(5, &line_hash(&l0))).is_err(), "seq");
        assert!(p.clone().step(1, "{}").is_err(), "not a record");
    }
}
