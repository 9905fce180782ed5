//! The audit log on PostgreSQL: each node writes its own hash chain, exactly the chain a file
//! log holds (seq from 0, `prev` from the genesis), as rows `(node_id, seq, line)`. The writer
//! above is unchanged: it numbers, chains and batches; this stores.
//!
//! A batch is one statement, so one transaction and one round trip, committed with
//! `synchronous_commit` on before any record in it is acknowledged (group commit: the
//! database costs a round trip per batch, not per token). The same statement checks the
//! node's lease, and inserts nothing if the lease is no longer this node's. At most once a
//! second it also renews the lease and inserts the node's signed head (`heads`): how far the
//! chain goes, signed by the node's key. An idle node signs its head after its last batch.
//!
//! Records are insert-only. When a commit's outcome is unknown (a timeout, a connection lost
//! mid-commit), the rows may or may not be there; if they are, they are records (their tokens
//! were refused, the records say what was about to be issued) and this node, whose chain in
//! memory stops before them, writes no more until restarted. A restart continues the chain
//! from the node's newest verified head along the rows that continue it, link by link: a row
//! that does not (a forged one) is never continued from.

use crate::db::SyncDb;
use crate::error::FleetError;
use crate::heads::{ChainPoint, Head, HeadTrust};
use crate::lease::{self, Lease};
use crate::node_key::NodeKey;
use kokuin_audit::config::OpenReport;
use kokuin_audit::error::AuditError;
use kokuin_audit::record::line_hash;
use kokuin_audit::storage::{LogStorage, Recovered};

/// The accuracy the database's clock is judged against unless the service declares its own
/// ([`PgStorage::with_clock_accuracy`]): the Japanese regime's ±1 s.
const DEFAULT_ACCURACY: std::time::Duration = std::time::Duration::from_secs(1);

/// How often a batch renews the lease (it lasts [`lease::TTL`]).
const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// A batch with the node's signed head after it, inserted only while the lease is this
/// node's, renewing it: the rows inserted and the database's clock at the renewal
/// (`lease::DB_CLOCK_US`).
const INSERT_RENEWING: &str = "WITH lease AS (
        UPDATE kokuin_nodes SET expires = now() + $6::text::interval
        WHERE node_id = $1 AND holder = $2
        RETURNING node_id, (extract(epoch from clock_timestamp()) * 1000000)::bigint AS db_us),
     ins AS (
        INSERT INTO kokuin_audit_records (node_id, seq, line, serial)
        SELECT lease.node_id, r.seq, r.line, r.serial
        FROM lease, unnest($3::bigint[], $4::text[], $5::text[]) AS r(seq, line, serial)
        RETURNING 1),
     head AS (
        INSERT INTO kokuin_node_heads (node_id, seq, epoch, hash, cert, signature)
        SELECT lease.node_id, $7, $8, $9, $10, $11 FROM lease
        RETURNING 1)
     SELECT (SELECT count(*) FROM ins), (SELECT db_us FROM lease)";

/// The node's signed head alone (an idle node, after its last batch), only while the lease is
/// this node's.
const INSERT_HEAD: &str =
    "INSERT INTO kokuin_node_heads (node_id, seq, epoch, hash, cert, signature)
     SELECT node_id, $3, $4, $5, $6, $7 FROM kokuin_nodes
     WHERE node_id = $1 AND holder = $2 AND expires > now()";

/// A node's own newest head rows read at start to find the newest that verifies: rows a
/// forger inserts cost a check each, so they are bounded.
const OWN_HEAD_CANDIDATES: i64 = 32;

