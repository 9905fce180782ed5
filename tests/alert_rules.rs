//! The alert rules we publish (deploy/prometheus/kokuin-alerts.yml) hold for the tool that runs
//! them: `promtool check rules`, and `promtool test rules` on series where each alert must fire,
//! and not before its time.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_testkit::{run, text};

#[test]
fn the_alert_rules_load_and_fire_as_written() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/prometheus");
    let o = run(
        "promtool",
        &["check", "rules", &format!("{dir}/kokuin-alerts.yml")],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("16 rules found"), "{}", text(&o));
    let o = run(
        "promtool",
        &["test", "rules", &format!("{dir}/kokuin-alerts.test.yml")],
    );
    assert!(o.status.success(), "{}", text(&o));
}
