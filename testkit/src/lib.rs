//! Shared by the end-to-end tests (`tests/`) and the conformance suite (`conformance/`): a
//! real `kokuin serve` process, HTTP helpers, and the independent tools (openssl, Python) run
//! as subprocesses. A missing tool fails the test: nothing here is skipped.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a surprise fails the test

pub mod audit_key;
pub mod ceremony;
mod exe;
pub mod fleet;
mod http;
pub mod pdf;
pub mod postgres;
pub mod roughtime;
mod server;

pub use exe::kokuin_exe;
pub use http::{Reply, agent, get, get_accepting, post, try_get, tsa_post};
pub use server::Server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's root, where `tests/interop/` and `target/` are.
pub const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
/// The dev server's default (classical) policy.
pub const DEV_POLICY: &str = "2.25.184732620371192929406940453947404583605";
/// The dev server's ML-DSA-65 policy (server/src/dev.rs).
pub const DEV_MLDSA_POLICY: &str = "2.25.326785163420712602118702155330699147300";
/// The dev server's composite ML-DSA-65 + ECDSA P-256 policy.
pub const DEV_COMPOSITE_POLICY: &str = "2.25.338155222319321120337837938249247044349";

/// Runs a command; panics with its output if it cannot be started.
pub fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {cmd} (is it installed? the README's test command installs it): {e}")
    })
}

