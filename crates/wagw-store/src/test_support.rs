//! A throwaway PostgreSQL server for tests (feature `test-support`; never in a shipped
//! build's paths).
//!
//! [`TestPostgres::start`] runs `initdb` into a temporary folder and starts `postgres` on a
//! free loopback port (its Unix socket in that folder), waits until a connection succeeds,
//! and stops it when dropped. When `WAGW_TEST_POSTGRES_URL` is set, that server is used
//! instead. When neither is possible, tests are skipped with a printed message, except under
//! `CI=true`, where they fail: CI must test both engines.
//!
//! `initdb` refuses to run as root, so as root (tests and CI here) the server runs as the
//! `postgres` user that Debian's package creates, through `runuser`.
//!
//! The server is started by a small shell that holds the test process's end of a pipe: when
//! the test process exits without dropping the server (a `static` one), the pipe closes and
//! the shell stops the server and removes its folder.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub use crate::pg::namespace_lock_key;

/// A PostgreSQL server for tests: one this process started, or the one named by
/// `WAGW_TEST_POSTGRES_URL`.
#[derive(Debug)]
pub struct TestPostgres {
    /// `postgres://…` of the server's maintenance database.
    url: String,
    managed: Option<Managed>,
}

#[derive(Debug)]
struct Managed {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// The owner of the data folder when the test runs as root.
    run_as: Option<(u32, u32)>,
    reaper: Option<(Child, ChildStdin)>,
}

static SHARED: OnceLock<Option<TestPostgres>> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

/// Why no server can be had, or `None` when one can.
fn unavailable(reason: &str) -> Option<TestPostgres> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "PostgreSQL tests cannot run: {reason}; CI must test both engines \
             (install Debian's postgresql or set WAGW_TEST_POSTGRES_URL)"
        );
    }
    eprintln!(
        "SKIPPED PostgreSQL tests: {reason} (install postgresql, or set WAGW_TEST_POSTGRES_URL)"
    );
    None
}

