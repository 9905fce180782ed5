//! Every example configuration in `docs/` passes `kokuin serve --check-config` as written (the
//! `officers` pin aside, which only `ceremony init` can print): the files it names laid out as
//! an operator would have them — keys generated in SoftHSM2 tokens under the labels it gives,
//! certificates from the dev CA — and checked beside a server running on the same directory.
//! Broken, the same example lists every problem and exits 2.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)]
// a test crate: nothing in it is a public API
// The one test here points this process's SoftHSM2 at the dev state's token directory
// (set_var is unsafe since edition 2024; nothing else runs in this binary).
#![allow(unsafe_code)]

use kokuin_hsm::pkcs11::{PinSource, Pkcs11Signer, Pkcs11Token, init_token};
use kokuin_hsm::{KeyType, Signer, SoftwareSigner};
use kokuin_testkit::{REPO, SOFTHSM2, kokuin_exe, serve_with_module, tempdir, text};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Each `docs/*.md` with ```toml blocks: its name and the blocks joined, in order.
fn examples() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(REPO).join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    for f in files {
        let mut toml = String::new();
        let mut inside = false;
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            if inside && line.starts_with("```") {
                inside = false;
            } else if inside {
                toml.push_str(line);
                toml.push('\n');
            } else if line.trim_end() == "```toml" {
                inside = true;
            }
        }
        if !toml.is_empty() {
            let name = f.file_stem().unwrap().to_string_lossy().into_owned();
            out.push((name, toml));
        }
    }
    out
}

/// A key `label` generated in token `token` (sensitive, never extractable), its certificate
/// from the dev root written to `pki/{cert}`.
fn token_key(
    state: &Path,
    token: &str,
    pin: &Path,
    label: &str,
    cert: &str,
    issue: impl Fn(&x509_cert::Certificate, &dyn Signer, &dyn Signer) -> x509_cert::Certificate,
) {
    let t = Arc::new(
        Pkcs11Token::open(Path::new(SOFTHSM2), token, &PinSource::File(pin.into())).unwrap(),
    );
    t.generate(label, KeyType::P256).unwrap();
    let signer = Pkcs11Signer::new(t, label, None, 1).unwrap();
    let root_key = SoftwareSigner::load(&state.join("keys/root.key"), None, true).unwrap();
    let root = kokuin_certs::pem::load_certificates(&state.join("pki/root.pem"))
        .unwrap()
        .remove(0);
    let c = issue(&root, &root_key, &signer);
    std::fs::write(
        state.join("pki").join(cert),
        kokuin_certs::pem::to_pem_chain(&[c]).unwrap(),
    )
    .unwrap();
}

fn listing(dir: &Path, out: &mut Vec<(PathBuf, u64)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        // The running server's own log grows while the check runs.
        if p.ends_with("audit") {
            continue;
        }
        if p.is_dir() {
            listing(&p, out);
        } else {
            out.push((p.clone(), std::fs::metadata(&p).unwrap().len()));
        }
    }
}

fn check(state: &Path, config: &Path) -> (Option<i32>, String) {
    let o = Command::new(kokuin_exe())
        .args(["serve", "--check-config", config.to_str().unwrap()])
        .env("SOFTHSM2_CONF", state.join("hsm/softhsm2.conf"))
        .output()
        .unwrap();
    (o.status.code(), text(&o))
}

