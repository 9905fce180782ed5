//! `kokuin bench`: load for any RFC 3161 TSA, over HTTP/1.1 keep-alive or HTTP/2, plain or
//! TLS. Closed loop (`--concurrency` requests in flight) or open loop (`--rate` requests/s,
//! latency counted from when each request was due, so a stalled server cannot hide its
//! queue). Every reply is checked: HTTP 200, status granted, and the TSTInfo's nonce,
//! imprint and policy are its request's. The report gives tokens/s, latency percentiles,
//! errors and, with `--server-pid`, the server's resident memory and its CPU over the
//! measured seconds.
//!
//! Built on hyper's connection API on a tokio runtime: the first version, on blocking
//! `ureq` threads, used so much of the shared 2-core machine that it measured 11,600
//! tokens/s where `wrk` measured 17,500 against the same server.

use super::CmdError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use kokuin_hsm::DigestAlgorithm;
use kokuin_tsa::request::build_request;
use kokuin_tsa::{ParsedResponse, tst_info_unchecked};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
}

pub struct BenchArgs {
    pub url: String,
    /// Requests in flight (closed loop), or the number of workers sharing `rate`.
    pub concurrency: usize,
    /// Connections; HTTP/2 multiplexes the workers over them. Default: one per worker for
    /// HTTP/1.1, one for HTTP/2.
    pub connections: Option<usize>,
    pub protocol: Protocol,
    /// Open loop: this many requests per second in all.
    pub rate: Option<f64>,
    pub duration: Duration,
    pub warmup: Duration,
    pub hash: DigestAlgorithm,
    /// reqPolicy of every request; the token must carry it.
    pub policy: Option<kokuin_tsa::asn1::PolicyId>,
    pub cert_req: bool,
    pub ca: Option<std::path::PathBuf>,
    pub server_pid: Option<u32>,
    pub json: bool,
}

#[derive(Debug, Default)]
pub struct BenchReport {
    pub tokens: u64,
    pub errors: u64,
    pub seconds: f64,
    pub latencies_us: Vec<u64>,
    pub server_rss_kib: Option<u64>,
    /// The server's CPU seconds (user and system, all threads) over the measured seconds.
    pub server_cpu_seconds: Option<f64>,
}

impl BenchReport {
    pub fn rate(&self) -> f64 {
        self.tokens as f64 / self.seconds
    }
    /// The server's busy cores over the measured seconds.
    pub fn server_cores(&self) -> Option<f64> {
        self.server_cpu_seconds.map(|c| c / self.seconds)
    }
    fn pct(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() - 1) as f64 * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
}

/// What every worker shares.
struct Shared {
    target: Target,
    hash: DigestAlgorithm,
    policy: Option<kokuin_tsa::asn1::PolicyId>,
    cert_req: bool,
    stop: AtomicBool,
    measuring: AtomicBool,
    errors: AtomicU64,
    first_error: std::sync::Mutex<Option<String>>,
}

impl Shared {
    fn error(&self, e: String) {
        if self.measuring.load(Ordering::Relaxed) {
            self.errors.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut f) = self.first_error.lock() {
                f.get_or_insert(e);
            }
        }
    }
}

struct Target {
    host: String,
    port: u16,
    path: String,
    authority: String,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl Target {
    fn parse(
        url: &str,
        ca: Option<&std::path::Path>,
        protocol: Protocol,
    ) -> Result<Self, CmdError> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| CmdError::usage(format!("--url {url}: {e}")))?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(CmdError::usage("--url must be http:// or https://")),
        };
        let host = uri
            .host()
            .ok_or_else(|| CmdError::usage("--url has no host"))?
            .trim_matches(|c| c == '[' || c == ']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let authority = uri
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_else(|| host.clone());
        let path = uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_else(|| "/".into());
        let tls = if tls {
            Some(tls_connector(ca, protocol)?)
        } else {
            None
        };
        Ok(Self {
            host,
            port,
            path,
            authority,
            tls,
        })
    }
}

