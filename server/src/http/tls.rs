//! The rustls server configuration for HTTPS listeners (TLS 1.2 and 1.3, ALPN h2 and
//! http/1.1), on the aws-lc-rs provider.

use crate::error::HttpError;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use std::path::Path;
use std::sync::Arc;

/// `client_ca_subjects`: when the e-seal API is on, clients are asked for a certificate (named
/// CAs as hints) but not required to send one: `/tsa` stays open to all, and the e-seal API
/// decides who a certificate identifies (see [`OptionalClientCert`]).
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca_subjects: Option<Vec<DistinguishedName>>,
) -> Result<Arc<ServerConfig>, HttpError> {
    // The project's one certificate reader (PEM or DER), as for every other certificate file.
    let certs: Vec<CertificateDer<'static>> = kokuin_certs::pem::load_certificates(cert)
        .map_err(|e| HttpError::Tls(format!("TLS certificate: {e}")))?
        .iter()
        .map(|c| der::Encode::to_der(c).map(CertificateDer::from))
        .collect::<Result<_, _>>()
        .map_err(|e| HttpError::Tls(format!("TLS certificate {}: {e}", cert.display())))?;
    // The key's content never reaches an error message.
    let key = PrivateKeyDer::from_pem_file(key).map_err(|_| {
        HttpError::Tls(format!(
            "TLS key {}: not a readable PEM private key",
            key.display()
        ))
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| HttpError::Tls(format!("TLS: {e}")))?;
    let builder = match client_ca_subjects {
        Some(hints) => builder.with_client_cert_verifier(Arc::new(OptionalClientCert {
            hints,
            algorithms: provider.signature_verification_algorithms,
        })),
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder
        .with_single_cert(certs, key)
        .map_err(|e| HttpError::Tls(format!("TLS certificate and key: {e}")))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Accepts any client certificate whose key signed the handshake (proof of possession) and
/// leaves the rest to the e-seal API: it validates the chain against `eseal.client_cas` and
/// looks the certificate up among the granted clients, so that an unknown certificate gets
/// an audited 401 instead of a TLS alert nobody records.
#[derive(Debug)]
struct OptionalClientCert {
    hints: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for OptionalClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Whether the HTTPS certificate and key load and belong together (`kokuin config check`).
pub fn check(cert: &Path, key: &Path) -> Result<(), HttpError> {
    server_config(cert, key, None).map(|_| ())
}
