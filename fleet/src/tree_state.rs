//! The fleet tree's state row (`kokuin_tree_state`: size and root) and its right edge: where
//! a round starts, and a compare-and-swap it ends with, in the round's transaction (as
//! Tessera keeps its tree state). A round reads one row and the O(log n) edge nodes, whatever
//! the tree's size. The row is not trusted: its root must be the one the stored edge gives,
//! and what the round signs must still extend the node's verified checkpoint.

use crate::error::FleetError;
use kokuin_audit::compact_range::CompactRange;
use kokuin_audit::merkle::{Hash, NodeSource, ProofError};
use std::collections::HashMap;

/// Subtree hashes by (level, index): those a round reads and makes.
#[derive(Default)]
pub struct Nodes(pub HashMap<(u32, u64), Hash>);

impl NodeSource for Nodes {
    fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError> {
        self.0
            .get(&(level, index))
            .copied()
            .ok_or_else(|| ProofError::Storage(format!("no node {level}/{index}")))
    }
}

/// What the state row says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeState {
    /// Leaves in the tree.
    pub size: u64,
    /// Its RFC 9162 root.
    pub root: Hash,
}

fn to_i64(n: u64) -> Result<i64, FleetError> {
    i64::try_from(n).map_err(|_| FleetError::Db(format!("{n} out of range")))
}

fn damaged(why: String) -> FleetError {
    FleetError::TreeDamaged(why)
}

/// Reads the state row.
pub async fn read(c: &tokio_postgres::Client) -> Result<TreeState, FleetError> {
    let row = c
        .query_opt("SELECT size, root FROM kokuin_tree_state WHERE id = 1", &[])
        .await?
        .ok_or_else(|| damaged("the tree-state row is missing".into()))?;
    let (size, root): (i64, Vec<u8>) = (row.try_get(0)?, row.try_get(1)?);
    Ok(TreeState {
        size: u64::try_from(size).map_err(|_| damaged(format!("a tree of {size} leaves")))?,
        root: root
            .try_into()
            .map_err(|_| damaged("the tree-state root is not 32 octets".into()))?,
    })
}

/// The stored right edge of the tree of `size` leaves, and its nodes by (level, index).
pub async fn edge(
    c: &tokio_postgres::Client,
    size: u64,
) -> Result<(CompactRange, Nodes), FleetError> {
    let wanted = CompactRange::edge_nodes(size);
    let (lv, ix): (Vec<i16>, Vec<i64>) = wanted
        .iter()
        .map(|(l, i)| Ok((*l as i16, to_i64(*i)?)))
        .collect::<Result<Vec<_>, FleetError>>()?
        .into_iter()
        .unzip();
    let rows = c
        .query(
            "SELECT n.level, n.idx, n.hash FROM kokuin_tree_nodes n
             JOIN unnest($1::smallint[], $2::bigint[]) AS w(level, idx)
               ON n.level = w.level AND n.idx = w.idx",
            &[&lv, &ix],
        )
        .await?;
    let mut nodes = Nodes::default();
    for r in &rows {
        let (l, i, h): (i16, i64, Vec<u8>) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        let h: Hash = h
            .try_into()
            .map_err(|_| damaged(format!("tree node {l}/{i} is not 32 octets")))?;
        nodes.0.insert((l as u32, i as u64), h);
    }
    let range = CompactRange::from_source(size, &nodes)
        .map_err(|_| damaged("the tree's right edge is incomplete".into()))?;
    Ok((range, nodes))
}

/// The leaves the leaves table holds (its largest index + 1): a primary-key lookup.
async fn leaves(c: &tokio_postgres::Client) -> Result<i64, FleetError> {
    Ok(c.query_one(
        "SELECT coalesce(max(idx) + 1, 0) FROM kokuin_tree_leaves",
        &[],
    )
    .await?
    .try_get(0)?)
}

/// Where a round starts: the state row, checked against the stored edge (its root) and the
/// leaves table (its size), both O(log n) reads.
pub async fn start(c: &tokio_postgres::Client) -> Result<(CompactRange, Nodes), FleetError> {
    let state = read(c).await?;
    let leaves = leaves(c).await?;
    if Ok(leaves) != i64::try_from(state.size) {
        return Err(damaged(format!(
            "the tree-state row says {} leaves, the leaves table {leaves}",
            state.size
        )));
    }
    let (range, nodes) = edge(c, state.size).await?;
    if range.root() != state.root {
        return Err(damaged(format!(
            "the tree-state row's root is not the stored tree's at {} leaves",
            state.size
        )));
    }
    Ok((range, nodes))
}

/// Moves the state row from `from` leaves to `to` (compare-and-swap): fails, and the round's
/// transaction rolls back, unless the row still says `from`.
pub async fn advance(
    c: &tokio_postgres::Client,
    from: u64,
    to: &TreeState,
) -> Result<(), FleetError> {
    let n = c
        .execute(
            "UPDATE kokuin_tree_state SET size = $2, root = $3, updated = now()
             WHERE id = 1 AND size = $1",
            &[&to_i64(from)?, &to_i64(to.size)?, &to.root.to_vec()],
        )
        .await?;
    if n != 1 {
        return Err(FleetError::Db(format!(
            "the tree-state row moved from {from} leaves during the round"
        )));
    }
    Ok(())
}

/// Makes the state row when there is none (`kokuin fleet migrate` from schema 2, whose tree
/// had no row): from the stored leaves and edge, in the migration's transaction.
pub async fn init(c: &tokio_postgres::Client) -> Result<(), FleetError> {
    let have = c
        .query_opt("SELECT 1 FROM kokuin_tree_state WHERE id = 1", &[])
        .await?;
    if have.is_some() {
        return Ok(());
    }
    let leaves = leaves(c).await?;
    let size = u64::try_from(leaves).map_err(|_| damaged(format!("a tree of {leaves} leaves")))?;
    let (range, _) = edge(c, size).await?;
    c.execute(
        "INSERT INTO kokuin_tree_state (id, size, root) VALUES (1, $1, $2)",
        &[&leaves, &range.root().to_vec()],
    )
    .await?;
    Ok(())
}
