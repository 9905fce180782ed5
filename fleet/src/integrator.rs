//! The fleet's Merkle tree (RFC 9162 §2.1) over every node's audit records, so that a proof
//! for any token of any node is O(log n) hashes against one signed checkpoint
//! (docs/fleet.md, "The fleet's tree").
//!
//! Every node runs an integrator; each round is one transaction that first takes a
//! transaction-scoped advisory lock, so exactly one node integrates at a time and a node that
//! dies mid-round leaves nothing half done. A round appends, **in ascending node id, each
//! node's committed records that are not yet leaves, in seq order** (at most [`ROUND`]),
//! stores each leaf's place (`kokuin_tree_leaves`), every complete subtree's hash
//! (`kokuin_tree_nodes`, so proofs read O(log n) rows), and a tree checkpoint signed by the
//! audit key with the `fleet` extension line (`kokuin_tree_checkpoints`). Rounds run every
//! [`INTERVAL`]: a record is in a signed checkpoint well within 2 s of its commit.

use crate::db::SyncDb;
use crate::error::FleetError;
use crate::heads::HeadTrust;
use crate::intake::{Intake, Reason, Refusal, Watch};
use crate::tree_state::{self, Nodes, TreeState};
use kokuin_audit::checkpoint::CheckpointSigner;
use kokuin_audit::merkle::{
    Hash, NodeSource, ProofError, consistency_proof, inclusion_proof, leaf_hash, verify_consistency,
};
use kokuin_audit::note::TreeCheckpoint;
use kokuin_audit::tlog_proof::TlogProof;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// The advisory lock's key: "kokuintr".
pub const LOCK_KEY: i64 = 0x6b6f_6b75_696e_7472;
/// Records appended per round at most, so a round stays well within the call deadline.
pub const ROUND: usize = 20_000;
/// How often each node tries a round.
pub const INTERVAL: Duration = Duration::from_millis(500);

/// The origin of a fleet's tree: the log's origin with `/fleet` appended. The same audit key
/// signs a node's file log (before it joined, or a dev node) and the fleet's tree; with one
/// origin for both, two different trees would look like a fork of one log to a witness.
pub fn fleet_origin(origin: &str) -> String {
    format!("{origin}/fleet")
}

/// A node's integrator: the audit key that signs the tree checkpoints, the origin line, and
/// the trust heads are checked against.
pub struct Integrator {
    db: SyncDb,
    signer: Arc<dyn CheckpointSigner>,
    origin: String,
    trust: HeadTrust,
    /// Whether the tables are known to exist.
    ready: bool,
    watch: Watch,
    /// Refusals already said, so each is said once.
    said: HashSet<(i32, Reason, u64)>,
}

/// What a round did: the new checkpoint note when the tree grew, and rows left out of the
/// tree not said before.
#[derive(Default)]
pub struct Round {
    /// The new checkpoint note, `None` when there was nothing to add or another node holds
    /// the lock.
    pub note: Option<String>,
    /// Rows left out, each said once.
    pub refused: Vec<Refusal>,
}

fn to_i64(n: u64) -> Result<i64, FleetError> {
    i64::try_from(n).map_err(|_| FleetError::Db(format!("{n} out of range")))
}

impl Integrator {
    /// An integrator on its own connection, taking in records up to heads that verify under
    /// `trust` (whose origin is the tree's).
    pub fn new(db: SyncDb, signer: Arc<dyn CheckpointSigner>, trust: HeadTrust) -> Self {
        Self {
            db,
            signer,
            origin: trust.origin().to_string(),
            trust,
            ready: false,
            watch: Watch::default(),
            said: HashSet::new(),
        }
    }