/// A command's stdout and stderr, as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The Python with the interop packages: the venv `scripts/test-all` makes, else python3.
pub fn python() -> String {
    std::env::var("KOKUIN_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// `kokuin ARGS`, run to completion.
pub fn kokuin(args: &[&str]) -> Output {
    run(kokuin_exe(), args)
}

/// `kokuin ARGS`, which must end by itself within `limit`: a command that would block (on a
/// FIFO, say) is killed and the test fails saying so, instead of hanging the suite.
pub fn kokuin_within(args: &[&str], limit: std::time::Duration) -> Output {
    let mut child = Command::new(kokuin_exe())
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let end = std::time::Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kokuin {args:?} did not end within {limit:?}: it blocked");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// `kokuin request DATA --url URL --cert-req -o TSR` (also writes the .tsq beside it); the
/// request must be granted.
pub fn request_token(url: &str, data: &Path, tsr: &Path) {
    let o = kokuin(&[
        "request",
        data.to_str().unwrap(),
        "--url",
        url,
        "--cert-req",
        "-o",
        tsr.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

/// `kokuin verify TSR --data DATA --trust ROOT [--request TSQ] --json`, which must succeed.
pub fn verify_json(tsr: &Path, data: &Path, root: &Path, tsq: Option<&Path>) -> serde_json::Value {
    let mut args = vec![
        "verify",
        tsr.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ];
    args.extend(["--trust", root.to_str().unwrap(), "--json"]);
    if let Some(q) = tsq {
        args.extend(["--request", q.to_str().unwrap()]);
    }
    let o = kokuin(&args);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// SoftHSM2, as Debian installs it (the README's test command does).
pub const SOFTHSM2: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// kryoptic, as scripts/build-kryoptic builds it (the README's test command runs that).
pub fn kryoptic() -> String {
    std::env::var("KOKUIN_KRYOPTIC_MODULE")
        .unwrap_or_else(|_| format!("{REPO}/target/kryoptic/release/libkryoptic_pkcs11.so"))
}

/// `kokuin serve --dev --pkcs11-module MODULE` on `state`: the dev keys in a fresh token.
pub fn serve_with_module(state: &Path, module: &str) -> Server {
    assert!(
        Path::new(module).exists(),
        "PKCS #11 module {module} is missing (the README's test command installs SoftHSM2 and \
         builds kryoptic)"
    );
    Server::spawn(
        &[
            "serve",
            "--dev",
            "--state-dir",
            state.to_str().unwrap(),
            "--pkcs11-module",
            module,
            "--http",
            "127.0.0.1:0",
        ],
        state,
    )
}

/// `kokuin keys ARGS --config STATE/kokuin.toml`, with the dev tokens' storage in the
/// environment as the server has it (each module reads only its own variable).
pub fn dev_keys(state: &Path, args: &[&str]) -> Output {
    Command::new(kokuin_exe())
        .arg("keys")
        .args(args)
        .args(["--config", state.join("kokuin.toml").to_str().unwrap()])
        .env("SOFTHSM2_CONF", state.join("hsm/softhsm2.conf"))
        .env("KRYOPTIC_CONF", state.join("hsm/kryoptic.conf"))
        .output()
        .unwrap()
}

/// A free loopback port (bound and released: for a server that must be told its port).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A temporary directory, removed when dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("kokuin-test")
        .tempdir()
        .unwrap()
}

/// What `openssl ts -verify` checks a token against.
pub enum Against<'a> {
    /// The time-stamped file.
    Data(&'a Path),
    /// The request (.tsq).
    Request(&'a Path),
}

/// `openssl ts -verify` of a .tsr; `untrusted` supplies the TSU certificate when the token
/// carries none. Returns whether OpenSSL said "Verification: OK", and its output.
pub fn openssl_ts_verify(
    against: Against<'_>,
    tsr: &Path,
    root: &Path,
    untrusted: Option<&Path>,
) -> (bool, String) {
    let (flag, file) = match against {
        Against::Data(p) => ("-data", p),
        Against::Request(p) => ("-queryfile", p),
    };
    let mut v = vec![
        "ts",
        "-verify",
        flag,
        file.to_str().unwrap(),
        "-in",
        tsr.to_str().unwrap(),
        "-CAfile",
        root.to_str().unwrap(),
    ];
    if let Some(u) = untrusted {
        v.extend(["-untrusted", u.to_str().unwrap()]);
    }
    let out = text(&run("openssl", &v));
    (out.contains("Verification: OK"), out)
}

/// The rfc3161-client verification script.
pub const RFC3161_CLIENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/interop/rfc3161_client_verify.py"
);

/// rfc3161-client's verification of a .tsr against its request and the data.
pub fn rfc3161_client_verify(
    tsr: &Path,
    tsq: &Path,
    data: &Path,
    root: &Path,
    tsu: Option<&Path>,
) -> Output {
    let mut py = vec![
        RFC3161_CLIENT,
        tsr.to_str().unwrap(),
        tsq.to_str().unwrap(),
        data.to_str().unwrap(),
        root.to_str().unwrap(),
    ];
    if let Some(t) = tsu {
        py.push(t.to_str().unwrap());
    }
    run(&python(), &py)
}

/// A production copy of a dev state's configuration (`prod.toml`) declaring an accuracy of
/// 1 µs, which no kernel error bound meets (the kernels here report STA_UNSYNC anyway): the
/// server starts but cannot vouch for the time.
pub fn unmeetable_production_config(state: &Path) -> PathBuf {
    let cfg = std::fs::read_to_string(state.join("kokuin.toml")).unwrap();
    let prod = state.join("prod.toml");
    std::fs::write(
        &prod,
        cfg.replace("dev = true", "dev = false")
            .replace("require_sync = false", "require_sync = true")
            .replace("accuracy = { seconds = 1 }", "accuracy = { micros = 1 }"),
    )
    .unwrap();
    prod
}

/// `openssl cms -verify` of a DER seal (with its detached content, if any) against ROOT.
pub fn openssl_cms_verify(seal: &Path, root: &Path, data: Option<&Path>) -> (bool, String) {
    let mut args = vec![
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        seal.to_str().unwrap(),
        "-CAfile",
        root.to_str().unwrap(),
        "-out",
        "/dev/null",
    ];
    if let Some(d) = data {
        args.extend(["-content", d.to_str().unwrap()]);
    }
    let o = run("openssl", &args);
    (o.status.success(), text(&o))
}

/// An HTTPS agent trusting STATE/pki/root.pem and presenting STATE/pki/client.pem.
pub fn client_agent_in(state: &Path) -> ureq::Agent {
    let pki = state.join("pki");
    kokuin_client::agent(kokuin_client::TlsOptions {
        ca: Some(&pki.join("root.pem")),
        client: Some((&pki.join("client.pem"), &pki.join("client.key"))),
    })
    .unwrap()
}

/// How many refusals the audit log `lines` records for `event` (request.refused,
/// seal.refused, auth.failure, http.refused, tls.failed) with a reason containing `reason`:
/// the sum of the counts of its aggregated `refusals` records.
pub fn refused(lines: &[String], event: &str, reason: &str) -> u64 {
    lines
        .iter()
        .filter_map(|l| kokuin_audit::Record::parse_line(l).ok())
        .filter(|r| r.kind == kokuin_audit::kind::REFUSALS)
        .filter(|r| r.fields["event"] == event)
        .filter(|r| {
            r.fields["reason"]
                .as_str()
                .is_some_and(|s| s.contains(reason))
        })
        .filter_map(|r| r.fields["count"].as_u64())
        .sum()
}

/// Every line of a state directory's audit log, in order.
pub fn audit_lines(state: &Path) -> Vec<String> {
    kokuin_audit::segment::list(&state.join("audit"))
        .unwrap()
        .iter()
        .flat_map(|s| {
            std::fs::read_to_string(s)
                .unwrap()
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A DER TimeStampReq (SHA-256 of `i`, certReq).
pub fn tsq(i: u32) -> Vec<u8> {
    let digest = kokuin_hsm::DigestAlgorithm::Sha256.digest(&i.to_be_bytes());
    der::Encode::to_der(
        &kokuin_tsa::request::build_request(
            kokuin_hsm::DigestAlgorithm::Sha256,
            &digest,
            None,
            None,
            true,
        )
        .unwrap(),
    )
    .unwrap()
}

/// Whether a reply carries a token.
pub fn granted(reply: &Reply) -> bool {
    kokuin_tsa::ParsedResponse::from_der(&reply.body)
        .ok()
        .and_then(|r| r.into_token().ok())
        .is_some()
}

/// A process's exit code (-1 when killed).
pub fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// `kokuin seal FILE` with the dev client certificate; the seal's path.
pub fn seal_document(srv: &Server, file: &Path, level: &str, enveloping: bool) -> PathBuf {
    let out = file.with_extension(format!(
        "{level}{}.p7s",
        if enveloping { "-env" } else { "" }
    ));
    let mut args = vec![
        "seal",
        file.to_str().unwrap(),
        "--url",
        srv.https.trim_end_matches("/tsa"),
        "--key",
        "dev-seal",
        "--level",
        level,
        "--client-cert",
        "PKI/client.pem",
        "--client-key",
        "PKI/client.key",
        "--ca",
        "PKI/root.pem",
        "-o",
        out.to_str().unwrap(),
    ];
    if enveloping {
        args.push("--enveloping");
    }
    let pki = srv.dir.join("pki");
    let args: Vec<String> = args
        .iter()
        .map(|a| a.replace("PKI", pki.to_str().unwrap()))
        .collect();
    let o = run(
        kokuin_exe(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(o.status.success(), "{}", text(&o));
    out
}

/// Where screenshots for a person to look at are kept (a CI artefact): `target/screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    d
}

/// A full-page screenshot of a local HTML file in headless Chromium
/// (`tests/interop/screenshot.py`), saved as `name` in [`screenshot_dir`]; its path.
pub fn screenshot(html: &Path, name: &str) -> PathBuf {
    let out = screenshot_dir().join(name);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/screenshot.py");
    let o = run(
        &python(),
        &[
            script.to_str().unwrap_or_default(),
            html.to_str().unwrap_or_default(),
            out.to_str().unwrap_or_default(),
        ],
    );
    assert!(o.status.success(), "screenshot: {}", text(&o));
    out
}

/// How many CSS pixels a local HTML file overflows the width of an A4 page when printed
/// (`tests/interop/a4_overflow.py`, headless Chromium): 0 when nothing is cut off.
pub fn a4_overflow(html: &Path) -> u64 {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/a4_overflow.py");
    let o = run(
        &python(),
        &[
            script.to_str().unwrap_or_default(),
            html.to_str().unwrap_or_default(),
        ],
    );
    assert!(o.status.success(), "a4_overflow: {}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("a4_overflow printed {out:?}"))
}

/// A dev configuration `STATE/NAME.toml` whose keyring (`state/keyring-NAME.toml`) is the dev
/// keyring changed by `edit`, outside dual control: no officers pinned, none in the keyring
/// (dev mode allows that). Under the dev officers a keyring edited by hand is not followed,
/// so a test that needs a server to open a hand-made keyring takes it from here.
pub fn outside_dual_control(state: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let mut ring: toml::Table =
        edit(std::fs::read_to_string(state.join("state/keyring.toml")).unwrap())
            .parse()
            .unwrap();
    for k in ["version", "quorum", "officers", "ceremonies"] {
        ring.remove(k);
    }
    let keyring = format!("state/keyring-{name}.toml");
    std::fs::write(state.join(&keyring), toml::to_string(&ring).unwrap()).unwrap();
    let cfg: String = std::fs::read_to_string(state.join("kokuin.toml"))
        .unwrap()
        .replace("state/keyring.toml", &keyring)
        .lines()
        .filter(|l| !l.starts_with("officers = "))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = state.join(format!("{name}.toml"));
    std::fs::write(&path, cfg).unwrap();
    path
}
