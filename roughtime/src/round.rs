//! One Roughtime round: every server asked once, in the configured order, each nonce chained
//! from the reply before it (across rounds too, so that a server ahead of one asked after it —
//! in this round or the next — is caught: RFC 10049 §8), each silent or invalid answer retried
//! within the round.
//!
//! Hand-written over the roughenough crates' parts: their `MeasurementSequence` stops at the
//! first server that fails, and their UDP transport blocks a thread and panics when it cannot
//! bind; a node must go on asking the others, within a deadline, on its own reactor.

use crate::agreement;
use crate::evidence::{Failure, Malfeasance, Reply};
use crate::servers::TrustedServer;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use roughenough_client::measurement::Measurement;
use roughenough_client::validation::ValidationError;
use roughenough_client::{CausalityViolation, MalfeasanceReport, ResponseValidator};
use roughenough_common::crypto::{calculate_chained_nonce, make_srv_commitment, random_bytes};
use roughenough_protocol::cursor::ParseCursor;
use roughenough_protocol::request::{MAX_RESPONSE_SIZE, Request};
use roughenough_protocol::response::Response;
use roughenough_protocol::tags::Nonce;
use roughenough_protocol::{FromFrame, ToFrame};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};
use tokio::net::UdpSocket;

/// How a round asks.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long one attempt waits for a valid reply.
    pub timeout: Duration,
    /// Attempts per server in a round (a grease reply or a lost datagram is retried).
    pub attempts: u32,
    /// The accuracy tokens declare: part of each agreement window.
    pub accuracy: Duration,
}

/// What a round found.
#[derive(Debug, Default)]
pub struct Round {
    /// Valid replies, in chain order.
    pub replies: Vec<Reply>,
    /// Attempts without one.
    pub failures: Vec<Failure>,
    /// Servers whose reply agreed with the local clock.
    pub agreeing: usize,
    /// Two replies that contradict each other, as a report.
    pub malfeasance: Option<Malfeasance>,
}

