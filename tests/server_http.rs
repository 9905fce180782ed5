//! The HTTP server's own behaviour: SIGTERM finishes requests in flight, slow clients are
//! timed out, a bad configuration names its key, a dev state directory is reused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use der::Encode;
use kokuin_testkit as common;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn addr(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches("/tsa")
        .to_string()
}

fn tsq() -> Vec<u8> {
    kokuin_tsa::request::build_request(
        kokuin_hsm::DigestAlgorithm::Sha256,
        &[0x22; 32],
        None,
        Some(&[9; 8]),
        false,
    )
    .unwrap()
    .to_der()
    .unwrap()
}

fn head(len: usize) -> String {
    format!(
        "POST /tsa HTTP/1.1\r\nHost: x\r\nContent-Type: application/timestamp-query\r\n\
         Content-Length: {len}\r\nConnection: close\r\n\r\n"
    )
}

/// `kokuin_requests_in_flight` from /metrics.
fn in_flight(srv: &Server) -> i64 {
    let m = get(&agent(None), &format!("{}/metrics", srv.base())).body;
    String::from_utf8_lossy(&m)
        .lines()
        .find_map(|l| l.strip_prefix("kokuin_requests_in_flight "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn sigterm_finishes_the_request_in_flight() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = Server::spawn_logging(
        &[
            "serve",
            "--dev",
            "--state-dir",
            state.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
        ],
        &state,
        "info",
    );
    let body = tsq();
    let mut s = TcpStream::connect(addr(&srv.http)).unwrap();
    s.write_all(head(body.len()).as_bytes()).unwrap();
    s.write_all(&body[..10]).unwrap();
    // Until the server is answering it (the /metrics request counts itself too).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while in_flight(&srv) < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the request never got in flight"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = srv.pid();
    let st = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    assert!(srv.wait_for_log("shutting down").contains("shutting down"));
    // New connections are no longer accepted…
    assert!(
        TcpStream::connect(addr(&srv.http)).is_err() || {
            // …or, if the kernel still completes the handshake, never answered.
            let mut c = TcpStream::connect(addr(&srv.http)).unwrap();
            c.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let _ = c.write_all(head(body.len()).as_bytes());
            let mut b = [0u8; 1];
            !matches!(c.read(&mut b), Ok(n) if n > 0)
        }
    );
    // …but the request in flight completes with a token.
    s.write_all(&body[10..]).unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let text = String::from_utf8_lossy(&resp);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let at = resp.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let parsed = kokuin_tsa::ParsedResponse::from_der(&resp[at..]).unwrap();
    assert!(parsed.granted());
    let status = srv.stop_after_signal();
    assert!(status.success(), "{status}");
}

#[test]
fn slow_clients_are_timed_out_and_config_errors_name_the_key() {
    let dir = tempdir();
    let state = dir.path().join("state");
    // Create the state directory, then run it with tight timeouts.
    drop(Server::dev(&state));
    let cfg = std::fs::read_to_string(state.join("kokuin.toml")).unwrap();
    let fast = state.join("fast.toml");
    std::fs::write(
        &fast,
        cfg.replace(
            "[server]\n",
            "[server]\nheader_timeout_ms = 300\nbody_timeout_ms = 300\n",
        ),
    )
    .unwrap();
    let srv = Server::with_config(&fast);
    // A body that never completes: 408 once the body timeout passes.
    let mut s = TcpStream::connect(addr(&srv.http)).unwrap();
    s.write_all(head(100).as_bytes()).unwrap();
    s.write_all(&[0x30, 0x62]).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    assert!(
        String::from_utf8_lossy(&resp).starts_with("HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&resp)
    );
    // A head that never completes: the connection is closed.
    let mut s = TcpStream::connect(addr(&srv.http)).unwrap();
    s.write_all(b"POST /tsa HTTP/1.1\r\nHost: x\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut resp = Vec::new();
    let r = s.read_to_end(&mut resp);
    assert!(r.is_ok(), "connection not closed: {r:?}");
    drop(srv);

    // Configuration errors name the offending key.
    let bad = state.join("bad.toml");
    std::fs::write(&bad, cfg.replace("node_id = 1", "node_id = 70000")).unwrap();
    let o = kokuin(&["serve", "--config", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("tsa.node_id"), "{}", text(&o));
    // With toml's diagram (the line, a caret under the value), and no colour codes in what
    // is not a terminal.
    assert!(
        text(&o).contains("node_id = 70000\n") && text(&o).contains("^^^^^"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains('\x1b'), "{}", text(&o));
    std::fs::write(&bad, cfg.replace("[tsa]\n", "[tsa]\ncolour = \"red\"\n")).unwrap();
    let o = kokuin(&["serve", "--config", bad.to_str().unwrap()]);
    assert!(text(&o).contains("colour"), "{}", text(&o));
}

#[test]
fn dev_state_directory_is_created_once_and_reused() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = Server::dev(&state);
    let root = std::fs::read(srv.root()).unwrap();
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(state.join("keys/tsu.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode, 0o600);
    assert!(srv.stop().success());
    let srv = Server::dev(&state);
    assert_eq!(
        std::fs::read(srv.root()).unwrap(),
        root,
        "the dev PKI was regenerated"
    );
    let ag = agent(Some(&srv.root()));
    let r = tsa_post(&ag, &srv.https, &tsq());
    assert!(
        kokuin_tsa::ParsedResponse::from_der(&r.body)
            .unwrap()
            .granted()
    );
}

#[test]
fn http2_and_tls12_clients_are_served() {
    let dir = tempdir();
    let srv = Server::dev(&dir.path().join("state"));
    let q = dir.path().join("q.tsq");
    std::fs::write(&q, tsq()).unwrap();
    let body = format!("@{}", q.display());
    let root = srv.root();
    let cases: [(&str, Vec<&str>); 3] = [
        (
            "h2c prior knowledge",
            vec!["--http2-prior-knowledge", &srv.http],
        ),
        (
            "h2 over TLS",
            vec!["--http2", "--cacert", root.to_str().unwrap(), &srv.https],
        ),
        (
            "HTTP/1.1 over TLS 1.2",
            vec![
                "--http1.1",
                "--tlsv1.2",
                "--tls-max",
                "1.2",
                "--cacert",
                root.to_str().unwrap(),
                &srv.https,
            ],
        ),
    ];
    for (name, extra) in cases {
        let mut args = vec![
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code} %{content_type}",
            "-H",
            "Content-Type: application/timestamp-query",
            "--data-binary",
            &body,
        ];
        args.extend(extra);
        let o = run("curl", &args);
        let out = text(&o);
        let want = if name.starts_with("HTTP/1.1") {
            "1.1 200"
        } else {
            "2 200"
        };
        assert!(out.starts_with(want), "{name}: {out}");
        assert!(out.contains("application/timestamp-reply"), "{name}: {out}");
    }
}
