//! `kokuin verify --ui`: the verification page the server serves, on a loopback address,
//! judging against `--trust`. Here rather than in `kokuin-auditor`, which links no server.

use super::CmdError;
use kokuin_auditor::verify_args::VerifyArgs;
use kokuin_certs::pem::load_certificates;

/// `--ui`: the server's verification page on a loopback address, judging against `--trust`.
pub fn run(a: &VerifyArgs) -> Result<(), CmdError> {
    if !a.listen.ip().is_loopback() {
        return Err(CmdError::usage(
            "--listen: the page serves on a loopback address only (WebCrypto needs a secure context)",
        ));
    }
    let mut anchors = Vec::new();
    for t in &a.trust {
        anchors.extend(load_certificates(t).map_err(|e| CmdError::usage(e.to_string()))?);
    }
    let verifier = kokuin_server::http::verify::Verifier::new(anchors, 4096 * 1024)
        .map_err(|e| CmdError::usage(format!("cannot start the verification threads: {e}")))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CmdError::usage(format!("cannot start the runtime: {e}")))?;
    rt.block_on(kokuin_server::http::serve_ui(a.listen, verifier))
        .map_err(|e| CmdError::usage(e.to_string()))
}