/// Asks rounds, keeping the chain from one to the next.
pub struct Prober {
    servers: Vec<TrustedServer>,
    /// The previous round's measurements: a contradiction between its replies and this
    /// round's is found (and reported with the chain that proves it).
    previous: Vec<Measurement>,
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Prober {
    /// Servers are asked in this order.
    pub fn new(servers: Vec<TrustedServer>) -> Self {
        Self {
            servers,
            previous: Vec::new(),
        }
    }

    /// One round. `file_name` names the malfeasance report if one is made (the caller writes
    /// it).
    pub async fn round(&mut self, opts: &Options, file_name: &str) -> Round {
        let mut round = Round::default();
        let mut chain: Vec<Measurement> = std::mem::take(&mut self.previous);
        let carried = chain.len();
        let accuracy_us = u64::try_from(opts.accuracy.as_micros()).unwrap_or(u64::MAX);
        for server in &self.servers {
            let prior = chain.last().map(|m| m.response_bytes().to_vec());
            for attempt in 1..=opts.attempts.max(1) {
                match ask(server, prior.as_deref(), opts.timeout).await {
                    Ok(asked) => {
                        let agrees = agreement::agrees(
                            asked.sent_at_us,
                            asked.rtt_us,
                            asked.measurement.midpoint(),
                            asked.measurement.radius(),
                            accuracy_us,
                        );
                        round.agreeing += usize::from(agrees);
                        round.replies.push(asked.reply(server, agrees));
                        chain.push(asked.measurement);
                        break;
                    }
                    Err(reason) => round.failures.push(Failure {
                        server: server.name.clone(),
                        attempt,
                        reason,
                    }),
                }
            }
        }
        // Only a contradiction that involves this round's replies is new: the previous
        // round's own were reported then.
        let violations = ResponseValidator::validate_causality(&chain);
        if let Some(v) = violations.iter().find(|v| v.index_j() >= carried) {
            round.malfeasance = Some(report(v, file_name));
        }
        self.previous = chain.split_off(carried);
        round
    }
}

fn report(v: &CausalityViolation, file_name: &str) -> Malfeasance {
    let report = MalfeasanceReport::from_violation(v);
    Malfeasance {
        file: file_name.to_string(),
        earlier: v.measurement_i().hostname().to_string(),
        later: v.measurement_j().hostname().to_string(),
        report: serde_json::to_value(&report).unwrap_or(serde_json::Value::Null),
    }
}

struct Asked {
    measurement: Measurement,
    request: Vec<u8>,
    rand: Option<[u8; 32]>,
    sent_at_us: i64,
    rtt_us: u64,
}

impl Asked {
    fn reply(&self, server: &TrustedServer, agrees: bool) -> Reply {
        let m = &self.measurement;
        Reply {
            server: server.name.clone(),
            public_key: server.public_key.clone(),
            request: STANDARD.encode(&self.request),
            response: STANDARD.encode(m.response_bytes()),
            rand: self.rand.map(|r| STANDARD.encode(r)),
            sent_at_us: self.sent_at_us,
            rtt_us: self.rtt_us,
            midpoint_s: m.midpoint(),
            radius_s: m.radius(),
            offset_us: agreement::offset_us(self.sent_at_us, self.rtt_us, m.midpoint()),
            agrees,
        }
    }
}

/// One attempt: a request whose nonce is chained from `prior` (or random), and the first
/// valid reply from the server's address before the deadline.
async fn ask(
    server: &TrustedServer,
    prior: Option<&[u8]>,
    timeout: Duration,
) -> Result<Asked, String> {
    let deadline = Instant::now() + timeout;
    let addr = tokio::time::timeout(timeout, tokio::net::lookup_host(&server.address))
        .await
        .map_err(|_| "name lookup timed out".to_string())?
        .map_err(|e| format!("name lookup: {e}"))?
        .next()
        .ok_or_else(|| "the name has no address".to_string())?;
    let bind: SocketAddr = if addr.is_ipv6() {
        "[::]:0".parse()
    } else {
        "0.0.0.0:0".parse()
    }
    .map_err(|_| "bind address".to_string())?;
    let socket = UdpSocket::bind(bind)
        .await
        .map_err(|e| format!("cannot open a UDP socket: {e}"))?;
    let (nonce, rand) = match prior {
        Some(p) => {
            let rand = random_bytes::<32>();
            (calculate_chained_nonce(p, &rand), Some(rand))
        }
        None => (Nonce::from(&random_bytes::<32>()[..]), None),
    };
    let request = Request::new_with_server(&nonce, &make_srv_commitment(&server.key()));
    let request_bytes = request.as_frame_bytes().map_err(|e| e.to_string())?;
    let validator = ResponseValidator::new_with_key(server.key());
    let sent_at_us = now_us();
    let sent = Instant::now();
    socket
        .send_to(&request_bytes, addr)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut last_invalid = None;
    loop {
        let mut buf = [0u8; MAX_RESPONSE_SIZE];
        let received = tokio::time::timeout_at(deadline.into(), socket.recv_from(&mut buf)).await;
        let (n, from) = match received {
            Err(_) => {
                return Err(last_invalid
                    .unwrap_or_else(|| format!("no reply within {} ms", timeout.as_millis())));
            }
            Ok(Err(e)) => return Err(format!("receive: {e}")),
            Ok(Ok(r)) => r,
        };
        let rtt = sent.elapsed();
        if from != addr {
            continue;
        }
        let response_bytes = buf[..n].to_vec();
        let mut parse = buf[..n].to_vec();
        let response = match Response::from_frame(&mut ParseCursor::new(&mut parse)) {
            Ok(r) => r,
            Err(e) => {
                last_invalid = Some(format!("an unparseable reply: {e}"));
                continue;
            }
        };
        match validator.validate(&request_bytes, &response_bytes, &response) {
            Ok(_) => {
                let measurement = Measurement::builder()
                    .server(addr)
                    .hostname(server.name.clone())
                    .public_key(Some(server.key()))
                    .request(request)
                    .response(response)
                    .response_bytes(response_bytes)
                    .rand_value(rand)
                    .build()
                    .map_err(|e| e.to_string())?;
                return Ok(Asked {
                    measurement,
                    request: request_bytes,
                    rand,
                    sent_at_us,
                    rtt_us: u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX),
                });
            }
            // A stale datagram (an earlier attempt's) proves nothing: keep waiting.
            Err(ValidationError::FailedProof(_)) => {
                last_invalid = Some("a reply for another request".into());
            }
            // Grease (deliberately invalid replies RFC 10049 lets servers send) or a lie: say so;
            // the attempt is over, the next one asks anew.
            Err(e) => return Err(format!("an invalid reply: {e}")),
        }
    }
}
