//! The events Kokuin records, and their fields. Types are dotted names; fields are flat
//! (strings, numbers, booleans) so that an auditor reads them without a schema.

use crate::record::Fields;
use serde_json::Value;

/// An event to append: its type and fields. The log adds seq, time and prev.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub kind: String,
    pub fields: Fields,
}

impl Event {
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
    pub const SEAL_ISSUED: &str = "seal.issued";
    pub const SEAL_REFUSED: &str = "seal.refused";
    pub const KEY_LIFECYCLE: &str = "key.lifecycle";
    /// The configuration the service runs with: its SHA-256.
    pub const CONFIG_LOADED: &str = "config.loaded";
    pub const SERVICE_START: &str = "service.start";
    pub const SERVICE_STOP: &str = "service.stop";
    pub const CLOCK_STATE: &str = "clock.state";
    pub const AUTH_FAILURE: &str = "auth.failure";
    pub const CHECKPOINT: &str = "checkpoint";
    /// Refusals counted over an interval (the server's `refusals` module): event (one of
    /// request.refused, seal.refused, auth.failure, http.refused, tls.failed), client,
    /// reason, count, first, last, example.
    pub const REFUSALS: &str = "refusals";
    /// Writing works again after a failure (disk full, I/O error).
    pub const RESUMED: &str = "log.resumed";
    /// At start, by the operator's decision (`kokuin audit accept-loss`): the published
    /// checkpoint covered records the segments no longer hold. checkpoint_records, records,
    /// old_checkpoint (the file it was kept as), reason.
    pub const LOSS: &str = "log.loss";
    /// At start: a torn tail was cut back to the last whole record.
    pub const RECOVERY: &str = "log.recovery";
}
