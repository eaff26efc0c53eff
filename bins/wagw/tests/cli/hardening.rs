//! What an attacker or a bad day does to the daemon (issue 16), through the built `wagw`:
//! idle sockets past the connection cap get a JSON 503 and are closed after the header
//! timeout, a stalled body gets a 408, repeated wrong tokens back off per address, `file:`
//! URLs work as media paths under the same guards, and configs that would expose or
//! destroy something are refused before anything starts.

use super::operator::{TOKEN, free_port, http, json, tiny_png, wait_for};
use super::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// `wagw gateway --sim` with the open-file limit at `fd_limit` (soft and hard), so the
/// connection cap is small enough to reach.
struct Limited {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl Limited {
    fn start(fd_limit: u32, root: &Path) -> Limited {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = serde_json::json!({
            "gateway": { "listen": format!("127.0.0.1:{port}"),
                         "agents": [ { "id": "main", "type": "echo" } ] },
            "channels": { "whatsapp": { "dmPolicy": "open", "allowFrom": ["*"] } },
            "media": { "localRoots": [root.to_str().unwrap()] }
        });
        let config_path = dir.path().join("wagw.json5");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let log = std::fs::File::create(dir.path().join("gateway.log")).unwrap();
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -n {fd_limit} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_wagw"))
            .args([
                "gateway",
                "--sim",
                "--config",
                config_path.to_str().unwrap(),
            ])
            .env_clear()
            .env("HOME", "/nonexistent-home")
            .env("WAGW_DATA_DIR", dir.path().join("data"))
            .env("WAGW_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        wait_for("the gateway to listen", 60, || {
            TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())
        });
        Limited { dir, port, child }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("gateway.log")).unwrap_or_default()
    }
}

impl Drop for Limited {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw request with `token`: (status, headers+body).
fn raw(port: u16, token: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out)
}

#[test]
fn idle_sockets_stalled_bodies_and_token_guessing_do_not_take_the_daemon_down() {
    let files = tempfile::tempdir().unwrap();
    let root = files.path().join("media root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("a b.png"), tiny_png()).unwrap();
    // 64 descriptors: the cap is 48 connections.
    let d = Limited::start(64, &root);
    let port = d.port;

    // A body that stops after one byte: 408 after the body timeout, in the background.
    // Connected (and answered to) before the flood, so it holds a slot of its own.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (status, _) = http(port, "GET", "/healthz", None);
    assert_eq!(status, 200);
    let stalled = std::thread::spawn(move || {
        write!(
            s,
            "POST /v1/accounts/default/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
        )
        .unwrap();
        let started = Instant::now();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        (out, started.elapsed())
    });

    // Idle sockets that never send a byte, past the cap.
    let idle: Vec<TcpStream> = (0..60)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let refusal = wait_for("a connection over the cap to be refused", 30, || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.starts_with("HTTP/1.1 503").then_some(out)
    });
    let body = refusal.split_once("\r\n\r\n").unwrap().1;
    assert_eq!(
        json(body)["error"]["code"],
        "too_many_connections",
        "{refusal}"
    );
    assert!(refusal.contains("Retry-After: 1"), "{refusal}");

    // The server closes silent sockets once the header read timeout (10 s) passes.
    let mut first = &idle[0];
    first
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 16];
    let n = first.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the idle socket got bytes instead of being closed");
    drop(idle);
    wait_for("/healthz to answer again", 30, || {
        (http(port, "GET", "/healthz", None).0 == 200).then_some(())
    });

    // Ten wrong tokens are free; the eleventh (still a 401) makes the address wait: 429 +
    // Retry-After, even with the right token, until the wait ends.
    for i in 0..11 {
        let (status, out) = raw(port, "wrong", "/v1/accounts");
        assert_eq!(status, 401, "attempt {i}: {out}");
    }
    let (status, out) = raw(port, "wrong", "/v1/accounts");
    assert_eq!(status, 429, "{out}");
    assert!(out.to_ascii_lowercase().contains("retry-after: 1"), "{out}");
    assert!(out.contains("too_many_attempts"), "{out}");
    let (status, _) = raw(port, TOKEN, "/v1/accounts");
    assert_eq!(status, 429, "a locked address is not let in with any token");
    let (status, out) = wait_for("the wait to end", 10, || {
        let r = raw(port, TOKEN, "/v1/accounts");
        (r.0 != 429).then_some(r)
    });
    assert_eq!(status, 200, "{out}");
    assert!(d.log().contains("repeated wrong API tokens"), "{}", d.log());

    // A file: URL in `path` is a local path under media.localRoots; other hosts are refused.
    let (status, out) = http(
        port,
        "POST",
        "/v1/sim/inbound",
        Some(r#"{"from":"+15550004444","text":"hi"}"#),
    );
    assert_eq!(status, 200, "{out}");
    let file_url = format!(
        "file://{}",
        root.join("a b.png").to_str().unwrap().replace(' ', "%20")
    );
    let body = serde_json::json!({"to": "+15550004444", "media": [{"path": file_url}]}).to_string();
    let (status, out) = http(port, "POST", "/v1/accounts/default/messages", Some(&body));
    assert_eq!(status, 200, "{out}");
    let body =
        serde_json::json!({"to": "+15550004444", "media": [{"path": "file://evil.example/a.png"}]})
            .to_string();
    let (status, out) = http(port, "POST", "/v1/accounts/default/messages", Some(&body));
    assert_eq!(status, 422, "{out}");
    assert_eq!(json(&out)["error"]["field"], "media[0].path", "{out}");

    let (out, took) = stalled.join().unwrap();
    assert!(out.starts_with("HTTP/1.1 408"), "{out}");
    assert!(out.contains("body_timeout"), "{out}");
    assert!(took < Duration::from_secs(60), "{took:?}");
}

