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
    /// The log: a directory, an export of a fleet's log, or the fleet's postgres:// URL.
    #[arg(value_name = "LOG")]
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
    /// How to reach a postgres:// LOG.
    #[command(flatten)]
    pub db: crate::audit_fleet::DbArgs,
}

fn time(t: &Option<String>, flag: &str) -> Result<Option<SystemTime>, CmdError> {
    t.as_deref()
        .map(|s| {
            humantime::parse_rfc3339_weak(s)
                .map_err(|e| CmdError::usage(format!("--{flag} {s}: {e}")))
        })
        .transpose()
}

/// Writes the report. LOG is a file log, an export of a fleet's log (a file log per node) or
/// the fleet's postgres:// URL (exported to a temporary directory first, as `audit verify`
/// does): a fleet's report covers every node, each node's records read in its own order.
pub fn run(a: &ReportArgs) -> Result<(), CmdError> {
    let (from, to) = (time(&a.from, "from")?, time(&a.to, "to")?);
    let (dirs, _tmp) = match crate::audit_fleet::node_logs(&a.dir, &a.db)? {
        Some((dirs, tmp)) => (dirs, tmp),
        None => (vec![a.dir.clone()], None),
    };
    let fleet = crate::audit_fleet::is_database(&a.dir) || dirs.first() != Some(&a.dir);
    let name = |d: &Path| {
        d.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut summary = Summary::default();
    for dir in &dirs {
        let lines = kokuin_audit::verify::lines(dir)
            .map_err(|e| CmdError::usage(format!("{}: {e}", dir.display())))?;
        for line in lines {
            let line = line.map_err(|e| CmdError::usage(format!("{}: {e}", dir.display())))?;
            if let Ok(text) = line.text
                && let Ok(r) = Record::parse_line(&text)
            {
                summary.add(&r, from, to);
            }
        }
        if fleet {
            summary.end_chain(&name(dir));
        }
    }
    summary.finish();
    let certs = trusted_certs(&a.trust)?;
    let mut sentences = Vec::new();
    let mut heads = Vec::new();
    for dir in &dirs {
        let (sentence, head) = integrity(dir, &certs)?;
        let node = if fleet { name(dir) } else { String::new() };
        let intact = head.is_some();
        if let Some(h) = head {
            heads.push((node.clone(), h));
        }
        if let Some(s) = sentence {
            sentences.push((intact, if fleet { format!("{node}: {s}") } else { s }));
        }
    }
    // Intact only if every chain is.
    let integrity = (!sentences.is_empty()).then(|| {
        let intact = sentences.iter().all(|(i, _)| *i);
        let text: Vec<_> = sentences.into_iter().map(|(_, s)| s).collect();
        (intact, text.join(" "))
    });
    let note = if crate::audit_fleet::is_database(&a.dir) {
        let mut db = crate::audit_fleet::db(&a.dir, &a.db)?;
        kokuin_fleet::integrator::latest_stored_checkpoint(&mut db)
            .map_err(|e| CmdError::usage(e.to_string()))?
    } else if fleet {
        None
    } else {
        Identity::note_in(&a.dir)
    };
    let identity = Identity::of(note, &certs, heads);
    let mut ceremonies = (true, String::new());
    for dir in &dirs {
        let node = if fleet {
            format!("{}: ", name(dir))
        } else {
            String::new()
        };
        match crate::audit_ceremonies::check(dir) {
            Ok(l) => ceremonies
                .1
                .push_str(&format!("{node}{} ", crate::audit_ceremonies::sentence(&l))),
            Err(e) => {
                ceremonies.0 = false;
                ceremonies.1.push_str(&format!("{node}{} ", e.message));
            }
        }
    }
    let log = if fleet {
        format!("{} ({} nodes)", shown(&a.dir), dirs.len())
    } else {
        a.dir.display().to_string()
    };
    let html = render(&summary, &integrity, &ceremonies, &identity, &log, a);
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

/// A LOG as the report shows it: a database URL without anything but user, host and name.
fn shown(log: &Path) -> String {
    let s = log.to_string_lossy();
    match s.split_once('?') {
        Some((url, _)) => url.to_string(),
        None => s.into_owned(),
    }
}

fn trusted_certs(trust: &[PathBuf]) -> Result<Vec<x509_cert::Certificate>, CmdError> {
    let mut certs = Vec::new();
    for t in trust {
        certs.extend(
            kokuin_certs::pem::load_certificates(t).map_err(|e| CmdError::usage(e.to_string()))?,
        );
    }
    Ok(certs)
}

/// The chain verified with the audit key: a sentence and, when intact, its head.
fn integrity(
    dir: &Path,
    certs: &[x509_cert::Certificate],
) -> Result<(Option<String>, Option<String>), CmdError> {
    if certs.is_empty() {
        return Ok((None, None));
    }
    let r = verify_dir(
        dir,
        &TrustedCheckpointCerts(certs.to_vec()),
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
    Ok((Some(sentence), head))
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#111}\
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;overflow-wrap:anywhere;\
text-align:left}td.n{text-align:right}.bad{color:#a00;font-weight:bold}.ok{color:#060}\
svg{display:block;margin:.5em 0;max-width:100%;height:auto}.en{color:#555;font-size:.9em}@media print{body{margin:1cm}h2{break-after:avoid}}";

fn render(
    s: &Summary,
    integrity: &Option<(bool, String)>,
    ceremonies: &(bool, String),
    identity: &Identity,
    log: &str,
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
        html lang="ja" {
            head {
                meta charset="utf-8";
                title { "監査報告書 Kokuin audit report " (period) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "監査報告書 " span.en { "Kokuin audit report" } }
                (identity.render(log))
                p { "対象期間 " span.en { "Period" } " " (period) ": " (s.records) " 件 " span.en { "records" } "。" }
                @match integrity {
                    Some((intact, t)) => p class=(ok(*intact)) { (t) },
                    None => p { "完全性は検証していません（--trust なし）。 " span.en { "Integrity not checked (no " code { "--trust" } ")." } },
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
                @if findings.iter().all(|f| f.0 == 0) && ceremonies.0 && integrity.as_ref().is_none_or(|t| t.0) {
                    p.ok { "所見はありません。 " span.en { "No findings." } }
                } @else {
                    ul {
                        @for (n, ja, en) in findings.iter().filter(|f| f.0 > 0) {
                            li.bad { (n) " " (ja) " " span.en { (n) " " (en) } }
                        }
                        @if !ceremonies.0 {
                            li.bad { "鍵セレモニーの記録が検証できません。 " span.en { (ceremonies.1) } }
                        }
                        @if let Some((_, t)) = integrity.as_ref().filter(|t| !t.0) {
                            li.bad { "ログの完全性が確認できません。 " span.en { (t) } }
                        }
                    }
                }
                h2 { (bi("タイムスタンプトークン", "Time-stamp tokens")) }
                p {
                    "トークン " (s.token_count()) " 件。記録されたが送られなかったトークン（token.failed） " (s.token_failures) " 件。 "
                    span.en {
                        (s.token_count()) " tokens; " (s.token_failures)
                        " recorded tokens that never left (token.failed)."
                    }
                }
                (bars(&s.tokens))
                (per_day_table(&s.tokens, ("ポリシー", "policy"), &s.policy_names))
                h2 { (bi("e シール", "E-seals")) }
                p { "e シール " (s.seal_count()) " 件。 " span.en { (s.seal_count()) " seals." } }
                (per_day_table(&s.seals, ("レベル", "level"), &Default::default()))
                @if s.seals_per_client.is_empty() { (none()) } @else { table {
                    tr { th { (bi("クライアント", "client")) } th { (bi("シール数", "seals")) } }
                    @for (c, n) in &s.seals_per_client {
                        tr { td { (c) } td.n { (n) } }
                    }
                } }
                h2 { (bi("拒否", "Refusals")) }
                @if s.refusals.is_empty() { (none()) } @else { table {
                    tr { th { (bi("事象: 理由", "event: reason")) } th { (bi("件数", "count")) } }
                    @for (r, n) in &s.refusals {
                        tr { td { (r) } td.n { (n) } }
                    }
                } }
                h2 { (bi("信頼できる時刻源", "Trusted clock")) }
                p {
                    "時刻を保証できず発行を拒否した期間 " (s.clock_windows.len()) " 回、時刻の読み取り " (s.clock_readings.len()) " 回。 "
                }
                p.en {
                    (s.clock_windows.len()) " refusal windows (timeNotAvailable). "
                    (s.clock_readings.len()) " clock readings; largest error bound "
                    (worst.map_or("not stated".into(), micros)) " against the declared accuracy of "
                    (accuracy.map_or("(no readings)".into(), micros)) "."
                }
                p class=(ok(s.tokens_in_clock_windows == 0)) {
                    "拒否期間中に記録されたトークン " (s.tokens_in_clock_windows) " 件。 "
                    span.en { (s.tokens_in_clock_windows) " tokens recorded inside a refusal window." }
                }
                p class=(ok(s.tokens_beyond_accuracy == 0)) {
                    "誤差上限が宣言した精度を超えていた間のトークン " (s.tokens_beyond_accuracy) " 件。 "
                    span.en {
                        (s.tokens_beyond_accuracy) " tokens recorded while the clock's error bound \
                        exceeded the declared accuracy."
                    }
                }
                p class=(ok(s.tokens_without_required_sync == 0)) {
                    "時刻同期を必須としない起動中のトークン " (s.tokens_without_required_sync) " 件。 "
                    span.en {
                        (s.tokens_without_required_sync) " tokens recorded while synchronisation was \
                        not required (clock.require_sync = false at the service start)."
                    }
                }
                (clock_chart(s))
                @if s.clock_windows.is_empty() { (none()) } @else { table {
                    tr { th { (bi("開始", "from")) } th { (bi("終了", "to")) } th { (bi("状態", "state")) } th { (bi("理由", "reason")) } }
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
                        tr { th { (bi("時 (UTC)", "hour (UTC)")) } th { (bi("トラック数", "tracks")) } th { (bi("平均差", "mean offset")) } th { (bi("最大 |差|", "largest |offset|")) } th { (bi("警報", "alarm")) } }
                        @for h in &s.traceability {
                            tr {
                                td { (h.hour) }
                                td.n { (h.tracks) }
                                td.n { (format!("{:+.4} ms", h.mean_01ns as f64 / 1e7)) }
                                td.n { (format!("{:.4} ms", h.worst_01ns as f64 / 1e7)) }
                                @if h.alarm { td.bad { "あり yes" } } @else { td { "なし no" } }
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
                        tr { th { (bi("サーバ", "server")) } th { (bi("応答", "replies")) } th { (bi("合意", "agreed")) } th { (bi("無応答の回", "silent rounds")) } th { (bi("平均差", "mean offset")) } th { (bi("最小 – 最大の差", "min – max offset")) } }
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
                            tr { th { (bi("開始", "from")) } th { (bi("終了", "to")) } th { (bi("動作", "action")) } th { (bi("理由", "why")) } }
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
                h2 { (bi("鍵", "Keys")) }
                p {
                    "鍵 " (s.keys.len()) " 個、鍵の状態変更 " (s.key_events.len()) " 件。 "
                    span.en { (s.keys.len()) " keys, " (s.key_events.len()) " lifecycle events." }
                }
                p class=(ok(outside == 0)) {
                    "使用期間外または有効期間外のトークン " (outside) " 件。 "
                    span.en { (outside) " tokens outside their key's usage window or time in force." }
                }
                (key_chart(s))
                @if s.keys.is_empty() { (none()) } @else { table {
                    tr {
                        th { (bi("鍵", "key")) } th { (bi("証明書", "certificate")) } th { (bi("使用期間", "usage window")) } th { (bi("有効期間", "in force")) } th { (bi("トークン数", "tokens")) }
                        th { (bi("最初 – 最後のトークン", "first – last token")) } th { (bi("使用期間外", "outside window")) } th { (bi("有効期間外", "outside in force")) }
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
                    tr { th { (bi("時刻", "time")) } th { (bi("鍵", "key")) } th { (bi("事象", "event")) } }
                    @for e in &s.key_events {
                        tr { td { (e.time) } td { (e.key) } td { (e.event) } }
                    }
                } }
                h2 { (bi("鍵セレモニー", "Key ceremonies")) }
                p class=(ok(ceremonies.0)) { (ceremonies.1) }
                @if s.ceremonies.is_empty() { (none()) } @else { table {
                    tr {
                        th { (bi("時刻", "time")) } th { (bi("セレモニー", "ceremony")) } th { (bi("キーリングの版", "keyring version")) }
                        th { (bi("実施内容", "what was done")) } th { (bi("承認者", "approved by")) }
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
                h2 { (bi("ログ", "Log")) }
                p {
                    "期間中のチェックポイント " (s.checkpoints) " 件、サービス起動 " (s.starts) " 回。 "
                    span.en {
                        (s.checkpoints) " chained checkpoints and " (s.starts)
                        " service starts in the period."
                    }
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

/// A heading or label in Japanese, the English beside it.
fn bi(ja: &str, en: &str) -> Markup {
    html! { (ja) " " span.en { (en) } }
}

/// What an empty table says instead of its header alone.
fn none() -> Markup {
    html! { p.none { "記録はありません。 " span.en { "None recorded in the period." } } }
}

fn per_day_table(
    m: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>>,
    what: (&str, &str),
    names: &std::collections::BTreeMap<String, String>,
) -> Markup {
    if m.is_empty() {
        return none();
    }
    html! {
        table {
            tr { th { (bi("日 (UTC)", "day (UTC)")) } th { (bi(what.0, what.1)) } th { (bi("件数", "count")) } }
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
            db: Default::default(),
        };
        let identity = super::Identity {
            generated: evil.into(),
            audit_keys: vec![(evil.into(), evil.into())],
            heads: vec![(String::new(), evil.into())],
            tree: None,
        };
        let html = super::render(
            &s,
            &Some((false, evil.into())),
            &(false, evil.into()),
            &identity,
            evil,
            &a,
        );
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
