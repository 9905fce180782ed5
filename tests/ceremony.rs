//! #32: dual control. A dev service's keyring put under three officers with a quorum of two;
//! a rotation runs only with two valid approvals of exactly its plan, once; every other run
//! is refused and changes nothing; `kokuin keys` alone is refused; the running server follows
//! the ceremony and records it; a keyring file edited by hand is not followed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use der::Encode;
use kokuin_testkit::*;
use kokuin_tsa::{ParsedResponse, TimeStampToken};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn signer_now(srv: &Server, i: u32) -> Vec<u8> {
    let r = tsa_post(&agent(None), &srv.http, &tsq(i));
    let token = ParsedResponse::from_der(&r.body)
        .unwrap()
        .into_token()
        .unwrap();
    TimeStampToken::from_der(&token).unwrap().certificates()[0]
        .to_der()
        .unwrap()
}

fn cert_der(state: &Path, name: &str) -> Vec<u8> {
    let pem = std::fs::read(state.join(name)).unwrap();
    kokuin_certs::pem::parse_certificates(&pem).unwrap()[0]
        .to_der()
        .unwrap()
}

fn ceremony(args: &[&str]) -> (bool, String) {
    let mut a = vec!["ceremony"];
    a.extend_from_slice(args);
    let o = kokuin(&a);
    (o.status.success(), text(&o))
}

/// `kokuin ceremony plan --op OP ARGS -o OUT` on the configuration `c`.
fn make_plan(c: &str, op: &str, args: &[&str], out: &Path) -> (bool, String) {
    let mut a = vec!["plan", "--config", c, "--op", op];
    a.extend_from_slice(args);
    a.extend(["-o", out.to_str().unwrap()]);
    ceremony(&a)
}

struct Officers {
    dir: PathBuf,
}

impl Officers {
    fn key(&self, n: u32) -> (String, String) {
        let d = &self.dir;
        (
            d.join(format!("officer-{n}.key")).display().to_string(),
            d.join(format!("officer-{n}.pass")).display().to_string(),
        )
    }

