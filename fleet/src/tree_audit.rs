//! The auditor's recomputation of a fleet's database (`kokuin audit verify postgres://…`),
//! beside the per-node chains the export checks: which rows a verified head covers, the tree
//! recomputed from the leaves' record lines, every stored tree row and every checkpoint row
//! checked against it. Nothing the database holds is taken on its word; each row that is not
//! what the nodes signed is named.
//!
//! The tree is recomputed in memory (32 octets a node, about 64 MB per million leaves): an
//! audit reads everything once.

use crate::SyncDb;
use crate::error::FleetError;
use crate::heads::{HEAD_COLUMNS, HeadTrust, head_row};
use kokuin_audit::memory_tree::MemoryTree;
use kokuin_audit::merkle::{NodeSource, leaf_hash, root};
use kokuin_audit::note::TreeCheckpoint;
use kokuin_audit::record::line_hash;
use std::collections::HashMap;

/// Findings named one by one at most; the rest are counted.
const NAMED: usize = 20;
/// Head rows read newest first per node while looking for one that verifies.
const HEAD_CANDIDATES: i64 = 256;
/// Rows read per page.
const PAGE: i64 = 50_000;

/// What kind of thing was found, and whether it breaks the evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Records no verified head covers (forged, or the unsigned tail of a node that stopped).
    Unsigned,
    /// A head row that does not verify.
    Head,
    /// A checkpoint row the audit key did not sign.
    UnsignedCheckpoint,
    /// The record at a node's newest head is not the line the head signed.
    ChangedRecord,
    /// A leaf that is not a record a verified head covers, or whose record is gone.
    Leaf,
    /// A stored tree row that is not the recomputed one.
    TreeRow,
    /// A signed checkpoint whose root is not the recomputed tree's at its size.
    Checkpoint,
    /// A signed checkpoint larger than the stored tree: rows deleted back.
    RolledBack,
}

impl Kind {
    /// Its name in `--json`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unsigned => "unsigned records",
            Self::Head => "unverified head",
            Self::UnsignedCheckpoint => "unsigned checkpoint",
            Self::ChangedRecord => "changed record",
            Self::Leaf => "leaf",
            Self::TreeRow => "changed tree row",
            Self::Checkpoint => "checkpoint mismatch",
            Self::RolledBack => "rolled back",
        }
    }

    /// Whether it breaks what the fleet signed (else it is a row the nodes never took in).
    pub fn damages(self) -> bool {
        !matches!(self, Self::Unsigned | Self::Head | Self::UnsignedCheckpoint)
    }
}

/// One thing found.
#[derive(Clone, Debug)]
pub struct Finding {
    /// Its kind.
    pub kind: Kind,
    /// Which rows, in a sentence.
    pub detail: String,
}

/// What the recomputation found.
#[derive(Default, Debug)]
pub struct TreeAudit {
    /// Leaves in the stored tree.
    pub leaves: u64,
    /// Checkpoint rows the audit key signed, all matching the recomputed tree unless found.
    pub checkpoints: u64,
    /// Everything found, at most [`NAMED`] of a kind (the rest counted in one more).
    pub findings: Vec<Finding>,
}

impl TreeAudit {
    fn found(&mut self, kind: Kind, detail: String) {
        let same = self.findings.iter().filter(|f| f.kind == kind).count();
        if same < NAMED {
            self.findings.push(Finding { kind, detail });
        } else if same == NAMED {
            self.findings.push(Finding {
                kind,
                detail: "and more of this kind".into(),
            });
        }
    }
}