fn tls_connector(
    ca: Option<&std::path::Path>,
    protocol: Protocol,
) -> Result<tokio_rustls::TlsConnector, CmdError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let ca = ca.ok_or_else(|| CmdError::usage("an https:// --url needs --ca"))?;
    let pem = super::read_file(ca)?;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&pem) {
        let c = c.map_err(|e| CmdError::usage(format!("{}: {e}", ca.display())))?;
        roots
            .add(c)
            .map_err(|e| CmdError::usage(format!("{}: {e}", ca.display())))?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CmdError::usage(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![match protocol {
        Protocol::Http1 => b"http/1.1".to_vec(),
        Protocol::Http2 => b"h2".to_vec(),
    }];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// One connection's request sender, HTTP/1.1 (one request at a time) or HTTP/2 (shared).
#[derive(Clone)]
enum Sender {
    H1(Arc<tokio::sync::Mutex<http1::SendRequest<Full<Bytes>>>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

async fn connect(t: &Target, protocol: Protocol) -> Result<Sender, String> {
    let tcp = tokio::net::TcpStream::connect((t.host.as_str(), t.port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    match &t.tls {
        None => handshake(TokioIo::new(tcp), protocol).await,
        Some(c) => {
            let name = rustls_pki_types::ServerName::try_from(t.host.clone())
                .map_err(|e| format!("server name: {e}"))?;
            let tls = c
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            handshake(TokioIo::new(tls), protocol).await
        }
    }
}

async fn handshake<IO>(io: IO, protocol: Protocol) -> Result<Sender, String>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    match protocol {
        Protocol::Http1 => {
            let (send, conn) = http1::handshake(io)
                .await
                .map_err(|e| format!("HTTP/1.1: {e}"))?;
            tokio::spawn(conn);
            Ok(Sender::H1(Arc::new(tokio::sync::Mutex::new(send))))
        }
        Protocol::Http2 => {
            let (send, conn) = http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| format!("HTTP/2: {e}"))?;
            tokio::spawn(conn);
            Ok(Sender::H2(send))
        }
    }
}

pub fn run(a: BenchArgs) -> Result<(), CmdError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CmdError::negative(format!("runtime: {e}")))?;
    rt.block_on(run_async(a))
}

async fn run_async(a: BenchArgs) -> Result<(), CmdError> {
    let shared = Arc::new(Shared {
        target: Target::parse(&a.url, a.ca.as_deref(), a.protocol)?,
        hash: a.hash,
        policy: a.policy.clone(),
        cert_req: a.cert_req,
        stop: AtomicBool::new(false),
        measuring: AtomicBool::new(false),
        errors: AtomicU64::new(0),
        first_error: std::sync::Mutex::new(None),
    });
    let n_conn = a
        .connections
        .unwrap_or(match a.protocol {
            Protocol::Http1 => a.concurrency,
            Protocol::Http2 => 1,
        })
        .clamp(1, a.concurrency);
    let mut senders = Vec::with_capacity(n_conn);
    for _ in 0..n_conn {
        senders.push(
            connect(&shared.target, a.protocol)
                .await
                .map_err(CmdError::negative)?,
        );
    }
    // Open loop: each worker sends every `interval`; a late send is counted from its due time.
    let interval = a
        .rate
        .map(|r| Duration::from_secs_f64(a.concurrency as f64 / r.max(0.001)));
    let mut workers = Vec::with_capacity(a.concurrency);
    let start = tokio::time::Instant::now();
    for w in 0..a.concurrency {
        let sender = senders[w % n_conn].clone();
        let shared = shared.clone();
        // Workers' ticks are spread over the interval: started together, every worker would
        // send at the same instant and the rate would arrive as bursts of `concurrency`.
        let pacing = interval.map(|i| (start + i.mul_f64(w as f64 / a.concurrency as f64), i));
        workers.push(tokio::spawn(worker(w as u64, sender, shared, pacing)));
    }
    tokio::time::sleep(a.warmup).await;
    shared.measuring.store(true, Ordering::Relaxed);
    let cpu0 = a.server_pid.and_then(cpu_seconds);
    let t0 = Instant::now();
    tokio::time::sleep(a.duration).await;
    shared.measuring.store(false, Ordering::Relaxed);
    let seconds = t0.elapsed().as_secs_f64();
    let cpu1 = a.server_pid.and_then(cpu_seconds);
    let rss = a.server_pid.and_then(rss_kib);
    shared.stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    for w in workers {
        lat.extend(w.await.unwrap_or_default());
    }
    lat.sort_unstable();
    let report = BenchReport {
        tokens: lat.len() as u64,
        errors: shared.errors.load(Ordering::Relaxed),
        seconds,
        latencies_us: lat,
        server_rss_kib: rss,
        server_cpu_seconds: cpu0.zip(cpu1).map(|(a, b)| b - a),
    };
    print_report(&a, n_conn, &report);
    if let Some(e) = shared.first_error.lock().ok().and_then(|f| f.clone()) {
        eprintln!("first error: {e}");
    }
    if report.errors > 0 {
        return Err(CmdError::negative(format!("{} errors", report.errors)));
    }
    Ok(())
}

async fn worker(
    w: u64,
    sender: Sender,
    shared: Arc<Shared>,
    pacing: Option<(tokio::time::Instant, Duration)>,
) -> Vec<u64> {
    let mut lat = Vec::new();
    let mut ticker = pacing.map(|(first, i)| {
        let mut t = tokio::time::interval_at(first, i);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        t
    });
    let mut n: u64 = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        n += 1;
        let due = match &mut ticker {
            Some(t) => paced(t).await,
            None => Instant::now(),
        };
        let r = one(&sender, &shared, w, n).await;
        let us = u64::try_from(due.elapsed().as_micros()).unwrap_or(u64::MAX);
        match r {
            Ok(()) if shared.measuring.load(Ordering::Relaxed) => lat.push(us),
            Ok(()) => {}
            Err(e) => shared.error(e),
        }
    }
    lat
}

/// The instant an open-loop request's latency counts from. A request already due when its
/// worker got free (the previous reply came late) counts from its due time, so that a slow
/// server's queueing is measured, not omitted. A request the worker waited for counts from
/// when the timer woke it: tokio's timer fires up to a millisecond after the due time, and
/// that delay belongs to the tool, not to the server.
async fn paced(ticker: &mut tokio::time::Interval) -> Instant {
    let free = Instant::now();
    let due = ticker.tick().await.into_std();
    if due <= free { due } else { Instant::now() }
}

/// One request, its reply checked against it.
async fn one(sender: &Sender, s: &Shared, w: u64, n: u64) -> Result<(), String> {
    use der::Encode;
    let mut seed = [0u8; 16];
    seed[..8].copy_from_slice(&w.to_be_bytes());
    seed[8..].copy_from_slice(&n.to_be_bytes());
    let digest = s.hash.digest(&seed);
    let req = build_request(s.hash, &digest, s.policy.clone(), Some(&seed), s.cert_req)
        .map_err(|e| e.to_string())?;
    let body = req.to_der().map_err(|e| e.to_string())?;
    let http = hyper::Request::post(s.target.path.as_str())
        .header(hyper::header::HOST, s.target.authority.as_str())
        .header(
            hyper::header::CONTENT_TYPE,
            kokuin_tsa::transport::QUERY_TYPE,
        )
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let resp = match sender {
        Sender::H1(m) => {
            let mut send = m.lock().await;
            send.ready().await.map_err(|e| e.to_string())?;
            send.send_request(http).await
        }
        Sender::H2(send) => {
            let mut send = send.clone();
            send.ready().await.map_err(|e| e.to_string())?;
            send.send_request(http).await
        }
    }
    .map_err(|e| e.to_string())?;
    if resp.status() != 200 {
        return Err(format!("HTTP {}", resp.status()));
    }
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    let token = ParsedResponse::from_der(&body)
        .and_then(|p| p.into_token())
        .map_err(|e| e.to_string())?;
    // Only the TSTInfo is read: it is what answers the request, and decoding the whole token
    // (certificates, signer, attributes) doubled the tool's CPU per token, which the server
    // under test shares on a small machine. `kokuin verify` is the check of a token.
    let tst_info = tst_info_unchecked(&token).map_err(|e| e.to_string())?;
    if tst_info.message_imprint.hashed_message.as_bytes() != digest.as_slice() {
        return Err("imprint differs from the request's".into());
    }
    if tst_info.nonce.as_ref().map(|x| x.as_bytes()) != req.nonce.as_ref().map(|x| x.as_bytes()) {
        return Err("nonce differs from the request's".into());
    }
    if s.policy.as_ref().is_some_and(|p| *p != tst_info.policy) {
        return Err(format!("token of policy {}", tst_info.policy));
    }
    Ok(())
}

/// CPU time of a process, user and system over all its threads, from /proc (Linux).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces; utime and stime are the 12th and
    // 13th fields after it (proc(5)).
    let mut rest = s.get(s.rfind(')')? + 1..)?.split_whitespace().skip(11);
    let utime: u64 = rest.next()?.parse().ok()?;
    let stime: u64 = rest.next()?.parse().ok()?;
    Some((utime + stime) as f64 / rustix::param::clock_ticks_per_second() as f64)
}

