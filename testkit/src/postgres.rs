//! A throwaway PostgreSQL cluster for the fleet's tests (Debian's `postgresql`): initdb in a
//! temporary directory, run as the unprivileged `postgres` user when the tests run as root
//! (PostgreSQL refuses root), on a free loopback port, password authentication over TCP. It
//! can be stopped and started again on the same port, and is stopped when dropped.

use crate::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running (or stopped) cluster.
pub struct Postgres {
    /// Holds the data directory, the socket and the password file.
    _dir: tempfile::TempDir,
    data: PathBuf,
    bin: PathBuf,
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
    /// The password file the nodes read (0600).
    pub password_file: PathBuf,
    /// With [`Postgres::start_tls`]: the CA that certifies the server (TCP is TLS only).
    pub ca: Option<PathBuf>,
    child: Option<Child>,
}

fn bin_dir() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .unwrap_or_else(|e| {
            panic!("PostgreSQL is not installed (the README's test command installs it): {e}")
        })
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("postgres").exists())
        .collect();
    dirs.sort();
    dirs.pop()
        .expect("a PostgreSQL server under /usr/lib/postgresql")
}

fn as_root() -> bool {
    static ROOT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
    })
}

/// `cmd args` as the `postgres` user when root, else as is.
fn command(program: &Path, args: &[&str]) -> Command {
    if as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program).args(args);
        c
    } else {
        let mut c = Command::new(program);
        c.args(args);
        c
    }
}

impl Postgres {
    /// initdb and start.
    pub fn start() -> Postgres {
        Self::start_with(false)
    }

    /// initdb and start, accepting TCP connections over TLS only, with a server certificate
    /// for 127.0.0.1 from a fresh CA ([`Postgres::ca`]).
    pub fn start_tls() -> Postgres {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> Postgres {
        let dir = tempfile::Builder::new()
            .prefix("kokuin-pg-")
            .tempdir()
            .expect("a temporary directory");
        let data = dir.path().join("data");
        let password_file = dir.path().join("password");
        let password = format!("pw-{}", std::process::id());
        std::fs::write(&password_file, &password).unwrap();
        // initdb reads the password as the postgres user; the nodes read it as this user.
        let pwfile_pg = dir.path().join("pwfile-for-initdb");
        std::fs::write(&pwfile_pg, &password).unwrap();
        if as_root() {
            let o = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let o = Command::new("chown")
                .args(["root:root"])
                .arg(&password_file)
                .output()
                .unwrap();
            assert!(o.status.success());
        }
        set_mode(&password_file, 0o600);
        let bin = bin_dir();
        let o = command(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "kokuin",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--pwfile",
                pwfile_pg.to_str().unwrap(),
                "-E",
                "UTF8",
                "--no-instructions",
            ],
        )
        .output()
        .expect("initdb");
        assert!(
            o.status.success(),
            "initdb: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let ca = tls.then(|| server_tls(dir.path(), &data));
        let mut pg = Postgres {
            _dir: dir,
            data,
            bin,
            port: free_port(),
            password_file,
            ca,
            child: None,
        };
        pg.start_again();
        pg
    }

    /// The URL the nodes use (no password: that is in [`Self::password_file`]).
    pub fn url(&self) -> String {
        format!("postgres://kokuin@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the stopped cluster on its port and waits until it accepts connections.
    pub fn start_again(&mut self) {
        let sock = self.data.parent().unwrap().to_path_buf();
        let child = command(
            &self.bin.join("postgres"),
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-p",
                &self.port.to_string(),
                "-k",
                sock.to_str().unwrap(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=200",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("postgres");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "PostgreSQL did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the cluster (fast shutdown: connections are cut), waiting for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGINT to the postmaster: fast shutdown. runuser passes it on.
            let pid = c.id().to_string();
            let _ = Command::new("kill").args(["-INT", &pid]).status();
            if as_root() {
                let _ = Command::new("pkill")
                    .args([
                        "-INT",
                        "-f",
                        &format!("postgres -D {}", self.data.display()),
                    ])
                    .status();
            }
            let _ = c.wait();
            let deadline = Instant::now() + Duration::from_secs(20);
            while self.data.join("postmaster.pid").exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// `psql -c SQL` as `role` (local connections are trusted): its output, or PostgreSQL's
    /// refusal.
    pub fn psql_as(&self, role: &str, sql: &str) -> Result<String, String> {
        let sock = self.data.parent().unwrap().to_path_buf();
        let o = command(
            &self.bin.join("psql"),
            &[
                "-h",
                sock.to_str().unwrap(),
                "-p",
                &self.port.to_string(),
                "-U",
                role,
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-c",
                sql,
            ],
        )
        .output()
        .expect("psql");
        if o.status.success() {
            Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&o.stderr).trim().to_string())
        }
    }

    /// The URL a node connecting as `role` uses.
    pub fn url_as(&self, role: &str) -> String {
        format!("postgres://{role}@127.0.0.1:{}/postgres", self.port)
    }

    /// `psql -c SQL` as the cluster's superuser; its output (tuples only, unaligned).
    pub fn psql(&self, sql: &str) -> String {
        self.psql_as("kokuin", sql)
            .unwrap_or_else(|e| panic!("psql {sql}: {e}"))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A CA and a server certificate for 127.0.0.1 (openssl), the cluster set to TLS, and TCP
/// allowed over TLS only; the CA's path.
fn server_tls(dir: &Path, data: &Path) -> PathBuf {
    let run = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=kokuin test db CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    for f in ["server.pem", "server.key"] {
        std::fs::copy(dir.join(f), data.join(f)).unwrap();
        if as_root() {
            let o = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(data.join(f))
                .output()
                .unwrap();
            assert!(o.status.success());
        }
    }
    set_mode(&data.join("server.key"), 0o600);
    let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
    conf.push_str("\nssl = on\nssl_cert_file = 'server.pem'\nssl_key_file = 'server.key'\n");
    std::fs::write(data.join("postgresql.conf"), conf).unwrap();
    let hba = std::fs::read_to_string(data.join("pg_hba.conf")).unwrap();
    let hba: String = hba
        .lines()
        .map(|l| {
            if l.starts_with("host ") {
                l.replacen("host ", "hostssl ", 1)
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(data.join("pg_hba.conf"), hba + "\n").unwrap();
    dir.join("ca.pem")
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}
