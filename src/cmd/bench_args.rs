//! What `kokuin bench` is asked on the command line.

use super::CmdError;
use super::bench::{BenchArgs, Protocol};
use kokuin_hsm::DigestAlgorithm;
use kokuin_tsa::asn1::PolicyId;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
pub struct BenchOptions {
    /// The TSA's URL (any RFC 3161 TSA).
    #[arg(long)]
    pub url: String,
    /// Requests in flight (closed loop), or workers sharing --rate.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Connections (default: one per request in flight; one with --http2).
    #[arg(long)]
    pub connections: Option<usize>,
    /// HTTP/2 (h2 over TLS by ALPN, prior knowledge over plain HTTP).
    #[arg(long)]
    pub http2: bool,
    /// Open loop: send this many requests per second in all, latency counted from when
    /// each was due.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Seconds measured.
    #[arg(long, default_value = "10", value_parser = super::parse::seconds)]
    pub duration: Duration,
    /// Seconds of load before measuring.
    #[arg(long, default_value = "2", value_parser = super::parse::seconds)]
    pub warmup: Duration,
    /// The hash of the requests' imprints.
    #[arg(long, default_value = "sha256", value_parser = super::parse::digest)]
    pub hash: DigestAlgorithm,
    /// reqPolicy (OID) of every request: measures that policy's key.
    #[arg(long, value_parser = super::parse::policy)]
    pub policy: Option<PolicyId>,
    /// Ask for the TSA certificate in every token.
    #[arg(long)]
    pub cert_req: bool,
    /// Trust anchor for HTTPS (default: Mozilla's roots).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Report this process's resident memory and its CPU over the measured seconds (the
    /// server under test, on this machine).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

impl BenchOptions {
    /// Runs the load.
    pub fn run(self) -> Result<(), CmdError> {
        super::bench::run(BenchArgs {
            url: self.url,
            concurrency: self.concurrency.max(1),
            connections: self.connections,
            protocol: if self.http2 {
                Protocol::Http2
            } else {
                Protocol::Http1
            },
            rate: self.rate.filter(|r| *r > 0.0),
            duration: self.duration,
            warmup: self.warmup,
            hash: self.hash,
            policy: self.policy,
            cert_req: self.cert_req,
            ca: self.ca,
            server_pid: self.server_pid,
            json: self.json,
        })
    }
}
