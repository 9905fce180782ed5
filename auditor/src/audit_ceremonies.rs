//! The key ceremonies a log records, re-checked for `audit verify` and `audit report`
//! (`kokuin_ceremony::in_log`): each approval against the officers in force at that
//! point of the log.

use crate::cmd_error::CmdError;
use kokuin_audit::kind;
use kokuin_ceremony::in_log::InLog;
use std::path::Path;

/// The log's ceremonies, checked; the error is the first that does not hold (exit 1).
pub fn check(dir: &Path) -> Result<InLog, CmdError> {
    let mut log = InLog::default();
    crate::log_records::each_record(dir, |r| {
        if r.kind == kind::CEREMONY {
            log.add(&r.fields).map_err(|e| {
                CmdError::negative(format!(
                    "NOT VALID: a key ceremony does not hold (record {}): {e}",
                    r.seq
                ))
            })?;
        }
        Ok(())
    })?;
    Ok(log)
}

/// One sentence on the log's ceremonies.
pub fn sentence(log: &InLog) -> String {
    match &log.pin {
        None => "no key ceremony recorded (the keyring is not under dual control)".into(),
        Some(pin) => format!(
            "{} key ceremonies, every approval valid and by the officers in force; first \
             officers and quorum {pin} (compare with tsa.officers)",
            log.ceremonies
        ),
    }
}
