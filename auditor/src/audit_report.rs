//! `kokuin audit report LOG [--trust AUDIT.pem] [--from T] [--to T] -o report.html`: one
//! self-contained HTML file (inline SVG and CSS, no script, no network, prints on A4) of a
//! period of the log for the accreditation assessor, every figure recomputed from the records
//! (`kokuin_audit::report`). The figures are also embedded as JSON
//! (`<script type="application/json" id="kokuin-report-data">`) so that they can be checked
//! by a program. The HTML comes from `maud`, which escapes every value it is given: the log's
//! fields are whatever a node wrote, and must stay text.

use crate::audit_report_charts::{bars, clock_chart, key_chart, traceability_chart};
use crate::audit_report_identity::Identity;
use crate::cmd_error::CmdError;
use kokuin_audit::Record;
use kokuin_audit::report::Summary;
use kokuin_audit::verify::verify_dir;
use kokuin_audit_keys::TrustedCheckpointCerts;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What `kokuin audit report` is asked.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// The log's directory.
    pub dir: PathBuf,
    /// Certificate(s) of the audit key: the chain and checkpoints are verified and the
    /// result stated in the report.
    #[arg(long)]
    pub trust: Vec<PathBuf>,
    /// The period's start (RFC 3339); default: the first record.
    #[arg(long)]
    pub from: Option<String>,
    /// The period's end (RFC 3339); default: the last record.
    #[arg(long)]
    pub to: Option<String>,
    /// Where to write the report.
    #[arg(short, long)]
    pub out: PathBuf,
}

fn time(t: &Option<String>, flag: &str) -> Result<Option<SystemTime>, CmdError> {
    t.as_deref()
        .map(|s| {
            humantime::parse_rfc3339_weak(s)
                .map_err(|e| CmdError::usage(format!("--{flag} {s}: {e}")))
        })
        .transpose()
}

/// Writes the report.
pub fn run(a: &ReportArgs) -> Result<(), CmdError> {
    let (from, to) = (time(&a.from, "from")?, time(&a.to, "to")?);
    let mut summary = Summary::default();
    let lines = kokuin_audit::verify::lines(&a.dir)
        .map_err(|e| CmdError::usage(format!("{}: {e}", a.dir.display())))?;
    for line in lines {
        let line = line.map_err(|e| CmdError::usage(format!("{}: {e}", a.dir.display())))?;
        if let Ok(text) = line.text
            && let Ok(r) = Record::parse_line(&text)
        {
            summary.add(&r, from, to);
        }
    }
    let (integrity, head, certs) = integrity(&a.dir, &a.trust)?;
    let identity = Identity::of(&a.dir, &certs, head);
    let ceremonies = match crate::audit_ceremonies::check(&a.dir) {
        Ok(l) => (true, crate::audit_ceremonies::sentence(&l)),
        Err(e) => (false, e.message),
    };
    let html = render(&summary, &integrity, &ceremonies, &identity, a);
    std::fs::write(&a.out, html)
        .map_err(|e| CmdError::usage(format!("cannot write {}: {e}", a.out.display())))?;
    out!(
        "{}: {} records, {} tokens, {} seals, {} clock refusal windows, {} key events",
        a.out.display(),
        summary.records,
        summary.token_count(),
        summary.seal_count(),
        summary.clock_windows.len(),
        summary.key_events.len()
    );
    Ok(())
}

/// The chain and checkpoints verified, as a sentence (`None` without --trust), the chain's
/// head when it verified, and the certificates given.
type Integrity = (Option<String>, Option<String>, Vec<x509_cert::Certificate>);

