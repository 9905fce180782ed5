//! Roughtime servers of an independent implementation (roughenough-server, RFC 10049),
//! started by the tests on loopback, each with its own long-term key and, to play a wrong or
//! lying server, a fixed offset from the true time.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server binary: `$KOKUIN_ROUGHENOUGH_SERVER` (the test command sets it), or built now by
/// scripts/build-roughenough (never skipped).
pub fn binary() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(p) = std::env::var("KOKUIN_ROUGHENOUGH_SERVER") {
            return PathBuf::from(p);
        }
        let o = crate::run(&format!("{}/scripts/build-roughenough", crate::REPO), &[]);
        assert!(o.status.success(), "{}", crate::text(&o));
        PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
    })
    .clone()
}

/// A running roughenough-server; killed when dropped.
pub struct RoughtimeServer {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub address: String,
    /// The long-term key, base64, as a server list gives it.
    pub public_key: String,
    _dir: tempfile::TempDir,
}

impl RoughtimeServer {
    /// A server whose long-term seed is 32 bytes of `seed` and whose clock is `offset_s`
    /// seconds from the true time.
    pub fn start(seed: u8, offset_s: i16) -> Self {
        // A free port: bound and released; the server binds it next.
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(seed, offset_s, port)
    }

    /// The same on a given port (a server restarted with another clock, same address).
    pub fn start_on(seed: u8, offset_s: i16, port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let seed_file = dir.path().join("seed");
        std::fs::write(&seed_file, hex::encode([seed; 32])).unwrap();
        let mut perms = std::fs::metadata(&seed_file).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
        std::fs::set_permissions(&seed_file, perms).unwrap();
        let public_key = {
            use base64::Engine;
            let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
            base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes())
        };
        let mut child = Command::new(binary())
            .args(["--interface", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--num-threads",
                "1",
                "--seed-file",
                seed_file.to_str().unwrap(),
            ])
            .arg(format!("--fixed-offset={offset_s}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("roughenough-server starts");
        // A worker logs its online key once its socket is bound.
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if line.contains("online key") {
                    let _ = tx.send(());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        while rx.recv_timeout(Duration::from_millis(100)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("roughenough-server exited: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "roughenough-server did not start"
            );
        }
        Self {
            child,
            address: format!("127.0.0.1:{port}"),
            public_key,
            _dir: dir,
        }
    }

    /// The UDP port.
    pub fn port(&self) -> u16 {
        self.address.rsplit_once(':').unwrap().1.parse().unwrap()
    }

    /// This server as an entry of `[clock.roughtime] servers` (TOML).
    pub fn toml_entry(&self, name: &str) -> String {
        format!(
            "{{ name = \"{name}\", address = \"{}\", public_key = \"{}\" }}",
            self.address, self.public_key
        )
    }

    /// This server as an RFC 10049 server list entry (JSON).
    pub fn list_entry(&self, name: &str) -> serde_json::Value {
        serde_json::json!({
            "name": name, "version": 1, "publicKeyType": "ed25519",
            "publicKey": self.public_key,
            "addresses": [{ "protocol": "udp", "address": self.address }],
        })
    }
}

impl Drop for RoughtimeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
