//! The audit log on PostgreSQL: each node writes its own hash chain, exactly the chain a file
//! log holds (seq from 0, `prev` from the genesis), as rows `(node_id, seq, line)`. The writer
//! above is unchanged: it numbers, chains and batches; this stores.
//!
//! A batch is one statement, so one transaction and one round trip, committed with
//! `synchronous_commit` on before any record in it is acknowledged (group commit: the
//! database costs a round trip per batch, not per token). The same statement checks the
//! node's lease (renewing it at most once a second), and inserts nothing if the lease is no
//! longer this node's. When a commit's
//! outcome is unknown (a timeout, a connection lost mid-commit), the rows may or may not be
//! there; the writer treats the batch as failed and continues from the last durable record,
//! so before the next batch the uncertain rows are deleted: as with files, nothing of a
//! failed batch remains. Tokens whose records failed were refused (systemFailure). Rows the
//! fleet's tree already took in are never deleted: the node stops writing instead, and its
//! restart continues the chain after them (their tokens were refused; the records stay).

use crate::db::SyncDb;
use crate::error::FleetError;
use crate::lease::{self, Lease};
use kokuin_audit::config::OpenReport;
use kokuin_audit::error::AuditError;
use kokuin_audit::record::{GENESIS, line_hash};
use kokuin_audit::storage::{LogStorage, Recovered};

/// The accuracy the database's clock is judged against unless the service declares its own
/// ([`PgStorage::with_clock_accuracy`]): the Japanese regime's ±1 s.
const DEFAULT_ACCURACY: std::time::Duration = std::time::Duration::from_secs(1);

/// How often a batch renews the lease (it lasts [`lease::TTL`]).
const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// A batch, inserted only while the lease is this node's, renewing it: the rows inserted and
/// the database's clock at the renewal (`lease::DB_CLOCK_US`).
const INSERT_RENEWING: &str = "WITH lease AS (
        UPDATE kokuin_nodes SET expires = now() + $6::text::interval
        WHERE node_id = $1 AND holder = $2
        RETURNING node_id, (extract(epoch from clock_timestamp()) * 1000000)::bigint AS db_us),
     ins AS (
        INSERT INTO kokuin_audit_records (node_id, seq, line, serial)
        SELECT lease.node_id, r.seq, r.line, r.serial
        FROM lease, unnest($3::bigint[], $4::text[], $5::text[]) AS r(seq, line, serial)
        RETURNING 1)
     SELECT (SELECT count(*) FROM ins), (SELECT db_us FROM lease)";

/// A batch, inserted only while the lease is this node's and unexpired.
const INSERT_CHECKING: &str = "WITH lease AS (
        SELECT node_id FROM kokuin_nodes
        WHERE node_id = $1 AND holder = $2 AND expires > now())
     INSERT INTO kokuin_audit_records (node_id, seq, line, serial)
     SELECT lease.node_id, r.seq, r.line, r.serial
     FROM lease, unnest($3::bigint[], $4::text[], $5::text[]) AS r(seq, line, serial)";

/// The audit log's storage for one node.
pub struct PgStorage {
    db: SyncDb,
    lease: Lease,
    /// When a batch or check last renewed the lease.
    last_renewal: std::time::Instant,
    /// A batch from this seq on may have committed though its commit failed.
    uncertain_from: Option<u64>,
    /// Set once the lease is lost: this node never writes again.
    lost: bool,
    /// The database's clock against this node's, read at each renewal.
    clock: crate::clock_agreement::ClockAgreement,
}

/// Once the lease is lost or the tree holds records this node reported failed: for good.
fn lost() -> AuditError {
    AuditError::Damaged("this node can no longer continue its chain; restart it".into())
}

fn audit_err(e: FleetError) -> AuditError {
    AuditError::Io(e.to_string())
}

impl PgStorage {
    /// Creates the tables if missing, claims `node_id` (refusing if another node holds it),
    /// and finds where this node's chain continues.
    pub fn open(mut db: SyncDb, node_id: u16) -> Result<(Self, Recovered), FleetError> {
        let holder = lease::holder_name();
        db.call(|c| async move { crate::schema::check(&c).await })?;
        let lease = db.call(|c| lease::claim(c, node_id, holder))?;
        let id = i32::from(node_id);
        let last = db.call(|c| async move {
            let row = c
                .query_opt(
                    "SELECT seq, line FROM kokuin_audit_records WHERE node_id = $1
                     ORDER BY seq DESC LIMIT 1",
                    &[&id],
                )
                .await?;
            Ok(match row {
                Some(r) => Some((r.try_get::<_, i64>(0)?, r.try_get::<_, String>(1)?)),
                None => None,
            })
        })?;
        let (next_seq, head) = match last {
            Some((seq, line)) => (
                u64::try_from(seq).map_err(|_| FleetError::Db(format!("seq {seq}")))? + 1,
                line_hash(&line),
            ),
            None => (0, GENESIS.to_string()),
        };
        Ok((
            Self {
                db,
                lease,
                last_renewal: std::time::Instant::now(),
                uncertain_from: None,
                lost: false,
                clock: crate::clock_agreement::ClockAgreement::new(DEFAULT_ACCURACY),
            },
            Recovered {
                next_seq,
                head,
                report: OpenReport {
                    records: next_seq,
                    ..Default::default()
                },
                tree_start: 0,
                accepted_loss: None,
            },
        ))
    }