fn integrity(dir: &Path, trust: &[PathBuf]) -> Result<Integrity, CmdError> {
    if trust.is_empty() {
        return Ok((None, None, Vec::new()));
    }
    let mut certs = Vec::new();
    for t in trust {
        certs.extend(
            kokuin_certs::pem::load_certificates(t).map_err(|e| CmdError::usage(e.to_string()))?,
        );
    }
    let r = verify_dir(
        dir,
        &TrustedCheckpointCerts(certs.clone()),
        None,
        &mut |_| {},
    )
    .map_err(|e| CmdError::usage(format!("{}: {e}", dir.display())))?;
    let head = r.problem.is_none().then(|| r.head.clone());
    let sentence = match r.problem {
        None => format!(
            "Intact: {} records chained, {} checkpoints verified with the audit key.",
            r.records, r.checkpoints
        ),
        Some(f) if !f.damage.proves_damage() => format!(
            "Not verified: record {} ({}): {}. Give the audit key's certificate with --trust.",
            f.index,
            f.damage.name(),
            f.detail
        ),
        Some(f) => format!(
            "DAMAGED at record {} ({}): {}",
            f.index,
            f.damage.name(),
            f.detail
        ),
    };
    Ok((Some(sentence), head, certs))
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#111}\
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;overflow-wrap:anywhere;\
text-align:left}td.n{text-align:right}.bad{color:#a00;font-weight:bold}.ok{color:#060}\
svg{display:block;margin:.5em 0;max-width:100%;height:auto}.en{color:#555;font-size:.9em}@media print{body{margin:1cm}h2{break-after:avoid}}";

fn render(
    s: &Summary,
    integrity: &Option<String>,
    ceremonies: &(bool, String),
    identity: &Identity,
    a: &ReportArgs,
) -> String {
    let period = format!(
        "{} – {}",
        a.from.clone().or(s.first.clone()).unwrap_or_default(),
        a.to.clone().or(s.last.clone()).unwrap_or_default()
    );
    let ok = |good: bool| if good { "ok" } else { "bad" };
    let worst = s.clock_readings.iter().filter_map(|p| p.max_error_us).max();
    let accuracy = s.clock_readings.last().map(|p| p.accuracy_us);
    let outside: u64 = s
        .keys
        .values()
        .map(|k| k.outside_usage + k.outside_in_force)
        .sum();
    // Strings, numbers and maps of them: serialising the summary cannot fail.
    let data = script_safe(&serde_json::to_string(s).unwrap_or_default());
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Kokuin audit report " (period) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "監査報告書 " span.en { "Kokuin audit report" } }
                (identity.render(&a.dir))
                p { "対象期間 " span.en { "Period" } " " (period) ": " (s.records) " records." }
                @match integrity {
                    Some(t) => p class=(ok(t.starts_with("Intact"))) { (t) },
                    None => p { "Integrity not checked (no " code { "--trust" } ")." },
                }
                // Findings first: what an assessor must look at, each with its count.
                h2 { "所見 " span.en { "Findings" } }
                @let findings = [
                    (s.tokens_in_clock_windows, "時刻を保証できない間に記録されたトークン", "tokens recorded inside a clock refusal window"),
                    (s.tokens_beyond_accuracy, "時刻の誤差上限が宣言した精度を超えていた間のトークン", "tokens recorded while the clock's error bound exceeded the declared accuracy"),
                    (s.tokens_without_required_sync, "時刻同期を必須としていない起動中のトークン", "tokens recorded while synchronisation was not required (clock.require_sync = false)"),
                    (outside, "鍵の使用期間外または有効でない鍵によるトークン", "tokens outside their key's usage window or time in force"),
                    (s.traceability_alarms, "基準時計が UTC(NICT) から警報閾値を超えて離れていた時間", "hours in which the reference clock was farther from UTC(NICT) than the alarm threshold"),
                    (s.roughtime_malfeasance, "Roughtime サーバが互いに矛盾した記録（不正報告）", "Roughtime malfeasance reports: servers whose signed times contradict each other"),
                    (s.roughtime_windows.len() as u64, "Roughtime サーバの合意が足りなかった期間", "periods in which too few Roughtime servers agreed with the clock"),
                ];
                @if findings.iter().all(|f| f.0 == 0) && ceremonies.0 && integrity.as_ref().is_none_or(|t| t.starts_with("Intact")) {
                    p.ok { "所見はありません。 " span.en { "No findings." } }
                } @else {
                    ul {
                        @for (n, ja, en) in findings.iter().filter(|f| f.0 > 0) {
                            li.bad { (n) " " (ja) " " span.en { (n) " " (en) } }
                        }
                        @if !ceremonies.0 {
                            li.bad { "鍵セレモニーの記録が検証できません。 " span.en { (ceremonies.1) } }
                        }
                        @if let Some(t) = integrity.as_ref().filter(|t| !t.starts_with("Intact")) {
                            li.bad { "ログの完全性が確認できません。 " span.en { (t) } }
                        }
                    }
                }
                h2 { "Time-stamp tokens" }
                p {
                    (s.token_count()) " tokens; " (s.token_failures)
                    " recorded tokens that never left (token.failed)."
                }
                (bars(&s.tokens))
                (per_day_table(&s.tokens, "policy", &s.policy_names))
                h2 { "E-seals" }
                p { (s.seal_count()) " seals." }
                (per_day_table(&s.seals, "level", &Default::default()))
                @if s.seals_per_client.is_empty() { (none()) } @else { table {
                    tr { th { "client" } th { "seals" } }
                    @for (c, n) in &s.seals_per_client {
                        tr { td { (c) } td.n { (n) } }
                    }
                } }
                h2 { "Refusals" }
                @if s.refusals.is_empty() { (none()) } @else { table {
                    tr { th { "event: reason" } th { "count" } }
                    @for (r, n) in &s.refusals {
                        tr { td { (r) } td.n { (n) } }
                    }
                } }
                h2 { "Trusted clock" }
                p {
                    (s.clock_windows.len()) " refusal windows (timeNotAvailable). "
                    (s.clock_readings.len()) " clock readings; largest error bound "
                    (worst.map_or("not stated".into(), micros)) " against the declared accuracy of "
                    (accuracy.map_or("(no readings)".into(), micros)) "."
                }
                p class=(ok(s.tokens_in_clock_windows == 0)) {
                    (s.tokens_in_clock_windows) " tokens recorded inside a refusal window."
                }
                p class=(ok(s.tokens_beyond_accuracy == 0)) {
                    (s.tokens_beyond_accuracy) " tokens recorded while the clock's error bound \
                    exceeded the declared accuracy."
                }
                p class=(ok(s.tokens_without_required_sync == 0)) {
                    (s.tokens_without_required_sync) " tokens recorded while synchronisation was \
                    not required (clock.require_sync = false at the service start)."
                }
                (clock_chart(s))
                @if s.clock_windows.is_empty() { (none()) } @else { table {
                    tr { th { "from" } th { "to" } th { "state" } th { "reason" } }
                    @for w in &s.clock_windows {
                        tr {
                            td { (w.from) }
                            td { (w.to.as_deref().unwrap_or("(after the period)")) }
                            td.bad { (w.state) }
                            td { (w.reason) }
                        }
                    }
                } }
                h2 { "UTC(NICT) へのトレーサビリティ " span.en { "Traceability to UTC(NICT)" } }
                @if s.traceability.is_empty() {
                    (none())
                } @else {
                    p {
                        "GNSS コモンビューによる基準時計と UTC(NICT) の差（1 時間ごと）。 "
                        span.en { "The reference clock minus UTC(NICT) by GNSS common view, hour by hour; the token's ±1 s is 1000 ms." }
                    }
                    (traceability_chart(s))
                    table {
                        tr { th { "hour (UTC)" } th { "tracks" } th { "mean offset" } th { "largest |offset|" } th { "alarm" } }
                        @for h in &s.traceability {
                            tr {
                                td { (h.hour) }
                                td.n { (h.tracks) }
                                td.n { (format!("{:+.4} ms", h.mean_01ns as f64 / 1e7)) }
                                td.n { (format!("{:.4} ms", h.worst_01ns as f64 / 1e7)) }
                                @if h.alarm { td.bad { "yes" } } @else { td { "no" } }
                            }
                        }
                    }
                }
                h2 { "Roughtime による時刻の確認 " span.en { "Roughtime second opinion" } }
                @if s.roughtime_rounds == 0 {
                    (none())
                } @else {
                    p {
                        "署名付きの Roughtime 応答と時計の差（秒単位の大きな誤りを検出します。±1 秒の証明は UTC(NICT) へのトレーサビリティによります）。 "
                        span.en {
                            (s.roughtime_rounds) " rounds. Each server's signed time minus this clock: Roughtime bounds gross errors (whole seconds); the ±1 s is shown by the traceability above. "
                            "Re-verify the replies offline with " code { "kokuin audit verify --roughtime-servers LIST" } "."
                        }
                    }
                    table {
                        tr { th { "server" } th { "replies" } th { "agreed" } th { "silent rounds" } th { "mean offset" } th { "min – max offset" } }
                        @for (name, r) in &s.roughtime {
                            tr {
                                td { (name) }
                                td.n { (r.replies) }
                                td.n class=(ok(r.agreeing == r.replies)) { (r.agreeing) }
                                td.n { (r.silent) }
                                td.n { (format!("{:+.3} s", r.mean_us() as f64 / 1e6)) }
                                td.n { (format!("{:+.3} – {:+.3} s", r.min_us as f64 / 1e6, r.max_us as f64 / 1e6)) }
                            }
                        }
                    }
                    @if s.roughtime_windows.is_empty() {
                        p.ok { "合意が足りなかった期間はありません。 " span.en { "Enough servers agreed in every round." } }
                    } @else {
                        table {
                            tr { th { "from" } th { "to" } th { "action" } th { "why" } }
                            @for w in &s.roughtime_windows {
                                tr {
                                    td { (w.from) }
                                    td { (w.to.as_deref().unwrap_or("(after the period)")) }
                                    td.bad { (w.state) }
                                    td { (w.reason) }
                                }
                            }
                        }
                    }
                }
                h2 { "Keys" }
                p { (s.keys.len()) " keys, " (s.key_events.len()) " lifecycle events." }
                p class=(ok(outside == 0)) {
                    (outside) " tokens outside their key's usage window or time in force."
                }
                (key_chart(s))
                @if s.keys.is_empty() { (none()) } @else { table {
                    tr {
                        th { "key" } th { "certificate" } th { "usage window" } th { "in force" } th { "tokens" }
                        th { "first – last token" } th { "outside window" } th { "outside in force" }
                    }
                    @for (name, k) in &s.keys {
                        tr {
                            td { (name) }
                            td {
                                (k.certificate.as_deref().unwrap_or("not recorded"))
                                @if let Some(serial) = &k.certificate_serial { br; "serial " code { (serial) } }
                                @match k.attested {
                                    Some(true) => { br; span.ok { "HSM-attested" } }
                                    Some(false) => { br; "not attested (software key or no attestation)" }
                                    None => {}
                                }
                            }
                            td {
                                (k.usage_from.as_deref().unwrap_or("?")) " – "
                                (k.usage_until.as_deref().unwrap_or("?"))
                            }
                            td {
                                @for (i, w) in k.in_force.iter().enumerate() {
                                    @if i > 0 { "; " }
                                    (w.from) " – " (w.to.as_deref().unwrap_or("end")) " ("
                                    (s.policy_names.get(&w.policy).map_or(w.policy.as_str(), String::as_str)) ")"
                                }
                            }
                            td.n { (k.tokens) }
                            td {
                                (k.first_token.as_deref().unwrap_or("")) " – "
                                (k.last_token.as_deref().unwrap_or(""))
                            }
                            td.n { (k.outside_usage) }
                            td.n { (k.outside_in_force) }
                        }
                    }
                } }
                @if s.key_events.is_empty() { (none()) } @else { table {
                    tr { th { "time" } th { "key" } th { "event" } }
                    @for e in &s.key_events {
                        tr { td { (e.time) } td { (e.key) } td { (e.event) } }
                    }
                } }
                h2 { "Key ceremonies" }
                p class=(ok(ceremonies.0)) { (ceremonies.1) }
                @if s.ceremonies.is_empty() { (none()) } @else { table {
                    tr {
                        th { "time" } th { "ceremony" } th { "keyring version" }
                        th { "what was done" } th { "approved by" }
                    }
                    @for c in &s.ceremonies {
                        tr {
                            td { (c.time) }
                            td { (c.id) }
                            td.n { (c.from_version) " → " (c.from_version + 1) }
                            td { (c.operations) }
                            td { (c.approved_by) }
                        }
                    }
                } }
                h2 { "Log" }
                p {
                    (s.checkpoints) " chained checkpoints and " (s.starts)
                    " service starts in the period."
                }
                // Raw: JSON is not HTML, and script_safe leaves no `<`, `>` or `&` in it.
                script type="application/json" id="kokuin-report-data" { (PreEscaped(data)) }
            }
        }
    }
    .into_string()
}