/// The newest `/usr/lib/postgresql/<major>/bin` holding `initdb`.
fn find_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn id_of(flag: &str) -> Option<u32> {
    let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

impl TestPostgres {
    /// The server shared by every test of this process (started once), or `None` (tests
    /// skipped, see the module doc).
    pub fn shared() -> Option<&'static TestPostgres> {
        SHARED.get_or_init(TestPostgres::start).as_ref()
    }

    /// A server of the test's own (one it may stop and restart), or `None` when only
    /// `WAGW_TEST_POSTGRES_URL` or nothing is available.
    pub fn start() -> Option<TestPostgres> {
        if let Ok(url) = std::env::var("WAGW_TEST_POSTGRES_URL")
            && !url.is_empty()
        {
            return Some(TestPostgres { url, managed: None });
        }
        TestPostgres::start_own()
    }

    /// A server this process starts itself (never `WAGW_TEST_POSTGRES_URL`'s).
    pub fn start_own() -> Option<TestPostgres> {
        let Some(bin) = find_bin() else {
            return unavailable("no /usr/lib/postgresql/*/bin/initdb");
        };
        let dir = tempfile::Builder::new()
            .prefix("wagw-pg-")
            .tempdir()
            .expect("temporary folder");
        let run_as = if is_root() {
            let (Some(uid), Some(gid)) = (id_of("-u"), id_of("-g")) else {
                return unavailable("running as root and there is no `postgres` user");
            };
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown");
            Some((uid, gid))
        } else {
            None
        };
        let mut managed = Managed {
            dir,
            bin,
            port: 0,
            run_as,
            reaper: None,
        };
        let data = managed.data();
        let out = managed
            .command("initdb")
            .args(["-A", "trust", "-U", "wagw", "-E", "UTF8", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .expect("run initdb");
        if !out.status.success() {
            return unavailable(&format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        managed.launch();
        Some(TestPostgres {
            url: managed.url("postgres"),
            managed: Some(managed),
        })
    }

    /// The URL of the server's `postgres` database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Creates an empty database of its own for one test; returns its URL.
    pub fn fresh_database(&self) -> String {
        let n = DATABASES.fetch_add(1, Ordering::Relaxed);
        let name = format!("wagw_test_{}_{n}", std::process::id());
        off_runtime(|| {
            let mut c = postgres::Config::from_str(&self.url)
                .expect("test URL")
                .connect(postgres::NoTls)
                .expect("connect to the test server");
            c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                .expect("drop a leftover test database");
            c.batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create a test database");
        });
        with_dbname(&self.url, &name)
    }

    /// Stops the server at once, as a crash would (`pg_ctl -m immediate`: no checkpoint,
    /// recovery from the write-ahead log at the next start). Only for a server of the
    /// test's own ([`TestPostgres::start_own`]).
    pub fn crash(&mut self) {
        let m = self.managed.as_mut().expect("a server of the test's own");
        let data = m.data();
        let out = m
            .command("pg_ctl")
            .args(["-m", "immediate", "-w", "stop", "-D"])
            .arg(&data)
            .output()
            .expect("run pg_ctl");
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        m.end_reaper(true);
    }

    /// Starts the server again after [`TestPostgres::crash`], on the same port.
    pub fn restart(&mut self) {
        self.managed
            .as_mut()
            .expect("a server of the test's own")
            .launch();
    }
}

/// Runs `f` on a thread of its own: the synchronous client panics inside a tokio runtime,
/// and tests that are `#[tokio::test]` ask for servers and databases too.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .expect("the test server's helper panicked")
    })
}

/// `url` with its database name replaced by `name`.
fn with_dbname(url: &str, name: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[scheme_end..];
    let query = rest.find('?').map(|i| &rest[i..]).unwrap_or("");
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    format!(
        "{}{}/{name}{query}",
        &url[..scheme_end],
        &rest[..authority_end]
    )
}

impl Managed {
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://wagw@127.0.0.1:{}/{db}", self.port)
    }

    /// A command of the server's, run as its owner.
    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        match self.run_as {
            Some(_) => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        }
    }

    /// Starts `postgres` under the reaper shell and waits until it accepts a connection.
    fn launch(&mut self) {
        if self.port == 0 {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            self.port = l.local_addr().expect("port").port();
        }
        let dir = self.dir.path();
        let script = r#"
            "$1" -D "$2/data" -p "$3" -k "$2" -c listen_addresses=127.0.0.1 \
                >>"$2/log" 2>&1 </dev/null &
            p=$!
            read -r keep
            kill -INT "$p" 2>/dev/null
            wait "$p"
            [ "$keep" = keep ] || rm -rf "$2"
        "#;
        let mut cmd = match self.run_as {
            Some(_) => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--", "sh", "-c", script, "sh"]);
                c
            }
            None => {
                let mut c = Command::new("sh");
                c.args(["-c", script, "sh"]);
                c
            }
        };
        let mut child = cmd
            .arg(self.bin.join("postgres"))
            .arg(dir)
            .arg(self.port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        let stdin = child.stdin.take().expect("stdin");
        self.reaper = Some((child, stdin));
        // Ready when a connection succeeds; each attempt is a real connection (refused at
        // once while the port is closed, or "starting up" until recovery is over).
        let deadline = Instant::now() + Duration::from_secs(60);
        let config = postgres::Config::from_str(&self.url("postgres")).expect("url");
        off_runtime(|| {
            loop {
                match config.connect(postgres::NoTls) {
                    Ok(_) => return,
                    Err(e) if Instant::now() > deadline => {
                        let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
                        panic!("postgres did not start: {e}\n{log}");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        })
    }

    /// Ends the reaper shell (which stops the server, and removes the folder unless `keep`).
    fn end_reaper(&mut self, keep: bool) {
        if let Some((mut child, mut stdin)) = self.reaper.take() {
            if keep {
                let _ = stdin.write_all(b"keep\n");
            }
            drop(stdin);
            let _ = child.wait();
        }
    }
}

impl Drop for Managed {
    fn drop(&mut self) {
        self.end_reaper(false);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_database_name_is_replaced() {
        assert_eq!(
            super::with_dbname("postgres://u:p@h:5/db?sslmode=disable", "x"),
            "postgres://u:p@h:5/x?sslmode=disable"
        );
        assert_eq!(super::with_dbname("postgres://h", "x"), "postgres://h/x");
    }
}
