//! The events Kokuin records, and their fields. Types are dotted names; fields are flat
//! (strings, numbers, booleans) so that an auditor reads them without a schema.

use crate::record::Fields;
use serde_json::Value;

/// An event to append: its type and fields. The log adds seq, time and prev.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The event type, one of [`kind`].
    pub kind: String,
    /// The event's fields, sorted by key.
    pub fields: Fields,
}

impl Event {
    /// An event of type `kind` with no fields yet.
    pub fn new(kind: &str) -> Self {
        Self {
            kind: kind.to_string(),
            fields: Fields::new(),
        }
    }

    /// Adds a field (builder style).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(key.to_string(), value.into());
        self
    }
}

/// Event types.
pub mod kind {
    /// A time-stamp token left the service: serial, gen_time, policy, hash, imprint, key, client.
    pub const TOKEN_ISSUED: &str = "token.issued";
    /// A token recorded as issued could not be signed after all and never left: serial,
    /// reason. (Records are written while the token is signed.)
    pub const TOKEN_FAILED: &str = "token.failed";
    /// A request was refused: failure, reason, client.
    pub const REQUEST_REFUSED: &str = "request.refused";
    /// An e-seal left the service: key, level, digest, client, seal hash.
    pub const SEAL_ISSUED: &str = "seal.issued";
    /// An e-seal call was refused: reason, client, key.
    pub const SEAL_REFUSED: &str = "seal.refused";
    /// A key changed: generated, activated, in force for a policy, retired, destroyed.
    pub const KEY_LIFECYCLE: &str = "key.lifecycle";
    /// The configuration the service runs with: its SHA-256.
    pub const CONFIG_LOADED: &str = "config.loaded";
    /// The service started: version, node id, keys in force, serial epoch.
    pub const SERVICE_START: &str = "service.start";
    /// The service stopped.
    pub const SERVICE_STOP: &str = "service.stop";
    /// The trusted clock changed state: from, to, reason.
    pub const CLOCK_STATE: &str = "clock.state";
    /// The trusted clock read at an interval (`clock.record_interval_s`): status,
    /// synchronised, max_error_us (null: the source states none), accuracy_us.
    pub const CLOCK_READING: &str = "clock.reading";
    /// An hour of the reference clock's offset to UTC(NICT) by GNSS common view
    /// (`kokuin-timetrace`): hour, tracks, mean/min/max (0.1 ns), alarm, and the CGGTTS files
    /// it came from with their SHA-256.
    pub const CLOCK_TRACEABILITY: &str = "clock.traceability";
    /// A Roughtime round (`kokuin_roughtime::RoundRecord`): action, min_agreeing,
    /// accuracy_us, agreeing, verdict (agree, refuse or alarm), every signed reply with the
    /// request it answers and its nonce's chaining value, every failed attempt, and a
    /// malfeasance report when two replies contradict each other.
    pub const CLOCK_ROUGHTIME: &str = "clock.roughtime";
    /// In a fleet, the database's clock against the node's, when they stop or start agreeing
    /// within the declared accuracy plus half the round trip (and every minute while they
    /// disagree): offset_us (database minus node), rtt_us, bound_us, agrees.
    pub const CLOCK_DATABASE: &str = "clock.database";
    /// In a fleet, the stored tree does not extend the newest checkpoint this node verified
    /// (a changed tree node, rows deleted back to an older checkpoint): verified_size, reason.
    /// The node signs and serves no tree checkpoint past it.
    pub const TREE_MISMATCH: &str = "tree.mismatch";
    /// A keyring change under dual control that a node verified and followed: id,
    /// plan_sha256, from_version, operations, approved_by, plan (the plan file, verbatim),
    /// approvals (JSON), so that each approval can be verified again from the log.
    pub const CEREMONY: &str = "key.ceremony";
    /// A keyring the server was to follow could not be taken (unreadable, or in the database
    /// naming a resource it may not: a module, a token, a PIN source, a file): reason. The
    /// keys in force stay; said once per stored version.
    pub const KEYRING_REFUSED: &str = "keyring.refused";
    /// In a fleet, at each start: the node's key certificate by the audit key (certificate),
    /// under which its signed heads verify.
    pub const NODE_KEY: &str = "node.key";
    /// In a fleet, rows the integrator left out of the tree because no verified head vouches
    /// for them: node_id, from_seq, to_seq, reason (`unsigned`: records beyond the node's
    /// newest verified head for 5 s; `chain`: records that do not continue the node's chain
    /// to its head; `head`: a head row whose certificate or signature does not verify).
    pub const FLEET_REFUSED: &str = "fleet.refused";
    /// An e-seal caller could not be authenticated: reason, client.
    pub const AUTH_FAILURE: &str = "auth.failure";
    /// A signed checkpoint: count, head, algorithm, key, signature.
    pub const CHECKPOINT: &str = "checkpoint";
    /// Refusals counted over an interval (the server's `refusals` module): event (one of
    /// request.refused, seal.refused, auth.failure, http.refused, tls.failed), client,
    /// reason, count, first, last, example.
    pub const REFUSALS: &str = "refusals";
    /// Writing works again after a failure (disk full, I/O error, the database unreachable):
    /// since (the first failure), failed_batches (failed writes and checks; their records
    /// were refused, none kept), error (the first).
    pub const RESUMED: &str = "log.resumed";
    /// At start, by the operator's decision (`kokuin audit accept-loss`): the published
    /// checkpoint covered records the segments no longer hold. checkpoint_records, records,
    /// old_checkpoint (the file it was kept as), reason.
    pub const LOSS: &str = "log.loss";
    /// At start: a torn tail was cut back to the last whole record.
    pub const RECOVERY: &str = "log.recovery";
}