/// Recomputes and checks the fleet's tree and heads. `verified` returns the checkpoint of a
/// note whose signature by the audit key verifies and that is a fleet tree checkpoint.
pub fn audit(
    db: &mut SyncDb,
    audit_key: std::sync::Arc<dyn kokuin_audit::CheckpointVerifier + Send + Sync>,
    verified: &dyn Fn(&str) -> Option<TreeCheckpoint>,
) -> Result<TreeAudit, FleetError> {
    let mut out = TreeAudit::default();
    let notes: Vec<(i64, String)> = db.call(|c| async move {
        c.query(
            "SELECT size, note FROM kokuin_tree_checkpoints ORDER BY size",
            &[],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
    })?;
    let signed: Vec<(u64, TreeCheckpoint)> = notes
        .iter()
        .filter_map(|(size, note)| match verified(note) {
            Some(cp) if i64::try_from(cp.size).ok() == Some(*size) => Some((cp.size, cp)),
            _ => {
                out.found(
                    Kind::UnsignedCheckpoint,
                    format!("the checkpoint row of size {size} is not signed by the audit key"),
                );
                None
            }
        })
        .collect();
    // The fleet's origin is the one its signed checkpoints name; without one, the nodes'
    // certificates name it (and are checked against the audit key all the same).
    let origin = match signed.last() {
        Some((_, cp)) => Some(cp.origin.clone()),
        None => db.call(|c| async move {
            let row = c
                .query_opt("SELECT cert FROM kokuin_node_heads LIMIT 1", &[])
                .await?;
            Ok(row
                .and_then(|r| r.try_get::<_, String>(0).ok())
                .and_then(|t| crate::node_key::NodeCert::parse(&t).ok())
                .map(|c| c.origin))
        })?,
    };
    let trust = HeadTrust::new(origin.unwrap_or_default(), audit_key);
    let signed_to = heads(db, &trust, &mut out)?;
    let tree = leaves(db, &signed_to, &mut out)?;
    out.leaves = tree.size();
    tree_rows(db, &tree, &mut out)?;
    state_row(db, &tree, &mut out)?;
    for (size, cp) in &signed {
        if *size > tree.size() {
            out.found(
                Kind::RolledBack,
                format!(
                    "the audit key signed a checkpoint of {size} leaves; the stored tree has \
                     only {}: rows were deleted back",
                    tree.size()
                ),
            );
        } else if root(&tree, *size).ok() != Some(cp.root) {
            out.found(
                Kind::Checkpoint,
                format!(
                    "the signed checkpoint of {size} leaves does not match the tree recomputed \
                     from the records"
                ),
            );
        } else {
            out.checkpoints += 1;
        }
    }
    Ok(out)
}

/// For each node, how far its newest verified head goes; names what is beyond it and head
/// rows above it that do not verify.
fn heads(
    db: &mut SyncDb,
    trust: &HeadTrust,
    out: &mut TreeAudit,
) -> Result<HashMap<i32, u64>, FleetError> {
    let tips = db.call(|c| async move { crate::intake::node_tips(&c, i64::MAX).await })?;
    let mut signed_to = HashMap::new();
    for (id, tip, _) in tips {
        let rows = db.call(|c| async move {
            c.query(
                &format!(
                    "SELECT {HEAD_COLUMNS} FROM kokuin_node_heads WHERE node_id = $1
                     ORDER BY seq DESC LIMIT $2"
                ),
                &[&id, &HEAD_CANDIDATES],
            )
            .await?
            .iter()
            .map(head_row)
            .collect::<Result<Vec<_>, _>>()
        })?;
        let mut newest = None;
        for row in rows {
            match trust.check(&row) {
                Ok(()) => {
                    newest = Some(row.head);
                    break;
                }
                Err(e) => out.found(
                    Kind::Head,
                    format!("node {id}: the head row for seq {}: {e}", row.head.seq),
                ),
            }
        }
        let Some(head) = newest else {
            out.found(
                Kind::Unsigned,
                format!(
                    "node {id}: records up to seq {tip}, and no head of it verifies under a \
                     key the audit key certified"
                ),
            );
            continue;
        };
        let seq = i64::try_from(head.seq).unwrap_or(i64::MAX);
        let line: Option<String> = db.call(|c| async move {
            Ok(c.query_opt(
                "SELECT line FROM kokuin_audit_records WHERE node_id = $1 AND seq = $2",
                &[&id, &seq],
            )
            .await?
            .map(|r| r.try_get(0))
            .transpose()?)
        })?;
        if line.as_deref().map(line_hash).as_deref() != Some(head.hash.as_str()) {
            out.found(
                Kind::ChangedRecord,
                format!(
                    "node {id}: the record at seq {}, which its newest head covers, is not the \
                     line that head signed (changed or removed)",
                    head.seq
                ),
            );
        }
        if tip > head.seq {
            out.found(
                Kind::Unsigned,
                format!(
                    "node {id}: records from seq {} to {tip} are beyond its newest verified head",
                    head.seq + 1
                ),
            );
        }
        signed_to.insert(id, head.seq);
    }
    Ok(signed_to)
}

/// The tree recomputed from the leaves' record lines, in leaf order; names each leaf that is
/// not a record a verified head covers.
fn leaves(
    db: &mut SyncDb,
    signed_to: &HashMap<i32, u64>,
    out: &mut TreeAudit,
) -> Result<MemoryTree, FleetError> {
    let mut tree = MemoryTree::default();
    loop {
        let from = i64::try_from(tree.size()).unwrap_or(i64::MAX);
        let page: Vec<(i64, i32, i64, Option<String>)> = db.call(|c| async move {
            c.query(
                "SELECT l.idx, l.node_id, l.seq, r.line FROM kokuin_tree_leaves l
                 LEFT JOIN kokuin_audit_records r USING (node_id, seq)
                 WHERE l.idx >= $1 ORDER BY l.idx LIMIT $2",
                &[&from, &PAGE],
            )
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect()
        })?;
        let n = page.len() as i64;
        for (idx, node, seq, line) in page {
            if u64::try_from(idx).ok() != Some(tree.size()) {
                out.found(
                    Kind::Leaf,
                    format!("leaf {} is missing (the next stored is {idx})", tree.size()),
                );
                return Ok(tree);
            }
            let covered = u64::try_from(seq)
                .ok()
                .is_some_and(|s| signed_to.get(&node).is_some_and(|h| s <= *h));
            match line {
                None => out.found(
                    Kind::Leaf,
                    format!("leaf {idx} (node {node}, seq {seq}): its record is gone"),
                ),
                Some(_) if !covered => out.found(
                    Kind::Leaf,
                    format!(
                        "leaf {idx} (node {node}, seq {seq}) is a record no verified head covers"
                    ),
                ),
                Some(_) => {}
            }
            tree.push(leaf_hash(line.unwrap_or_default().as_bytes()));
        }
        if n < PAGE {
            return Ok(tree);
        }
    }
}

/// Every stored subtree hash against the recomputed one.
fn tree_rows(db: &mut SyncDb, tree: &MemoryTree, out: &mut TreeAudit) -> Result<(), FleetError> {
    let mut after = (-1i16, -1i64);
    loop {
        let (l, i) = after;
        let page: Vec<(i16, i64, Vec<u8>)> = db.call(|c| async move {
            c.query(
                "SELECT level, idx, hash FROM kokuin_tree_nodes WHERE (level, idx) > ($1, $2)
                 ORDER BY level, idx LIMIT $3",
                &[&l, &i, &PAGE],
            )
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
        })?;
        let n = page.len() as i64;
        for (level, idx, hash) in page {
            after = (level, idx);
            let want = u32::try_from(level)
                .ok()
                .zip(u64::try_from(idx).ok())
                .and_then(|(l, i)| tree.node(l, i).ok());
            match want {
                Some(h) if h[..] == hash[..] => {}
                Some(_) => out.found(
                    Kind::TreeRow,
                    format!("the tree row at level {level}, index {idx} was changed"),
                ),
                None => out.found(
                    Kind::TreeRow,
                    format!(
                        "the tree row at level {level}, index {idx} is for leaves that are not \
                         in the tree"
                    ),
                ),
            }
        }
        if n < PAGE {
            return Ok(());
        }
    }
}

/// The tree-state row against the recomputed tree: where the next round starts. A row
/// missing or malformed is a finding; a database that cannot be read is an error.
fn state_row(db: &mut SyncDb, tree: &MemoryTree, out: &mut TreeAudit) -> Result<(), FleetError> {
    let state = match db.call(|c| async move { crate::tree_state::read(&c).await }) {
        Ok(s) => s,
        Err(FleetError::TreeDamaged(e)) => {
            out.found(Kind::TreeRow, format!("the tree-state row: {e}"));
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if state.size != tree.size() {
        out.found(
            Kind::TreeRow,
            format!(
                "the tree-state row says {} leaves; the tree recomputed from the records has {}",
                state.size,
                tree.size()
            ),
        );
    } else if state.root != tree.root() {
        out.found(
            Kind::TreeRow,
            "the tree-state row's root is not the root of the tree recomputed from the records"
                .into(),
        );
    }
    Ok(())
}
