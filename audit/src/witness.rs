//! The witness protocol (c2sp.org/tlog-witness `add-checkpoint`) from the log's side: the
//! request a log sends for a checkpoint, with the consistency proof from the size the witness
//! cosigned last, and what its reply means. The transport (HTTP, a deadline, a size limit on
//! the reply) is the caller's ([`Transport`]): this crate makes no connection.

use crate::cosignature::{self, WitnessKey};
use crate::merkle::{NodeSource, consistency_proof};
use crate::note::TreeCheckpoint;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Sends one `add-checkpoint` body to a witness and returns the reply's status and body.
pub trait Transport {
    /// POSTs `body` to `url`; an error says why no reply came.
    fn post(&self, url: &str, body: &[u8]) -> Result<(u16, String), String>;
}

/// A witness as the log knows it: where to send, the key its cosignatures verify with, and
/// the size it cosigned last for this log.
#[derive(Clone, Debug)]
pub struct Witness {
    /// Its submission prefix; `add-checkpoint` is appended.
    pub url: String,
    /// Its cosignature key.
    pub key: WitnessKey,
    /// The tree size it last cosigned for this log (0: none known yet).
    pub cosigned: u64,
}

impl Witness {
    /// A witness at `url` signing with `key`.
    pub fn new(url: &str, key: WitnessKey) -> Self {
        Self {
            url: url.trim_end_matches('/').to_string(),
            key,
            cosigned: 0,
        }
    }

    /// Asks the witness to cosign `note` (a signed tree checkpoint), proving consistency from
    /// the size it cosigned last with nodes from `tree`; returns its cosignature lines, checked
    /// against its key, and remembers the size. On 409 the witness says which size it cosigned
    /// last, and the request is made again from there once.
    pub fn add_checkpoint(
        &mut self,
        transport: &dyn Transport,
        tree: &dyn Fn() -> Result<Box<dyn NodeSource>, String>,
        note: &str,
    ) -> Result<String, String> {
        let text = note.rfind("\n\n").map_or(note, |i| &note[..=i]);
        let cp = TreeCheckpoint::parse(text).map_err(|e| e.to_string())?;
        let url = format!("{}/add-checkpoint", self.url);
        for _ in 0..2 {
            if self.cosigned > cp.size {
                return Err(format!(
                    "the witness has cosigned {} records, the log has {}",
                    self.cosigned, cp.size
                ));
            }
            let mut body = format!("old {}\n", self.cosigned);
            if self.cosigned > 0 && self.cosigned < cp.size {
                let proof = consistency_proof(tree()?.as_ref(), self.cosigned, cp.size)
                    .map_err(|e| e.to_string())?;
                for h in proof {
                    body.push_str(&STANDARD.encode(h));
                    body.push('\n');
                }
            }
            body.push('\n');
            body.push_str(note);
            let (status, reply) = transport.post(&url, body.as_bytes())?;
            match status {
                200 => {
                    // Checked here, so that the size it cosigned is only believed when it did.
                    cosignature::add(note, &reply, &self.key).map_err(|e| e.to_string())?;
                    self.cosigned = cp.size;
                    return Ok(reply);
                }
                409 => {
                    self.cosigned = reply
                        .trim()
                        .parse()
                        .map_err(|_| format!("{url}: 409 without a size"))?;
                }
                s => return Err(format!("{url}: HTTP {s}: {}", reply.trim())),
            }
        }
        Err("the witness's size kept changing".into())
    }
}
