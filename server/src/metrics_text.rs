//! The Prometheus text exposition format (version 0.0.4), made from the OpenMetrics text the
//! `prometheus-client` crate writes: what Prometheus scrapes by default and `promtool check
//! metrics` reads. Written here because the crate writes OpenMetrics only. The two differ, for
//! what Kokuin exports, in three things: a counter's family is named with its `_total`
//! (`# HELP x_total`, `# TYPE x_total counter`), there are no `# UNIT` lines, and there is no
//! `# EOF`.

/// The Prometheus text of `openmetrics`.
pub fn prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        // A counter's creation time is OpenMetrics only.
        if line
            .split(['{', ' '])
            .next()
            .and_then(|n| n.strip_suffix("_created"))
            .is_some_and(|n| counters.contains(n))
        {
            continue;
        }
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn counters_are_named_with_total_and_openmetrics_only_lines_go() {
        let om = "# HELP kokuin_requests Requests answered.\n# TYPE kokuin_requests counter\n\
                  kokuin_requests_total{status=\"200\"} 5\nkokuin_requests_created 1.5\n\
                  # HELP kokuin_ready 1 when ready.\n# TYPE kokuin_ready gauge\n# UNIT kokuin_ready x\n\
                  kokuin_ready 1\n# EOF\n";
        assert_eq!(
            super::prometheus_text(om),
            "# HELP kokuin_requests_total Requests answered.\n# TYPE kokuin_requests_total counter\n\
             kokuin_requests_total{status=\"200\"} 5\n\
             # HELP kokuin_ready 1 when ready.\n# TYPE kokuin_ready gauge\nkokuin_ready 1\n"
        );
    }
}
