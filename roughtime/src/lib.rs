//! A second, authenticated opinion on the clock: Roughtime (RFC 10049).
//!
//! The kernel's word on its synchronisation rests on unauthenticated NTP. Roughtime servers
//! sign their time (Ed25519, an online key delegated by a long-term one) over the client's
//! nonce, and a client that chains its nonces from server to server (RFC 10049 §8) can prove
//! that one of them lied. A Roughtime midpoint is whole seconds with a radius of at least a
//! second, so this bounds *gross* errors only; the ±1 s to UTC(NICT) is traced by GNSS
//! common view (`kokuin-timetrace`).
//!
//! - [`servers`]: the servers a node asks, or an auditor trusts (RFC 10049 §8.3 server lists).
//! - [`agreement`]: when a reply agrees with the local clock.
//! - [`evidence`]: what a round leaves in the audit log, and its offline re-check.
//! - `round` (feature `net`): one round over UDP, with retries and deadlines.
//!
//! Wire format, reply validation (delegation, signatures, Merkle path, version), nonce
//! chaining and malfeasance reports are the roughenough crates'; written here is only what
//! they do not do: a round that survives a silent or lying server (their sequence stops at the
//! first failure), and evidence an auditor can re-check years later.

#![forbid(unsafe_code)]

pub mod agreement;
pub mod evidence;
#[cfg(feature = "net")]
pub mod round;
pub mod servers;

pub use evidence::{EvidenceError, Failure, Reply, RoundRecord};
pub use servers::{ServerError, TrustedServer};