/// Resident set size of a process, from /proc (Linux).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn print_report(a: &BenchArgs, connections: usize, r: &BenchReport) {
    let protocol = match a.protocol {
        Protocol::Http1 => "http/1.1",
        Protocol::Http2 => "h2",
    };
    if a.json {
        out!(
            "{}",
            serde_json::json!({
                "url": a.url,
                "protocol": protocol,
                "concurrency": a.concurrency,
                "connections": connections,
                "rate": a.rate,
                "seconds": r.seconds,
                "tokens": r.tokens,
                "tokens_per_second": r.rate(),
                "errors": r.errors,
                "p50_ms": r.pct(0.50),
                "p90_ms": r.pct(0.90),
                "p99_ms": r.pct(0.99),
                "max_ms": r.pct(1.0),
                "server_rss_kib": r.server_rss_kib,
                "server_cpu_cores": r.server_cores(),
            })
        );
        return;
    }
    let mode = match a.rate {
        Some(rate) => format!("open loop at {rate:.0}/s"),
        None => "closed loop".into(),
    };
    out!(
        "{protocol}, {} in flight on {connections} connections, {mode}, {:.1} s: {} tokens, \
         {:.0} tokens/s, {} errors",
        a.concurrency,
        r.seconds,
        r.tokens,
        r.rate(),
        r.errors
    );
    out!(
        "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        r.pct(0.5),
        r.pct(0.9),
        r.pct(0.99),
        r.pct(1.0)
    );
    if let Some(k) = r.server_rss_kib {
        out!("server RSS: {:.1} MiB", k as f64 / 1024.0);
    }
    if let Some(c) = r.server_cores() {
        out!(
            "server CPU: {c:.2} busy cores, {:.0} µs per token",
            c * r.seconds * 1e6 / r.tokens.max(1) as f64
        );
    }
}
