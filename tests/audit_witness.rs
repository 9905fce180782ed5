//! Witnesses (c2sp.org/tlog-witness) against a dev server: a witness written in Python, apart
//! from Kokuin, checks each tree checkpoint's ECDSA signature and consistency proof and
//! cosigns it; `kokuin audit prove` puts the cosignature into the proof, and `verify-proof
//! --witness` counts it, and refuses a proof lacking a required witness.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use kokuin_testkit as common;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn witnesses_cosign_checkpoints_and_proofs_carry_them() {
    let dir = tempdir();
    let w = dir.path();
    let state = w.join("state");
    drop(Server::dev(&state)); // makes the dev state
    let (srv, mut witnesses, vkeys) = serve_with_witnesses(&state, &[("witness.test/w1", false)]);
    let vkey = vkeys[0].clone();
    let data = w.join("invoice.xml");
    std::fs::write(&data, b"<Invoice/>\n").unwrap();
    let tsr = w.join("one.tsr");
    request_token(&srv.http, &data, &tsr);
    let serial = verify_json(&tsr, &data, &srv.root(), None)["serial"]
        .as_str()
        .unwrap()
        .to_string();
    // Two checkpoints cosigned in turn: the second through a consistency proof.
    let audit = state.join("audit");
    let cosigned = audit.join("checkpoint.cosigned");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut sizes = Vec::new();
    while sizes.len() < 2 {
        if let Ok(note) = std::fs::read_to_string(&cosigned)
            && note.contains("witness.test/w1")
        {
            let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
            if sizes.last() != Some(&size) {
                sizes.push(size);
                request_token(&srv.http, &data, &w.join(format!("more{size}.tsr")));
            }
        }
        assert!(
            Instant::now() < deadline,
            "cosigned sizes {sizes:?}: {}",
            srv.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The operator sees it too: each witness's answers and when it last cosigned.
    let metrics =
        String::from_utf8(get(&agent(None), &format!("{}/metrics", srv.base())).body).unwrap();
    assert!(
        metrics.contains(
            r#"kokuin_witness_answers_total{witness="witness.test/w1",result="cosigned"}"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"kokuin_witness_last_cosigned_timestamp_seconds{witness="witness.test/w1"}"#
        ),
        "{metrics}"
    );

    let a = audit.to_str().unwrap();
    let proof = w.join("one.tlog-proof");
    let o = kokuin(&[
        "audit",
        "prove",
        a,
        "--serial",
        &serial,
        "-o",
        proof.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let trust = state.join("pki/audit.pem");
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "audit",
            "verify-proof",
            proof.to_str().unwrap(),
            "--trust",
            trust.to_str().unwrap(),
            "--token",
            tsr.to_str().unwrap(),
            "--witness",
            &vkey,
        ];
        args.extend_from_slice(extra);
        kokuin(&args)
    };
    let o = verify(&[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("cosigned by witness.test/w1"),
        "{}",
        text(&o)
    );
    // A second witness the auditor requires never cosigned.
    let other = kokuin_audit::cosignature::WitnessKey::new("witness.test/w2", [7u8; 32]).vkey();
    let other = other.as_str();
    let o = verify(&["--witness", other]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("1 of the 2"), "{}", text(&o));
    let o = verify(&["--witness", other, "--witnesses-needed", "1"]);
    assert!(o.status.success(), "{}", text(&o));
    drop(srv);
    for w in &mut witnesses {
        let _ = w.kill();
        let _ = w.wait();
    }
}

/// The dev state's configuration with these witnesses (name, hangs) started and added, and
/// the server on it; the witnesses' processes and verifier keys.
fn serve_with_witnesses(
    state: &std::path::Path,
    witnesses: &[(&str, bool)],
) -> (Server, Vec<std::process::Child>, Vec<String>) {
    let config = state.join("kokuin.toml");
    let mut toml = std::fs::read_to_string(&config).unwrap();
    let (mut children, mut vkeys) = (Vec::new(), Vec::new());
    for (name, hang) in witnesses {
        let (child, vkey, port) = start_witness(&state.join("pki/audit.pem"), name, *hang);
        toml.push_str(&format!(
            "\n[[audit.witnesses]]\nurl = \"http://127.0.0.1:{port}\"\nvkey = \"{vkey}\"\n"
        ));
        children.push(child);
        vkeys.push(vkey);
    }
    std::fs::write(&config, toml).unwrap();
    (Server::with_config(&config), children, vkeys)
}

/// A witness started by the test: its verifier key and where it listens.
fn start_witness(
    audit_pem: &std::path::Path,
    name: &str,
    hang: bool,
) -> (std::process::Child, String, String) {
    let mut cmd = Command::new(python());
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/witness.py"
    ))
    .arg(audit_pem)
    .arg(name);
    if hang {
        cmd.arg("--hang");
    }
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let vkey = line.trim().strip_prefix("vkey ").unwrap().to_string();
    line.clear();
    out.read_line(&mut line).unwrap();
    let port = line.trim().strip_prefix("listening ").unwrap().to_string();
    (child, vkey, port)
}

/// #31.5: witnesses are asked concurrently, each with its own deadline: one that takes a
/// request and never answers holds up no other, and the three that answer cosign every
/// checkpoint the log goes on to make.
#[test]
fn a_hung_witness_holds_up_none_of_the_others() {
    let dir = tempdir();
    let state = dir.path().join("state");
    drop(Server::dev(&state)); // makes the dev state
    // The hung one first: asked one after another, it would hold up all the others.
    let (srv, children, _) = serve_with_witnesses(
        &state,
        &[
            ("witness.test/hung", true),
            ("witness.test/a", false),
            ("witness.test/b", false),
            ("witness.test/c", false),
        ],
    );
    let data = dir.path().join("invoice.xml");
    std::fs::write(&data, b"<Invoice/>\n").unwrap();
    let cosigned = state.join("audit/checkpoint.cosigned");
    // Three checkpoints in a row, each new tree size cosigned by all three good witnesses,
    // within one witness deadline (10 s) of each other: a hung witness asked first would take
    // that long for every one.
    let mut sizes: Vec<u64> = Vec::new();
    let mut n = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while sizes.len() < 3 {
        request_token(&srv.http, &data, &dir.path().join(format!("t{n}.tsr")));
        n += 1;
        let round = Instant::now() + Duration::from_secs(8);
        loop {
            if let Ok(note) = std::fs::read_to_string(&cosigned) {
                let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
                let all = ["witness.test/a ", "witness.test/b ", "witness.test/c "]
                    .iter()
                    .all(|w| note.contains(w));
                if all && sizes.last().is_none_or(|s| *s < size) {
                    assert!(!note.contains("witness.test/hung "), "{note}");
                    sizes.push(size);
                    break;
                }
            }
            assert!(
                Instant::now() < round && Instant::now() < deadline,
                "cosigned so far at sizes {sizes:?}; the good witnesses were held up: {}",
                srv.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    drop(srv);
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
}
