//! Issue #21, the service's edges: connection and body deadlines, credentials never over
//! cleartext, metrics on their own listener, private file modes, escaped log values, strict
//! parsing, refusals recorded without flooding the log, and `kokuin keys` on a dev state.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly at the first surprise
#![allow(missing_docs)] // a test crate: nothing in it is a public API

use common::*;
use kokuin_testkit as common;
use std::path::Path;

const TOKEN: &str = "fail-closed-test-token";

/// A free loopback address (bound, then released for the server to take).
fn free_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A dev server restarted on its configuration with `server_lines` added to `[server]`, an
/// API-token client, and the listeners `http` (plain, besides an ephemeral one: `srv.http`)
/// and an ephemeral HTTPS one; logging at `log`.
fn server_with(state: &Path, server_lines: &str, http: &[String], log: &str) -> Server {
    drop(Server::dev(state));
    let cfg = state.join("kokuin.toml");
    let token_sha = hex::encode(kokuin_hsm::DigestAlgorithm::Sha256.digest(TOKEN.as_bytes()));
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("[server]\n", &format!("[server]\n{server_lines}\n"))
        + &format!(
            "\n[[eseal.clients]]\nname = \"token-client\"\ntoken_sha256 = \"{token_sha}\"\nkeys = [\"dev-seal\"]\n"
        );
    std::fs::write(&cfg, text).unwrap();
    let mut args = vec!["serve", "--config", cfg.to_str().unwrap()];
    for h in http {
        args.extend(["--http", h.as_str()]);
    }
    args.extend(["--http", "127.0.0.1:0", "--https", "127.0.0.1:0"]);
    Server::spawn_logging(&args, state, log)
}

/// Short connection and body deadlines, and a plain listener declared behind a TLS proxy
/// (returned) beside the ordinary one.
fn server_with_deadlines(state: &Path) -> (Server, std::net::SocketAddr) {
    let proxied = free_addr();
    let srv = server_with(
        state,
        &format!(
            "header_timeout_ms = 1000\nidle_timeout_ms = 1500\nbody_timeout_ms = 1000\n\
             http_behind_tls_proxy = [\"{proxied}\"]"
        ),
        &[proxied.to_string()],
        "warn",
    );
    (srv, proxied)
}

fn addr_of(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches("/tsa")
        .to_string()
}

