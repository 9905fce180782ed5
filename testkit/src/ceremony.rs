//! Ceremonies in the tests: a plan made, approved by dev officers (the keys `serve --dev` made
//! in `STATE/officers`) and run, through the `kokuin` command as an operator would.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, SystemTime};

/// Runs `kokuin ARGS` (with whatever environment the caller's setup needs).
pub type Kokuin<'a> = &'a dyn Fn(&[&str]) -> Output;

fn ok(o: &Output, what: &str) -> String {
    let t = crate::text(o);
    assert!(o.status.success(), "{what}: {t}");
    t
}

/// Dev officer `n`'s approval of `plan`, written beside it.
pub fn approve(kokuin: Kokuin, state: &Path, plan: &Path, n: u32) -> PathBuf {
    let officers = state.join("officers");
    let out = plan.with_extension(format!("officer-{n}.approval"));
    let o = kokuin(&[
        "ceremony",
        "approve",
        plan.to_str().unwrap(),
        "--officer-key",
        officers.join(format!("officer-{n}.key")).to_str().unwrap(),
        "--passphrase-file",
        officers.join(format!("officer-{n}.pass")).to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    ok(&o, "approve");
    out
}

/// Plans `--op …` (ARGS) on `config` into `plan`, has dev officers 1 and 2 approve it and
/// runs it; returns what `ceremony run` said.
pub fn plan_approve_run(
    kokuin: Kokuin,
    state: &Path,
    config: &Path,
    plan: &Path,
    args: &[&str],
) -> String {
    let mut a = vec!["ceremony", "plan", "--config", config.to_str().unwrap()];
    a.extend_from_slice(args);
    a.extend(["-o", plan.to_str().unwrap()]);
    ok(&kokuin(&a), "plan");
    let a1 = approve(kokuin, state, plan, 1);
    let a2 = approve(kokuin, state, plan, 2);
    let o = kokuin(&[
        "ceremony",
        "run",
        plan.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--approval",
        a1.to_str().unwrap(),
        "--approval",
        a2.to_str().unwrap(),
    ]);
    ok(&o, "run")
}

/// The dev CA's certificate of `kind` for the key a CSR (PEM) requests, after checking its
/// proof of possession: what a CA returns between the two ceremonies of a production rotation.
pub fn certify(state: &Path, csr: &Path, kind: kokuin_certs::CertKind) -> x509_cert::Certificate {
    let req = kokuin_certs::csr::parse_csr(&std::fs::read(csr).unwrap()).unwrap();
    kokuin_certs::csr::verify_csr(&req).unwrap();
    let root_key =
        kokuin_hsm::SoftwareSigner::load(&state.join("keys/root.key"), None, true).unwrap();
    let root = kokuin_certs::pem::load_certificates(&state.join("pki/root.pem"))
        .unwrap()
        .remove(0);
    let now = SystemTime::now();
    kokuin_certs::issue(
        &kokuin_certs::CertRequest {
            subject: req.info.subject.clone(),
            public_key: req.info.public_key.clone(),
            not_before: now - Duration::from_secs(60),
            not_after: now + Duration::from_secs(86_400 * 400),
            kind,
        },
        Some(&root),
        &root_key,
    )
    .unwrap()
}

/// The dev CA's TSU certificate (key usage for a year) for the key a CSR requests, written to
/// `out`.
pub fn certify_tsu(state: &Path, csr: &Path, out: &Path) {
    let kind = kokuin_certs::CertKind::TimeStamping {
        key_usage_until: SystemTime::now() + Duration::from_secs(86_400 * 365),
    };
    let cert = certify(state, csr, kind);
    std::fs::write(out, kokuin_certs::pem::to_pem_chain(&[cert]).unwrap()).unwrap();
}

/// A production rotation: a ceremony generating `name` (P-256) in the keyring's token, its
/// CSR certified by the dev CA, and a second ceremony installing the certificate and putting
/// the key in force now.
pub fn rotate_in_two_ceremonies(
    kokuin: Kokuin,
    state: &Path,
    config: &Path,
    work: &Path,
    name: &str,
) {
    let c = config.to_str().unwrap();
    plan_approve_run(
        kokuin,
        state,
        config,
        &work.join(format!("{name}-generate.plan")),
        &["--op", "generate", "--name", name],
    );
    let csr = work.join(format!("{name}.csr"));
    ok(
        &kokuin(&[
            "keys",
            "csr",
            "--config",
            c,
            "--name",
            name,
            "--subject",
            &format!("CN=Kokuin TSU {name},O=Kokuin Development,C=JP"),
            "-o",
            csr.to_str().unwrap(),
        ]),
        "csr",
    );
    let cert = work.join(format!("{name}.pem"));
    certify_tsu(state, &csr, &cert);
    plan_approve_run(
        kokuin,
        state,
        config,
        &work.join(format!("{name}-install.plan")),
        &[
            "--op",
            "install-cert",
            "--op",
            "rotate",
            "--name",
            name,
            "--cert",
            cert.to_str().unwrap(),
        ],
    );
}
