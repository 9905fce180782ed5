//! A real `kokuin serve` process for the tests: started on ephemeral ports, its listening
//! URLs read from stdout, its log kept line by line, stopped with SIGTERM or killed.

use crate::exe::kokuin_exe;
use crate::http::{agent, get};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A `kokuin serve` process, stopped (SIGTERM) when dropped.
pub struct Server {
    child: Child,
    /// Its plain HTTP `/tsa` URL.
    pub http: String,
    /// Its HTTPS `/tsa` URL.
    pub https: String,
    /// Its state directory.
    pub dir: PathBuf,
    stderr: Arc<std::sync::Mutex<String>>,
}

impl Server {
    /// `kokuin serve --dev` on ephemeral ports, state in `dir`.
    pub fn dev(dir: &Path) -> Server {
        Self::spawn(
            &[
                "serve",
                "--dev",
                "--state-dir",
                dir.to_str().unwrap(),
                "--http",
                "127.0.0.1:0",
                "--https",
                "127.0.0.1:0",
            ],
            dir,
        )
    }

    /// `kokuin serve --config FILE --http 127.0.0.1:0` (plain HTTP only).
    pub fn with_config(config: &Path) -> Server {
        Self::spawn(
            &[
                "serve",
                "--config",
                config.to_str().unwrap(),
                "--http",
                "127.0.0.1:0",
            ],
            config.parent().unwrap(),
        )
    }

    /// `kokuin ARGS` as a server, its state in `dir`, logging at warn.
    pub fn spawn(args: &[&str], dir: &Path) -> Server {
        Self::spawn_logging(args, dir, "warn")
    }

    /// [`Server::spawn`] with the log level `RUST_LOG` (what `stderr()` then holds).
    pub fn spawn_logging(args: &[&str], dir: &Path, log: &str) -> Server {
        Self::spawn_env(args, dir, log, &[])
    }

    /// [`Server::spawn_logging`] with these environment variables set.
    pub fn spawn_env(args: &[&str], dir: &Path, log: &str, env: &[(&str, &str)]) -> Server {
        Self::try_spawn_env(args, dir, log, env).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Server::spawn_env`], or what the server said when it did not start.
    pub fn try_spawn_env(
        args: &[&str],
        dir: &Path,
        log: &str,
        env: &[(&str, &str)],
    ) -> Result<Server, String> {
        let mut child = Command::new(kokuin_exe())
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", log)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kokuin");
        let stderr = Arc::new(std::sync::Mutex::new(String::new()));
        {
            let e = child.stderr.take().unwrap();
            let sink = stderr.clone();
            // Line by line, so that `stderr()` shows what a running server logged so far.
            std::thread::spawn(move || {
                for line in BufReader::new(e).lines().map_while(Result::ok) {
                    let mut s = sink.lock().unwrap();
                    s.push_str(&line);
                    s.push('\n');
                }
            });
        }
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (mut http, mut https) = (String::new(), String::new());
        let deadline = Instant::now() + Duration::from_secs(60);
        while http.is_empty() || (args.contains(&"--https") && https.is_empty()) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(u) = line.strip_prefix("listening ") {
                        if u.starts_with("https") {
                            https = u.to_string();
                        } else {
                            http = u.to_string();
                        }
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    // The reader thread may still be draining the last lines.
                    std::thread::sleep(Duration::from_millis(100));
                    return Err(format!("server did not start: {}", stderr.lock().unwrap()));
                }
            }
        }
        Ok(Server {
            child,
            http,
            https,
            dir: dir.to_path_buf(),
            stderr,
        })
    }

    /// The dev root certificate.
    pub fn root(&self) -> PathBuf {
        self.dir.join("pki/root.pem")
    }

    /// The dev TSU certificate.
    pub fn tsu(&self) -> PathBuf {
        self.dir.join("pki/tsu.pem")
    }

    /// The chain the server sends for `policy` (GET /tsa/certs?policy=).
    pub fn tsu_for(&self, policy: &str) -> Vec<u8> {
        get(
            &agent(None),
            &format!("{}/tsa/certs?policy={policy}", self.base()),
        )
        .body
    }

    /// The plain HTTP base URL.
    pub fn base(&self) -> String {
        self.http.trim_end_matches("/tsa").to_string()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let st = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(st.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the exit that a signal sent elsewhere has started.
    pub fn stop_after_signal(mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "server did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether it has not exited.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (30 s at most) until the server has logged a line containing `needle`.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = self.stderr();
            if log.contains(needle) || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
