//! `kokuin audit report LOG [--trust AUDIT.pem] [--from T] [--to T] -o report.html`: one
//! self-contained HTML file (inline SVG and CSS, no script, no network, prints on A4) of a
//! period of the log for the accreditation assessor, every figure recomputed from the records
//! (`kokuin_audit::report`). The figures are also embedded as JSON
//! (`<script type="application/json" id="kokuin-report-data">`) so that they can be checked
//! by a program.

use crate::audit_report_charts::{bars, clock_chart, key_chart};
use crate::cmd_error::CmdError;
use html_escape::encode_text as esc;
use kokuin_audit::Record;
use kokuin_audit::report::Summary;
use kokuin_audit::verify::verify_dir;
use kokuin_audit_keys::TrustedCheckpointCerts;
use std::fmt::Write as _;
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
    let integrity = integrity(&a.dir, &a.trust)?;
    let ceremonies = match crate::audit_ceremonies::check(&a.dir) {
        Ok(l) => (true, crate::audit_ceremonies::sentence(&l)),
        Err(e) => (false, e.message),
    };
    let html = render(&summary, &integrity, &ceremonies, a);
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

/// The chain and checkpoints verified, as a sentence; `None` without --trust.
fn integrity(dir: &Path, trust: &[PathBuf]) -> Result<Option<String>, CmdError> {
    if trust.is_empty() {
        return Ok(None);
    }
    let mut certs = Vec::new();
    for t in trust {
        certs.extend(
            kokuin_certs::pem::load_certificates(t).map_err(|e| CmdError::usage(e.to_string()))?,
        );
    }
    let r = verify_dir(dir, &TrustedCheckpointCerts(certs), None, &mut |_| {})
        .map_err(|e| CmdError::usage(format!("{}: {e}", dir.display())))?;
    Ok(Some(match r.problem {
        None => format!(
            "Intact: {} records chained, {} checkpoints verified with the audit key.",
            r.records, r.checkpoints
        ),
        Some(f) => format!(
            "DAMAGED at record {} ({}): {}",
            f.index,
            f.damage.name(),
            f.detail
        ),
    }))
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#111}\
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;overflow-wrap:anywhere;\
text-align:left}td.n{text-align:right}.bad{color:#a00;font-weight:bold}.ok{color:#060}\
svg{display:block;margin:.5em 0}@media print{body{margin:1cm}h2{break-after:avoid}}";

fn render(
    s: &Summary,
    integrity: &Option<String>,
    ceremonies: &(bool, String),
    a: &ReportArgs,
) -> String {
    let mut h = String::new();
    let period = format!(
        "{} – {}",
        a.from.clone().or(s.first.clone()).unwrap_or_default(),
        a.to.clone().or(s.last.clone()).unwrap_or_default()
    );
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Kokuin audit report {p}</title><style>{STYLE}</style></head><body>\
         <h1>Kokuin audit report</h1><p>Log <code>{dir}</code>, period {p}: {n} records.</p>",
        p = esc(&period),
        dir = esc(&a.dir.display().to_string()),
        n = s.records
    );
    match integrity {
        Some(t) if t.starts_with("Intact") => {
            let _ = write!(h, "<p class=\"ok\">{}</p>", esc(t));
        }
        Some(t) => {
            let _ = write!(h, "<p class=\"bad\">{}</p>", esc(t));
        }
        None => h.push_str("<p>Integrity not checked (no <code>--trust</code>).</p>"),
    }
    let _ = write!(
        h,
        "<h2>Time-stamp tokens</h2><p>{} tokens; {} recorded tokens that never left \
         (token.failed).</p>",
        s.token_count(),
        s.token_failures
    );
    h.push_str(&bars(&s.tokens));
    h.push_str(&per_day_table(&s.tokens, "policy"));
    let _ = write!(h, "<h2>E-seals</h2><p>{} seals.</p>", s.seal_count());
    h.push_str(&per_day_table(&s.seals, "level"));
    h.push_str("<table><tr><th>client</th><th>seals</th></tr>");
    for (c, n) in &s.seals_per_client {
        let _ = write!(h, "<tr><td>{}</td><td class=\"n\">{n}</td></tr>", esc(c));
    }
    h.push_str("</table><h2>Refusals</h2><table><tr><th>event: reason</th><th>count</th></tr>");
    for (r, n) in &s.refusals {
        let _ = write!(h, "<tr><td>{}</td><td class=\"n\">{n}</td></tr>", esc(r));
    }
    let worst = s.clock_readings.iter().filter_map(|p| p.max_error_us).max();
    let accuracy = s.clock_readings.last().map(|p| p.accuracy_us);
    let _ = write!(
        h,
        "</table><h2>Trusted clock</h2><p>{} refusal windows (timeNotAvailable). {} clock \
         readings; largest error bound {} against the declared accuracy of {}.</p>",
        s.clock_windows.len(),
        s.clock_readings.len(),
        worst.map_or("not stated".into(), micros),
        accuracy.map_or("(no readings)".into(), micros),
    );
    let _ = write!(
        h,
        "<p class=\"{}\">{} tokens recorded inside a refusal window.</p>",
        if s.tokens_in_clock_windows == 0 {
            "ok"
        } else {
            "bad"
        },
        s.tokens_in_clock_windows
    );
    h.push_str(&clock_chart(s));
    h.push_str("<table><tr><th>from</th><th>to</th><th>state</th><th>reason</th></tr>");
    for w in &s.clock_windows {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"bad\">{}</td><td>{}</td></tr>",
            esc(&w.from),
            esc(w.to.as_deref().unwrap_or("(after the period)")),
            esc(&w.state),
            esc(&w.reason)
        );
    }
    let outside: u64 = s
        .keys
        .values()
        .map(|k| k.outside_usage + k.outside_in_force)
        .sum();
    let _ = write!(
        h,
        "</table><h2>Keys</h2><p>{} keys, {} lifecycle events.</p><p class=\"{}\">{} tokens \
         outside their key's usage window or time in force.</p>",
        s.keys.len(),
        s.key_events.len(),
        if outside == 0 { "ok" } else { "bad" },
        outside
    );
    h.push_str(&key_chart(s));
    h.push_str(
        "<table><tr><th>key</th><th>usage window</th><th>in force</th><th>tokens</th>\
         <th>first – last token</th><th>outside window</th><th>outside in force</th></tr>",
    );
    for (name, k) in &s.keys {
        let spans: Vec<String> = k
            .in_force
            .iter()
            .map(|w| {
                format!(
                    "{} – {} ({})",
                    w.from,
                    w.to.as_deref().unwrap_or("end"),
                    w.policy
                )
            })
            .collect();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{} – {}</td><td>{}</td><td class=\"n\">{}</td><td>{} – {}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(name),
            esc(k.usage_from.as_deref().unwrap_or("?")),
            esc(k.usage_until.as_deref().unwrap_or("?")),
            esc(&spans.join("; ")),
            k.tokens,
            esc(k.first_token.as_deref().unwrap_or("")),
            esc(k.last_token.as_deref().unwrap_or("")),
            k.outside_usage,
            k.outside_in_force
        );
    }
    h.push_str("</table><table><tr><th>time</th><th>key</th><th>event</th></tr>");
    for e in &s.key_events {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&e.time),
            esc(&e.key),
            esc(&e.event)
        );
    }
    let _ = write!(
        h,
        "</table><h2>Key ceremonies</h2><p class=\"{}\">{}</p><table><tr><th>time</th>\
         <th>ceremony</th><th>keyring version</th><th>what was done</th><th>approved by</th></tr>",
        if ceremonies.0 { "ok" } else { "bad" },
        esc(&ceremonies.1)
    );
    for c in &s.ceremonies {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{} → {}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.time),
            esc(&c.id),
            c.from_version,
            c.from_version + 1,
            esc(&c.operations),
            esc(&c.approved_by)
        );
    }
    let _ = write!(
        h,
        "</table><h2>Log</h2><p>{} chained checkpoints and {} service starts in the period.</p>",
        s.checkpoints, s.starts
    );
    let data = script_safe(&serde_json::to_string(s).unwrap_or_default());
    let _ = write!(
        h,
        "<script type=\"application/json\" id=\"kokuin-report-data\">{data}</script></body></html>"
    );
    h
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

fn per_day_table(
    m: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>>,
    what: &str,
) -> String {
    let mut h = format!("<table><tr><th>day (UTC)</th><th>{what}</th><th>count</th></tr>");
    for (day, per) in m {
        for (k, n) in per {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{n}</td></tr>",
                esc(day),
                esc(k)
            );
        }
    }
    h.push_str("</table>");
    h
}

#[cfg(test)]
mod tests {
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
