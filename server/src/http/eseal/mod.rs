//! The e-seal API (`docs/openapi.yaml`):
//!
//! - `POST /eseal/v1/seal?key=NAME&level=B-B|B-T|B-LT|B-LTA[&detached=true|false][&digest=HEX]`:
//!   a document (or, with `digest`, nothing: the caller hashed it) in, a DER CMS seal out.
//! - `POST /eseal/v1/extend?level=B-T|B-LT|B-LTA[&digest=HEX]`: a seal in, the same seal at
//!   the higher level out, every earlier byte kept; with `format=pades`, a sealed PDF in and
//!   out at B-LT or B-LTA (`pades_extend`).
//! - `GET /eseal/v1/crls`: the CRLs B-LT seals carry.
//!
//! Callers authenticate with a TLS client certificate or an API token; each may use only the
//! keys it is granted. No credentials → 401, a key not granted → 403, an unknown key → 404,
//! and every refusal is audited. A detached seal's document streams through the hash, so any
//! size seals in constant memory.

mod auth;
mod body;
mod check;
mod crls;
mod extend;
mod pades;
mod pades_extend;
mod pipeline;
mod raise;
mod refusal;
mod seal;

pub use crls::crls;
pub use extend::extend;
pub use seal::seal;
