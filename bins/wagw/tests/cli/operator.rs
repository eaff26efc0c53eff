//! What a new operator hits first (issue 13), through the built `wagw`: an unlinked
//! account says so and how to link it; SIGTERM ends open event streams; a failed media send
//! sends nothing and names the item, while an agent's failed media never reaches the
//! contact; every send field reaches the transport; `actions.sendMessage` is enforced; the
//! ack reaction precedes the reply; simulator ids stay unique across restarts; a closed
//! stdout ends a command quietly; bad query and path parameters get the API's JSON error.

use super::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub(super) const TOKEN: &str = "operator-test-token";

pub(super) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal HTTP/1.1 client: (status, body).
pub(super) fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    let _ = s.write_all(body.as_bytes());
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).into_owned();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

pub(super) fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"))
}

pub(super) fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An open `GET /v1/events` stream, read line by line.
pub(super) struct EventStream {
    reader: BufReader<TcpStream>,
    seen: String,
}

impl EventStream {
    pub(super) fn open(port: u16, query: &str) -> EventStream {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "GET /v1/events{query} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut stream = EventStream {
            reader: BufReader::new(s),
            seen: String::new(),
        };
        stream.until("the event stream's headers", 30, |seen| {
            seen.contains("\r\n\r\n")
        });
        assert!(stream.seen.starts_with("HTTP/1.1 200"), "{}", stream.seen);
        stream
    }

    /// Reads until `done(everything read so far)` or EOF; true when `done`.
    pub(super) fn until(&mut self, what: &str, secs: u64, done: impl Fn(&str) -> bool) -> bool {
        let start = Instant::now();
        loop {
            if done(&self.seen) {
                return true;
            }
            let mut line = String::new();
            let read = self.reader.read_line(&mut line);
            // On a timeout the part of the line read so far is in `line` too.
            self.seen.push_str(&line);
            match read {
                Ok(0) => return done(&self.seen),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return done(&self.seen),
            }
            assert!(
                start.elapsed() < Duration::from_secs(secs),
                "timed out waiting for {what}; read so far:\n{}",
                self.seen
            );
        }
    }

    /// Reads until the server closes the stream.
    pub(super) fn until_closed(&mut self, secs: u64) {
        let start = Instant::now();
        loop {
            let mut line = String::new();
            let read = self.reader.read_line(&mut line);
            self.seen.push_str(&line);
            match read {
                Ok(0) => return,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return,
            }
            assert!(
                start.elapsed() < Duration::from_secs(secs),
                "the event stream stayed open for {secs} s"
            );
        }
    }
}

/// `wagw gateway` on a temp dir: `--sim` unless told otherwise.
pub(super) struct Daemon {
    pub(super) dir: tempfile::TempDir,
    pub(super) port: u16,
    pub(super) config: String,
    sim: bool,
    child: Option<Child>,
    /// More `wagw gateway` arguments and environment (for every `cli` call too).
    pub(super) args: Vec<String>,
    pub(super) extra_env: Vec<(&'static str, String)>,
}

impl Daemon {
    /// `body` is the config's top level without `gateway.listen`, which is added.
    pub(super) fn start(body: &str) -> Daemon {
        Daemon::start_with(body, true)
    }

    pub(super) fn start_with(body: &str, sim: bool) -> Daemon {
        Daemon::launch(body, sim, &[], &[])
    }

    /// `start_with` plus gateway arguments and environment.
    pub(super) fn launch(
        body: &str,
        sim: bool,
        args: &[&str],
        env: &[(&'static str, &str)],
    ) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let mut d = Daemon {
            dir,
            port: free_port(),
            config: body.to_owned(),
            sim,
            child: None,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            extra_env: env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        };
        d.write_config();
        d.spawn();
        d
    }

    /// `wagw gateway --sim` on a config file written exactly as `text(port)` returns it
    /// (comments and layout included), for tests that look at the file afterwards.
    pub(super) fn launch_text(text: impl Fn(u16) -> String) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut d = Daemon {
            dir,
            port,
            config: String::new(),
            sim: true,
            child: None,
            args: Vec::new(),
            extra_env: Vec::new(),
        };
        std::fs::write(d.config_path(), text(port)).unwrap();
        d.spawn();
        d
    }

    pub(super) fn write_config(&self) {
        let mut v: Value = serde_json::from_str(&self.config).unwrap();
        v["gateway"]["listen"] = Value::String(format!("127.0.0.1:{}", self.port));
        std::fs::write(self.config_path(), v.to_string()).unwrap();
    }

