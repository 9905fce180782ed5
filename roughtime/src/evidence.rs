//! What a round leaves in the audit log (`clock.roughtime`), and its re-check offline.
//!
//! Each reply is kept as the bytes that went and came (base64), with the random value its nonce
//! was chained from, so that an auditor holding only the log and a server list re-verifies
//! every signature and Merkle path, every link of the nonce chain (RFC 10049 §8: nonce =
//! SHA-512(previous reply ‖ rand)[..32]) and every agreement the node decided on.

use crate::agreement;
use crate::servers::TrustedServer;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use roughenough_client::ResponseValidator;
use roughenough_common::crypto::calculate_chained_nonce;
use roughenough_protocol::FromFrame;
use roughenough_protocol::cursor::ParseCursor;
use roughenough_protocol::request::Request;
use roughenough_protocol::response::Response;
use serde::{Deserialize, Serialize};

/// The largest request or reply kept or read back (RFC 10049: requests are padded to 1024
/// bytes; replies fit one datagram).
pub const MAX_PACKET: usize = 1472;

/// One server's valid reply in a round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The server's name in the node's configuration.
    pub server: String,
    /// The long-term key (base64) the reply was verified under.
    pub public_key: String,
    /// The request frame as sent, base64.
    pub request: String,
    /// The reply frame as received, base64.
    pub response: String,
    /// The random value the nonce was chained from (base64); absent for the first nonce of a
    /// chain, which is random itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rand: Option<String>,
    /// Local time when the request left, µs since the epoch.
    pub sent_at_us: i64,
    /// Round trip measured, µs.
    pub rtt_us: u64,
    /// MIDP, seconds since the epoch.
    pub midpoint_s: u64,
    /// RADI, seconds.
    pub radius_s: u32,
    /// The server's time minus the local clock's, µs (see [`agreement::offset_us`]).
    pub offset_us: i64,
    /// Whether the local clock lay in the reply's window.
    pub agrees: bool,
}

/// A server that did not give a valid reply at one attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The server's name.
    pub server: String,
    /// Which attempt, from 1.
    pub attempt: u32,
    /// Why (timeout, an invalid reply, a name that does not resolve).
    pub reason: String,
}

/// A `clock.roughtime` record's fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// `refuse` or `alarm`.
    pub action: String,
    /// Agreeing servers needed.
    pub min_agreeing: u32,
    /// The accuracy tokens declare, µs (part of each window).
    pub accuracy_us: u64,
    /// Servers that agreed.
    pub agreeing: u32,
    /// `agree`, `refuse` (tokens refused until a round agrees) or `alarm` (recorded only).
    pub verdict: String,
    /// Every valid reply, in the order asked: the order of the nonce chain.
    pub replies: Vec<Reply>,
    /// Every attempt that gave no valid reply.
    #[serde(default)]
    pub failures: Vec<Failure>,
    /// The malfeasance report written this round, if two replies contradicted each other: its
    /// file name in the state directory and the servers it names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malfeasance: Option<Malfeasance>,
}

/// A malfeasance report, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Malfeasance {
    /// File name under the state directory's `roughtime-malfeasance/`.
    pub file: String,
    /// The server whose earlier reply claims a later time…
    pub earlier: String,
    /// …than this server's later reply allows.
    pub later: String,
    /// The report itself (RFC 10049 §8.4.1, `application/roughtime-malfeasance+json`).
    pub report: serde_json::Value,
}

/// Why recorded evidence does not hold.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvidenceError {
    /// A field is not what the record format says (not base64, too long, not a frame).
    #[error("reply {index} ({server}): {detail}")]
    Malformed {
        /// Position in the round.
        index: usize,
        /// The server's name.
        server: String,
        /// What is wrong.
        detail: String,
    },
    /// The reply does not verify under the key recorded for it.
    #[error("reply {index} ({server}) does not verify: {detail}")]
    Invalid {
        /// Position in the round.
        index: usize,
        /// The server's name.
        server: String,
        /// The validator's reason.
        detail: String,
    },
    /// The recorded midpoint, radius, offset or agreement is not what the reply says.
    #[error("reply {index} ({server}): the recorded {field} is not what the signed reply says")]
    Misrecorded {
        /// Position in the round.
        index: usize,
        /// The server's name.
        server: String,
        /// Which field.
        field: &'static str,
    },
    /// The nonce was not chained from the previous reply.
    #[error("reply {index} ({server}): its nonce is not chained from the reply before it")]
    Unchained {
        /// Position in the round.
        index: usize,
        /// The server's name.
        server: String,
    },
    /// The round's count or verdict is not what its replies say.
    #[error("the round's {0} is not what its replies say")]
    Verdict(&'static str),
}

