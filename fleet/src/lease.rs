//! Node ids: serials are node id ‖ epoch ‖ counter, so two running nodes with one id would
//! issue the same serials. A node claims its id at start with a lease of [`TTL`], renewed
//! each second by a batch of audit records or while idle; a node started with an id
//! whose lease has not lapsed refuses to start, naming the holder. Each claim increments the
//! id's epoch, so a node that restarts (on any machine, with no local state) never repeats a
//! serial it issued before.

use crate::error::FleetError;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::Client;

/// How long a lease holds without renewal: a node killed outright frees its id after this.
pub const TTL: Duration = Duration::from_secs(10);

/// A claimed node id.
#[derive(Clone, Debug)]
pub struct Lease {
    /// The id.
    pub node_id: u16,
    /// Who holds it: a random token, the host and the process, unique to this start.
    pub holder: String,
    /// The epoch this start issues serials in.
    pub epoch: u32,
}

fn interval() -> String {
    format!("{} seconds", TTL.as_secs())
}

/// A holder name unique to this process start: host, pid and 64 random bits.
pub fn holder_name() -> String {
    let mut r = [0u8; 8];
    let _ = getrandom::fill(&mut r);
    format!("{}:{}:{}", host(), std::process::id(), hex::encode(r))
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into())
}

/// Claims `node_id` for `holder`, unless another holds it unexpired.
pub async fn claim(client: Arc<Client>, node_id: u16, holder: String) -> Result<Lease, FleetError> {
    let id = i32::from(node_id);
    let row = client
        .query_opt(
            "INSERT INTO kokuin_nodes (node_id, holder, host, pid, epoch, claimed, expires)
             VALUES ($1, $2, $3, $4, 1, now(), now() + $5::text::interval)
             ON CONFLICT (node_id) DO UPDATE
               SET holder = EXCLUDED.holder, host = EXCLUDED.host, pid = EXCLUDED.pid,
                   epoch = kokuin_nodes.epoch + 1, claimed = now(), expires = EXCLUDED.expires
               WHERE kokuin_nodes.expires < now() OR kokuin_nodes.holder = EXCLUDED.holder
             RETURNING epoch",
            &[
                &id,
                &holder,
                &host(),
                &i32::try_from(std::process::id()).unwrap_or(i32::MAX),
                &interval(),
            ],
        )
        .await?;
    if let Some(row) = row {
        let epoch: i64 = row.try_get(0)?;
        let epoch = u32::try_from(epoch)
            .map_err(|_| FleetError::Db(format!("node id {node_id}: epoch {epoch} exhausted")))?;
        return Ok(Lease {
            node_id,
            holder,
            epoch,
        });
    }
    let row = client
        .query_one(
            "SELECT host || ' pid ' || pid, to_char(expires AT TIME ZONE 'UTC',
                    'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
             FROM kokuin_nodes WHERE node_id = $1",
            &[&id],
        )
        .await?;
    Err(FleetError::NodeIdInUse {
        node_id,
        holder: row.try_get(0)?,
        until: row.try_get(1)?,
    })
}

/// The database's clock as it executes a statement, in µs since the epoch
/// (`clock_agreement.rs`).
pub const DB_CLOCK_US: &str = "(extract(epoch from clock_timestamp()) * 1000000)::bigint";

/// Extends the lease; [`FleetError::LeaseLost`] when another node holds the id now. Returns
/// the database's clock at the renewal ([`DB_CLOCK_US`]).
pub async fn renew(client: Arc<Client>, lease: &Lease) -> Result<i64, FleetError> {
    let row = client
        .query_opt(
            &format!(
                "UPDATE kokuin_nodes SET expires = now() + $3::text::interval
                 WHERE node_id = $1 AND holder = $2 RETURNING {DB_CLOCK_US}"
            ),
            &[&i32::from(lease.node_id), &lease.holder, &interval()],
        )
        .await?;
    match row {
        Some(row) => Ok(row.try_get(0)?),
        None => Err(FleetError::LeaseLost(lease.node_id)),
    }
}

/// Gives the id back at a clean stop, so a restart need not wait for the lease to lapse. The
/// row stays: its epoch is what keeps the next start's serials new.
pub async fn release(client: Arc<Client>, lease: &Lease) -> Result<(), FleetError> {
    client
        .execute(
            "UPDATE kokuin_nodes SET expires = now() - interval '1 second'
             WHERE node_id = $1 AND holder = $2",
            &[&i32::from(lease.node_id), &lease.holder],
        )
        .await?;
    Ok(())
}
