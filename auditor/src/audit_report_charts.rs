//! The audit report's inline SVG charts, written here rather than with a chart library: three
//! small charts, no script, nothing fetched, and they print.

use html_escape::encode_text as esc;
use kokuin_audit::report::Summary;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::SystemTime;

const WIDTH: f64 = 800.0;
const LEFT: f64 = 120.0;

fn secs(t: &str) -> Option<f64> {
    humantime::parse_rfc3339(t)
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
}

/// The period's axis: record time → x.
struct Axis {
    t0: f64,
    t1: f64,
}

impl Axis {
    fn of(s: &Summary) -> Option<Self> {
        let t0 = secs(s.first.as_deref()?)?;
        let t1 = secs(s.last.as_deref()?)?.max(t0 + 1.0);
        Some(Self { t0, t1 })
    }

    /// x of `t`, clamped to the period.
    fn x(&self, t: f64) -> f64 {
        LEFT + (t.clamp(self.t0, self.t1) - self.t0) / (self.t1 - self.t0) * WIDTH
    }

    fn labels(&self, y: f64) -> String {
        let d = |t: f64| {
            humantime::format_rfc3339_seconds(
                SystemTime::UNIX_EPOCH + std::time::Duration::from_secs_f64(t.max(0.0)),
            )
            .to_string()
        };
        format!(
            "<text x=\"{LEFT}\" y=\"{y}\" font-size=\"10\">{}</text>\
             <text x=\"{}\" y=\"{y}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
            d(self.t0),
            LEFT + WIDTH,
            d(self.t1)
        )
    }
}

/// Tokens per day as bars.
pub fn bars(m: &BTreeMap<String, BTreeMap<String, u64>>) -> String {
    let days: Vec<(&String, u64)> = m.iter().map(|(d, p)| (d, p.values().sum())).collect();
    let max = days.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let (w, hgt) = (24usize, 120u64);
    let mut s = format!(
        "<svg role=\"img\" aria-label=\"tokens per day\" width=\"{}\" height=\"{}\">",
        days.len() * w + 10,
        hgt + 20
    );
    for (i, (day, n)) in days.iter().enumerate() {
        let bh = n * hgt / max;
        let _ = write!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{bh}\" fill=\"#36c\"><title>{}: {n}</title></rect>",
            i * w + 5,
            hgt - bh,
            w - 4,
            esc(day)
        );
    }
    s.push_str("</svg>");
    s
}

/// The clock's error bound over the period against the declared accuracy (dashed), with
/// every refusal window shaded red and readings without a bound marked at the top.
pub fn clock_chart(s: &Summary) -> String {
    let Some(axis) = Axis::of(s) else {
        return String::new();
    };
    let (top, height) = (10.0, 140.0);
    let accuracy = s
        .clock_readings
        .iter()
        .map(|p| p.accuracy_us)
        .max()
        .unwrap_or(0);
    let worst = s
        .clock_readings
        .iter()
        .filter_map(|p| p.max_error_us)
        .max()
        .unwrap_or(0);
    let ymax = (accuracy.max(worst) as f64 * 1.15).max(1.0);
    let y = |us: u64| top + height - us as f64 / ymax * height;
    let mut h = format!(
        "<svg role=\"img\" aria-label=\"the clock's error bound over time, the declared accuracy \
         and the refusal windows\" width=\"{}\" height=\"{}\">\
         <rect x=\"{LEFT}\" y=\"{top}\" width=\"{WIDTH}\" height=\"{height}\" fill=\"none\" stroke=\"#ccc\"/>",
        LEFT + WIDTH + 10.0,
        top + height + 30.0
    );
    for w in &s.clock_windows {
        let a = secs(&w.from).unwrap_or(axis.t0);
        let b = w.to.as_deref().and_then(secs).unwrap_or(axis.t1);
        let _ = write!(
            h,
            "<rect x=\"{:.1}\" y=\"{top}\" width=\"{:.1}\" height=\"{height}\" fill=\"#f4c7c3\">\
             <title>refused: {} ({} – {})</title></rect>",
            axis.x(a),
            (axis.x(b) - axis.x(a)).max(2.0),
            esc(&w.state),
            esc(&w.from),
            esc(w.to.as_deref().unwrap_or("end"))
        );
    }
    if accuracy > 0 {
        let _ = write!(
            h,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#c33\" stroke-dasharray=\"6 4\"/>\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">accuracy {:.0} ms</text>",
            LEFT + WIDTH,
            y(accuracy),
            y(accuracy),
            LEFT - 4.0,
            y(accuracy) + 3.0,
            accuracy as f64 / 1000.0
        );
    }
    let points: Vec<String> = s
        .clock_readings
        .iter()
        .filter_map(|p| {
            Some(format!(
                "{:.1},{:.1}",
                axis.x(secs(&p.time)?),
                y(p.max_error_us?)
            ))
        })
        .collect();
    let _ = write!(
        h,
        "<polyline fill=\"none\" stroke=\"#36c\" stroke-width=\"1.5\" points=\"{}\"/>",
        points.join(" ")
    );
    for p in s.clock_readings.iter().filter(|p| p.max_error_us.is_none()) {
        if let Some(t) = secs(&p.time) {
            let _ = write!(
                h,
                "<circle cx=\"{:.1}\" cy=\"{top}\" r=\"3\" fill=\"#c33\"><title>{}: no error bound</title></circle>",
                axis.x(t),
                esc(&p.time)
            );
        }
    }
    let _ = write!(
        h,
        "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">0</text>{}</svg>",
        LEFT - 4.0,
        top + height,
        axis.labels(top + height + 14.0)
    );
    h
}

