//! The HTTPS agent: aws-lc-rs, the given trust anchor or Mozilla's roots, and an optional
//! client certificate.

use crate::error::ClientError;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};

/// Longest wait for a TCP connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a connection may stay silent while a request or reply is under way.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for the reply's head once the request is sent (a seal of a large enveloped
/// document is made before the reply starts).
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(300);

/// How to set up TLS.
#[derive(Clone, Copy, Default)]
pub struct TlsOptions<'a> {
    /// Trust anchor(s) for the server (PEM or DER); `None`: Mozilla's roots.
    pub ca: Option<&'a Path>,
    /// A client certificate chain (PEM or DER) and its PEM private key.
    pub client: Option<(&'a Path, &'a Path)>,
}

/// An agent on the aws-lc-rs provider; HTTP error statuses are returned, not raised, so the
/// caller can show the server's reason.
pub fn agent(opts: TlsOptions<'_>) -> Result<ureq::Agent, ClientError> {
    let mut tls = TlsConfig::builder().unversioned_rustls_crypto_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ));
    if let Some(ca) = opts.ca {
        tls = tls.root_certs(RootCerts::new_with_certs(&certificates(ca)?));
    }
    if let Some((cert, key)) = opts.client {
        let chain = certificates(cert)?;
        // The key's content never reaches an error message.
        let key_pem = kokuin_certs::file::read_bounded(key, kokuin_certs::file::MAX_INPUT_BYTES)
            .map_err(|e| ClientError::Local(format!("cannot read {}: {e}", key.display())))?;
        let key = PrivateKey::from_pem(&key_pem)
            .map_err(|_| ClientError::Local(format!("{}: not a PEM private key", key.display())))?
            .to_owned();
        tls = tls.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
    }
    // Every connection has a deadline: a server that does not answer, or stops sending or
    // reading, is cut off; a large document keeps going as long as it moves.
    Ok(ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_per_read(Some(IDLE_TIMEOUT))
        .timeout_per_write(Some(IDLE_TIMEOUT))
        .timeout_recv_response(Some(RESPONSE_TIMEOUT))
        .build()
        .into())
}

/// The certificates of a PEM or DER file, read by the one certificate reader of the project.
fn certificates(path: &Path) -> Result<Vec<Certificate<'static>>, ClientError> {
    kokuin_certs::pem::load_certificates(path)
        .map_err(|e| ClientError::Local(e.to_string()))?
        .iter()
        .map(|c| {
            der::Encode::to_der(c)
                .map(|der| Certificate::from_der(&der).to_owned())
                .map_err(|e| ClientError::Local(format!("{}: {e}", path.display())))
        })
        .collect()
}
