//! The service started in-process, as an embedder would: a dev state, the service built from
//! its configuration, the server run on a runtime of the test's own and stopped through its
//! channel. A token is asked for with the project's client, verified against the dev root,
//! and found in an audit log that verifies after the stop.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_server::http::{InProcess, run_with};
use std::sync::Arc;

#[test]
fn a_token_from_a_server_started_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let any = "127.0.0.1:0".parse().unwrap();
    let paths = kokuin_server::dev::ensure_state_dir(dir.path(), &[any], &[any], None).unwrap();
    let cfg = kokuin_server::config::Config::load(&paths.config).unwrap();
    let metrics = Arc::new(kokuin_server::metrics::Metrics::new());
    let service = kokuin_server::service::build(&cfg, &metrics).unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (listening_tx, listening_rx) = tokio::sync::oneshot::channel();
    let server = rt.spawn(run_with(
        cfg,
        service,
        metrics,
        Some(InProcess {
            stop: stop_rx,
            listening: listening_tx,
        }),
    ));
    let addresses = rt.block_on(listening_rx).unwrap();
    let https = addresses.iter().find(|(s, _)| *s == "https").unwrap().1;

    let agent = kokuin_client::agent(kokuin_client::TlsOptions {
        ca: Some(&paths.root),
        client: None,
    })
    .unwrap();
    let url = format!("https://localhost:{}/tsa", https.port());
    let digest = kokuin_hsm::DigestAlgorithm::Sha256.digest(b"in-process");
    let token =
        kokuin_client::timestamp(&agent, &url, kokuin_hsm::DigestAlgorithm::Sha256, &digest)
            .unwrap();
    let roots = kokuin_certs::pem::load_certificates(&paths.root).unwrap();
    let verified = kokuin_tsa::TimeStampToken::from_der(&token)
        .unwrap()
        .verify(&kokuin_tsa::VerifyOptions {
            trust_anchors: &roots,
            extra_certificates: &[],
            expected_digest: Some(&digest),
            request: None,
        })
        .unwrap();

    stop_tx.send(true).unwrap();
    rt.block_on(server).unwrap().unwrap();

    // After the stop: the token's record is in a log that verifies to its last checkpoint.
    let audit_cert =
        kokuin_certs::pem::load_certificates(&dir.path().join("pki/audit.pem")).unwrap();
    let verifier = kokuin_server::audit::TrustedCheckpointCerts(audit_cert);
    let report =
        kokuin_audit::verify::verify_dir(&dir.path().join("audit"), &verifier, None, &mut |_| {})
            .unwrap();
    assert!(
        report.problem.is_none(),
        "{:?}",
        report.problem.map(|p| p.detail)
    );
    assert!(report.checkpoints > 0);
    let serial = hex::encode(verified.serial.as_bytes());
    let log = std::fs::read_dir(dir.path().join("audit"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect::<String>();
    assert!(
        log.contains(&format!("\"serial\":\"{serial}\"")),
        "no record of {serial}"
    );
}