    /// After a batch whose commit was reported failed: if its rows are there after all (the
    /// commit happened), they are records now — nothing is ever deleted — and this node, whose
    /// chain in memory stops before them, writes no more until restarted; a restart continues
    /// the chain after them. The records say what was about to be issued; the tokens were
    /// refused.
    fn clean_up(&mut self, from: u64) -> Result<(), FleetError> {
        let id = i32::from(self.lease.node_id);
        let node_id = self.lease.node_id;
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        self.db.call(|c| async move {
            let left: i64 = c
                .query_one(
                    "SELECT count(*) FROM kokuin_audit_records WHERE node_id = $1 AND seq >= $2",
                    &[&id, &from],
                )
                .await?
                .try_get(0)?;
            if left > 0 {
                return Err(FleetError::Integrated(node_id, from));
            }
            Ok(())
        })
    }

    /// The lease this node holds: its epoch is the serial epoch.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// Judges the database's clock against the service's declared `accuracy`.
    pub fn with_clock_accuracy(mut self, accuracy: std::time::Duration) -> Self {
        self.clock = crate::clock_agreement::ClockAgreement::new(accuracy);
        self
    }

    /// The last offset of the database's clock from this node's, in µs (for `/metrics`).
    pub fn clock_offset(&self) -> std::sync::Arc<std::sync::atomic::AtomicI64> {
        self.clock.offset()
    }

    fn fail(&mut self, e: FleetError) -> AuditError {
        if matches!(e, FleetError::LeaseLost(_) | FleetError::Integrated(..)) {
            self.lost = true;
        }
        audit_err(e)
    }
}

/// The serial of a token.issued line, for lookups by serial across the fleet.
fn serial_of(line: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v.get("type")?.as_str()? != kokuin_audit::kind::TOKEN_ISSUED {
        return None;
    }
    Some(v.get("fields")?.get("serial")?.as_str()?.to_string())
}

impl LogStorage for PgStorage {
    fn append(&mut self, first_seq: u64, lines: &str) -> Result<(), AuditError> {
        if self.lost {
            return Err(lost());
        }
        let text: Vec<String> = lines.lines().map(str::to_string).collect();
        let serials: Vec<Option<String>> = text.iter().map(|l| serial_of(l)).collect();
        let first = i64::try_from(first_seq)
            .map_err(|_| AuditError::Io(format!("seq {first_seq} out of range")))?;
        let seqs: Vec<i64> = (0..text.len() as i64).map(|i| first + i).collect();
        let n = text.len() as u64;
        let id = i32::from(self.lease.node_id);
        let (holder, uncertain) = (self.lease.holder.clone(), self.uncertain_from);
        let node_id = self.lease.node_id;
        if let Some(from) = uncertain {
            self.clean_up(from).map_err(|e| self.fail(e))?;
        }
        // The lease is renewed at most once a second; in between, a batch only checks that it
        // is still this node's, a read that leaves no dead row behind.
        let renew = self.last_renewal.elapsed() >= RENEW_EVERY;
        let sql = if renew {
            INSERT_RENEWING
        } else {
            INSERT_CHECKING
        };
        let ttl = format!("{} seconds", lease::TTL.as_secs());
        let sent = std::time::SystemTime::now();
        let r = self.db.call_prepared(sql, |c, st| async move {
            let (inserted, db_us) = if renew {
                let row = c
                    .query_one(&st, &[&id, &holder, &seqs, &text, &serials, &ttl])
                    .await?;
                let n: i64 = row.try_get(0)?;
                (
                    u64::try_from(n).unwrap_or(0),
                    row.try_get::<_, Option<i64>>(1)?,
                )
            } else {
                let n = c
                    .execute(&st, &[&id, &holder, &seqs, &text, &serials])
                    .await?;
                (n, None)
            };
            if inserted == n {
                Ok(db_us)
            } else {
                Err(FleetError::LeaseLost(node_id))
            }
        });
        if let Ok(db_us) = &r
            && renew
        {
            self.last_renewal = std::time::Instant::now();
            if let Some(db_us) = db_us {
                self.clock
                    .observe(sent, std::time::SystemTime::now(), *db_us);
            }
        }
        match r.map(|_| ()) {
            Ok(()) => {
                self.uncertain_from = None;
                Ok(())
            }
            Err(e) => {
                self.uncertain_from =
                    Some(self.uncertain_from.map_or(first_seq, |u| u.min(first_seq)));
                Err(self.fail(e))
            }
        }
    }

    /// Renews the lease (every second while the log is idle): fails while the database is
    /// unreachable, and for good once another node holds the id.
    fn check(&mut self) -> Result<(), AuditError> {
        if self.lost {
            return Err(lost());
        }
        let lease = self.lease.clone();
        let sent = std::time::SystemTime::now();
        let r = self
            .db
            .call(|c| async move { lease::renew(c, &lease).await });
        if let Ok(db_us) = r {
            self.last_renewal = std::time::Instant::now();
            self.clock
                .observe(sent, std::time::SystemTime::now(), db_us);
        }
        r.map(|_| ()).map_err(|e| self.fail(e))
    }

    fn take_events(&mut self) -> Vec<kokuin_audit::Event> {
        self.clock.take_events()
    }

    fn publish_checkpoint(&mut self, line: String) -> Result<(), AuditError> {
        let id = i32::from(self.lease.node_id);
        self.db
            .call(|c| async move {
                c.execute(
                    "INSERT INTO kokuin_audit_checkpoints (node_id, line) VALUES ($1, $2)
                     ON CONFLICT (node_id) DO UPDATE SET line = EXCLUDED.line, updated = now()",
                    &[&id, &line],
                )
                .await?;
                Ok(())
            })
            .map_err(audit_err)
    }

    fn close(&mut self) -> Result<(), AuditError> {
        let lease = self.lease.clone();
        self.db
            .call(|c| async move { lease::release(c, &lease).await })
            .map_err(audit_err)
    }
}
