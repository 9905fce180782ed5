//! A log's records, one at a time, for the checks that read a verified chain again (key
//! ceremonies, Roughtime rounds): lines that are not records were reported as damage by the
//! chain's verification and are skipped here.

use crate::cmd_error::CmdError;
use kokuin_audit::Record;
use std::path::Path;

/// Calls `f` with every record of the log at `dir`, in order, until it fails.
pub fn each_record(
    dir: &Path,
    mut f: impl FnMut(Record) -> Result<(), CmdError>,
) -> Result<(), CmdError> {
    let lines = kokuin_audit::verify::lines(dir)
        .map_err(|e| CmdError::usage(format!("{}: {e}", dir.display())))?;
    for line in lines {
        let line = line.map_err(|e| CmdError::usage(format!("{}: {e}", dir.display())))?;
        let Ok(text) = line.text else { continue };
        if let Ok(r) = Record::parse_line(&text) {
            f(r)?;
        }
    }
    Ok(())
}
