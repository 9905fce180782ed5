//! The audit report's identity header: which log, which audit key, which build made it and
//! when, and the newest signed tree checkpoint — so that a printed report can be matched to
//! the log and the key it speaks of.

use kokuin_audit::note::TreeCheckpoint;
use kokuin_audit_keys::{TrustedCheckpointCerts, cert_id};
use maud::{Markup, html};
use std::path::Path;
use std::time::SystemTime;
use x509_cert::Certificate;

/// What the header says.
pub struct Identity {
    /// When the report was made (UTC, RFC 3339).
    pub generated: String,
    /// The audit key certificates given (`--trust`): subject and SHA-256.
    pub audit_keys: Vec<(String, String)>,
    /// Each chain's head, when it was verified: (node, head); one unnamed chain for a file log.
    pub heads: Vec<(String, String)>,
    /// The newest tree checkpoint: size, root (base64), and whether its signature verified.
    pub tree: Option<(u64, String, Option<bool>)>,
}

impl Identity {
    /// The newest tree checkpoint a file log keeps beside its segments.
    pub fn note_in(dir: &Path) -> Option<String> {
        // Bounded, regular files only: the log directory is not trusted to hold a note.
        kokuin_certs::file::read_bounded(
            &dir.join(kokuin_audit::segment::TREE_CHECKPOINT_FILE),
            64 * 1024,
        )
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
    }

    /// What the header says, from the newest tree checkpoint (a file log's, or a fleet's from
    /// its database), the certificates and the verified chain's head.
    pub fn of(note: Option<String>, certs: &[Certificate], heads: Vec<(String, String)>) -> Self {
        let tree = note.and_then(|note| {
            let text = note.rfind("\n\n").map_or(note.as_str(), |i| &note[..=i]);
            let cp = TreeCheckpoint::parse(text).ok()?;
            let verified = (!certs.is_empty()).then(|| {
                kokuin_audit::note::verify(&note, &TrustedCheckpointCerts(certs.to_vec())).is_ok()
            });
            Some((cp.size, base64_of(&cp.root), verified))
        });
        Self {
            generated: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            audit_keys: certs
                .iter()
                .map(|c| {
                    (
                        kokuin_certs::path::subject_of(c),
                        cert_id(c).unwrap_or_else(|_| "(cannot be encoded)".into()),
                    )
                })
                .collect(),
            heads,
            tree,
        }
    }

    /// The header as a table.
    pub fn render(&self, log: &str) -> Markup {
        html! {
            table.identity {
                tr { th { "ログ " span.en { "Log" } } td { code { (log) } } }
                tr {
                    th { "作成日時 " span.en { "Generated" } }
                    td { (self.generated) " (kokuin " (env!("CARGO_PKG_VERSION")) ")" }
                }
                @if self.audit_keys.is_empty() {
                    tr { th { "監査鍵 " span.en { "Audit key" } } td.bad { "not given (--trust): nothing verified" } }
                }
                @for (subject, sha) in &self.audit_keys {
                    tr { th { "監査鍵 " span.en { "Audit key" } } td { (subject) br; "SHA-256 " code { (sha) } } }
                }
                @for (node, h) in &self.heads {
                    tr {
                        th { "チェーンの先頭 " span.en { "Chain head" } @if !node.is_empty() { " (" (node) ")" } }
                        td { code { (h) } }
                    }
                }
                @match &self.tree {
                    Some((size, root, verified)) => tr {
                        th { "最新の木チェックポイント " span.en { "Latest tree checkpoint" } }
                        td {
                            (size) " records, root " code { (root) }
                            @match verified {
                                Some(true) => span.ok { " — signature verified" },
                                Some(false) => span.bad { " — signature does NOT verify" },
                                None => " — signature not checked",
                            }
                        }
                    },
                    None => tr { th { "最新の木チェックポイント " span.en { "Latest tree checkpoint" } } td { "none" } },
                }
            }
        }
    }
}

fn base64_of(h: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(h)
}
