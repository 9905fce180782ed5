//! The deployment files we publish hold for the tools that run them: HAProxy's own check of
//! deploy/haproxy.cfg, and systemd's of the node unit (with its ExecStart pointed at the
//! binary built here, since /usr/bin/kokuin is not installed on the test machine).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_testkit::{kokuin_exe, run, tempdir, text};

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");

#[test]
fn haproxy_accepts_the_published_configuration() {
    let o = run("haproxy", &["-c", "-f", &format!("{DEPLOY}/haproxy.cfg")]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("Configuration file is valid"),
        "{}",
        text(&o)
    );
}

#[test]
fn systemd_accepts_the_node_unit() {
    let d = tempdir();
    let unit = std::fs::read_to_string(format!("{DEPLOY}/kokuin-node@.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/kokuin serve"), "{unit}");
    let path = d.path().join("kokuin-node@.service");
    std::fs::write(&path, unit.replace("/usr/bin/kokuin", kokuin_exe())).unwrap();
    let o = run("systemd-analyze", &["verify", path.to_str().unwrap()]);
    assert!(
        o.status.success() && text(&o).trim().is_empty(),
        "{}",
        text(&o)
    );
}