/// One row per key: its usage window (light), its time in force (dark) and the span of the
/// tokens it signed (a line with end marks, red when any token fell outside).
pub fn key_chart(s: &Summary) -> String {
    let Some(axis) = Axis::of(s) else {
        return String::new();
    };
    let row = 26.0;
    let mut h = format!(
        "<svg role=\"img\" aria-label=\"each key's usage window, time in force and tokens\" \
         width=\"{}\" height=\"{}\">",
        LEFT + WIDTH + 10.0,
        row * s.keys.len() as f64 + 24.0
    );
    for (i, (name, k)) in s.keys.iter().enumerate() {
        let y = i as f64 * row + 4.0;
        let _ = write!(
            h,
            "<text x=\"{}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
            LEFT - 4.0,
            y + 13.0,
            esc(&name.chars().take(14).collect::<String>())
        );
        let from = k.usage_from.as_deref().and_then(secs);
        let until = k.usage_until.as_deref().and_then(secs);
        if let (Some(a), Some(b)) = (from, until) {
            let _ = write!(
                h,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"18\" fill=\"#dfe9f7\">\
                 <title>usage window {} – {}</title></rect>",
                axis.x(a),
                (axis.x(b) - axis.x(a)).max(1.0),
                esc(k.usage_from.as_deref().unwrap_or("")),
                esc(k.usage_until.as_deref().unwrap_or(""))
            );
        }
        for w in &k.in_force {
            let a = secs(&w.from).unwrap_or(axis.t0);
            let b = w.to.as_deref().and_then(secs).unwrap_or(axis.t1);
            let _ = write!(
                h,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"10\" fill=\"#36c\">\
                 <title>in force for {}</title></rect>",
                axis.x(a),
                y + 4.0,
                (axis.x(b) - axis.x(a)).max(1.0),
                esc(&w.policy)
            );
        }
        if let (Some(a), Some(b)) = (
            k.first_token.as_deref().and_then(secs),
            k.last_token.as_deref().and_then(secs),
        ) {
            let colour = if k.outside_usage + k.outside_in_force == 0 {
                "#063"
            } else {
                "#c00"
            };
            let (xa, xb) = (axis.x(a), axis.x(b));
            let _ = write!(
                h,
                "<g stroke=\"{colour}\" stroke-width=\"2\"><title>{} tokens</title>\
                 <line x1=\"{xa:.1}\" x2=\"{xb:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>\
                 <line x1=\"{xa:.1}\" x2=\"{xa:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>\
                 <line x1=\"{xb:.1}\" x2=\"{xb:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/></g>",
                k.tokens,
                y + 9.0,
                y + 9.0,
                y + 2.0,
                y + 16.0,
                y + 2.0,
                y + 16.0
            );
        }
    }
    let _ = write!(h, "{}</svg>", axis.labels(row * s.keys.len() as f64 + 18.0));
    h
}