fn decode(index: usize, r: &Reply, what: &str, b64: &str) -> Result<Vec<u8>, EvidenceError> {
    let malformed = |detail: String| EvidenceError::Malformed {
        index,
        server: r.server.clone(),
        detail,
    };
    if b64.len() > MAX_PACKET * 4 / 3 + 4 {
        return Err(malformed(format!("{what} is longer than a datagram")));
    }
    STANDARD
        .decode(b64)
        .map_err(|_| malformed(format!("{what} is not base64")))
}

/// Parses a frame the way the validator needs it.
fn frame<T: FromFrame>(bytes: &[u8]) -> Result<T, String> {
    let mut buf = bytes.to_vec();
    let mut cursor = ParseCursor::new(&mut buf);
    T::from_frame(&mut cursor).map_err(|e| e.to_string())
}

/// Checks one reply against `key`: signatures, Merkle path, version, the recorded fields.
/// Returns the reply's raw bytes (the next nonce is chained from them).
pub fn check_reply(
    index: usize,
    r: &Reply,
    key: &TrustedServer,
    accuracy_us: u64,
) -> Result<(Request, Vec<u8>), EvidenceError> {
    let request_bytes = decode(index, r, "the request", &r.request)?;
    let response_bytes = decode(index, r, "the reply", &r.response)?;
    let invalid = |detail: String| EvidenceError::Invalid {
        index,
        server: r.server.clone(),
        detail,
    };
    let request: Request = frame(&request_bytes).map_err(&invalid)?;
    let response: Response = frame(&response_bytes).map_err(&invalid)?;
    ResponseValidator::new_with_key(key.key())
        .validate(&request_bytes, &response_bytes, &response)
        .map_err(|e| invalid(e.to_string()))?;
    let mis = |field| EvidenceError::Misrecorded {
        index,
        server: r.server.clone(),
        field,
    };
    if response.srep().midp() != r.midpoint_s {
        return Err(mis("midpoint"));
    }
    if response.srep().radi() != r.radius_s {
        return Err(mis("radius"));
    }
    if agreement::offset_us(r.sent_at_us, r.rtt_us, r.midpoint_s) != r.offset_us {
        return Err(mis("offset"));
    }
    let agrees = agreement::agrees(
        r.sent_at_us,
        r.rtt_us,
        r.midpoint_s,
        r.radius_s,
        accuracy_us,
    );
    if agrees != r.agrees {
        return Err(mis("agreement"));
    }
    Ok((request, response_bytes))
}

/// What an offline check of a round found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Checked {
    /// Replies verified under a trusted key.
    pub verified: usize,
    /// Replies under a key the auditor's list does not name: `(server, key)`. They are not
    /// evidence; the round's verdict is re-counted without them.
    pub untrusted: Vec<(String, String)>,
    /// Agreeing replies under trusted keys: whether the round's verdict stands on what the
    /// auditor trusts.
    pub agreeing_trusted: u32,
    /// The last reply's bytes, for the next round's chain.
    pub last_response: Option<Vec<u8>>,
}

impl RoundRecord {
    /// Re-checks the round against the servers an auditor trusts (matched by key, not name:
    /// the node's names are its own). `previous`: the previous round's last reply, when the
    /// check runs over consecutive rounds, so the chain is checked across them too.
    pub fn check(
        &self,
        trusted: &[TrustedServer],
        previous: Option<&[u8]>,
    ) -> Result<Checked, EvidenceError> {
        let mut out = Checked::default();
        let mut prev = previous.map(<[u8]>::to_vec);
        let mut agreeing = 0u32;
        for (index, r) in self.replies.iter().enumerate() {
            let recorded = TrustedServer::new(&r.server, "", &r.public_key).map_err(|_| {
                EvidenceError::Malformed {
                    index,
                    server: r.server.clone(),
                    detail: "the public key is not base64 of 32 bytes".into(),
                }
            })?;
            let (request, response) = check_reply(index, r, &recorded, self.accuracy_us)?;
            if let Some(rand) = &r.rand {
                let rand = decode(index, r, "rand", rand)?;
                // A chain that starts inside the period checked links to a reply not at hand:
                // only links whose both ends are here are checked.
                if let Some(p) = &prev
                    && calculate_chained_nonce(p, &rand).as_ref() != request.nonc().as_ref()
                {
                    return Err(EvidenceError::Unchained {
                        index,
                        server: r.server.clone(),
                    });
                }
            }
            agreeing += u32::from(r.agrees);
            if trusted
                .iter()
                .any(|t| t.key_bytes() == recorded.key_bytes())
            {
                out.verified += 1;
                out.agreeing_trusted += u32::from(r.agrees);
            } else {
                out.untrusted.push((r.server.clone(), r.public_key.clone()));
            }
            prev = Some(response);
        }
        if agreeing != self.agreeing {
            return Err(EvidenceError::Verdict("count of agreeing servers"));
        }
        let expected = if agreeing >= self.min_agreeing {
            "agree"
        } else {
            self.action.as_str()
        };
        if self.verdict != expected {
            return Err(EvidenceError::Verdict("verdict"));
        }
        out.last_response = prev;
        Ok(out)
    }
}