    pub(super) fn config_path(&self) -> String {
        self.dir
            .path()
            .join("wagw.json5")
            .to_str()
            .unwrap()
            .to_owned()
    }

    pub(super) fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub(super) fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("WAGW_DATA_DIR", self.data().to_str().unwrap().to_owned()),
            ("WAGW_TOKEN", TOKEN.to_owned()),
        ]
        .into_iter()
        .chain(self.extra_env.iter().cloned())
        .collect()
    }

    pub(super) fn spawn(&mut self) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wagw"));
        cmd.args(["gateway", "--config", &self.config_path()]);
        if self.sim {
            cmd.arg("--sim");
        }
        cmd.args(&self.args);
        cmd.env_clear()
            .env("HOME", "/nonexistent-home")
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.dir.path().join("gateway.log"))
                    .unwrap(),
            );
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().unwrap());
        let port = self.port;
        wait_for("the gateway to listen", 60, || {
            TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())
        });
    }

    pub(super) fn wait_connected(&self, account: &str) {
        wait_for("the account to connect", 60, || {
            let (_, b) = http(self.port, "GET", &format!("/v1/accounts/{account}"), None);
            b.contains("\"connected\":true").then_some(())
        });
    }

    pub(super) fn http(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        http(self.port, method, path, body)
    }

    pub(super) fn cli(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        let config = self.config_path();
        all.extend(["--config", &config]);
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        wagw(&all, &env)
    }

    pub(super) fn inbound(&self, from: &str, text: &str) -> String {
        let body = serde_json::json!({"from": from, "text": text}).to_string();
        let (s, b) = self.http("POST", "/v1/sim/inbound", Some(&body));
        assert_eq!(s, 200, "{b}");
        json(&b)["messageId"].as_str().unwrap().to_owned()
    }

    pub(super) fn outbox(&self) -> Vec<Value> {
        let (s, b) = self.http("GET", "/v1/sim/outbox/default", None);
        assert_eq!(s, 200, "{b}");
        json(&b)["messages"].as_array().unwrap().clone()
    }

    pub(super) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("gateway.log")).unwrap_or_default()
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// SIGKILL (a crash: no shutdown code runs), and wait for the process to be gone.
    pub(super) fn kill(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGKILL, and wait for it: nothing of the process's shutdown runs.
    pub(super) fn kill9(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, then wait (at most `secs`) for the exit.
    pub(super) fn terminate(&mut self, secs: u64) -> (ExitStatus, Duration) {
        let started = Instant::now();
        let kill = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let mut child = self.child.take().unwrap();
        let status = wait_for("the gateway to exit after SIGTERM", secs, || {
            child.try_wait().unwrap()
        });
        (status, started.elapsed())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub(super) const OPEN_ECHO: &str = r#"{
    "gateway": { "agents": [ { "id": "main", "type": "echo" } ] },
    "channels": { "whatsapp": { "dmPolicy": "open", "allowFrom": ["*"] } }
}"#;

/// A valid 1×1 PNG.
pub(super) fn tiny_png() -> Vec<u8> {
    let mut out = Vec::new();
    let img = image::RgbImage::from_pixel(1, 1, image::Rgb([200, 10, 10]));
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose header claims 100000×100000 pixels (the rest is a token IDAT): decoding it
/// would need 30 GB.
fn bomb_png() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let chunk = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A minimal MP4 (an `ftyp` box and an empty `mdat`).
fn tiny_mp4() -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(24u32.to_be_bytes());
    out.extend(b"ftypisom");
    out.extend(512u32.to_be_bytes());
    out.extend(b"isommp41");
    out.extend(8u32.to_be_bytes());
    out.extend(b"mdat");
    out
}

fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[test]
fn bad_query_and_path_parameters_answer_the_json_422() {
    let d = Daemon::start(OPEN_ECHO);
    d.wait_connected("default");
    for (path, field) in [
        ("/v1/events?after=-1", "after"),
        ("/v1/events?after=18446744073709551616", "after"),
        ("/v1/events?after=abc", "after"),
        ("/v1/deliveries?limit=-1", "limit"),
        ("/v1/deliveries?limit=2.5", "limit"),
        ("/v1/deliveries?limit=99999999999999999999999", "limit"),
        ("/v1/accounts/%FF%FE", "id"),
        ("/v1/allow/whatsapp/%C3%28", "entry"),
    ] {
        let method = if path.starts_with("/v1/allow") {
            "DELETE"
        } else {
            "GET"
        };
        let (status, body) = d.http(method, path, None);
        assert_eq!(status, 422, "{path}: {body}");
        let v = json(&body);
        assert_eq!(v["error"]["code"], "invalid_request", "{path}: {body}");
        assert_eq!(v["error"]["field"], field, "{path}: {body}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(field),
            "{path}: {body}"
        );
    }
    // Valid values still work.
    let (status, body) = d.http("GET", "/v1/deliveries?limit=5&state=dead", None);
    assert_eq!(status, 200, "{body}");
    let (status, body) = d.http("GET", "/v1/allow/whatsapp?account=default", None);
    assert_eq!(status, 200, "{body}");
    // A known route with the wrong method, and a bad JSON body: the same JSON shape.
    let (status, body) = d.http("DELETE", "/v1/accounts", None);
    assert_eq!(status, 405, "{body}");
    assert_eq!(json(&body)["error"]["code"], "method_not_allowed");
    let (status, body) = d.http(
        "POST",
        "/v1/accounts/default/messages",
        Some(r#"{"to": 5}"#),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(json(&body)["error"]["field"], "to");
}

#[test]
fn sigterm_ends_open_event_streams_and_exits_cleanly() {
    let mut d = Daemon::start(OPEN_ECHO);
    d.wait_connected("default");
    let mut stream = EventStream::open(d.port, "?after=0");
    // The stream is live: an inbound turn shows on it.
    d.inbound("+15550002222", "before shutdown");
    stream.until("the turn's events", 60, |seen| seen.contains("event:"));
    let (status, elapsed) = d.terminate(60);
    assert_eq!(status.code(), Some(0), "log:\n{}", d.log());
    stream.until_closed(30);
    let log = d.log();
    assert!(log.contains("SIGTERM received"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    eprintln!("exit {elapsed:?} after SIGTERM with an open event stream");
}

#[test]
fn sigterm_exits_within_the_grace_even_with_a_turn_that_never_finishes() {
    let marks = tempfile::tempdir().unwrap();
    let pidfile = marks.path().join("agent.pid");
    // An agent that never answers in time: its turn is still running at SIGTERM.
    let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
    let config = serde_json::json!({
        "gateway": { "agents": [ {
            "id": "main", "type": "exec", "timeoutMs": 600000,
            "command": ["sh", "-c", script]
        } ] },
        "channels": { "whatsapp": { "dmPolicy": "open", "allowFrom": ["*"] } }
    })
    .to_string();
    let mut d = Daemon::start(&config);
    d.wait_connected("default");
    d.inbound("+15550002222", "a question that takes forever");
    wait_for("the agent's turn to start", 60, || {
        std::fs::read_to_string(&pidfile)
            .ok()
            .filter(|p| p.ends_with('\n'))
    });
    let (status, elapsed) = d.terminate(60);
    let log = d.log();
    assert_eq!(status.code(), Some(0), "log:\n{log}");
    // The documented grace: 10 s from the signal (turns get 8 of them, so the exit, the
    // acknowledgements and this test's polling fit in the rest).
    assert!(
        elapsed < Duration::from_secs(10),
        "exit took {elapsed:?}; log:\n{log}"
    );
    assert!(log.contains("abandoning unfinished turns"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    // The abandoned turn's processes went with it.
    let pid = std::fs::read_to_string(&pidfile).unwrap().trim().to_owned();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let running = stat
        .rsplit(')')
        .next()
        .and_then(|rest| rest.trim_start().chars().next())
        .is_some_and(|state| state != 'Z');
    assert!(
        !running,
        "the agent's child {pid} outlived the gateway: {stat}"
    );
    eprintln!("exit {elapsed:?} after SIGTERM with a turn in flight");
}

fn media_config(root: &Path) -> String {
    serde_json::json!({
        "gateway": { "agents": [ { "id": "main", "type": "echo" } ] },
        "channels": { "whatsapp": { "dmPolicy": "open", "allowFrom": ["*"] } },
        "media": { "localRoots": [root.to_str().unwrap()] }
    })
    .to_string()
}

#[test]
fn a_failed_media_item_sends_nothing_and_names_the_item() {
    let files = tempfile::tempdir().unwrap();
    let root = files.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("ok.png"), tiny_png()).unwrap();
    std::fs::write(files.path().join("secret.png"), tiny_png()).unwrap();
    std::os::unix::fs::symlink(files.path().join("secret.png"), root.join("link.png")).unwrap();
    let d = Daemon::start(&media_config(&root));
    d.wait_connected("default");
    // The contact exists on the simulated network once it wrote (and got the echo).
    d.inbound("+15550003333", "hello");
    wait_for("the echo", 60, || (d.outbox().len() == 1).then_some(()));
    let nothing_new = |what: &str| {
        let sent = d.outbox();
        assert_eq!(sent.len(), 1, "{what}: something was sent: {sent:?}");
    };
    let ok_item = serde_json::json!({"path": root.join("ok.png")});
    let cases = [
        (
            serde_json::json!({"url": "http://127.0.0.1:9/x.png"}),
            "media[1].url",
            "media.allowPrivateNetworks",
        ),
        (
            serde_json::json!({"url": "http://169.254.169.254/latest/meta-data"}),
            "media[1].url",
            "media.allowPrivateNetworks",
        ),
        (
            serde_json::json!({"url": "http://10.1.2.3/a.png"}),
            "media[1].url",
            "media.allowPrivateNetworks",
        ),
        (
            serde_json::json!({"path": files.path().join("secret.png")}),
            "media[1].path",
            "media.localRoots",
        ),
        (
            serde_json::json!({"path": root.join("link.png")}),
            "media[1].path",
            "media.localRoots",
        ),
        (
            serde_json::json!({"base64": b64(&bomb_png()), "mime": "image/png"}),
            "media[1].base64",
            "100000x100000",
        ),
    ];
    for (bad, field, hint) in cases {
        let body = serde_json::json!({
            "to": "+15550003333", "text": "caption", "media": [ok_item, bad]
        })
        .to_string();
        let (status, out) = d.http("POST", "/v1/accounts/default/messages", Some(&body));
        assert_eq!(status, 422, "{bad}: {out}");
        let v = json(&out);
        assert_eq!(v["error"]["field"], field, "{out}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(hint), "{bad}: {message}");
        assert!(message.contains("nothing was sent"), "{message}");
        assert!(!message.contains("channels.whatsapp.media"), "{message}");
    }
    nothing_new("API");
    // The CLI: non-zero exit, the item and the key on stderr, nothing sent.
    let o = d.cli(&[
        "message",
        "send",
        "--to",
        "+15550003333",
        "--text",
        "hi",
        "--media",
        "http://127.0.0.1:9/x.png",
    ]);
    assert_ne!(o.status.code(), Some(0), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("media[0].url"), "{err}");
    assert!(err.contains("media.allowPrivateNetworks"), "{err}");
    nothing_new("CLI");
    // The same request with only the good item goes out.
    let body = serde_json::json!({"to": "+15550003333", "text": "caption", "media": [ok_item]})
        .to_string();
    let (status, out) = d.http("POST", "/v1/accounts/default/messages", Some(&body));
    assert_eq!(status, 200, "{out}");
    let sent = d.outbox();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[1]["text"], "caption");
    assert_eq!(sent[1]["kind"], "media");
}

/// A webhook agent whose every reply carries media from a loopback URL.
fn media_agent() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                answer_turn(stream, &|_| {
                    serde_json::json!({"replies": [{
                        "text": "here is the chart",
                        "media": [{"url": "http://127.0.0.1:9/internal/chart.png"}]
                    }]})
                })
            });
        }
    });
    port
}

/// One turn as a webhook agent received it.
pub struct Turn {
    /// The `X-Wagw-Delivery` header.
    pub delivery: String,
    /// The JSON body.
    pub body: serde_json::Value,
}

/// A webhook agent's side of one connection: reads the turn, answers 200 with
/// `replies(turn)` as the JSON body.
pub fn answer_turn(stream: TcpStream, replies: &dyn Fn(&Turn) -> serde_json::Value) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut len = 0usize;
    let mut delivery = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case("x-wagw-delivery") {
                delivery = v.trim().to_owned();
            }
        }
    }
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let turn = Turn {
        delivery,
        body: serde_json::from_slice(&body).unwrap_or_default(),
    };
    let out = replies(&turn).to_string();
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
        out.len()
    );
}

