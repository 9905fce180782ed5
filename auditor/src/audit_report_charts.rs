//! The audit report's inline SVG charts, written here rather than with a chart library: three
//! small charts, no script, nothing fetched, and they print: each has a viewBox, so the
//! report's style shrinks it to the page (930 px wide on screen, an A4 column on paper).
//! Markup from `maud`, which escapes every value it is given.

use kokuin_audit::report::Summary;
use maud::{Markup, html};
use std::collections::BTreeMap;
use std::time::SystemTime;

const WIDTH: f64 = 800.0;
const LEFT: f64 = 120.0;

fn secs(t: &str) -> Option<f64> {
    humantime::parse_rfc3339(t)
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
}

/// One decimal, as SVG coordinates are written.
fn f1(v: f64) -> String {
    format!("{v:.1}")
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

    fn labels(&self, y: f64) -> Markup {
        let d = |t: f64| {
            humantime::format_rfc3339_seconds(
                SystemTime::UNIX_EPOCH + std::time::Duration::from_secs_f64(t.max(0.0)),
            )
            .to_string()
        };
        html! {
            text x=(LEFT) y=(y) font-size="10" { (d(self.t0)) }
            text x=(LEFT + WIDTH) y=(y) font-size="10" text-anchor="end" { (d(self.t1)) }
        }
    }
}

/// Tokens per day as bars.
pub fn bars(m: &BTreeMap<String, BTreeMap<String, u64>>) -> Markup {
    let days: Vec<(&String, u64)> = m.iter().map(|(d, p)| (d, p.values().sum())).collect();
    if days.is_empty() {
        return html! {};
    }
    let max = days.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let (w, hgt) = (24usize, 120u64);
    html! {
        svg role="img" aria-label="tokens per day" width=(days.len() * w + 10) height=(hgt + 20)
            viewBox=(format!("0 0 {} {}", days.len() * w + 10, hgt + 20)) {
            @for (i, (day, n)) in days.iter().enumerate() {
                @let bh = n * hgt / max;
                rect x=(i * w + 5) y=(hgt - bh) width=(w - 4) height=(bh) fill="#36c" {
                    title { (day) ": " (n) }
                }
            }
        }
    }
}

