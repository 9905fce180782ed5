//! PAdES (ETSI EN 319 142-1) as far as the PDF goes: a document prepared for one more
//! signature as an incremental update (ISO 32000-1 §7.5.6: every byte of the input stays the
//! prefix of the output), the byte ranges the signature covers (§12.8.1: the whole file but
//! the `/Contents` hex string), and the CMS embedded there. The CMS itself — CAdES without
//! signing-time, the signature time-stamp — is `kokuin-eseal`'s.
//!
//! - [`prepare`]: checks the document may take a signature (not encrypted, no DocMDP lock
//!   that forbids one), adds the signature dictionary, its widget — invisible on the first
//!   page, or a visible stamp ([`Appearance`], set in a subset of a [`StampFont`]) — and the
//!   AcroForm field, and reserves room for the CMS.
//! - [`Prepared`]: the byte ranges' digest, and [`Prepared::embed`] to finish.
//! - [`add_dss`]: the Document Security Store (EN 319 142-1, ISO 32000-2) with the
//!   certificates and CRLs that make a signature B-LT, as one more incremental update.
//! - [`signatures`]: what a verifier reads back — each signature's byte ranges checked
//!   against the file, its CMS or token, and what was added after it.
//! - [`after_signatures`]: whether what follows the last signature is validation data only.

#![forbid(unsafe_code)]

mod dss;
mod error;
mod locks;
mod prepare;
mod signatures;
mod stamp;
mod stamp_font;
mod stamp_image;
mod tail;

pub use dss::add_dss;
pub use error::PadesError;
pub use prepare::{Kind, Options, Prepared, prepare};
pub use signatures::{
    MAX_SIGNATURES, PdfSignature, SignatureKind, has_validation_data, signatures,
};
pub use stamp::{Appearance, DEFAULT_SIZE, seal_lines};
pub use stamp_font::StampFont;
pub use stamp_image::StampImage;
pub use tail::{Tail, after_signatures};