/// Reads until the server closes the connection (true) or 30 s pass without it (false).
fn closed_by_server(s: &mut impl std::io::Read, sock: &std::net::TcpStream) -> bool {
    sock.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// #21.7: every connection has a deadline from accept to its first request (TLS handshake
/// included), and an idle one is closed, HTTP/1.1 and HTTP/2 alike.
#[test]
fn silent_and_idle_connections_are_closed() {
    use std::io::Write;
    use std::net::TcpStream;
    let dir = tempdir();
    let (srv, _) = server_with_deadlines(&dir.path().join("state"));
    let plain = addr_of(&srv.http);
    let tls = addr_of(&srv.https);
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

    let silent = TcpStream::connect(&plain).unwrap();
    assert!(
        closed_by_server(&mut silent.try_clone().unwrap(), &silent),
        "silent"
    );
    let mut partial = TcpStream::connect(&plain).unwrap();
    partial.write_all(&preface[..23]).unwrap();
    assert!(
        closed_by_server(&mut partial.try_clone().unwrap(), &partial),
        "23 bytes of preface"
    );
    // HTTP/2: the preface and an empty SETTINGS frame, then no request.
    let mut h2 = TcpStream::connect(&plain).unwrap();
    h2.write_all(preface).unwrap();
    h2.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).unwrap();
    assert!(
        closed_by_server(&mut h2.try_clone().unwrap(), &h2),
        "HTTP/2 without a request"
    );
    // HTTP/1.1 keep-alive after one answered request.
    let mut h1 = TcpStream::connect(&plain).unwrap();
    h1.write_all(b"GET /healthz HTTP/1.1\r\nHost: k\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 12];
    std::io::Read::read_exact(&mut h1, &mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    assert!(
        closed_by_server(&mut h1.try_clone().unwrap(), &h1),
        "idle keep-alive"
    );
    // Nothing after a complete TLS handshake.
    let mut roots = rustls::RootCertStore::empty();
    for c in kokuin_certs::pem::load_certificates(&srv.root()).unwrap() {
        roots.add(der::Encode::to_der(&c).unwrap().into()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let mut sock = TcpStream::connect(&tls).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).unwrap();
    }
    let probe = sock.try_clone().unwrap();
    let mut stream = rustls::StreamOwned::new(conn, sock);
    assert!(
        closed_by_server(&mut stream, &probe),
        "silent after the TLS handshake"
    );
    // The server still answers.
    assert_eq!(
        get(&agent(None), &format!("{}/healthz", srv.base())).status,
        200
    );
}

/// #21.10 and #21.11: an authenticated upload at a trickle is cut off (408) however steadily
/// it trickles; an API token is refused on a plain listener (403) unless that listener is
/// declared behind a TLS-terminating proxy.
#[test]
fn slow_uploads_are_cut_off_and_tokens_never_cross_cleartext() {
    use std::io::{Read, Write};
    let dir = tempdir();
    let (srv, proxied) = server_with_deadlines(&dir.path().join("state"));
    let seal_via = |base: &str| {
        let mut r = agent(None)
            .post(&format!("{base}/eseal/v1/seal?key=dev-seal&level=B-B"))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .send(&b"invoice"[..])
            .unwrap();
        let body = r.body_mut().read_to_vec().unwrap_or_default();
        (
            r.status().as_u16(),
            String::from_utf8_lossy(&body).into_owned(),
        )
    };
    let (status, body) = seal_via(&srv.base());
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("HTTPS"), "{body}");
    let (status, body) = seal_via(&format!("http://{proxied}"));
    assert_eq!(status, 200, "{body}");

    // 64 bytes announced, one sent every 300 ms: the server answers 408 long before the end.
    let mut s = std::net::TcpStream::connect(proxied).unwrap();
    write!(
        s,
        "POST /eseal/v1/seal?key=dev-seal&level=B-B HTTP/1.1\r\nHost: k\r\n\
         Authorization: Bearer {TOKEN}\r\nContent-Length: 64\r\n\r\n"
    )
    .unwrap();
    let writer = s.try_clone().unwrap();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    let trickle = std::thread::spawn(move || {
        let mut w = writer;
        for _ in 0..64 {
            if w.write_all(b"x").is_err() {
                return;
            }
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
    });
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    let at = sent.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(&head, b"HTTP/1.1 408", "{}", String::from_utf8_lossy(&head));
    assert!(at < 64, "the whole trickle was waited for");
    drop(s);
    let _ = trickle.join();
}

/// #21.12, #21.13, #21.14, #21.16: metrics on their own listener and labelled by key name,
/// no file path in a reply, private file modes, request values escaped in the text log,
/// codings other than chunked and repeated parameters refused, and a start that cannot bind
/// closes its audit log properly.
#[test]
fn exposure_and_hygiene() {
    use std::io::{Read, Write};
    let dir = tempdir();
    let state = dir.path().join("state");
    let admin = free_addr();
    let srv = server_with(&state, &format!("admin = \"{admin}\""), &[], "info");
    let base = srv.base();
    let ag = agent(None);
    assert_eq!(get(&ag, &format!("{base}/metrics")).status, 404);
    assert_eq!(get(&ag, &format!("{base}/healthz")).status, 200);
    let metrics = get(&ag, &format!("http://{admin}/metrics"));
    assert_eq!(metrics.status, 200);
    let metrics = String::from_utf8(metrics.body).unwrap();
    let keys: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("kokuin_key_usage_seconds_left{"))
        .collect();
    assert!(!keys.is_empty(), "{metrics}");
    assert!(keys.iter().all(|l| !l.contains('/')), "{keys:?}");
    assert_eq!(
        tsa_post(&ag, &format!("http://{admin}/tsa"), &tsq(0)).status,
        404
    );

    // File modes: directories 0700, files 0600.
    for d in ["", "keys", "pki", "state", "audit"] {
        assert_eq!(
            mode(&state.join(d)) & 0o077,
            0,
            "{d}/ is {:o}",
            mode(&state.join(d))
        );
    }
    let segment = kokuin_audit::segment::list(&state.join("audit"))
        .unwrap()
        .remove(0);
    for f in [state.join("kokuin.toml"), segment] {
        assert_eq!(mode(&f) & 0o077, 0, "{} is {:o}", f.display(), mode(&f));
    }

    // A request value with a line break is one escaped log value, not a forged line.
    let https = srv.https.trim_end_matches("/tsa").to_string();
    let client = client_agent_in(&state);
    let r = post(
        &client,
        &format!("{https}/eseal/v1/seal?key=dev-seal&level=B-B&detached=x%0aFORGED-LINE"),
        "application/octet-stream",
        b"doc",
    );
    assert_eq!(r.status, 400);
    // Repeated parameters are refused, not resolved by whichever comes last.
    let r = post(
        &client,
        &format!("{https}/eseal/v1/seal?key=dev-seal&level=B-LTA&level=B-B"),
        "application/octet-stream",
        b"doc",
    );
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    // A B-LT seal without its CRL file: 503, and the reply names no path.
    std::fs::rename(state.join("pki/root.crl"), state.join("pki/root.crl.away")).unwrap();
    let r = post(
        &client,
        &format!("{https}/eseal/v1/seal?key=dev-seal&level=B-LT"),
        "application/octet-stream",
        b"doc",
    );
    let body = String::from_utf8_lossy(&r.body);
    assert_eq!(r.status, 503, "{body}");
    assert!(!body.contains('/') && !body.contains("root.crl"), "{body}");
    assert_eq!(
        r.retry_after.as_deref(),
        Some("1"),
        "a 503 says when to retry"
    );
    std::fs::rename(state.join("pki/root.crl.away"), state.join("pki/root.crl")).unwrap();
    // Transfer-Encoding gzip, chunked: not silently read as chunked.
    let mut s = std::net::TcpStream::connect(addr_of(&srv.http)).unwrap();
    s.write_all(
        b"POST /tsa HTTP/1.1\r\nHost: k\r\nContent-Type: application/timestamp-query\r\n\
          Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    )
    .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 501");
    drop(s);

    let log = srv.wait_for_log("FORGED-LINE");
    assert!(srv.stop().success());
    assert!(
        log.contains("FORGED-LINE"),
        "the refusal was not logged: {log}"
    );
    assert!(
        !log.lines().any(|l| l.starts_with("FORGED-LINE")),
        "a request forged a log line: {log}"
    );
    assert_eq!(mode(&state.join("audit/checkpoint.json")) & 0o077, 0);

    // A start that cannot bind binds before it opens the log (#31): it leaves no record and
    // no stray file.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let cfg = state.join("kokuin.toml");
    let before = audit_lines(&state);
    let o = kokuin(&["serve", "--config", cfg.to_str().unwrap(), "--http", &addr]);
    assert!(!o.status.success());
    assert!(text(&o).contains("cannot listen"), "{}", text(&o));
    assert_eq!(audit_lines(&state), before);
    assert!(!state.join("audit/checkpoint.json.tmp").exists());
}

/// #21.5: every refusal is in the audit log, HTTP-level and TLS ones included, and a flood of
/// them costs a handful of records, not one each: counted per event, client and reason.
#[test]
fn refusals_are_all_recorded_and_cannot_flood_the_log() {
    use std::io::Write;
    let dir = tempdir();
    let state = dir.path().join("state");
    let srv = Server::dev(&state);
    let before = audit_lines(&state).len();
    let ag = agent(None);
    let malformed = 1500;
    for i in 0..malformed {
        let r = tsa_post(&ag, &srv.http, format!("not a request {i}").as_bytes());
        assert_eq!(r.status, 200);
    }
    assert_eq!(post(&ag, &srv.http, "text/plain", b"x").status, 415);
    assert_eq!(get(&ag, &srv.http).status, 405);
    // E-seal calls without credentials, past the per-address limit (100/s, burst 200).
    let https = srv.https.trim_end_matches("/tsa").to_string();
    let anonymous = agent(Some(&srv.root()));
    let (mut unauthorized, mut limited) = (0u64, 0u64);
    for _ in 0..300 {
        match post(
            &anonymous,
            &format!("{https}/eseal/v1/seal?key=dev-seal"),
            "application/octet-stream",
            b"d",
        )
        .status
        {
            401 => unauthorized += 1,
            429 => limited += 1,
            s => panic!("status {s}"),
        }
    }
    assert!(limited > 0, "no per-address limit on the e-seal API");
    // A client that does not speak TLS to the HTTPS port.
    let mut s = std::net::TcpStream::connect(addr_of(&srv.https)).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    // The server closes it once the handshake has failed, and counts it before that.
    let _ = std::io::Read::read_to_end(&mut s, &mut Vec::new());
    assert!(srv.stop().success());

    let lines = audit_lines(&state);
    assert_eq!(
        refused(&lines, "request.refused", "badDataFormat"),
        malformed
    );
    assert_eq!(refused(&lines, "http.refused", "415 /tsa"), 1);
    assert_eq!(refused(&lines, "http.refused", "405 /tsa"), 1);
    assert_eq!(refused(&lines, "auth.failure", "401 seal"), unauthorized);
    assert_eq!(refused(&lines, "seal.refused", "429 seal"), limited);
    assert_eq!(refused(&lines, "tls.failed", "handshake"), 1);
    // 1,800-odd refusals, a few records: each count a record, plus start, stop, checkpoint.
    let written = lines.len() - before;
    assert!(
        written < 20,
        "{written} records for the refusals: {lines:#?}"
    );
}

/// #21.19: `kokuin keys` works on the configuration `serve --dev --pkcs11-module` wrote,
/// without the operator exporting the token's variables by hand.
#[test]
fn keys_on_a_dev_state_with_softhsm2_need_no_exported_variables() {
    let dir = tempdir();
    let state = dir.path().join("state");
    assert!(serve_with_module(&state, SOFTHSM2).stop().success());
    let o = std::process::Command::new(common::kokuin_exe())
        .args(["keys", "list", "--config"])
        .arg(state.join("kokuin.toml"))
        .env_remove("SOFTHSM2_CONF")
        .env_remove("KRYOPTIC_CONF")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("dev-tsu"), "{}", text(&o));
}
