//! `kokuin serve --check-config` / `kokuin config check`: a configuration checked as a start
//! would check it, before a restart, writing nothing; every failure named, exit 2.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_testkit::{Server, kokuin, tempdir, text};

fn listing(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64)> {
    let mut out = Vec::new();
    for e in walk(dir) {
        let m = std::fs::metadata(&e).unwrap();
        out.push((e, m.len()));
    }
    out.sort();
    out
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_configuration_is_checked_as_a_start_would_check_it_writing_nothing() {
    let d = tempdir();
    let state = d.path().join("state");
    Server::dev(&state).stop();
    let config = state.join("kokuin.toml");
    let c = config.to_str().unwrap();

    let before = listing(&state);
    // `serve --check-config` is the same check as `config check`.
    let o = kokuin(&["serve", "--check-config", c]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for what in [
        "ok    configuration",
        "ok    keyring: version",
        "ok    audit key",
        "ok    HTTPS",
    ] {
        assert!(text(&o).contains(what), "{what}: {}", text(&o));
    }
    assert_eq!(listing(&state), before, "config check wrote nothing");

    // A keyring changed by hand: not followed by a start, so not passed by the check.
    let ring = state.join("state/keyring.toml");
    let original = std::fs::read_to_string(&ring).unwrap();
    std::fs::write(&ring, original.replacen("version = ", "version = 9", 1)).unwrap();
    let o = kokuin(&["config", "check", "--config", c]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("FAIL  keyring"), "{}", text(&o));
    std::fs::write(&ring, original).unwrap();

    // A key's certificate gone: that key fails, the rest is still checked.
    std::fs::remove_file(state.join("pki/tsu.pem")).unwrap();
    let o = kokuin(&["config", "check", "--config", c]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("FAIL  key for"), "{}", text(&o));
    assert!(text(&o).contains("ok    audit key"), "{}", text(&o));

    // Not a configuration at all: cannot be checked (exit 2), the key named.
    std::fs::write(&config, "[tsa]\nnode_id = \"x\"\n").unwrap();
    let o = kokuin(&["config", "check", "--config", c]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("tsa.node_id"), "{}", text(&o));
}