    /// One round (see [`Round`]). With `trusted` (the newest checkpoint this node verified),
    /// nothing is signed unless the new tree provably extends it: the stored tree is the
    /// database's, and the database is not trusted ([`FleetError::TreeMismatch`]).
    pub fn round(&mut self, trusted: Option<&TreeCheckpoint>) -> Result<Round, FleetError> {
        if !self.ready {
            self.db
                .call(|c| async move { crate::schema::check(&c).await })?;
            self.ready = true;
        }
        let signer = self.signer.clone();
        let origin = self.origin.clone();
        let trusted = trusted.map(|t| (t.size, t.root));
        let trust = self.trust.clone();
        let (note, intake) = self.db.call(|c| async move {
            c.batch_execute("BEGIN").await?;
            let r = round_in(&c, signer, origin, trusted, &trust).await;
            match &r {
                Ok((Some(_), _)) => c.batch_execute("COMMIT").await?,
                _ => c.batch_execute("ROLLBACK").await?,
            }
            r
        })?;
        let Some(intake) = intake else {
            return Ok(Round::default());
        };
        let mut refused = intake.refused;
        refused.extend(self.watch.look(&intake.tips));
        if self.said.len() > 4096 {
            self.said.clear();
        }
        refused.retain(|r| self.said.insert(r.key()));
        Ok(Round { note, refused })
    }
}

async fn round_in(
    c: &tokio_postgres::Client,
    signer: Arc<dyn CheckpointSigner>,
    origin: String,
    trusted: Option<(u64, Hash)>,
    trust: &HeadTrust,
) -> Result<(Option<String>, Option<Intake>), FleetError> {
    let locked: bool = c
        .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await?
        .try_get(0)?;
    if !locked {
        return Ok((None, None));
    }
    let (mut range, mut nodes) = tree_state::start(c).await.map_err(|e| match (e, trusted) {
        (FleetError::TreeDamaged(why), Some((trusted_size, _))) => {
            FleetError::TreeMismatch(trusted_size, why)
        }
        (e, _) => e,
    })?;
    let size = range.size();
    if let Some((trusted_size, _)) = trusted
        && size < trusted_size
    {
        return Err(FleetError::TreeMismatch(
            trusted_size,
            format!("the stored tree has only {size} leaves"),
        ));
    }
    let mut intake = crate::intake::take(c, trust, ROUND).await?;
    let rows = std::mem::take(&mut intake.leaves);
    if rows.is_empty() {
        return Ok((None, Some(intake)));
    }
    let (mut leaf_idx, mut leaf_node, mut leaf_seq) = (Vec::new(), Vec::new(), Vec::new());
    let (mut new_level, mut new_idx, mut new_hash) = (Vec::new(), Vec::new(), Vec::new());
    for (node_id, seq, line) in rows {
        leaf_idx.push(to_i64(range.size())?);
        leaf_node.push(node_id);
        leaf_seq.push(seq);
        range.append(leaf_hash(line.as_bytes()), &mut |level, index, h| {
            nodes.0.insert((level, index), *h);
            new_level.push(level as i16);
            new_idx.push(index);
            new_hash.push(h.to_vec());
        });
    }
    let count = range.size();
    let new_idx = new_idx
        .into_iter()
        .map(to_i64)
        .collect::<Result<Vec<_>, _>>()?;
    c.execute(
        "INSERT INTO kokuin_tree_leaves (idx, node_id, seq)
         SELECT * FROM unnest($1::bigint[], $2::integer[], $3::bigint[])",
        &[&leaf_idx, &leaf_node, &leaf_seq],
    )
    .await?;
    c.execute(
        "INSERT INTO kokuin_tree_nodes (level, idx, hash)
         SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])",
        &[&new_level, &new_idx, &new_hash],
    )
    .await?;
    let root = range.root();
    if let Some((trusted_size, trusted_root)) = trusted
        && trusted_size > 0
    {
        extends(c, &mut nodes, trusted_size, &trusted_root, count, &root).await?;
    }
    let cp = TreeCheckpoint {
        origin,
        size: count,
        root,
        chain_head: None,
        fleet: true,
        start: 0,
    };
    tree_state::advance(c, size, &TreeState { size: count, root }).await?;
    let note = kokuin_audit::note::sign(&cp, signer.as_ref())
        .map_err(|e| FleetError::Db(format!("signing the tree checkpoint: {e}")))?;
    c.execute(
        "INSERT INTO kokuin_tree_checkpoints (size, note) VALUES ($1, $2)",
        &[&to_i64(count)?, &note],
    )
    .await?;
    Ok((Some(note), Some(intake)))
}

