//! X.509 for Kokuin: certificate profiles (TSU, e-seal, CA, TLS), issuing, PEM I/O and path
//! validation at a given time.
#![forbid(unsafe_code)]

pub mod crl;
pub mod csr;
#[cfg(feature = "dev")]
pub mod dev;
pub mod eseal;
pub mod file;
pub mod oid;
pub mod path;
pub mod pem;
pub mod profile;
pub mod tbs;

pub use path::{PathError, Purpose, validate_path};
pub use profile::{CertKind, CertRequest, ProfileError, issue};
pub use x509_cert::Certificate;
pub use x509_cert::name::Name;
