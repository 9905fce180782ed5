//! Dual control over the keys (docs/ceremonies.md): no one person can generate, put in force,
//! retire or destroy a key, or change who approves.
//!
//! A change of the keyring is a **ceremony**: a plan (what will change, the keyring version it
//! applies to, an expiry, a random id, and the SHA-256 of the keyring it will leave: its keys,
//! their certificates, the officers and the quorum), approvals (each officer's signature over
//! the plan's hash, their name and the time), and a run that makes exactly that keyring. The
//! keyring carries every ceremony that made it, so each node checks a change before it follows
//! it ([`verify`]) and keeps, on its own disk, the newest keyring it verified ([`accept`]): a
//! keyring written by hand, in a file or in the database, is not followed.
//!
//! The officer set a chain of ceremonies starts from is pinned in each node's configuration
//! (`tsa.officers`, the hash [`officers_hash`] gives, printed by `kokuin ceremony init`).

pub mod accept;
pub mod plan;
mod state_hash;
pub mod verify;

pub use kokuin_ceremony::in_log::{self, event};
pub use kokuin_ceremony::plan::{
    Op, Plan, approval_message, officers_hash, parse_plan, sha256_hex,
};
pub use kokuin_ceremony::record::{self, Approval, CeremonyRecord, Officer};
pub use state_hash::state_hash;