/// JSON that stays data inside `<script>` whatever the log's fields hold: `<`, `>` and `&`
/// as JSON escapes, so no `</script>`, `<!--` or `<script` can end or change the element
/// (JSON parsers read the escapes back as the same characters).
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn micros(us: u64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}

/// What an empty table says instead of its header alone.
fn none() -> Markup {
    html! { p.none { "記録はありません。 " span.en { "None recorded in the period." } } }
}

fn per_day_table(
    m: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>>,
    what: &str,
    names: &std::collections::BTreeMap<String, String>,
) -> Markup {
    if m.is_empty() {
        return none();
    }
    html! {
        table {
            tr { th { "day (UTC)" } th { (what) } th { "count" } }
            @for (day, per) in m {
                @for (k, n) in per {
                    tr {
                        td { (day) }
                        td {
                            @if let Some(name) = names.get(k) { (name) " " span.en { "(" (k) ")" } } @else { (k) }
                        }
                        td.n { (n) }
                    }
                }
            }
        }
    }
}
#[cfg(test)]
mod tests {
    #[test]
    fn every_field_of_the_log_is_text_in_the_report() {
        let evil = "<img src=x onerror=alert(1)></table>";
        let mut s = kokuin_audit::report::Summary::default();
        s.refusals.insert(evil.into(), 1);
        s.seals_per_client.insert(evil.into(), 2);
        let a = super::ReportArgs {
            dir: evil.into(),
            trust: Vec::new(),
            from: Some(evil.into()),
            to: None,
            out: "unused".into(),
        };
        let identity = super::Identity {
            generated: evil.into(),
            audit_keys: vec![(evil.into(), evil.into())],
            head: Some(evil.into()),
            tree: None,
        };
        let html = super::render(&s, &Some(evil.into()), &(false, evil.into()), &identity, &a);
        assert!(!html.contains("<img"), "{html}");
        assert_eq!(
            html.matches("&lt;img src=x onerror=alert(1)&gt;").count(),
            13,
            "{html}"
        );
    }

    #[test]
    fn the_data_block_is_safe_for_any_content() {
        let json = serde_json::json!({ "reason": "<!--<script>alert(1)</script>&" }).to_string();
        let safe = super::script_safe(&json);
        assert!(
            !safe.contains('<') && !safe.contains('>') && !safe.contains('&'),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["reason"], "<!--<script>alert(1)</script>&");
    }
}