#[test]
fn an_agent_reply_with_failed_media_sends_the_text_only() {
    let agent = media_agent();
    let config = serde_json::json!({
        "gateway": { "agents": [ {
            "id": "main", "type": "webhook", "url": format!("http://127.0.0.1:{agent}/turn"),
            "secret": "0123456789abcdef0123456789abcdef"
        } ] },
        "channels": { "whatsapp": { "dmPolicy": "open", "allowFrom": ["*"] } }
    })
    .to_string();
    let d = Daemon::start(&config);
    d.wait_connected("default");
    let mut events = EventStream::open(d.port, "?after=0");
    d.inbound("+15550004444", "send me the chart");
    let sent = wait_for("the reply", 60, || {
        let o = d.outbox();
        (!o.is_empty()).then_some(o)
    });
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["kind"], "text");
    assert_eq!(sent[0]["text"], "here is the chart");
    let everything = serde_json::to_string(&sent).unwrap();
    for leak in [
        "127.0.0.1",
        "internal/chart",
        "allowPrivateNetworks",
        "Media failed",
    ] {
        assert!(
            !everything.contains(leak),
            "{leak} reached the contact: {everything}"
        );
    }
    // The operator sees it: event stream, metrics, log.
    assert!(
        events.until("the send_failed event", 60, |seen| seen
            .contains("event: send_failed")
            && seen.contains("media.allowPrivateNetworks")),
        "{}",
        events.seen
    );
    let (_, metrics) = d.http("GET", "/metrics", None);
    let failures: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("wagw_send_failures_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(failures >= 1, "{metrics}");
    let log = d.log();
    assert!(log.contains("media failed"), "{log}");
    // And on the delivery record, through the API and the CLI.
    let record = wait_for("the failure on the delivery record", 60, || {
        let (_, out) = d.http("GET", "/v1/deliveries?state=delivered", None);
        let list = json(&out);
        let first = list["deliveries"].get(0)?.clone();
        first["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("replies not sent"))
            .then_some(first)
    });
    let noted = record["lastError"].as_str().unwrap();
    assert!(noted.contains("media[0]"), "{noted}");
    assert!(noted.contains("media.allowPrivateNetworks"), "{noted}");
    let o = d.cli(&["deliveries", "list", "--state", "delivered"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let listed = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(listed.contains("replies not sent"), "{listed}");
}

#[test]
fn a_send_refused_after_its_media_were_prepared_is_an_error_naming_what_went_out() {
    let files = tempfile::tempdir().unwrap();
    let png = files.path().join("one.png");
    std::fs::write(&png, tiny_png()).unwrap();
    let d = Daemon::start(&media_config(files.path()));
    d.wait_connected("default");
    // The contact exists on the simulated WhatsApp once it has written.
    d.inbound("+15550005555", "hello");
    wait_for("the echo", 60, || (!d.outbox().is_empty()).then_some(()));
    let before = d.outbox().len();
    let refuse_next = |count: u32| {
        let fault = serde_json::json!({"fault": {"kind": "failSends", "count": count,
            "failure": {"kind": "rejected", "code": 479, "detail": "refused by the server"}}})
        .to_string();
        let (status, out) = d.http("POST", "/v1/sim/faults", Some(&fault));
        assert_eq!(status, 200, "{out}");
        assert_eq!(json(&out)["kind"], "failSends", "{out}");
    };
    // Both items are prepared and uploaded; WhatsApp then refuses the first message.
    refuse_next(1);
    let body = serde_json::json!({
        "to": "+15550005555",
        "media": [
            {"base64": b64(&tiny_png()), "mime": "image/png", "caption": "first"},
            {"base64": b64(&tiny_png()), "mime": "image/png", "caption": "second"}
        ]
    })
    .to_string();
    let (status, out) = d.http("POST", "/v1/accounts/default/messages", Some(&body));
    assert_eq!(status, 502, "{out}");
    let error = &json(&out)["error"];
    assert_eq!(error["code"], "partly_sent", "{out}");
    let sent = error["sent"].as_array().unwrap();
    assert_eq!(sent.len(), 1, "{out}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("1 of 2"), "{message}");
    assert!(message.contains("479"), "{message}");
    eprintln!("{message}");
    let outbox = d.outbox()[before..].to_vec();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0]["id"], sent[0], "{outbox:?}");
    assert_eq!(outbox[0]["text"], "second", "{outbox:?}");

    // Every message refused: nothing went out, an upstream failure.
    refuse_next(1);
    let (status, out) = d.http(
        "POST",
        "/v1/accounts/default/messages",
        Some(r#"{"to": "+15550005555", "text": "refused"}"#),
    );
    assert_eq!(status, 502, "{out}");
    assert_eq!(json(&out)["error"]["code"], "upstream_failed", "{out}");
    assert!(json(&out)["error"].get("sent").is_none(), "{out}");

    // The CLI exits non-zero and names the message that did go out.
    refuse_next(1);
    let o = d.cli(&[
        "message",
        "send",
        "--to",
        "+15550005555",
        "--text",
        "cli first",
        "--media",
        png.to_str().unwrap(),
        "--media",
        png.to_str().unwrap(),
    ]);
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("partly sent"), "{err}");
    let outbox = d.outbox()[before..].to_vec();
    assert_eq!(outbox.len(), 2, "{outbox:?}");
    let went = outbox[1]["id"].as_str().unwrap();
    assert!(err.contains(went), "the CLI names {went}: {err}");

    // Bad fault bodies get the API's 422 naming the field.
    let (status, out) = d.http(
        "POST",
        "/v1/sim/faults",
        Some(r#"{"fault": {"kind": "meteorStrike"}}"#),
    );
    assert_eq!(status, 422, "{out}");
    assert_eq!(json(&out)["error"]["field"], "fault", "{out}");
    let (status, out) = d.http(
        "POST",
        "/v1/sim/faults",
        Some(r#"{"account": "nope", "fault": {"kind": "disconnect"}}"#),
    );
    assert_eq!(status, 404, "{out}");
}

#[test]
fn every_send_field_reaches_the_transport() {
    let files = tempfile::tempdir().unwrap();
    let clip = files.path().join("clip.mp4");
    std::fs::write(&clip, tiny_mp4()).unwrap();
    let d = Daemon::start(&media_config(files.path()));
    d.wait_connected("default");
    // Something to quote.
    let quoted = d.inbound("+15550005555", "quote me");
    wait_for("the echo", 60, || (!d.outbox().is_empty()).then_some(()));
    let before = d.outbox().len();
    let body = serde_json::json!({
        "to": "+15550005555",
        "text": "hi @15550006666",
        "media": [
            {"base64": b64(&tiny_mp4()), "mime": "video/mp4", "fileName": "clip.mp4"},
            {"base64": b64(&tiny_png()), "mime": "image/png", "caption": "second's own"}
        ],
        "gifPlayback": true,
        "replyTo": quoted,
        "mentions": ["+15550006666"]
    })
    .to_string();
    let (status, out) = d.http("POST", "/v1/accounts/default/messages", Some(&body));
    assert_eq!(status, 200, "{out}");
    assert_eq!(json(&out)["messageIds"].as_array().unwrap().len(), 2);
    let sent = d.outbox()[before..].to_vec();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0]["media"]["kind"], "video", "{sent:?}");
    assert_eq!(sent[0]["media"]["gifPlayback"], true, "{sent:?}");
    assert_eq!(sent[0]["text"], "hi @15550006666");
    assert_eq!(sent[0]["quote"]["id"], quoted.as_str());
    assert_eq!(
        sent[0]["mentions"][0], "15550006666@s.whatsapp.net",
        "{sent:?}"
    );
    assert_eq!(sent[1]["text"], "second's own", "{sent:?}");
    assert_eq!(sent[1]["media"]["kind"], "image");

    // The CLI: --gif-playback, --mention, --reply-to.
    let before = d.outbox().len();
    let o = d.cli(&[
        "message",
        "send",
        "--to",
        "+15550005555",
        "--text",
        "loop @15550006666",
        "--media",
        clip.to_str().unwrap(),
        "--gif-playback",
        "--mention",
        "+15550006666",
        "--reply-to",
        &quoted,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sent = d.outbox()[before..].to_vec();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["media"]["gifPlayback"], true, "{sent:?}");
    assert_eq!(sent[0]["mentions"][0], "15550006666@s.whatsapp.net");
    assert_eq!(sent[0]["quote"]["id"], quoted.as_str());
    assert_eq!(sent[0]["text"], "loop @15550006666");
}

#[test]
fn send_message_false_refuses_api_and_cli_sends() {
    let d = Daemon::start(
        r#"{ "gateway": { "agents": [ { "id": "main", "type": "echo" } ] },
             "channels": { "whatsapp": { "dmPolicy": "open", "allowFrom": ["*"],
                                          "actions": { "sendMessage": false } } } }"#,
    );
    d.wait_connected("default");
    let (status, out) = d.http(
        "POST",
        "/v1/accounts/default/messages",
        Some(r#"{"to": "+15550007777", "text": "hi"}"#),
    );
    assert_eq!(status, 403, "{out}");
    assert!(out.contains("actions.sendMessage"), "{out}");
    let o = d.cli(&["message", "send", "--to", "+15550007777", "--text", "hi"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("actions.sendMessage"), "{}", stderr(&o));
    assert!(d.outbox().is_empty(), "{:?}", d.outbox());
    // Replies to turns are not explicit sends: the agent still answers.
    d.inbound("+15550007777", "ping");
    wait_for("the echo reply", 60, || {
        (!d.outbox().is_empty()).then_some(())
    });
}

/// An explicit send goes out as written: the silent tokens are an agent reply's, and an
/// operator who sends `NO_REPLY` must not get "Sent" for a message that never left.
#[test]
fn explicit_sends_keep_the_reply_tokens_as_written() {
    let d = Daemon::start(
        r#"{ "gateway": { "agents": [ { "id": "main", "type": "echo" } ] },
             "channels": { "whatsapp": { "dmPolicy": "open", "allowFrom": ["*"] } } }"#,
    );
    d.wait_connected("default");
    // The simulator knows a number once it has written.
    d.inbound("+15550008888", "hello");
    wait_for("the echo", 60, || (!d.outbox().is_empty()).then_some(()));
    let before = d.outbox().len();
    let o = d.cli(&[
        "message",
        "send",
        "--to",
        "+15550008888",
        "--text",
        "NO_REPLY",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (status, out) = d.http(
        "POST",
        "/v1/accounts/default/messages",
        Some(r#"{"to": "+15550008888", "text": "all fine HEARTBEAT_OK"}"#),
    );
    assert_eq!(status, 200, "{out}");
    let texts: Vec<Value> = d.outbox()[before..]
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(texts, ["NO_REPLY", "all fine HEARTBEAT_OK"], "{texts:?}");
}

#[test]
fn the_ack_reaction_precedes_every_reply() {
    let d = Daemon::start(
        r#"{ "gateway": { "agents": [ { "id": "main", "type": "echo" } ] },
             "channels": { "whatsapp": { "dmPolicy": "open", "allowFrom": ["*"],
                                          "ackReaction": { "emoji": "👀", "direct": true } } } }"#,
    );
    d.wait_connected("default");
    let senders: Vec<String> = (0..8).map(|i| format!("+155500180{i:02}")).collect();
    let ids: Vec<String> = senders
        .iter()
        .map(|s| d.inbound(s, &format!("hello from {s}")))
        .collect();
    let sent = wait_for("a reaction and a reply per message", 120, || {
        let o = d.outbox();
        (o.len() >= 2 * senders.len()).then_some(o)
    });
    for (sender, id) in senders.iter().zip(&ids) {
        let chat = format!("{}@s.whatsapp.net", sender.trim_start_matches('+'));
        let in_chat: Vec<&Value> = sent.iter().filter(|m| m["chat"] == chat.as_str()).collect();
        assert_eq!(in_chat.len(), 2, "{chat}: {in_chat:?}");
        assert_eq!(in_chat[0]["kind"], "reaction", "{chat}: {in_chat:?}");
        assert_eq!(in_chat[0]["target"]["id"], id.as_str());
        assert_eq!(in_chat[1]["kind"], "text", "{chat}: {in_chat:?}");
    }
}

#[test]
fn simulator_message_ids_stay_unique_across_restarts() {
    let mut d = Daemon::start(OPEN_ECHO);
    d.wait_connected("default");
    let first = d.inbound("+15550009999", "first run");
    wait_for("the first echo", 60, || {
        (d.outbox().len() == 1).then_some(())
    });
    let (status, _) = d.terminate(60);
    assert_eq!(status.code(), Some(0), "{}", d.log());
    // Same data dir (dedupe store kept), new process.
    d.spawn();
    d.wait_connected("default");
    let second = d.inbound("+15550009999", "second run");
    assert_ne!(first, second, "the restarted simulator reused a message id");
    let sent = wait_for("the second run's echo", 60, || {
        let o = d.outbox();
        o.iter()
            .any(|m| m["text"].as_str().is_some_and(|t| t.contains("second run")))
            .then_some(o)
    });
    assert!(!sent.is_empty());
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let example = fixtures().join("example.json5");
    let example = example.to_str().unwrap();
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    let commands: Vec<Vec<&str>> = vec![
        vec!["config", "schema"],
        vec!["config", "check", "--config", example],
        vec!["--json", "config", "check", "--config", example],
        vec!["config", "explain", "--config", example],
        vec!["token", "--config", example],
        vec!["channels", "status", "--config", example],
        vec!["doctor", "--config", example],
        vec!["pairing", "list", "--config", example],
        vec!["--help"],
    ];
    for args in commands {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader); // Every write to stdout fails with EPIPE.
        let out = Command::new(env!("CARGO_BIN_EXE_wagw"))
            .args(&args)
            .env_clear()
            .env("HOME", "/nonexistent-home")
            .env("WAGW_DATA_DIR", data_dir)
            .env("WAGW_URL", format!("http://127.0.0.1:{}", free_port()))
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
    }
}

#[test]
fn linked_comes_from_the_transport_record_not_the_auth_folder() {
    // A real-transport account on a fresh data dir (no network: it never links) and a
    // disabled one whose authDir holds an unrelated file.
    let junk = tempfile::tempdir().unwrap();
    std::fs::write(junk.path().join("notes.txt"), "not a session").unwrap();
    let config = serde_json::json!({
        "gateway": { "agents": [ { "id": "main", "type": "echo" } ] },
        "channels": { "whatsapp": { "accounts": {
            "default": {},
            "spare": { "enabled": false, "authDir": junk.path() },
            "lab": { "transport": "sim" }
        } } }
    })
    .to_string();
    let d = Daemon::start_with(&config, false);
    let accounts = wait_for("the accounts to be listed", 60, || {
        let (s, b) = d.http("GET", "/v1/accounts", None);
        (s == 200).then(|| json(&b))
    });
    let by_id = |id: &str| {
        accounts["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_id("default")["linked"], false, "{accounts}");
    assert_eq!(by_id("spare")["linked"], false, "{accounts}");
    assert_eq!(by_id("lab")["linked"], true, "{accounts}");
    let status = d.cli(&["channels", "status"]);
    let out = stdout(&status);
    assert!(out.contains("Not linked"), "{out}");
    assert!(
        out.contains("wagw channels login --account default"),
        "{out}"
    );
    assert!(!out.contains("Linked but disconnected"), "{out}");
    let doctor = d.cli(&["doctor"]);
    let out = stdout(&doctor);
    assert!(out.contains("account default: not linked"), "{out}");
    assert!(
        out.contains("wagw channels login --account default"),
        "{out}"
    );
    assert!(!out.contains("--force"), "{out}");
    drop(d);

    // Without a gateway, from the stores themselves.
    let d2 = tempfile::tempdir().unwrap();
    let cfg = d2.path().join("wagw.json5");
    std::fs::write(&cfg, &config).unwrap();
    let env = [
        ("WAGW_DATA_DIR", d2.path().to_str().unwrap()),
        ("WAGW_TOKEN", TOKEN),
    ];
    let url = format!("http://127.0.0.1:{}", free_port());
    let mut env = env.to_vec();
    env.push(("WAGW_URL", url.as_str()));
    let o = wagw(
        &["channels", "status", "--config", cfg.to_str().unwrap()],
        &env,
    );
    let out = stdout(&o);
    assert!(
        out.contains("not linked (run: wagw channels login --account default)"),
        "{out}"
    );
    assert!(!out.contains("auth dir present"), "{out}");
    let o = wagw(&["doctor", "--config", cfg.to_str().unwrap()], &env);
    let out = stdout(&o);
    assert!(out.contains("account default: not linked"), "{out}");
}

#[test]
fn logout_of_an_unlinked_account_is_a_conflict_and_login_force_relinks() {
    let d = Daemon::start(OPEN_ECHO);
    d.wait_connected("default");
    // A linked account: --force logs the old link out and shows a new QR.
    let (status, out) = d.http(
        "POST",
        "/v1/accounts/default/login",
        Some(r#"{"force": true}"#),
    );
    assert_eq!(status, 200, "{out}");
    assert!(json(&out)["qr"].is_string(), "{out}");
    // Unlinked now: a logout has nothing to clear and says how to link.
    let (status, out) = d.http("POST", "/v1/accounts/default/logout", None);
    assert_eq!(status, 409, "{out}");
    let error = &json(&out)["error"];
    assert_eq!(error["code"], "not_linked", "{out}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("wagw channels login --account default"),
        "{out}"
    );
}
