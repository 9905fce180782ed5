//! The Roughtime rounds a log records (`clock.roughtime`), re-checked for `audit verify
//! --roughtime-servers LIST`: every reply's signatures and Merkle path under the key recorded
//! for it, every link of the nonce chain (across consecutive rounds too), every recorded
//! midpoint, offset, agreement and verdict — and each key matched against the RFC 10049 server
//! list the auditor trusts. Without a list, the rounds are counted, not vouched for.

use crate::cmd_error::CmdError;
use kokuin_audit::kind;
use kokuin_roughtime::{RoundRecord, TrustedServer};
use std::collections::BTreeSet;
use std::path::Path;

/// What the rounds of a log came to.
#[derive(Debug, Default)]
pub struct Rounds {
    /// `clock.roughtime` records.
    pub rounds: u64,
    /// Rounds whose verdict refused tokens.
    pub refusing: u64,
    /// Malfeasance reports recorded.
    pub malfeasance: u64,
    /// With a list: replies verified under a trusted key.
    pub verified: u64,
    /// With a list: servers (name, key) whose key it does not name.
    pub untrusted: BTreeSet<(String, String)>,
    /// With a list: rounds that said "agree" on fewer trusted servers than they needed.
    pub agreed_on_untrusted: u64,
    /// Whether a list was given.
    pub checked: bool,
}

/// Reads the log's rounds; with `trusted`, re-checks each (the error is the first that does
/// not hold: exit 1).
pub fn check(dir: &Path, trusted: Option<&[TrustedServer]>) -> Result<Rounds, CmdError> {
    let mut out = Rounds {
        checked: trusted.is_some(),
        ..Rounds::default()
    };
    let mut previous: Option<Vec<u8>> = None;
    crate::log_records::each_record(dir, |r| {
        if r.kind == kind::SERVICE_START {
            // A restarted node starts a new chain.
            previous = None;
        }
        if r.kind != kind::CLOCK_ROUGHTIME {
            return Ok(());
        }
        let bad = |e: String| {
            CmdError::negative(format!(
                "NOT VALID: a Roughtime round does not hold (record {}): {e}",
                r.seq
            ))
        };
        let round: RoundRecord = serde_json::to_value(&r.fields)
            .and_then(serde_json::from_value)
            .map_err(|e| bad(format!("not a round record: {e}")))?;
        out.rounds += 1;
        out.refusing += u64::from(round.verdict == "refuse");
        out.malfeasance += u64::from(round.malfeasance.is_some());
        if let Some(trusted) = trusted {
            let c = round
                .check(trusted, previous.as_deref())
                .map_err(|e| bad(e.to_string()))?;
            out.verified += c.verified as u64;
            out.untrusted.extend(c.untrusted);
            if round.verdict == "agree" && c.agreeing_trusted < round.min_agreeing {
                out.agreed_on_untrusted += 1;
            }
            previous = c.last_response;
        }
        Ok(())
    })?;
    Ok(out)
}

/// Reads the auditor's server list.
pub fn trusted(list: &Path) -> Result<Vec<TrustedServer>, CmdError> {
    kokuin_roughtime::servers::read_list(list)
        .map_err(|e| CmdError::usage(format!("--roughtime-servers: {e}")))
}

/// Sentences on the rounds: what was checked, and each finding.
pub fn sentences(r: &Rounds) -> Vec<String> {
    if r.rounds == 0 {
        return vec!["no Roughtime round recorded".into()];
    }
    let mut out = vec![format!(
        "{} Roughtime rounds ({} refusing, {} malfeasance reports){}",
        r.rounds,
        r.refusing,
        r.malfeasance,
        if r.checked {
            format!(
                "; {} replies re-verified offline under the servers you trust, every nonce \
                 chained",
                r.verified
            )
        } else {
            "; not re-verified: name the servers you trust with --roughtime-servers LIST".into()
        }
    )];
    for (name, key) in &r.untrusted {
        out.push(format!(
            "finding: replies from \"{name}\" are signed by {key}, a key your server list does \
             not name: they are not evidence"
        ));
    }
    if r.agreed_on_untrusted > 0 {
        out.push(format!(
            "finding: {} rounds agreed only with the help of servers your list does not name",
            r.agreed_on_untrusted
        ));
    }
    out
}

/// Whether the rounds leave a finding.
pub fn has_findings(r: &Rounds) -> bool {
    !r.untrusted.is_empty() || r.agreed_on_untrusted > 0
}
