//! CMS (RFC 5652) as Kokuin's time-stamp tokens and e-seals share it: the DER writer that
//! builds SignedData in one pass around content where it lies, the signer's signed
//! attributes and signature, SignedData verification with ESS signing-certificate-v2
//! (RFC 5035), and the identifiers they use. `kokuin-tsa` adds RFC 3161 on top, `kokuin-eseal`
//! CAdES.
#![forbid(unsafe_code)]

pub mod der_writer;
pub mod ess;
pub mod oid;
pub mod signed_data;
pub mod signer_parts;
