//! `GET /eseal/v1/crls`: the CRLs B-LT seals carry.

use super::pipeline::not_found;
use crate::http::reply::{Body, text};
use crate::http::state::State;
use hyper::{Response, StatusCode};

/// `GET /eseal/v1/crls`: the CRLs B-LT seals carry, PEM, as the service reads them now (the
/// dev CA publishes its CRL here).
pub fn crls(state: &State) -> Response<Body> {
    let Some(svc) = &state.service.eseal else {
        return not_found();
    };
    let pem: Result<String, String> = svc.crls().map_err(|e| e.to_string()).and_then(|list| {
        list.iter()
            .map(|c| kokuin_certs::crl::to_pem(c).map_err(|e| e.to_string()))
            .collect()
    });
    match pem {
        Ok(p) => text(StatusCode::OK, "application/x-pem-file", p),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the configured CRLs");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                "CRLs unavailable\n".into(),
            )
        }
    }
}