#[test]
fn every_example_configuration_in_docs_passes_check_config_beside_a_running_server() {
    let d = tempdir();
    let state = d.path().join("state");
    // The dev state made with a token: its officers and keyring (TSU key in token
    // "kokuin-dev"), dev CA, TLS certificate; the server keeps running on it throughout.
    let mut srv = serve_with_module(&state, SOFTHSM2);
    // SAFETY: the only test in this binary; no other thread reads the environment.
    unsafe { std::env::set_var("SOFTHSM2_CONF", state.join("hsm/softhsm2.conf")) };

    // What the examples name beyond the dev state: token "kokuin" (the audit key, the dev
    // token's PIN) and token "seals" (the level-2 seal key, its own PIN file).
    let pin = state.join("keys/token.pin");
    let user_pin = std::fs::read_to_string(&pin).unwrap();
    init_token(
        Path::new(SOFTHSM2),
        "kokuin",
        "so-pin-kokuin",
        user_pin.trim(),
    )
    .unwrap();
    let seal_pin = state.join("keys/seal.pin");
    std::fs::write(&seal_pin, "seal-pin-0815").unwrap();
    std::fs::set_permissions(&seal_pin, std::fs::Permissions::from_mode(0o600)).unwrap();
    init_token(
        Path::new(SOFTHSM2),
        "seals",
        "so-pin-seals",
        "seal-pin-0815",
    )
    .unwrap();
    let now = SystemTime::now();
    let validity = (
        now - Duration::from_secs(60),
        now + Duration::from_secs(400 * 86_400),
    );
    token_key(
        &state,
        "kokuin",
        &pin,
        "audit-2026",
        "audit-2026.pem",
        |ca, k, key| {
            kokuin_certs::dev::issue_audit(ca, k, key, "Example Audit Log", validity).unwrap()
        },
    );
    token_key(
        &state,
        "seals",
        &seal_pin,
        "invoices",
        "invoices.pem",
        |ca, k, key| {
            kokuin_certs::dev::issue_eseal(
                ca,
                k,
                key,
                &kokuin_certs::dev::seal_subject("Example Invoices"),
                kokuin_certs::oid::LEVEL_2_POLICY,
                validity,
                None,
            )
            .unwrap()
        },
    );
    for (to, from) in [
        ("pki/clients-ca.pem", "pki/root.pem"),
        ("pki/accredited-ca.pem", "pki/root.pem"),
        ("pki/ca.crl", "pki/root.crl"),
        ("pki/invoices-seal.png", "pki/seal-stamp.png"),
    ] {
        std::fs::copy(state.join(from), state.join(to)).unwrap();
    }
    let dev = std::fs::read_to_string(state.join("kokuin.toml")).unwrap();
    let pinned = dev
        .lines()
        .find(|l| l.starts_with("officers = "))
        .unwrap()
        .to_string();

    let found = examples();
    assert!(
        found.iter().any(|(n, _)| n == "config"),
        "docs/config.md's example is found"
    );
    for (name, toml) in found {
        assert!(toml.contains("officers = \"sha256:…\""), "{name}: {toml}");
        let config = state.join(format!("example-{name}.toml"));
        std::fs::write(&config, toml.replace("officers = \"sha256:…\"", &pinned)).unwrap();
        let mut before = Vec::new();
        listing(&state, &mut before);
        let (code, out) = check(&state, &config);
        assert_eq!(code, Some(0), "docs/{name}.md: {out}");
        assert!(!out.contains("FAIL"), "{out}");
        for what in [
            "ok    keyring: version",
            "every ceremony verified from the pin",
            "ok    key for Example TSA policy",
            "ok    audit key",
            "ok    seal key invoices: ",
            "meets assurance level 2",
            "ok    eseal.crls pki/ca.crl",
            "ok    verify.trust pki/root.pem",
            "ok    audit.dir",
            "ok    HTTPS",
        ] {
            assert!(out.contains(what), "docs/{name}.md: {what}: {out}");
        }
        let mut after = Vec::new();
        listing(&state, &mut after);
        assert_eq!(before, after, "the check wrote nothing");
        assert!(srv.is_running(), "the running server is untouched");
    }

    // docs/config.md's example broken three ways at once: every problem listed, exit 2, the
    // rest still checked.
    let config = state.join("example-config.toml");
    let moved = state.join("pki/accredited-ca.pem.away");
    std::fs::rename(state.join("pki/accredited-ca.pem"), &moved).unwrap();
    std::fs::write(state.join("pki/ca.crl"), "not a CRL").unwrap();
    std::fs::remove_file(state.join("pki/audit-2026.pem")).unwrap();
    let (code, out) = check(&state, &config);
    assert_eq!(code, Some(2), "{out}");
    for what in [
        "FAIL  eseal.accredited_cas pki/accredited-ca.pem",
        "FAIL  eseal.crls pki/ca.crl",
        "FAIL  seal key invoices",
        "level-2-accredited-ca",
        "FAIL  audit key",
        "ok    HTTPS",
        "4 check(s) failed",
    ] {
        assert!(out.contains(what), "{what}: {out}");
    }
    assert!(srv.stop().success());
}