/// Rows read per page while walking the chain after the newest head at start.
const WALK_PAGE: i64 = 10_000;

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
    /// This node's key, which signs its heads, and the fleet's origin the heads name.
    key: NodeKey,
    origin: String,
    /// The last record written (seq and line hash), and the last one a head covers.
    written: Option<(u64, String)>,
    headed: Option<u64>,
    /// Records written so far (the next seq), for the tree's lag.
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// What a node signs its heads with and checks its own heads against at start.
pub struct Signing {
    /// The node's key, certified by the audit key.
    pub key: NodeKey,
    /// The fleet's origin and the audit key's certificate.
    pub trust: HeadTrust,
}

/// Once the lease is lost or the tree holds records this node reported failed: for good.
fn lost() -> AuditError {
    AuditError::Damaged("this node can no longer continue its chain; restart it".into())
}

fn audit_err(e: FleetError) -> AuditError {
    AuditError::Io(e.to_string())
}

impl PgStorage {
    /// Checks the schema, claims `node_id` (refusing if another node holds it), and finds
    /// where this node's chain continues: after its newest head that verifies, along the rows
    /// that continue the chain from it.
    pub fn open(
        mut db: SyncDb,
        node_id: u16,
        signing: Signing,
    ) -> Result<(Self, Recovered), FleetError> {
        let Signing { key, trust } = signing;
        let holder = lease::holder_name();
        db.call(|c| async move { crate::schema::check(&c).await })?;
        let lease = db.call(|c| lease::claim(c, node_id, holder))?;
        let candidates =
            db.call(
                |c| async move { crate::heads::newest(&c, node_id, OWN_HEAD_CANDIDATES).await },
            )?;
        let start = candidates
            .into_iter()
            .find(|r| trust.check(r).is_ok())
            .map(|r| r.head);
        let mut point = start
            .as_ref()
            .map_or_else(ChainPoint::genesis, ChainPoint::after);
        walk(&mut db, node_id, &mut point)?;
        let headed = start.map(|h| h.seq);
        let written = point
            .next_seq
            .checked_sub(1)
            .map(|s| (s, point.head.clone()));
        if let Some((last, _)) = &written
            && headed.is_none_or(|h| h < *last)
        {
            tracing::warn!(
                node_id,
                from = headed.map_or(0, |h| h + 1),
                to = last,
                "audit log: continuing after records this node wrote but signed no head for (it \
                 stopped within a second of writing them); its next head covers them"
            );
        }
        let origin = trust.origin().to_string();
        Ok((
            Self {
                db,
                lease,
                last_renewal: std::time::Instant::now(),
                uncertain_from: None,
                lost: false,
                clock: crate::clock_agreement::ClockAgreement::new(DEFAULT_ACCURACY),
                key,
                origin,
                written,
                headed,
                count: std::sync::Arc::new(point.next_seq.into()),
            },
            Recovered {
                next_seq: point.next_seq,
                head: point.head,
                report: OpenReport {
                    records: point.next_seq,
                    ..Default::default()
                },
                tree_start: 0,
                accepted_loss: None,
            },
        ))
    }

    /// The head over everything written, signed, when one is due.
    fn head_due(&self) -> Option<(Head, Vec<u8>)> {
        let (seq, hash) = self.written.clone()?;
        if self.headed.is_some_and(|h| h >= seq) {
            return None;
        }
        let head = Head {
            node_id: self.lease.node_id,
            epoch: self.lease.epoch,
            seq,
            hash,
        };
        let sig = head.signed_by(&self.key, &self.origin);
        Some((head, sig))
    }