/// The clock's error bound over the period against the declared accuracy (dashed), with
/// every refusal window shaded red and readings without a bound marked at the top.
pub fn clock_chart(s: &Summary) -> Markup {
    let Some(axis) = Axis::of(s).filter(|_| !s.clock_readings.is_empty()) else {
        return html! {};
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
    html! {
        svg role="img"
            aria-label="the clock's error bound over time, the declared accuracy and the refusal windows"
            width=(LEFT + WIDTH + 10.0) height=(top + height + 30.0)
            viewBox=(format!("0 0 {} {}", LEFT + WIDTH + 10.0, top + height + 30.0)) {
            rect x=(LEFT) y=(top) width=(WIDTH) height=(height) fill="none" stroke="#ccc" {}
            @for w in &s.clock_windows {
                @let a = axis.x(secs(&w.from).unwrap_or(axis.t0));
                @let b = axis.x(w.to.as_deref().and_then(secs).unwrap_or(axis.t1));
                rect x=(f1(a)) y=(top) width=(f1((b - a).max(2.0))) height=(height) fill="#f4c7c3" {
                    title {
                        "refused: " (w.state) " (" (w.from) " – " (w.to.as_deref().unwrap_or("end")) ")"
                    }
                }
            }
            @if accuracy > 0 {
                line x1=(LEFT) x2=(LEFT + WIDTH) y1=(f1(y(accuracy))) y2=(f1(y(accuracy)))
                    stroke="#c33" stroke-dasharray="6 4" {}
                text x=(LEFT - 4.0) y=(f1(y(accuracy) + 3.0)) font-size="10" text-anchor="end" {
                    "accuracy " (format!("{:.0}", accuracy as f64 / 1000.0)) " ms"
                }
            }
            polyline fill="none" stroke="#36c" stroke-width="1.5" points=(points.join(" ")) {}
            @for p in s.clock_readings.iter().filter(|p| p.max_error_us.is_none()) {
                @if let Some(t) = secs(&p.time) {
                    circle cx=(f1(axis.x(t))) cy=(top) r="3" fill="#c33" {
                        title { (p.time) ": no error bound" }
                    }
                }
            }
            text x=(LEFT - 4.0) y=(top + height) font-size="10" text-anchor="end" { "0" }
            (axis.labels(top + height + 14.0))
        }
    }
}

/// One row per key: its usage window (light), its time in force (dark) and the span of the
/// tokens it signed (a line with end marks, red when any token fell outside).
pub fn key_chart(s: &Summary) -> Markup {
    let Some(axis) = Axis::of(s) else {
        return html! {};
    };
    let row = 26.0;
    let rows = row * s.keys.len() as f64;
    html! {
        svg role="img" aria-label="each key's usage window, time in force and tokens"
            width=(LEFT + WIDTH + 10.0) height=(rows + 24.0)
            viewBox=(format!("0 0 {} {}", LEFT + WIDTH + 10.0, rows + 24.0)) {
            @for (i, (name, k)) in s.keys.iter().enumerate() {
                @let y = i as f64 * row + 4.0;
                text x=(LEFT - 4.0) y=(f1(y + 13.0)) font-size="10" text-anchor="end" {
                    (name.chars().take(14).collect::<String>())
                }
                @if let (Some(a), Some(b)) = (
                    k.usage_from.as_deref().and_then(secs),
                    k.usage_until.as_deref().and_then(secs),
                ) {
                    rect x=(f1(axis.x(a))) y=(f1(y)) width=(f1((axis.x(b) - axis.x(a)).max(1.0)))
                        height="18" fill="#dfe9f7" {
                        title {
                            "usage window " (k.usage_from.as_deref().unwrap_or(""))
                            " – " (k.usage_until.as_deref().unwrap_or(""))
                        }
                    }
                }
                @for w in &k.in_force {
                    @let a = axis.x(secs(&w.from).unwrap_or(axis.t0));
                    @let b = axis.x(w.to.as_deref().and_then(secs).unwrap_or(axis.t1));
                    rect x=(f1(a)) y=(f1(y + 4.0)) width=(f1((b - a).max(1.0))) height="10" fill="#36c" {
                        title { "in force for " (w.policy) }
                    }
                }
                @if let (Some(a), Some(b)) = (
                    k.first_token.as_deref().and_then(secs),
                    k.last_token.as_deref().and_then(secs),
                ) {
                    @let colour = if k.outside_usage + k.outside_in_force == 0 { "#063" } else { "#c00" };
                    @let (xa, xb) = (f1(axis.x(a)), f1(axis.x(b)));
                    g stroke=(colour) stroke-width="2" {
                        title { (k.tokens) " tokens" }
                        line x1=(xa) x2=(xb) y1=(f1(y + 9.0)) y2=(f1(y + 9.0)) {}
                        line x1=(xa) x2=(xa) y1=(f1(y + 2.0)) y2=(f1(y + 16.0)) {}
                        line x1=(xb) x2=(xb) y1=(f1(y + 2.0)) y2=(f1(y + 16.0)) {}
                    }
                }
            }
            (axis.labels(rows + 18.0))
        }
    }
}

/// The reference clock's offset to UTC(NICT) hour by hour (`clock.traceability`), as bars
/// around zero on a scale that always shows the token's ±1 s (dashed), so that 300 ms reads as
/// what it is beside the limit; alarmed hours in red.
pub fn traceability_chart(s: &Summary) -> Markup {
    if s.traceability.is_empty() {
        return html! {};
    }
    let (top, height) = (10.0, 160.0);
    let mid = top + height / 2.0;
    // ±1 s, or the largest offset if beyond (then the limit lines sit inside).
    let worst = s
        .traceability
        .iter()
        .map(|h| h.worst_01ns as f64 / 1e10)
        .fold(1.0_f64, f64::max)
        * 1.1;
    let y = |secs: f64| mid - secs / worst * (height / 2.0);
    let n = s.traceability.len() as f64;
    let w = (WIDTH / n).min(24.0);
    html! {
        svg role="img" aria-label="the reference clock minus UTC(NICT), hour by hour, against ±1 s"
            width=(LEFT + WIDTH + 10.0) height=(top + height + 30.0)
            viewBox=(format!("0 0 {} {}", LEFT + WIDTH + 10.0, top + height + 30.0)) {
            rect x=(LEFT) y=(top) width=(WIDTH) height=(height) fill="none" stroke="#ccc" {}
            line x1=(LEFT) x2=(LEFT + WIDTH) y1=(f1(mid)) y2=(f1(mid)) stroke="#999" {}
            @for (limit, label) in [(1.0, "+1 s"), (-1.0, "−1 s")] {
                line x1=(LEFT) x2=(LEFT + WIDTH) y1=(f1(y(limit))) y2=(f1(y(limit)))
                    stroke="#c33" stroke-dasharray="6 4" {}
                text x=(LEFT - 4.0) y=(f1(y(limit) + 3.0)) font-size="10" text-anchor="end" { (label) }
            }
            text x=(LEFT - 4.0) y=(f1(mid + 3.0)) font-size="10" text-anchor="end" { "0" }
            @for (i, h) in s.traceability.iter().enumerate() {
                @let v = h.mean_01ns as f64 / 1e10;
                @let (a, b) = (y(v.max(0.0)), y(v.min(0.0)));
                rect x=(f1(LEFT + i as f64 * w + 1.0)) y=(f1(a)) width=(f1((w - 2.0).max(1.0)))
                    height=(f1((b - a).max(1.0))) fill=(if h.alarm { "#c00" } else { "#36c" }) {
                    title { (h.hour) ": " (format!("{:+.4} ms", h.mean_01ns as f64 / 1e7)) }
                }
            }
            text x=(LEFT) y=(top + height + 14.0) font-size="10" { (s.traceability[0].hour) }
            text x=(LEFT + WIDTH) y=(top + height + 14.0) font-size="10" text-anchor="end" {
                (s.traceability[s.traceability.len() - 1].hour)
            }
        }
    }
}
