//! What the integrator takes into the fleet's tree in a round: for each node, in ascending node
//! id, its records after the last leaf up to a head that verifies (`heads`), only if they
//! continue, link by link, the chain from the head at its last leaf. Everything else is left
//! out and said: a head row that does not verify, records that do not continue the chain, and
//! records beyond a node's newest verified head that stay there (a row no node signed for:
//! another node id, a seq far ahead, an extension after a node's last head, or the unsigned
//! tail of a node that stopped).

use crate::error::FleetError;
use crate::heads::{ChainPoint, HEAD_COLUMNS, HeadTrust, head_row};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Head rows above a node's last leaf read per round at most: each costs a check, and rows a
/// forger inserts must not make a round unbounded.
const HEAD_CANDIDATES: i64 = 64;
/// Nodes looked at per round at most (node ids are 16-bit; a forger's rows could name all).
const MAX_NODES: i64 = 1024;
/// How long a node's newest record may stay beyond its newest verified head before it is
/// reported: a node signs its head at least once a second while it writes.
pub const UNSIGNED_AFTER: Duration = Duration::from_secs(5);

/// Why rows were left out of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Records beyond the node's newest verified head for [`UNSIGNED_AFTER`].
    Unsigned,
    /// Records that do not continue the node's chain to its verified head.
    Chain,
    /// A head row whose certificate or signature does not verify.
    Head,
}

impl Reason {
    /// Its name in records, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unsigned => "unsigned",
            Self::Chain => "chain",
            Self::Head => "head",
        }
    }
}

/// Rows left out of the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The node id the rows name (as stored: it may be no valid node id).
    pub node_id: i32,
    /// The first and last seq left out.
    pub from_seq: u64,
    /// See `from_seq`.
    pub to_seq: u64,
    /// Why.
    pub reason: Reason,
    /// The technical detail.
    pub detail: String,
}

impl Refusal {
    /// What makes two refusals the same finding: for rows beyond the heads, the newest row
    /// (heads move on below it); otherwise the first row left out.
    pub fn key(&self) -> (i32, Reason, u64) {
        match self.reason {
            Reason::Unsigned => (self.node_id, self.reason, self.to_seq),
            _ => (self.node_id, self.reason, self.from_seq),
        }
    }
}

/// One node's records to append, in seq order: (node id, seq, line).
pub type Leaves = Vec<(i32, i64, String)>;

/// What a round found: the records to append and the rows left out.
#[derive(Default)]
pub struct Intake {
    /// Records to append as leaves, in order.
    pub leaves: Leaves,
    /// Rows left out (each round finds them again; the caller says each once).
    pub refused: Vec<Refusal>,
    /// For each node: how far its records and its verified heads go.
    pub tips: Vec<Tip>,
}

/// How far a node's records go, and how far its verified heads do.
#[derive(Clone, Copy, Debug)]
pub struct Tip {
    /// The node id, as stored.
    pub node_id: i32,
    /// Its newest record.
    pub tip: u64,
    /// The newest record a verified head (or the tree) covers, if known.
    pub signed_to: Option<u64>,
}

impl Tip {
    fn covered(&self) -> bool {
        self.signed_to.is_some_and(|s| s >= self.tip)
    }
}

/// Reads what a round takes in, at most `budget` records (more only when one head alone
/// covers more, so that a round always makes progress).
pub async fn take(
    c: &tokio_postgres::Client,
    trust: &HeadTrust,
    budget: usize,
) -> Result<Intake, FleetError> {
    let nodes = node_tips(c, MAX_NODES).await?;
    let mut intake = Intake::default();
    for (id, tip, last) in nodes {
        let signed_to = match u16::try_from(id) {
            // No node can sign for an id out of range: its rows are never taken in.
            Err(_) => None,
            Ok(_) if last.is_some_and(|l| l >= tip) => last,
            Ok(node_id) => {
                let room = budget.saturating_sub(intake.leaves.len());
                node(c, trust, node_id, last, tip, room, &mut intake).await?
            }
        };
        intake.tips.push(Tip {
            node_id: id,
            tip,
            signed_to,
        });
    }
    Ok(intake)
}

/// Every node id with records (at most `limit`): its newest record's seq and its last leaf's.
/// A loose index scan: one probe per node id, not a scan of every record.
pub async fn node_tips(
    c: &tokio_postgres::Client,
    limit: i64,
) -> Result<Vec<(i32, u64, Option<u64>)>, FleetError> {
    let rows = c
        .query(
            "WITH RECURSIVE n AS (
                SELECT min(node_id) AS id FROM kokuin_audit_records
                UNION ALL
                SELECT (SELECT min(node_id) FROM kokuin_audit_records WHERE node_id > n.id)
                FROM n WHERE n.id IS NOT NULL)
             SELECT id,
                    (SELECT max(seq) FROM kokuin_audit_records WHERE node_id = n.id),
                    (SELECT max(seq) FROM kokuin_tree_leaves WHERE node_id = n.id)
             FROM n WHERE id IS NOT NULL LIMIT $1",
            &[&limit],
        )
        .await?;
    let mut out = Vec::new();
    for r in &rows {
        let (id, tip, last): (i32, i64, Option<i64>) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        if let Ok(tip) = u64::try_from(tip) {
            out.push((id, tip, last.and_then(|l| u64::try_from(l).ok())));
        }
    }
    Ok(out)
}

