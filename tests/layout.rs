//! The crate layout's rules (docs/layout.md), read from `cargo tree`: the auditor's tools link
//! no server, and the audit log's crate depends on no other Kokuin crate.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use std::process::Command;

/// The packages `package` links (normal dependencies, build and dev left out), one name each.
fn linked(package: &str) -> Vec<String> {
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let o = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        o.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    let mut names: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_auditors_tools_link_no_server() {
    for package in ["kokuin-auditor", "kokuin-ceremony", "kokuin-audit-keys"] {
        let names = linked(package);
        assert!(names.iter().any(|n| n == package), "{package}: {names:?}");
        for banned in ["kokuin-server", "hyper", "hyper-util", "kokuin-client"] {
            assert!(
                !names.iter().any(|n| n == banned),
                "{package} links {banned}"
            );
        }
    }
}

#[test]
fn the_audit_log_depends_on_no_other_kokuin_crate() {
    let names = linked("kokuin-audit");
    let kokuin: Vec<_> = names.iter().filter(|n| n.starts_with("kokuin")).collect();
    assert_eq!(kokuin, ["kokuin-audit"]);
}