/// Checks, before anything is signed, that the tree of `new` leaves with root `new_root`
/// extends the verified checkpoint (`old`, `old_root`): an RFC 9162 §2.1.4 consistency proof
/// from the stored and new nodes must verify. A changed stored node (on the old tree's path
/// or anywhere the new tree reads) makes it fail.
async fn extends(
    c: &tokio_postgres::Client,
    nodes: &mut Nodes,
    old: u64,
    old_root: &Hash,
    new: u64,
    new_root: &Hash,
) -> Result<(), FleetError> {
    // Which nodes the proof reads does not depend on their hashes: ask once with zeros to
    // learn them, fetch those the round does not hold, then make the proof for real.
    let wanted = Recorder::default();
    consistency_proof(&wanted, old, new).map_err(|e| FleetError::Db(e.to_string()))?;
    let missing: Vec<(u32, u64)> = wanted
        .0
        .into_inner()
        .into_iter()
        .filter(|k| !nodes.0.contains_key(k))
        .collect();
    let (lv, ix): (Vec<i16>, Vec<i64>) = missing
        .iter()
        .map(|(l, i)| Ok((*l as i16, to_i64(*i)?)))
        .collect::<Result<Vec<_>, FleetError>>()?
        .into_iter()
        .unzip();
    for r in c
        .query(
            "SELECT n.level, n.idx, n.hash FROM kokuin_tree_nodes n
             JOIN unnest($1::smallint[], $2::bigint[]) AS w(level, idx)
               ON n.level = w.level AND n.idx = w.idx",
            &[&lv, &ix],
        )
        .await?
    {
        let (l, i, h): (i16, i64, Vec<u8>) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        if let Ok(h) = Hash::try_from(h) {
            nodes.0.insert((l as u32, i as u64), h);
        }
    }
    let mismatch = |why: String| FleetError::TreeMismatch(old, why);
    let proof = consistency_proof(nodes, old, new).map_err(|e| mismatch(e.to_string()))?;
    verify_consistency(old, new, &proof, old_root, new_root).map_err(|e| {
        mismatch(format!(
            "no consistency proof from it to {new} leaves verifies: {e}"
        ))
    })
}

/// A node source that notes which nodes are asked for and answers zeros.
#[derive(Default)]
struct Recorder(std::cell::RefCell<Vec<(u32, u64)>>);

impl NodeSource for Recorder {
    fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError> {
        self.0.borrow_mut().push((level, index));
        Ok([0; 32])
    }
}

/// Whether the stored tree at `new`'s size extends `old`, both checkpoints this node
/// verified (a note another node signed, read from the database).
pub fn consistent(db: &mut SyncDb, old: &TreeCheckpoint, new: &TreeCheckpoint) -> bool {
    if old.size == 0 || old.size == new.size {
        return old.size == 0 || old.root == new.root;
    }
    let src = DbNodes(std::cell::RefCell::new(db));
    consistency_proof(&src, old.size, new.size)
        .is_ok_and(|p| verify_consistency(old.size, new.size, &p, &old.root, &new.root).is_ok())
}

/// The newest checkpoint row that `accept` takes (for a node: its signature verifies under
/// the audit key and its origin is the fleet's), if any; rows it refuses are skipped and
/// logged. The database is not trusted to hold only what a node signed.
pub fn latest_checkpoint(
    db: &mut SyncDb,
    accept: &dyn Fn(&str) -> bool,
) -> Result<Option<String>, FleetError> {
    let notes = newest_rows(db)?;
    let skipped = notes.iter().take_while(|n| !accept(n)).count();
    if skipped > 0 {
        tracing::error!(
            skipped,
            "fleet tree: checkpoint rows that are not checkpoints this fleet signed; skipped"
        );
    }
    Ok(notes.into_iter().nth(skipped))
}

/// The newest checkpoint rows read before giving up on finding one that is accepted: each
/// row a forger inserts costs a signature check, so they are bounded.
const CHECKPOINT_CANDIDATES: i64 = 32;

