//! `kokuin bench`: load for any RFC 3161 TSA over HTTP/1.1 keep-alive (plain or TLS), one
//! connection per client thread. Every reply is checked (HTTP 200, granted, the nonce and
//! imprint of its request); the report gives tokens/s, latency percentiles, errors and,
//! with `--server-pid`, the server's resident memory.

use super::CmdError;
use kokuin_hsm::DigestAlgorithm;
use kokuin_tsa::request::build_request;
use kokuin_tsa::{ParsedResponse, TimeStampToken};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct BenchArgs {
    pub url: String,
    pub concurrency: usize,
    pub duration: Duration,
    pub warmup: Duration,
    pub hash: DigestAlgorithm,
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
}

impl BenchReport {
    pub fn rate(&self) -> f64 {
        self.tokens as f64 / self.seconds
    }
    fn pct(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() - 1) as f64 * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
}

pub fn run(a: BenchArgs) -> Result<(), CmdError> {
    let agent = super::request::agent(a.ca.as_deref())?;
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let mut handles = Vec::new();
    for c in 0..a.concurrency {
        let (agent, url, stop, measuring, errors, first_error) = (
            agent.clone(),
            a.url.clone(),
            stop.clone(),
            measuring.clone(),
            errors.clone(),
            first_error.clone(),
        );
        let (hash, cert_req) = (a.hash, a.cert_req);
        handles.push(std::thread::spawn(move || {
            let mut lat = Vec::new();
            let mut n: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let mut seed = [0u8; 16];
                seed[..8].copy_from_slice(&(c as u64).to_be_bytes());
                seed[8..].copy_from_slice(&n.to_be_bytes());
                let digest = hash.digest(&seed);
                let nonce = seed;
                let t0 = Instant::now();
                let r = one(&agent, &url, hash, &digest, &nonce, cert_req);
                let us = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
                if !measuring.load(Ordering::Relaxed) {
                    continue;
                }
                match r {
                    Ok(()) => lat.push(us),
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut f) = first_error.lock() {
                            f.get_or_insert(e);
                        }
                    }
                }
            }
            lat
        }));
    }
    std::thread::sleep(a.warmup);
    measuring.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    std::thread::sleep(a.duration);
    measuring.store(false, Ordering::Relaxed);
    let seconds = t0.elapsed().as_secs_f64();
    let rss = a.server_pid.and_then(rss_kib);
    stop.store(true, Ordering::Relaxed);
    let mut lat: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap_or_default())
        .collect();
    lat.sort_unstable();
    let report = BenchReport {
        tokens: lat.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        seconds,
        latencies_us: lat,
        server_rss_kib: rss,
    };
    print_report(&a, &report);
    if let Some(e) = first_error.lock().ok().and_then(|f| f.clone()) {
        eprintln!("first error: {e}");
    }
    if report.errors > 0 {
        return Err(CmdError::negative(format!("{} errors", report.errors)));
    }
    Ok(())
}

fn one(
    agent: &ureq::Agent,
    url: &str,
    hash: DigestAlgorithm,
    digest: &[u8],
    nonce: &[u8],
    cert_req: bool,
) -> Result<(), String> {
    use der::Encode;
    let req = build_request(hash, digest, None, Some(nonce), cert_req)
        .and_then(|r| r.to_der())
        .map_err(|e| e.to_string())?;
    let mut resp = agent
        .post(url)
        .header("Content-Type", crate::server::QUERY_TYPE)
        .send(&req[..])
        .map_err(|e| e.to_string())?;
    if resp.status() != 200 {
        return Err(format!("HTTP {}", resp.status()));
    }
    let body = resp.body_mut().read_to_vec().map_err(|e| e.to_string())?;
    let token = ParsedResponse::from_der(&body)
        .and_then(|p| p.into_token())
        .map_err(|e| e.to_string())?;
    let t = TimeStampToken::from_der(&token).map_err(|e| e.to_string())?;
    if t.tst_info.message_imprint.hashed_message.as_bytes() != digest {
        return Err("imprint differs from the request's".into());
    }
    let echoed = t.tst_info.nonce.as_ref().map(|n| n.as_bytes().to_vec());
    let sent = build_request(hash, digest, None, Some(nonce), cert_req)
        .ok()
        .and_then(|r| r.nonce)
        .map(|n| n.as_bytes().to_vec());
    if echoed != sent {
        return Err("nonce differs from the request's".into());
    }
    Ok(())
}

/// Resident set size of a process, from /proc (Linux).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn print_report(a: &BenchArgs, r: &BenchReport) {
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "url": a.url,
                "concurrency": a.concurrency,
                "seconds": r.seconds,
                "tokens": r.tokens,
                "tokens_per_second": r.rate(),
                "errors": r.errors,
                "p50_ms": r.pct(0.50),
                "p90_ms": r.pct(0.90),
                "p99_ms": r.pct(0.99),
                "max_ms": r.pct(1.0),
                "server_rss_kib": r.server_rss_kib,
            })
        );
        return;
    }
    println!(
        "{} clients, {:.1} s: {} tokens, {:.0} tokens/s, {} errors",
        a.concurrency,
        r.seconds,
        r.tokens,
        r.rate(),
        r.errors
    );
    println!(
        "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        r.pct(0.5),
        r.pct(0.9),
        r.pct(0.99),
        r.pct(1.0)
    );
    if let Some(k) = r.server_rss_kib {
        println!("server RSS: {:.1} MiB", k as f64 / 1024.0);
    }
}