/// Takes in one node's records after its last leaf `last` up to a verified head; says how far
/// its newest verified head goes (`None` when there are more candidates than were read).
async fn node(
    c: &tokio_postgres::Client,
    trust: &HeadTrust,
    node_id: u16,
    last: Option<u64>,
    tip: u64,
    room: usize,
    intake: &mut Intake,
) -> Result<Option<u64>, FleetError> {
    let id = i32::from(node_id);
    let from = last.map_or(0, |l| l as i64);
    let rows = c
        .query(
            &format!(
                "SELECT {HEAD_COLUMNS} FROM kokuin_node_heads
                 WHERE node_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3"
            ),
            &[&id, &from, &HEAD_CANDIDATES],
        )
        .await?;
    let full = rows.len() as i64 == HEAD_CANDIDATES;
    let mut heads = Vec::new();
    for r in &rows {
        let row = head_row(r)?;
        match trust.check(&row) {
            Ok(()) => heads.push(row.head),
            Err(e) => intake.refused.push(Refusal {
                node_id: id,
                from_seq: row.head.seq,
                to_seq: row.head.seq,
                reason: Reason::Head,
                detail: format!("a head row for seq {}: {e}", row.head.seq),
            }),
        }
    }
    let _ = tip;
    let signed_to = if full {
        None
    } else {
        heads.last().map(|h| h.seq).or(last)
    };
    let mut point = match last {
        None => ChainPoint::genesis(),
        Some(l) => match heads.iter().find(|h| h.seq == l) {
            Some(h) => ChainPoint::after(h),
            None => {
                intake.refused.push(Refusal {
                    node_id: id,
                    from_seq: l + 1,
                    to_seq: tip,
                    reason: Reason::Chain,
                    detail: format!("no verified head at seq {l}, the node's last leaf"),
                });
                return Ok(signed_to);
            }
        },
    };
    // The furthest verified head within the room left, or the nearest if none fits.
    let above: Vec<_> = heads.iter().filter(|h| h.seq >= point.next_seq).collect();
    let next = point.next_seq;
    let Some(target) = above
        .iter()
        .rev()
        .find(|h| h.seq - next < room as u64)
        .or(if room > 0 { above.first() } else { None })
        .map(|h| h.seq)
    else {
        return Ok(signed_to);
    };
    let records = c
        .query(
            "SELECT seq, line FROM kokuin_audit_records
             WHERE node_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq",
            &[&id, &(point.next_seq as i64), &(target as i64)],
        )
        .await?;
    let at: HashMap<u64, &str> = above.iter().map(|h| (h.seq, h.hash.as_str())).collect();
    // Taken up to the last verified head the walk reached with its hash.
    let (mut taken, mut good) = (Vec::new(), 0);
    let mut broken = false;
    for r in &records {
        let (seq, line): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
        let useq = u64::try_from(seq).map_err(|_| FleetError::Db(format!("seq {seq}")))?;
        if let Err(why) = point.step(useq, &line) {
            intake.refused.push(chain_refusal(id, useq, target, why));
            broken = true;
            break;
        }
        taken.push((id, seq, line));
        match at.get(&useq) {
            Some(h) if *h == point.head => good = taken.len(),
            Some(_) => {
                let why = format!("seq {useq}: its line is not the one the node's head signed");
                intake.refused.push(chain_refusal(id, useq, target, why));
                broken = true;
                break;
            }
            None => {}
        }
    }
    if !broken && point.next_seq <= target {
        let missing = point.next_seq;
        let why = format!("seq {missing} is missing below the head at seq {target}");
        intake.refused.push(chain_refusal(id, missing, target, why));
    }
    taken.truncate(good);
    intake.leaves.extend(taken);
    Ok(signed_to)
}

fn chain_refusal(node_id: i32, from: u64, to: u64, why: String) -> Refusal {
    Refusal {
        node_id,
        from_seq: from,
        to_seq: to,
        reason: Reason::Chain,
        detail: why,
    }
}

/// Remembers, per node, how long its newest record has stayed beyond its newest verified
/// head, to report it once it has for [`UNSIGNED_AFTER`].
#[derive(Default)]
pub struct Watch(HashMap<i32, (u64, Instant)>);

impl Watch {
    /// The refusals for records beyond verified heads for too long, from this round's tips.
    pub fn look(&mut self, tips: &[Tip]) -> Vec<Refusal> {
        let now = Instant::now();
        let mut out = Vec::new();
        self.0
            .retain(|n, _| tips.iter().any(|t| t.node_id == *n && !t.covered()));
        for t in tips.iter().filter(|t| !t.covered()) {
            let seen = self.0.entry(t.node_id).or_insert((t.tip, now));
            if seen.0 != t.tip {
                *seen = (t.tip, now);
            } else if now.duration_since(seen.1) >= UNSIGNED_AFTER {
                let from = t.signed_to.map_or(0, |s| s + 1);
                out.push(Refusal {
                    node_id: t.node_id,
                    from_seq: from,
                    to_seq: t.tip,
                    reason: Reason::Unsigned,
                    detail: format!(
                        "records of node id {} up to seq {} have had no verified head for {} s",
                        t.node_id,
                        t.tip,
                        UNSIGNED_AFTER.as_secs()
                    ),
                });
            }
        }
        out
    }
}
