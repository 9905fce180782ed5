//! Who calls the e-seal API and what it may use: a TLS client certificate or an API token,
//! never over cleartext; a per-address rate; grants per key.

use super::refusal::Refusal;
use crate::eseal_service::{Client, LoadedSealKey, SealService};
use crate::http::state::{Conn, State};
use hyper::body::Incoming;
use hyper::header::AUTHORIZATION;
use hyper::{Request, StatusCode};
use kokuin_hsm::DigestAlgorithm;
use std::time::SystemTime;

/// `server.seal_rate_limit_per_second` per client address, failed credentials included (a
/// guessing client is slowed like any other): 429 past it.
pub fn within_rate(state: &State, conn: &Conn) -> Result<(), Refusal> {
    match &state.seal_limiter {
        Some(l) if l.check_key(&conn.peer.ip()).is_err() => {
            state.metrics.rate_limited.inc();
            Err(Refusal::new(
                StatusCode::TOO_MANY_REQUESTS,
                "e-seal call rate over this client's limit",
            ))
        }
        _ => Ok(()),
    }
}

/// The caller, from its certificate or token, or a 401; never over cleartext (403), so that
/// an API token is not accepted where it was exposed on the way.
pub fn authenticate<'a>(
    svc: &'a SealService,
    conn: &Conn,
    req: &Request<Incoming>,
) -> Result<&'a Client, Refusal> {
    if !conn.confidential {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "the e-seal API answers only over HTTPS (or a listener declared behind a \
             TLS-terminating proxy): credentials never cross cleartext",
        ));
    }
    let unauthorized = |m: &str| Refusal::new(StatusCode::UNAUTHORIZED, m);
    // Every credential presented is checked: a wrong token beside a good certificate is a
    // caller that is not who it claims to be, not one to let through on the other.
    let by_token = match req.headers().get(AUTHORIZATION) {
        None => None,
        Some(v) => {
            let t = v
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or_else(|| unauthorized("Authorization must be \"Bearer\" and an API token"))?;
            let h = hex::encode(DigestAlgorithm::Sha256.digest(t.as_bytes()));
            Some(
                svc.clients
                    .iter()
                    .find(|c| c.token_sha256.as_deref() == Some(h.as_str()))
                    .ok_or_else(|| {
                        unauthorized("the API token is not one of this service's clients")
                    })?,
            )
        }
    };
    let by_certificate = match &conn.client_certificate {
        None => None,
        Some(der) => Some(certificate_client(svc, der).map_err(|m| unauthorized(&m))?),
    };
    match (by_certificate, by_token) {
        (Some(c), Some(t)) if !std::ptr::eq(c, t) => Err(unauthorized(
            "the client certificate and the API token are different clients'",
        )),
        (Some(c), _) | (None, Some(c)) => Ok(c),
        (None, None) => Err(unauthorized(
            "credentials required: a TLS client certificate or an API token",
        )),
    }
}

/// The client a certificate belongs to: its SHA-256 configured, and chaining to
/// `eseal.client_cas` when those are set.
fn certificate_client<'a>(svc: &'a SealService, der: &[u8]) -> Result<&'a Client, String> {
    let fp = hex::encode(DigestAlgorithm::Sha256.digest(der));
    let client = svc
        .clients
        .iter()
        .find(|c| c.certificate_sha256.as_deref() == Some(fp.as_str()))
        .ok_or("the client certificate is not one of this service's clients")?;
    let cert = <x509_cert::Certificate as der::Decode>::from_der(der)
        .map_err(|_| "the client certificate does not parse")?;
    if !svc.client_cas.is_empty() {
        kokuin_certs::path::validate_path(
            &cert,
            &[],
            &svc.client_cas,
            SystemTime::now(),
            kokuin_certs::path::Purpose::Any,
        )
        .map_err(|e| format!("the client certificate is not trusted: {e}"))?;
    }
    Ok(client)
}

pub fn authorize<'a>(
    svc: &'a SealService,
    client: &Client,
    key: &str,
) -> Result<&'a LoadedSealKey, Refusal> {
    let k = svc
        .keys
        .get(key)
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, format!("no seal key {key:?}")))?;
    if !client.keys.iter().any(|g| g == key) {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            format!("client {} is not granted key {key:?}", client.name),
        ));
    }
    Ok(k)
}

/// Who called, for the audit log when the call is refused: address and certificate hash.
pub fn describe_caller(conn: &Conn, req: &Request<Incoming>) -> String {
    let mut s = conn.peer.ip().to_string();
    if let Some(c) = &conn.client_certificate {
        s.push_str(&format!(
            " cert-sha256:{}",
            hex::encode(DigestAlgorithm::Sha256.digest(c))
        ));
    } else if req.headers().contains_key(AUTHORIZATION) {
        s.push_str(" token");
    }
    s
}