    /// Writes the head over everything written (an idle node, after its last batch).
    fn sign_head(&mut self) -> Result<(), FleetError> {
        let Some((head, sig)) = self.head_due() else {
            return Ok(());
        };
        let (id, holder) = (i32::from(self.lease.node_id), self.lease.holder.clone());
        let cert = self.key.cert.text();
        let (seq, epoch) = (
            i64::try_from(head.seq).unwrap_or(i64::MAX),
            i64::from(head.epoch),
        );
        let hash = head.hash.clone();
        let n = self.db.call(|c| async move {
            Ok(c.execute(
                INSERT_HEAD,
                &[&id, &holder, &seq, &epoch, &hash, &cert, &sig],
            )
            .await?)
        })?;
        if n != 1 {
            return Err(FleetError::LeaseLost(self.lease.node_id));
        }
        self.headed = Some(head.seq);
        Ok(())
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

    /// How many records this node's chain holds (its next seq), kept current.
    pub fn written(&self) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
        self.count.clone()
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

/// Walks `point` along this node's rows that continue its chain. A row that does not
/// continue it at the very place the chain goes on (a row this node did not write, or one
/// changed) stops the node: it would collide with the node's next record. One further ahead
/// (a gap) is left for the integrator to report.
fn walk(db: &mut SyncDb, node_id: u16, point: &mut ChainPoint) -> Result<(), FleetError> {
    let id = i32::from(node_id);
    loop {
        let from = i64::try_from(point.next_seq).unwrap_or(i64::MAX);
        let rows: Vec<(i64, String)> = db.call(|c| async move {
            c.query(
                "SELECT seq, line FROM kokuin_audit_records WHERE node_id = $1 AND seq >= $2
                 ORDER BY seq LIMIT $3",
                &[&id, &from, &WALK_PAGE],
            )
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
        })?;
        let full = rows.len() as i64 == WALK_PAGE;
        for (seq, line) in rows {
            let seq = u64::try_from(seq).map_err(|_| FleetError::Db(format!("seq {seq}")))?;
            if let Err(why) = point.step(seq, &line) {
                if seq == point.next_seq {
                    return Err(FleetError::Db(format!(
                        "node id {node_id}: the row at seq {seq}, where this node's chain goes \
                         on, does not continue it ({why}); this node did not write it. Run \
                         `kokuin audit verify` on the database"
                    )));
                }
                return Ok(());
            }
        }
        if !full {
            return Ok(());
        }
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
        let last = text
            .last()
            .map(|l| (first_seq + n - 1, line_hash(l)))
            .ok_or_else(|| AuditError::Io("an empty batch".into()))?;
        // The lease is renewed, and the head signed, at most once a second; in between, a
        // batch only checks that the lease is still this node's, a read that leaves no dead
        // row behind.
        let renew = self.last_renewal.elapsed() >= RENEW_EVERY;
        let head = renew.then(|| {
            let head = Head {
                node_id,
                epoch: self.lease.epoch,
                seq: last.0,
                hash: last.1.clone(),
            };
            let sig = head.signed_by(&self.key, &self.origin);
            (head, sig)
        });
        let cert = self.key.cert.text();
        let sql = if renew {
            INSERT_RENEWING
        } else {
            INSERT_CHECKING
        };
        let ttl = format!("{} seconds", lease::TTL.as_secs());
        let sent = std::time::SystemTime::now();
        let signed = head.clone();
        let r = self.db.call_prepared(sql, |c, st| async move {
            let (inserted, db_us) = if let Some((head, sig)) = signed {
                let (seq, epoch) = (
                    i64::try_from(head.seq).unwrap_or(i64::MAX),
                    i64::from(head.epoch),
                );
                let row = c
                    .query_one(
                        &st,
                        &[
                            &id, &holder, &seqs, &text, &serials, &ttl, &seq, &epoch, &head.hash,
                            &cert, &sig,
                        ],
                    )
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
                self.count
                    .store(last.0 + 1, std::sync::atomic::Ordering::Relaxed);
                self.written = Some(last);
                if let Some((h, _)) = head {
                    self.headed = Some(h.seq);
                }
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
        r.map(|_| ()).map_err(|e| self.fail(e))?;
        self.sign_head().map_err(|e| self.fail(e))
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
        // A clean stop leaves no record without a head.
        if !self.lost {
            self.sign_head().map_err(audit_err)?;
        }
        let lease = self.lease.clone();
        self.db
            .call(|c| async move { lease::release(c, &lease).await })
            .map_err(audit_err)
    }
}
