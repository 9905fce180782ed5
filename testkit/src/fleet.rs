//! A dev fleet for the tests: nodes (`kokuin serve --dev --database … --node-id N`) sharing
//! one state directory and a throwaway PostgreSQL, and HAProxy in front running
//! `deploy/haproxy.cfg` itself with its bind address and server lines replaced.

use crate::postgres::Postgres;
use crate::{Server, free_port};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The password the nodes read from the environment.
pub fn password(pg: &Postgres) -> String {
    std::fs::read_to_string(&pg.password_file).expect("password file")
}

/// `kokuin ARGS` with the database password in the environment, as the nodes get it.
pub fn kokuin_db(pg: &Postgres, args: &[&str]) -> std::process::Output {
    std::process::Command::new(crate::exe::kokuin_exe())
        .args(args)
        .env("KOKUIN_DATABASE_PASSWORD", password(pg))
        .output()
        .expect("run kokuin")
}

/// The address HAProxy connects to the nodes from, in the tests: their
/// `--proxy-protocol-from`.
pub const PROXY_SOURCE: &str = "127.0.0.2";

/// Starts node `id` on `port` with its log and keyring in `pg`; the first node started on
/// a fresh `state` creates the dev PKI and keys the others share.
pub fn node(state: &Path, pg: &Postgres, id: u16, port: u16) -> Server {
    try_node(state, pg, id, port).unwrap_or_else(|e| panic!("node {id}: {e}"))
}

/// [`node`], or the start's error output when it refuses to start.
pub fn try_node(state: &Path, pg: &Postgres, id: u16, port: u16) -> Result<Server, String> {
    try_node_limited(state, pg, id, port, 0)
}

/// [`try_node`] with `/tsa` limited to `rate_limit` requests a second per client (0: none).
pub fn try_node_limited(
    state: &Path,
    pg: &Postgres,
    id: u16,
    port: u16,
    rate_limit: u32,
) -> Result<Server, String> {
    try_node_with(state, pg, id, port, rate_limit, &[])
}

/// [`try_node_limited`] with these environment variables set too.
pub fn try_node_with(
    state: &Path,
    pg: &Postgres,
    id: u16,
    port: u16,
    rate_limit: u32,
    env: &[(&str, &str)],
) -> Result<Server, String> {
    let url = pg.url();
    let (id_s, addr) = (id.to_string(), format!("127.0.0.1:{port}"));
    let rate = rate_limit.to_string();
    let args = [
        "serve",
        "--dev",
        "--state-dir",
        state.to_str().unwrap_or_default(),
        "--database",
        &url,
        "--node-id",
        &id_s,
        "--http",
        &addr,
        "--rate-limit",
        &rate,
        "--proxy-protocol-from",
        PROXY_SOURCE,
    ];
    let pw = password(pg);
    let mut env = env.to_vec();
    env.push(("KOKUIN_DATABASE_PASSWORD", pw.as_str()));
    Server::try_spawn_env(&args, state, "warn", &env)
}

/// HAProxy in front of `backends` (name, port).
pub struct Haproxy {
    child: Child,
    /// Its `/tsa` URL.
    pub url: String,
    /// Its frontend port.
    pub port: u16,
    _dir: tempfile::TempDir,
}

/// `deploy/haproxy.cfg` with the frontend on `port` and these servers.
pub fn haproxy_config(port: u16, backends: &[(String, u16)]) -> String {
    let base = std::fs::read_to_string(Path::new(crate::REPO).join("deploy/haproxy.cfg"))
        .expect("deploy/haproxy.cfg");
    let mut out = String::new();
    let mut servers_written = false;
    for line in base.lines() {
        let t = line.trim_start();
        if t.starts_with("bind ") {
            out.push_str(&format!("    bind 127.0.0.1:{port}\n"));
        } else if t.starts_with("server ") {
            if !servers_written {
                // From an address of its own, which the nodes list as their proxy: the
                // test's own requests to a node, from 127.0.0.1, carry no PROXY header.
                for (name, p) in backends {
                    out.push_str(&format!(
                        "    server {name} 127.0.0.1:{p} check source {PROXY_SOURCE}\n"
                    ));
                }
                servers_written = true;
            }
        } else if t.starts_with("log ") || t == "option httplog" {
            // Quiet in tests.
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

impl Haproxy {
    /// Starts HAProxy and waits until it routes to at least one ready node.
    pub fn start(backends: &[(String, u16)]) -> Haproxy {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let cfg: PathBuf = dir.path().join("haproxy.cfg");
        std::fs::write(&cfg, haproxy_config(port, backends)).expect("write haproxy.cfg");
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy (the README's test command installs it)");
        let h = Haproxy {
            child,
            url: format!("http://127.0.0.1:{port}/tsa"),
            port,
            _dir: dir,
        };
        let agent = crate::agent(None);
        let deadline = Instant::now() + Duration::from_secs(30);
        while crate::try_get(&agent, &format!("http://127.0.0.1:{port}/readyz"))
            .is_none_or(|r| r.status != 200)
        {
            assert!(Instant::now() < deadline, "HAProxy routes to no ready node");
            std::thread::sleep(Duration::from_millis(100));
        }
        h
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `kokuin audit verify` on the fleet's database, trusting the dev audit certificate in
/// `state`.
pub fn audit_verify(pg: &Postgres, state: &Path) -> std::process::Output {
    kokuin_db(
        pg,
        &[
            "audit",
            "verify",
            &pg.url(),
            "--trust",
            state.join("pki/audit.pem").to_str().expect("a UTF-8 path"),
        ],
    )
}