#[test]
fn configs_that_would_expose_or_hang_the_daemon_are_refused_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let run = |args: &[&str]| wagw(args, &[("WAGW_DATA_DIR", data)]);

    // A network-facing listen with a guessable token: exit 1 naming why and the fix
    // (`config check` warns about it).
    let port = free_port();
    let weak = dir.path().join("weak.json5");
    std::fs::write(
        &weak,
        format!(r#"{{ gateway: {{ listen: "0.0.0.0:{port}", token: "hunter2hunter2hunter2" }} }}"#),
    )
    .unwrap();
    let o = run(&["gateway", "--sim", "--config", weak.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let check = run(&["config", "check", "--config", weak.to_str().unwrap()]);
    assert!(
        stdout(&check).contains("warning: in this environment `wagw gateway` refuses to start"),
        "{}",
        stdout(&check)
    );
    let err = stderr(&o);
    assert!(err.contains("too weak"), "{err}");
    assert!(err.contains("openssl rand -hex 32"), "{err}");
    assert!(
        !err.contains("hunter2"),
        "the token reached the output: {err}"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "it listened"
    );
    let o = run(&["doctor", "--config", weak.to_str().unwrap()]);
    assert!(stdout(&o).contains("token is too weak"), "{}", stdout(&o));

    // A FIFO as config would block forever on open: refused at once, exit 2.
    let fifo = dir.path().join("fifo.json5");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let started = Instant::now();
    let o = run(&["config", "check", "--config", fifo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not a regular file (a FIFO)"),
        "{}",
        stderr(&o)
    );
    assert!(started.elapsed() < Duration::from_secs(20));

    // A 5 MB "config": refused by size before parsing, exit 2.
    let big = dir.path().join("big.json5");
    std::fs::write(&big, vec![b' '; 5_000_000]).unwrap();
    let o = run(&["gateway", "--sim", "--config", big.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("at most 4194304 bytes"),
        "{}",
        stderr(&o)
    );

    // An authDir holding someone else's files: refused at start, the files untouched.
    let mine = dir.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "keep me").unwrap();
    let shared = dir.path().join("shared.json5");
    std::fs::write(
        &shared,
        format!(
            r#"{{ gateway: {{ listen: "127.0.0.1:{}" }}, channels: {{ whatsapp: {{ accounts: {{ default: {{ authDir: "./mine" }} }} }} }} }}"#,
            free_port()
        ),
    )
    .unwrap();
    let o = run(&["gateway", "--config", shared.to_str().unwrap()]);
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("holds files wagw did not create (notes.txt)"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(mine.join("notes.txt")).unwrap(),
        "keep me"
    );
    let names: Vec<_> = std::fs::read_dir(&mine).unwrap().collect();
    assert_eq!(names.len(), 1, "wagw wrote into a folder it does not own");
}
