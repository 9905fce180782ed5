//! `kokuin.toml` errors name the key that is wrong, as a TOML path.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_server::config::Config;

const GOOD: &str = r#"
[tsa]
node_id = 1
serial_state = "state/serial"
policies = [{ oid = "2.25.1", name = "p" }]
[tsa.key]
backend = "software"
path = "k.pem"
certificate = "c.pem"
[audit]
dir = "audit"
checkpoint_key = "a.key"
checkpoint_certificate = "a.pem"
"#;

#[test]
fn errors_name_the_key() {
    assert!(Config::parse(GOOD).is_ok());
    let bad = GOOD.replace("node_id = 1", "node_id = \"one\"");
    assert_eq!(Config::parse(&bad).unwrap_err().0, "tsa.node_id");
    let bad = GOOD.replace("oid = \"2.25.1\"", "oid = \"x\"");
    assert_eq!(Config::parse(&bad).unwrap_err().0, "tsa.policies[0].oid");
    let bad = GOOD.replace("[tsa.key]", "[tsa.key]\ncolour = 1");
    assert!(Config::parse(&bad).unwrap_err().0.starts_with("tsa.key"));
    let bad = format!("[server]\nhttps = [\"127.0.0.1:1\"]\n{GOOD}");
    assert_eq!(Config::parse(&bad).unwrap_err().0, "server.https");
    let bad = format!("[server]\nhttp = [\"nowhere\"]\n{GOOD}");
    assert_eq!(Config::parse(&bad).unwrap_err().0, "server.http[0]");
}
