//! What `kokuin verify` is asked, for tokens and seals alike.

use std::path::PathBuf;

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The token (.tsr or bare) or seal (.p7s) to verify.
    pub token: PathBuf,
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
}
