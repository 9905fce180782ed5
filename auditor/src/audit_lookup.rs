//! Finding a token's records in a log by serial, for `audit find` and `audit prove`.

use crate::cmd_error::CmdError;
use kokuin_audit::{Record, kind};
use std::path::Path;

/// The token.issued records with this serial (hex, leading zeros ignored): their index in
/// the log and their line, at most `limit` of them. The log is read a bounded line at a time;
/// lines that are not records are skipped (`audit verify` reports them).
pub fn token_records(
    dir: &Path,
    serial: &str,
    limit: usize,
) -> Result<Vec<(u64, String)>, CmdError> {
    let want = serial.trim().trim_start_matches("0x").to_ascii_lowercase();
    let want = want.trim_start_matches('0');
    let lines = kokuin_audit::verify::lines(dir)
        .map_err(|e| CmdError::usage(format!("{}: {e}", dir.display())))?;
    let mut out = Vec::new();
    for line in lines {
        let line = line.map_err(|e| CmdError::usage(format!("{}: {e}", dir.display())))?;
        let Ok(text) = line.text else { continue };
        let Ok(r) = Record::parse_line(&text) else {
            continue;
        };
        let hit = r.kind == kind::TOKEN_ISSUED
            && r.fields
                .get("serial")
                .and_then(|v| v.as_str())
                .is_some_and(|s| s.trim_start_matches('0') == want);
        if hit {
            out.push((line.index, text));
            if out.len() >= limit {
                break;
            }
        }
    }
    if out.is_empty() {
        return Err(CmdError::negative(format!(
            "no token with serial {serial} in {}",
            dir.display()
        )));
    }
    Ok(out)
}