/// Whether `note` is a fleet tree checkpoint whose root is what the stored tree has at its
/// size: for readers that hold no audit certificate (`audit checkpoint`, `audit prove` on the
/// database), so that a row inserted by hand is not taken for the newest checkpoint. Whoever
/// holds the certificate checks the signature too (`kokuin audit verify-proof`).
pub fn matches_stored_tree(db: &mut SyncDb, note: &str) -> bool {
    let text = note.rfind("\n\n").map_or(note, |i| &note[..=i]);
    let Ok(cp) = TreeCheckpoint::parse(text) else {
        return false;
    };
    if !cp.fleet || kokuin_audit::note::SignedNote::parse(note).is_err() {
        return false;
    }
    kokuin_audit::merkle::root(&DbNodes(std::cell::RefCell::new(db)), cp.size)
        .is_ok_and(|r| r == cp.root)
}

/// The newest checkpoint row that [`matches_stored_tree`].
pub fn latest_stored_checkpoint(db: &mut SyncDb) -> Result<Option<String>, FleetError> {
    let notes = newest_rows(db)?;
    Ok(notes.into_iter().find(|n| matches_stored_tree(db, n)))
}

/// The newest [`CHECKPOINT_CANDIDATES`] checkpoint rows, newest first, unchecked.
fn newest_rows(db: &mut SyncDb) -> Result<Vec<String>, FleetError> {
    db.call(|c| async move {
        let rows = c
            .query(
                "SELECT note FROM kokuin_tree_checkpoints ORDER BY size DESC LIMIT $1",
                &[&CHECKPOINT_CANDIDATES],
            )
            .await?;
        rows.iter()
            .map(|r| r.try_get(0).map_err(FleetError::from))
            .collect()
    })
}

/// Subtree hashes read from the database, one row each: a proof reads O(log n) of them.
struct DbNodes<'a>(std::cell::RefCell<&'a mut SyncDb>);

impl NodeSource for DbNodes<'_> {
    fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError> {
        let (l, i) = (level as i16, i64::try_from(index).unwrap_or(i64::MAX));
        let h: Vec<u8> = self
            .0
            .borrow_mut()
            .call(|c| async move {
                Ok(c.query_one(
                    "SELECT hash FROM kokuin_tree_nodes WHERE level = $1 AND idx = $2",
                    &[&l, &i],
                )
                .await?
                .try_get(0)?)
            })
            .map_err(|e| ProofError::Storage(e.to_string()))?;
        h.try_into()
            .map_err(|_| ProofError::Storage(format!("tree node {level}/{index} is not 32 octets")))
    }
}

/// The inclusion proof (C2SP tlog-proof) of the token with this serial, against the newest
/// fleet checkpoint; `Ok(None)` when its record is not a leaf yet.
pub fn prove(db: &mut SyncDb, serial: &str) -> Result<Option<TlogProof>, FleetError> {
    let found = crate::export::find_serial(db, serial)?;
    let Some((node_id, seq, line)) = found.into_iter().next() else {
        return Err(FleetError::Db(format!("no token with serial {serial}")));
    };
    let idx: Option<i64> = db.call(|c| async move {
        let row = c
            .query_opt(
                "SELECT idx FROM kokuin_tree_leaves WHERE node_id = $1 AND seq = $2",
                &[&node_id, &seq],
            )
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    })?;
    let Some(idx) = idx else { return Ok(None) };
    let index = u64::try_from(idx).map_err(|_| FleetError::Db("negative leaf index".into()))?;
    let note =
        latest_stored_checkpoint(db)?.ok_or_else(|| FleetError::Db("no tree checkpoint".into()))?;
    let text = note.rfind("\n\n").map_or(note.as_str(), |i| &note[..=i]);
    let cp = TreeCheckpoint::parse(text).map_err(|e| FleetError::Db(e.to_string()))?;
    let path = inclusion_proof(&DbNodes(std::cell::RefCell::new(db)), index, cp.size)
        .map_err(|e| FleetError::Db(e.to_string()))?;
    Ok(Some(TlogProof {
        record_line: line,
        index,
        path,
        checkpoint: note,
    }))
}