    fn approve(&self, n: u32, plan: &Path, tag: &str) -> String {
        let (key, pass) = self.key(n);
        let out = self.dir.join(format!("{tag}-o{n}.approval"));
        let (ok, t) = ceremony(&[
            "approve",
            plan.to_str().unwrap(),
            "--officer-key",
            &key,
            "--passphrase-file",
            &pass,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{t}");
        out.display().to_string()
    }
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_rotation_runs_only_with_a_quorum_of_approvals_and_nodes_follow_nothing_else() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let config = state.join("kokuin.toml");
    let c = config.to_str().unwrap();
    // The dev state's three officers, two approvals needed (serve --dev made them); a second
    // key put in force by a dev-mode `keys rotate`, which the dev officers approve.
    let srv = Server::dev(&state);
    let officers = Officers {
        dir: state.join("officers"),
    };
    let o = dev_keys(&state, &["rotate"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("dev officers"), "{}", text(&o));
    let first = cert_der(&state, "pki/tsu.pem");
    wait_until("the server follows the dev ceremony", || {
        signer_now(&srv, 1) != first
    });
    // One person alone changes nothing outside dev mode.
    let prod = unmeetable_production_config(&state);
    let o = kokuin(&[
        "keys",
        "retire",
        "--config",
        prod.to_str().unwrap(),
        "--name",
        "dev-tsu-1",
    ]);
    assert!(
        !o.status.success() && text(&o).contains("dual control"),
        "{}",
        text(&o)
    );

    let plan = dir.path().join("rotate.plan");
    let (ok, t) = make_plan(c, "rotate", &["--name", "dev-tsu-1"], &plan);
    assert!(ok, "{t}");
    let a1 = officers.approve(1, &plan, "rotate");
    let a1_again = officers.approve(1, &plan, "rotate-again");
    let a2 = officers.approve(2, &plan, "rotate");
    let other = dir.path().join("retire.plan");
    let (ok, t) = make_plan(c, "retire", &["--name", "dev-tsu-1"], &other);
    assert!(ok, "{t}");
    let a2_other = officers.approve(2, &other, "retire");
    let changed = dir.path().join("changed.plan");
    std::fs::write(
        &changed,
        std::fs::read_to_string(&plan)
            .unwrap()
            .replace("put key dev-tsu-1", "put key dev-tsu-1 (as agreed)"),
    )
    .unwrap();
    // A plan valid for one second, approved after it expired.
    let expired = dir.path().join("expired.plan");
    let (ok, t) = make_plan(
        c,
        "rotate",
        &["--name", "dev-tsu-1", "--valid-for", "1s"],
        &expired,
    );
    assert!(ok, "{t}");
    std::thread::sleep(Duration::from_secs(2));
    let e1 = officers.approve(1, &expired, "expired");
    let e2 = officers.approve(2, &expired, "expired");
    let run = |plan: &Path, approvals: &[&str]| {
        let mut a = vec!["run", plan.to_str().unwrap(), "--config", c];
        for x in approvals {
            a.push("--approval");
            a.push(x);
        }
        ceremony(&a)
    };
    let keyring = state.join("state/keyring.toml");
    let before = std::fs::read(&keyring).unwrap();
    for (why, p, approvals) in [
        ("one approval", &plan, vec![a1.as_str()]),
        ("one officer twice", &plan, vec![&a1, &a1_again]),
        ("an approval of another plan", &plan, vec![&a1, &a2_other]),
        ("the plan changed after approval", &changed, vec![&a1, &a2]),
        ("approvals after the plan expired", &expired, vec![&e1, &e2]),
    ] {
        let (ok, t) = run(p, &approvals);
        assert!(!ok, "{why}: ran: {t}");
        assert_eq!(
            std::fs::read(&keyring).unwrap(),
            before,
            "{why}: changed the keyring"
        );
    }
    let (ok, t) = run(&plan, &[&a1, &a2]);
    assert!(ok, "{t}");
    let (ok, t) = run(&plan, &[&a1, &a2]);
    assert!(!ok && t.contains("runs once"), "a replay ran: {t}");
    wait_until("the server follows the ceremony", || {
        let refused: Vec<String> = audit_lines(&state)
            .into_iter()
            .filter(|l| l.contains("keyring.refused"))
            .collect();
        assert!(refused.is_empty(), "{refused:?}");
        signer_now(&srv, 2) == first
    });
    wait_until("the ceremony recorded", || {
        audit_lines(&state)
            .iter()
            .any(|l| l.contains("\"key.ceremony\"") && l.contains("officer-2"))
    });

    // A quorum the officers cannot give, or below two: refused when planned.
    for m in ["4", "1"] {
        let out = dir.path().join(format!("q{m}.plan"));
        let (ok, t) = make_plan(c, "quorum", &["--quorum", m], &out);
        assert!(!ok, "quorum {m} planned: {t}");
    }
    // An officer removed no longer counts.
    let remove = dir.path().join("remove.plan");
    let (ok, t) = make_plan(c, "remove-officer", &["--name", "officer-3"], &remove);
    assert!(ok, "{t}");
    let r1 = officers.approve(1, &remove, "remove");
    let r3 = officers.approve(3, &remove, "remove");
    let (ok, t) = run(&remove, &[&r1, &r3]);
    assert!(ok, "{t}");
    let retire = dir.path().join("retire2.plan");
    let (ok, t) = make_plan(c, "retire", &["--name", "dev-tsu-1"], &retire);
    assert!(ok, "{t}");
    // officer-3's key is no longer an approver of a plan made now.
    let (key, pass) = officers.key(3);
    let (ok, t) = ceremony(&[
        "approve",
        retire.to_str().unwrap(),
        "--officer-key",
        &key,
        "--passphrase-file",
        &pass,
        "-o",
        dir.path().join("x.approval").to_str().unwrap(),
    ]);
    assert!(!ok, "a removed officer approved: {t}");
    let r1_retire = officers.approve(1, &retire, "retire2");
    let (ok, t) = run(&retire, &[&r1_retire, &r3]);
    assert!(!ok, "an approval by a removed officer counted: {t}");
    // Two officers left, two needed: removing one more would leave a quorum nobody can give.
    let short = dir.path().join("short.plan");
    let (ok, t) = make_plan(c, "remove-officer", &["--name", "officer-2"], &short);
    assert!(!ok && t.contains("cannot give"), "planned: {t}");

    // The keyring file edited by hand to put the other key back in force: not followed.
    let mut ring: toml::Value =
        toml::from_str(&std::fs::read_to_string(&keyring).unwrap()).unwrap();
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    for k in ring["keys"].as_array_mut().unwrap() {
        if k["name"].as_str().unwrap().starts_with("tsu-") {
            k["activate_at"] = toml::Value::String(now.clone());
        }
    }
    std::fs::write(&keyring, toml::to_string(&ring).unwrap()).unwrap();
    wait_until("the refusal recorded", || {
        audit_lines(&state)
            .iter()
            .any(|l| l.contains("\"keyring.refused\""))
    });
    assert_eq!(
        signer_now(&srv, 3),
        first,
        "a hand-edited keyring was followed"
    );
    let r = get(&agent(None), &format!("{}/readyz", srv.base()));
    assert_eq!(r.status, 200);
    let m = get(&agent(None), &format!("{}/metrics", srv.base()));
    assert!(
        String::from_utf8_lossy(&m.body).contains("kokuin_keyring_refused_total 1"),
        "the refusal is not counted on /metrics"
    );
    srv.stop();
}

#[test]
fn an_officer_key_in_a_softhsm2_token_approves_a_plan() {
    let dir = tempdir();
    let state = dir.path().join("state");
    Server::dev(&state).stop();
    let config = state.join("kokuin.toml");
    // The new officer's own token, not the service's.
    let tokens = dir.path().join("officer-tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!("directories.tokendir = {}\n", tokens.display()),
    )
    .unwrap();
    let with_token = |args: &[&str]| {
        std::process::Command::new(kokuin_exe())
            .args(args)
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap()
    };
    let o = std::process::Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", "officer-4"])
        .args(["--so-pin", "43214321", "--pin", "12341234"])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let pin = dir.path().join("officer-4.pin");
    std::fs::write(&pin, "12341234\n").unwrap();
    std::fs::set_permissions(&pin, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let token = [
        "--pkcs11-module",
        SOFTHSM2,
        "--token",
        "officer-4",
        "--key",
        "approval",
        "--pin-file",
        pin.to_str().unwrap(),
    ];
    let public = dir.path().join("officer-4.pem");
    let mut a = vec![
        "ceremony",
        "officer-key",
        "--public",
        public.to_str().unwrap(),
    ];
    a.extend_from_slice(&token);
    let o = with_token(&a);
    assert!(o.status.success(), "{}", text(&o));
    // The dev officers add the officer whose key is in the token.
    let officer = format!("officer-4:key custodian:{}", public.display());
    let t = kokuin_testkit::ceremony::plan_approve_run(
        &|a| kokuin(a),
        &state,
        &config,
        &dir.path().join("add.plan"),
        &["--op", "add-officer", "--officer", &officer],
    );
    assert!(t.contains("keyring version 2"), "{t}");
    // A retirement approved by the token's key and one dev officer runs.
    let plan = dir.path().join("retire.plan");
    let c = config.to_str().unwrap();
    let (ok, t) = make_plan(c, "retire", &["--name", "dev-tsu-1"], &plan);
    assert!(ok, "{t}");
    let by_token = dir.path().join("retire.officer-4.approval");
    let mut a = vec!["ceremony", "approve", plan.to_str().unwrap()];
    a.extend_from_slice(&token);
    a.extend(["-o", by_token.to_str().unwrap()]);
    let o = with_token(&a);
    assert!(
        o.status.success() && text(&o).contains("officer-4 approved"),
        "{}",
        text(&o)
    );
    let by_file = kokuin_testkit::ceremony::approve(&|a| kokuin(a), &state, &plan, 1);
    let (ok, t) = ceremony(&[
        "run",
        plan.to_str().unwrap(),
        "--config",
        c,
        "--approval",
        by_token.to_str().unwrap(),
        "--approval",
        by_file.to_str().unwrap(),
    ]);
    assert!(ok && t.contains("officer-4"), "{t}");
}
