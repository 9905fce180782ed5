//! A verdict printed: the same JSON for tokens and seals (`kokuin_eseal::verdict::Verdict`),
//! or the human lines of the one that was checked.

use crate::cmd_error::CmdError;
use kokuin_eseal::verdict::Verdict;

/// Prints what was found: with `--json` the verdict (a failure too: judged or bad input),
/// otherwise the human lines of a success (a failure is the command's error message).
pub fn report<T>(
    result: &Result<T, CmdError>,
    json: bool,
    verdict: impl Fn(&T) -> Verdict,
    human: impl Fn(&T),
) {
    match (result, json) {
        (Ok(v), true) => out!("{}", verdict(v).to_json()),
        (Err(e), true) => out!(
            "{}",
            Verdict {
                error: Some(e.message.clone()),
                bad_input: Some(e.code == 2),
                ..Verdict::default()
            }
            .to_json()
        ),
        (Ok(v), false) => human(v),
        (Err(_), false) => {}
    }
}
