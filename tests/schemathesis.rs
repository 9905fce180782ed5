//! The published contract against the live server: Schemathesis (an independent OpenAPI
//! tester) drives `kokuin serve --dev` from docs/openapi.yaml — over plain HTTP, over HTTPS
//! with an API token, and over HTTPS with the dev client certificate — with every check it
//! has (the configured exceptions and why: tests/interop/schemathesis.toml and
//! docs/testing.md). Its hooks (tests/interop/schemathesis_hooks.py) send real RFC 3161
//! requests and real seals where the schema can only say "binary". No failure is allowed,
//! and no 5xx at all.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use kokuin_testkit::{REPO, Server, kokuin, python, tempdir, text};
use std::path::{Path, PathBuf};
use std::process::Command;

const TOKEN: &str = "schemathesis-dev-token-0123456789";

fn schemathesis() -> PathBuf {
    let py = PathBuf::from(python());
    let bin = py.parent().unwrap().join("schemathesis");
    assert!(
        bin.exists(),
        "{} is missing: the README's test command installs it (tests/interop/requirements.txt)",
        bin.display()
    );
    bin
}

fn run(label: &str, url: &str, seals: &Path, extra: &[&str]) {
    let interop = format!("{REPO}/tests/interop");
    let o = Command::new(schemathesis())
        .args([
            "--config-file",
            &format!("{interop}/schemathesis.toml"),
            "run",
        ])
        .arg(format!("{REPO}/docs/openapi.yaml"))
        .args(["--url", url, "--checks", "all", "--max-time", "30"])
        // Reproducible in CI: the same cases each run (change the seed to explore).
        .args(["--seed", "20261205", "--no-color"])
        .args(extra)
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .env("PYTHONPATH", &interop)
        .env("KOKUIN_ST_SEALS", seals)
        .output()
        .expect("schemathesis runs");
    let out = text(&o);
    let tail: String = out
        .lines()
        .rev()
        .take(80)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(|l| format!("{}\n", l.chars().take(300).collect::<String>()))
        .collect();
    assert!(
        o.status.success(),
        "{label}: schemathesis found failures:\n{tail}"
    );
    assert!(
        out.contains("Tested: 12"),
        "{label}: every operation tested:\n{tail}"
    );
}

#[test]
fn the_live_server_holds_to_its_openapi_description_over_http_and_https() {
    let d = tempdir();
    let state = d.path().join("state");
    Server::dev(&state).stop();
    // A second e-seal client, by API token, beside the dev client certificate.
    let config = state.join("kokuin.toml");
    let mut toml = std::fs::read_to_string(&config).unwrap();
    let sha = hex::encode(kokuin_hsm::DigestAlgorithm::Sha256.digest(TOKEN.as_bytes()));
    toml.push_str(&format!(
        "\n[[eseal.clients]]\nname = \"schemathesis\"\ntoken_sha256 = \"{sha}\"\nkeys = [\"dev-seal\"]\n"
    ));
    std::fs::write(&config, toml).unwrap();
    let srv = Server::spawn(
        &[
            "serve",
            "--dev",
            "--state-dir",
            state.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
            "--https",
            "127.0.0.1:0",
            "--rate-limit",
            "0",
        ],
        &state,
    );
    let https = srv.https.trim_end_matches("/tsa").to_string();
    let pki = |f: &str| state.join("pki").join(f).to_str().unwrap().to_string();

    // Real seals for the hooks, made by the server under test.
    let seals = d.path().join("seals");
    std::fs::create_dir_all(&seals).unwrap();
    let doc = d.path().join("invoice.xml");
    std::fs::write(&doc, b"<Invoice/>\n").unwrap();
    for level in ["B-B", "B-T", "B-LT"] {
        let out = seals.join(format!("{level}.p7s"));
        let o = kokuin(&[
            "seal",
            doc.to_str().unwrap(),
            "--url",
            &https,
            "--key",
            "dev-seal",
            "--level",
            level,
            "--client-cert",
            &pki("client.pem"),
            "--client-key",
            &pki("client.key"),
            "--ca",
            &pki("root.pem"),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }

    run("HTTP", &srv.base(), &seals, &[]);
    let bearer = format!("Authorization: Bearer {TOKEN}");
    run(
        "HTTPS, API token",
        &https,
        &seals,
        &["-H", &bearer, "--tls-verify", &pki("root.pem")],
    );
    // Mutual TLS sits below HTTP: Schemathesis cannot take the certificate away from one
    // request, so its ignored-authentication check would only see the certificate work.
    run(
        "HTTPS, client certificate",
        &https,
        &seals,
        &[
            "--request-cert",
            &pki("client.pem"),
            "--request-cert-key",
            &pki("client.key"),
            "--tls-verify",
            &pki("root.pem"),
            "--exclude-checks",
            "ignored_auth",
        ],
    );
    srv.stop();
}
