//! What `kokuin verify` is asked, for tokens and seals alike.

use std::path::{Path, PathBuf};

/// What `kokuin verify` is asked.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The token (.tsr or bare) or seal (.p7s) to verify.
    #[arg(required_unless_present_any = ["batch", "ui"])]
    pub token: Option<PathBuf>,
    /// The time-stamped data.
    #[arg(long, conflicts_with = "digest")]
    pub data: Option<PathBuf>,
    /// Hex digest of the data, computed with the token's hash algorithm.
    #[arg(long)]
    pub digest: Option<String>,
    /// Trust anchor(s), PEM or DER (repeatable).
    #[arg(long, required = true)]
    pub trust: Vec<PathBuf>,
    /// Further certificates to build the chain with (when the token carries none).
    #[arg(long)]
    pub untrusted: Vec<PathBuf>,
    /// The original request (.tsq): nonce, policy, imprint and certReq are checked.
    #[arg(long)]
    pub request: Option<PathBuf>,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Seals: verify as of this time (RFC 3339) instead of now.
    #[arg(long)]
    pub at: Option<String>,
    /// Verify every token and seal in these files and directories (walked), on every core;
    /// each is paired with the document named like it without its last extension
    /// (`invoice.pdf.tsr` → `invoice.pdf`). Exit 0 only when every one is valid.
    #[arg(long, num_args = 1.., conflicts_with_all = ["token", "data", "digest", "request", "json"])]
    pub batch: Vec<PathBuf>,
    /// Serve the verification page on --listen (loopback) instead, judging against --trust:
    /// for an auditor without network. Stops on Ctrl-C.
    #[arg(long, conflicts_with_all = ["token", "batch", "data", "digest", "request", "json", "untrusted", "at"])]
    pub ui: bool,
    /// With --ui: where the page listens.
    #[arg(long, requires = "ui", default_value = "127.0.0.1:8319")]
    pub listen: std::net::SocketAddr,
    /// With --batch: one JSON line per item (file, document, kind, result, reason, …).
    #[arg(long, requires = "batch")]
    pub report: Option<PathBuf>,
}

impl VerifyArgs {
    /// The single token or seal (empty with --batch).
    pub fn token_path(&self) -> &Path {
        self.token.as_deref().unwrap_or(Path::new(""))
    }
}
