//! `GET /tsa/policies` and `GET /tsa/certs`: what a client may ask for in reqPolicy, and the
//! certificates each policy's tokens are signed under.
//!
//! A classical, an ML-DSA and a composite policy can run side by side (each with its own key,
//! see `server/src/keyring.rs`); a client picks one by its OID in reqPolicy (RFC 3161 §2.4.1) and
//! gets the default — the first listed — without.

use super::reply::{Body, text};
use super::state::State;
use hyper::StatusCode;
use serde::Serialize;

/// One element of the `/tsa/policies` array.
#[derive(Serialize)]
struct PolicyView<'a> {
    oid: String,
    name: &'a str,
    /// The signature algorithm of the key in force, or null: none (requests get
    /// systemFailure).
    algorithm: Option<String>,
    quantum_safe: Option<bool>,
    default: bool,
    /// Where the PEM chain of this policy's TSU is served.
    certificates: String,
}

pub fn policies(state: &State) -> hyper::Response<Body> {
    let a = &state.service.authority;
    let list: Vec<PolicyView> = a
        .config()
        .policies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let alg = a
                .policy_key(i)
                .map(|k| k.token_signer().signer().algorithm());
            PolicyView {
                oid: p.oid.to_string(),
                name: &p.name,
                algorithm: alg.map(|a| a.name()),
                quantum_safe: alg.map(|a| a.is_quantum_safe()),
                default: i == 0,
                certificates: format!("/tsa/certs?policy={}", p.oid),
            }
        })
        .collect();
    match serde_json::to_string_pretty(&list) {
        Ok(mut body) => {
            body.push('\n');
            text(StatusCode::OK, "application/json", body)
        }
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            format!("{e}\n"),
        ),
    }
}

/// The TSU chain of the policy named by `?policy=OID`, or of the default policy.
pub fn certs(state: &State, query: Option<&str>) -> hyper::Response<Body> {
    let params = match super::query::parameters(query) {
        Ok(p) => p,
        Err(e) => return text(StatusCode::BAD_REQUEST, "text/plain", format!("{e}\n")),
    };
    let oid = params.get("policy").map(String::as_str);
    let policies = &state.service.authority.config().policies;
    let index = match oid {
        None => Some(0),
        Some(o) => policies.iter().position(|p| p.oid.to_string() == o),
    };
    match index {
        Some(i) => {
            let pem = state.service.served(i).chain_pem;
            if pem.is_empty() {
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    "no key is in force for this policy\n".into(),
                )
            } else {
                text(StatusCode::OK, "application/pem-certificate-chain", pem)
            }
        }
        None => text(
            StatusCode::NOT_FOUND,
            "text/plain",
            "no such policy: see /tsa/policies\n".into(),
        ),
    }
}
