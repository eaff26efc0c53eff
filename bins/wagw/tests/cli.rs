//! Runs the built `wagw` binary against the config fixtures, as an operator would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/config")
}

/// `wagw <args>` with a clean, pinned environment.
fn wagw(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wagw"));
    cmd.args(args).env_clear().env("HOME", "/nonexistent-home");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const DATA: (&str, &str) = ("WAGW_DATA_DIR", "/data");

#[test]
fn check_example_prints_every_account() {
    let example = fixtures().join("example.json5");
    let o = wagw(
        &["config", "check", "--config", example.to_str().unwrap()],
        &[DATA],
    );
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("valid. 2 accounts (default: personal)"),
        "{out}"
    );
    assert!(
        out.contains("account personal (Personal phone) [default]"),
        "{out}"
    );
    assert!(out.contains("account work (Support line)"), "{out}");
    assert!(out.contains("+15551234567, +442079460958"), "{out}");
    assert!(out.contains("/var/lib/wagw/work-auth"), "{out}");
}

#[test]
fn json_flag_works_before_and_after_the_subcommand() {
    let example = fixtures().join("example.json5");
    let path = example.to_str().unwrap();
    for args in [
        vec!["--json", "config", "check", "--config", path],
        vec!["config", "check", "--config", path, "--json"],
        vec!["--config", path, "config", "--json", "check"],
    ] {
        let o = wagw(&args, &[DATA]);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        let accounts = v["accounts"].as_array().unwrap();
        assert_eq!(accounts.len(), 2, "{args:?}");
        assert_eq!(accounts[0]["accountId"], "personal");
        assert_eq!(accounts[1]["allowFrom"][0], "+4915112345678");
        assert_eq!(accounts[1]["groupPolicy"], "allowlist");
        assert_eq!(v["defaultAccount"], "personal");
    }
}

#[test]
fn every_invalid_fixture_exits_2_with_its_problems() {
    let dir = fixtures().join("invalid");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let file = entry.unwrap().path();
        if file.extension().is_none_or(|x| x != "json5") {
            continue;
        }
        count += 1;
        let o = wagw(
            &["config", "check", "--config", file.to_str().unwrap()],
            &[DATA],
        );
        assert_eq!(
            o.status.code(),
            Some(2),
            "{}: {}",
            file.display(),
            stderr(&o)
        );
        let err = stderr(&o);
        let expected = std::fs::read_to_string(file.with_extension("expected")).unwrap();
        for line in expected.lines().filter(|l| !l.is_empty()) {
            assert!(
                err.contains(line),
                "{}: stderr lacks {line:?}:\n{err}",
                file.display()
            );
        }
        // --json puts the same problems on stdout.
        let o = wagw(
            &[
                "--json",
                "config",
                "check",
                "--config",
                file.to_str().unwrap(),
            ],
            &[DATA],
        );
        assert_eq!(o.status.code(), Some(2));
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        let n = expected.lines().filter(|l| !l.is_empty()).count();
        assert_eq!(
            v["problems"].as_array().unwrap().len(),
            n,
            "{}",
            file.display()
        );
        assert!(v["problems"][0]["line"].is_u64(), "{}", file.display());
    }
    assert!(count >= 20, "only {count} invalid fixtures");
}

#[test]
fn missing_config_says_how_to_create_one() {
    let o = wagw(
        &["config", "check", "--config", "/nonexistent/wagw.json5"],
        &[DATA],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("wagw config init"), "{}", stderr(&o));
}

#[test]
fn env_chooses_the_config_file() {
    let example = fixtures().join("valid/seed-equabot-minimal.json5");
    let o = wagw(
        &["--json", "config", "check"],
        &[DATA, ("WAGW_CONFIG", example.to_str().unwrap())],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["accounts"][0]["dmPolicy"], "allowlist");
}

#[test]
fn init_writes_a_valid_starter_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let xdg = tmp.path().join("xdg");
    let env = [DATA, ("XDG_CONFIG_HOME", xdg.to_str().unwrap())];
    let o = wagw(&["config", "init"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let written = xdg.join("wagw/wagw.json5");
    assert!(written.is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&written).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The default path is where `check` looks.
    let o = wagw(&["config", "check"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Second time: refuses, file untouched.
    std::fs::write(&written, "{ /* mine */ }").unwrap();
    let o = wagw(&["config", "init"], &env);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&written).unwrap(), "{ /* mine */ }");
    // --path picks another file.
    let other = tmp.path().join("other/conf.json5");
    let o = wagw(&["config", "init", "--path", other.to_str().unwrap()], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(other.is_file());
}

#[test]
fn schema_is_json_schema() {
    let o = wagw(&["config", "schema"], &[]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["$schema"], "http://json-schema.org/draft-07/schema#");
    assert!(v["properties"]["channels"].is_object());
}

#[test]
fn help_explains_the_commands() {
    let o = wagw(&["--help"], &[]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(
        out.contains("config") && out.contains("--config") && out.contains("--json"),
        "{out}"
    );
    let o = wagw(&["config", "check", "--help"], &[]);
    assert!(
        stdout(&o).contains("Exit status: 0 when valid, 2 when not"),
        "{}",
        stdout(&o)
    );
}

mod daemon {
    //! `wagw token`, `wagw gateway`'s refusals and the operator commands without a gateway.

    use super::*;

    fn config_file(dir: &Path, text: &str) -> String {
        let path = dir.join("wagw.json5");
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn token_is_generated_once_private_and_overridable() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config_file(dir.path(), "{}");
        let data = dir.path().join("data");
        let env = [("WAGW_DATA_DIR", data.to_str().unwrap())];
        let first = wagw(&["token", "--config", &cfg], &env);
        assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
        let token = stdout(&first).trim().to_owned();
        assert_eq!(token.len(), 64, "{token}");
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
        let again = wagw(&["token", "--config", &cfg], &env);
        assert_eq!(stdout(&again).trim(), token);
        assert_eq!(
            std::fs::read_to_string(data.join("token")).unwrap().trim(),
            token
        );
        #[cfg(unix)]
        {
            assert_eq!(mode(&data.join("token")), 0o600);
            assert_eq!(mode(&data), 0o700);
        }
        let over = wagw(
            &["token", "--config", &cfg, "--json"],
            &[env[0], ("WAGW_TOKEN", "from-env")],
        );
        let v: Value = serde_json::from_str(&stdout(&over)).unwrap();
        assert_eq!(v["token"], "from-env");
        assert_eq!(v["source"], "configured");
    }

    #[test]
    fn gateway_refuses_a_network_address_without_a_configured_token() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config_file(dir.path(), "{ gateway: { listen: \"0.0.0.0:7499\" } }");
        let data = dir.path().join("data");
        let o = wagw(
            &["gateway", "--config", &cfg],
            &[("WAGW_DATA_DIR", data.to_str().unwrap())],
        );
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("refusing to listen on 0.0.0.0:7499"), "{err}");
        assert!(err.contains("gateway.token"), "{err}");
        assert!(err.contains("127.0.0.1:7499"), "{err}");
        assert!(!data.exists(), "nothing is written before the check");
    }

    #[test]
    fn status_and_doctor_without_a_gateway_say_how_to_start_it() {
        let dir = tempfile::tempdir().unwrap();
        // A port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = config_file(
            dir.path(),
            &format!(
                "{{ gateway: {{ listen: \"127.0.0.1:{port}\" }}, channels: {{ whatsapp: {{ allowFrom: [\"+15551234567\"] }} }} }}"
            ),
        );
        let data = dir.path().join("data");
        let env = [("WAGW_DATA_DIR", data.to_str().unwrap())];
        let o = wagw(&["channels", "status", "--config", &cfg], &env);
        assert_eq!(o.status.code(), Some(1));
        let out = stdout(&o);
        assert!(
            out.contains("Gateway not reachable at http://127.0.0.1:"),
            "{out}"
        );
        assert!(
            out.contains("- WhatsApp default: enabled, not linked (run: wagw channels login --account default), dm:pairing, allow:+15551234567"),
            "{out}"
        );

        let o = wagw(&["doctor", "--config", &cfg], &env);
        assert_eq!(o.status.code(), Some(1));
        let out = stdout(&o);
        assert!(out.contains("ok   config"), "{out}");
        assert!(out.contains("FAIL data dir"), "{out}");
        assert!(
            out.contains("FAIL gateway not reachable at http://127.0.0.1:"),
            "{out}"
        );
        assert!(out.contains("fix: start it with `wagw gateway`"), "{out}");
        assert!(
            out.contains("ok   no state store yet in "),
            "doctor checks the store when no gateway holds it: {out}"
        );

        let o = wagw(
            &[
                "pairing", "approve", "whatsapp", "K7PQ2MZX", "--config", &cfg,
            ],
            &env,
        );
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains("Start it with `wagw gateway`"),
            "{}",
            stderr(&o)
        );
        let o = wagw(
            &[
                "pairing", "approve", "telegram", "K7PQ2MZX", "--config", &cfg,
            ],
            &env,
        );
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let o = wagw(
            &["message", "send", "--to", "+15550001111", "--config", &cfg],
            &env,
        );
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("nothing to send"), "{}", stderr(&o));
    }
}

#[test]
fn check_rejects_a_webhook_without_a_secret_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wagw.json5");
    std::fs::write(
        &file,
        r#"{ gateway: { agents: [ { id: "main", type: "webhook", url: "http://127.0.0.1:9/turn" } ] } }"#,
    )
    .unwrap();
    let o = wagw(
        &["config", "check", "--config", file.to_str().unwrap()],
        &[DATA],
    );
    assert_eq!(o.status.code(), Some(2), "stdout: {}", stdout(&o));
    assert!(
        stderr(&o).contains("gateway.agents[0].secret"),
        "{}",
        stderr(&o)
    );
}

mod direct_store {
    //! Operator commands with no gateway running: they open `<dataDir>/state` directly.

    use super::*;
    use wagw_access::{AccessStore, ChallengeOutcome, PairingSettings};
    use wagw_core::{AccountId, Phone, Sender};

    struct Setup {
        _dir: tempfile::TempDir,
        cfg: String,
        data: PathBuf,
    }

    impl Setup {
        fn new(channel: &str) -> Setup {
            let dir = tempfile::tempdir().unwrap();
            // A port nothing listens on: no gateway answers.
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let cfg = dir.path().join("wagw.json5");
            std::fs::write(
                &cfg,
                format!(
                    "{{ gateway: {{ listen: \"127.0.0.1:{port}\" }}, channels: {{ whatsapp: {{ {channel} accounts: {{ default: {{}}, work: {{}} }} }} }} }}"
                ),
            )
            .unwrap();
            let data = dir.path().join("data");
            Setup {
                cfg: cfg.to_str().unwrap().to_owned(),
                data,
                _dir: dir,
            }
        }

        fn run(&self, args: &[&str]) -> Output {
            let mut all: Vec<&str> = args.to_vec();
            all.extend(["--config", &self.cfg]);
            wagw(&all, &[("WAGW_DATA_DIR", self.data.to_str().unwrap())])
        }

        fn db(&self) -> wagw_store::Db {
            // The lock goes with the last handle, at once.
            wagw_store::Db::open(
                self.data.join("state").join("state.sqlite3"),
                &wagw_store::OpenOptions::default(),
            )
            .unwrap()
        }

        /// A pairing request from `phone` on `account`, issued `age_ms` ago.
        fn challenge(&self, account: &str, phone: &str, age_ms: i64) -> String {
            let db = self.db();
            let code = Self::challenge_on(&db, account, phone, age_ms);
            // Closed before the CLI opens it.
            db.flush().unwrap();
            drop(db);
            code
        }

        fn challenge_on(db: &wagw_store::Db, account: &str, phone: &str, age_ms: i64) -> String {
            let store = AccessStore::open(db).unwrap();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64;
            let sender = Sender::phone(Phone::parse(phone).unwrap());
            let account: AccountId = account.parse().unwrap();
            match store
                .issue_challenge(
                    &account,
                    &sender,
                    Some("Bob"),
                    &PairingSettings::default(),
                    now - age_ms,
                )
                .unwrap()
            {
                ChallengeOutcome::Created { request, .. } => request.code,
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn pairing_allow_and_explain_work_on_the_store_without_a_gateway() {
        let s = Setup::new("");
        // Nothing stored yet: reads say so without creating the store.
        let o = s.run(&["pairing", "list"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stdout(&o).contains("No pending pairing requests."));
        let o = s.run(&["access", "explain", "--from", "+15550001111", "--json"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["decision"], "challenge", "{v}");
        assert_eq!(v["rule"], "channels.whatsapp.dmPolicy");
        assert!(!s.data.join("state").exists(), "reads create nothing");
        let o = s.run(&["pairing", "approve", "whatsapp", "K7PQ2MZX"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains("Start it with `wagw gateway`"),
            "{}",
            stderr(&o)
        );

        let code = s.challenge("work", "+15550001111", 0);
        let o = s.run(&["pairing", "list", "whatsapp"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = stdout(&o);
        assert!(
            out.contains(&code)
                && out.contains("work")
                && out.contains("+15550001111")
                && out.contains("Bob"),
            "{out}"
        );

        // Before approval the engine challenges; the explanation names the command.
        let o = s.run(&[
            "access",
            "explain",
            "--from",
            "15550001111",
            "--account",
            "work",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(
            stdout(&o).starts_with("drop (pairing_pending"),
            "{}",
            stdout(&o)
        );
        assert!(stderr(&o).contains("no gateway answers"), "{}", stderr(&o));

        let o = s.run(&["pairing", "approve", "whatsapp", &code.to_lowercase()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(
            stdout(&o).trim(),
            "Approved +15550001111 on account work: their messages now reach the agent."
        );
        // The same code again: a clear error, exit 1.
        let o = s.run(&["pairing", "approve", &code]);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains(&format!("no pending pairing request has code {code}")),
            "{}",
            stderr(&o)
        );

        let o = s.run(&["--json", "allow", "list"]);
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["entries"][0]["entry"], "+15550001111", "{v}");
        assert_eq!(v["entries"][0]["account"], "work");
        assert_eq!(v["entries"][0]["source"], "pairing");

        let o = s.run(&[
            "access",
            "explain",
            "--from",
            "+15550001111",
            "--account",
            "work",
            "--json",
        ]);
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(
            (v["decision"].as_str(), v["reason"].as_str()),
            (Some("allow"), Some("paired")),
            "{v}"
        );
        assert_eq!(v["sender"], "+15550001111");
        assert_eq!(v["account"], "work");
        assert_eq!(v["markRead"], true);

        let o = s.run(&["allow", "remove", "+1 555 000 1111", "--account", "work"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(
            stdout(&o).starts_with("Removed +15550001111 from account work"),
            "{}",
            stdout(&o)
        );
        let o = s.run(&["allow", "add", "123456789@lid"]);
        assert!(
            stdout(&o).starts_with("Added 123456789@lid to account default"),
            "{}",
            stdout(&o)
        );
        let o = s.run(&["allow", "add", "*"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stderr(&o).contains("cannot be added to the allow-store"),
            "{}",
            stderr(&o)
        );
        let o = s.run(&["access", "explain", "--from", "bob"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("--from:"), "{}", stderr(&o));
        let o = s.run(&["allow", "list", "--account", "nope"]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains("nope"), "{}", stderr(&o));
    }

    #[test]
    fn expired_codes_fail_clearly() {
        let s = Setup::new("");
        let code = s.challenge("default", "+15550001111", 2 * 3_600_000);
        let o = s.run(&["pairing", "approve", &code, "--account", "default"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("expired"), "{}", stderr(&o));
        let o = s.run(&["pairing", "reject", "whatsapp", "ABCDEFGH"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains("no pending pairing request"),
            "{}",
            stderr(&o)
        );
    }

    #[test]
    fn a_store_held_by_another_process_is_named() {
        let s = Setup::new("");
        let held = s.db();
        let _code = Setup::challenge_on(&held, "default", "+15550001111", 0);
        for args in [
            vec!["pairing", "list"],
            vec!["allow", "add", "+15550002222"],
            vec!["access", "explain", "--from", "+15550002222"],
        ] {
            let o = s.run(&args);
            assert_eq!(o.status.code(), Some(1), "{args:?}");
            let err = stderr(&o);
            assert!(
                err.contains("is locked by another process"),
                "{args:?}: {err}"
            );
            assert!(err.contains("WAGW_URL"), "{err}");
        }
    }
}

mod console;
mod install;

mod e2e {
    //! The built `wagw gateway --sim` end to end: pairing through the CLI, a signed webhook
    //! agent whose replies reach the simulated chat, retries while the agent is down,
    //! deliveries surviving a SIGKILL with their ids, and refused requests changing nothing.

    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::process::{Child, Stdio};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    pub(super) const SECRET: &str = "0123456789abcdef0123456789abcdef";
    pub(super) const TOKEN: &str = "e2e-test-token";

    /// One request the agent received.
    #[derive(Clone, Debug)]
    struct Received {
        signature: String,
        delivery: String,
        body: String,
        answered: u16,
    }

    /// A webhook agent on a loopback port: answers `{"replies":[{"text":"got: <rawBody>"}]}`,
    /// or 503 while `down`.
    pub(super) struct Agent {
        pub(super) port: u16,
        pub(super) down: Arc<AtomicBool>,
        seen: Arc<Mutex<Vec<Received>>>,
    }

    impl Agent {
        pub(super) fn start() -> Agent {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let down = Arc::new(AtomicBool::new(false));
            let seen = Arc::new(Mutex::new(Vec::new()));
            let (d, s) = (down.clone(), seen.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let (d, s) = (d.clone(), s.clone());
                    std::thread::spawn(move || serve(stream, &d, &s));
                }
            });
            Agent { port, down, seen }
        }

        fn seen(&self) -> Vec<Received> {
            self.seen.lock().unwrap().clone()
        }
    }

    fn serve(stream: TcpStream, down: &AtomicBool, seen: &Mutex<Vec<Received>>) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            headers.push(line.trim_end().to_owned());
        }
        let header = |name: &str| {
            headers
                .iter()
                .find_map(|h| {
                    let (k, v) = h.split_once(':')?;
                    k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                })
                .unwrap_or_default()
        };
        let len: usize = header("content-length").parse().unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let body = String::from_utf8(body).unwrap();
        let is_down = down.load(Ordering::SeqCst);
        let raw: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let reply = serde_json::json!({"replies": [{"text": format!("got: {}", raw["rawBody"].as_str().unwrap_or(""))}]}).to_string();
        let (status, out) = if is_down {
            (503, String::new())
        } else {
            (200, reply)
        };
        seen.lock().unwrap().push(Received {
            signature: header("x-wagw-signature"),
            delivery: header("x-wagw-delivery"),
            body,
            answered: status,
        });
        let mut stream = stream;
        let _ = write!(
            stream,
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
            out.len()
        );
    }

    /// A minimal HTTP/1.1 client: (status, body).
    pub(super) fn http(
        port: u16,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&str>,
    ) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let body = body.unwrap_or("");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        let _ = s.write_all(body.as_bytes());
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
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

    struct Gateway {
        dir: tempfile::TempDir,
        port: u16,
        child: Option<Child>,
        /// `WAGW_DATABASE_URL`: every store in PostgreSQL (None: SQLite files).
        database: Option<String>,
    }

    impl Gateway {
        fn new(agent_port: u16) -> Gateway {
            Gateway::on(agent_port, None)
        }

        fn on(agent_port: u16, database: Option<String>) -> Gateway {
            let dir = tempfile::tempdir().unwrap();
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            std::fs::write(
                dir.path().join("wagw.json5"),
                format!(
                    "{{ gateway: {{ listen: \"127.0.0.1:{port}\", agents: [ {{ id: \"main\", type: \"webhook\", url: \"http://127.0.0.1:{agent_port}/turn\", secret: \"{SECRET}\", timeoutMs: 2000, maxAttempts: 20 }} ] }} }}"
                ),
            )
            .unwrap();
            let mut g = Gateway {
                dir,
                port,
                child: None,
                database,
            };
            g.spawn();
            g
        }

        fn env(&self) -> Vec<(&'static str, String)> {
            vec![
                (
                    "WAGW_DATA_DIR",
                    self.dir.path().join("data").to_str().unwrap().to_owned(),
                ),
                ("WAGW_TOKEN", TOKEN.to_owned()),
            ]
            .into_iter()
            .chain(self.database.clone().map(|u| ("WAGW_DATABASE_URL", u)))
            .collect()
        }

        fn config(&self) -> String {
            self.dir
                .path()
                .join("wagw.json5")
                .to_str()
                .unwrap()
                .to_owned()
        }

        fn spawn(&mut self) {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_wagw"));
            cmd.args(["gateway", "--sim", "--config", &self.config()])
                .env_clear()
                .env("HOME", "/nonexistent-home")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(self.dir.path().join("gateway.log")).unwrap());
            for (k, v) in self.env() {
                cmd.env(k, v);
            }
            self.child = Some(cmd.spawn().unwrap());
            let port = self.port;
            wait_for("the gateway to listen", 30, || {
                TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())
            });
            wait_for("the account to connect", 30, || {
                let (_, b) = http(port, "GET", "/v1/accounts/default", TOKEN, None);
                b.contains("\"connected\":true").then_some(())
            });
        }

        fn kill(&mut self) {
            if let Some(mut c) = self.child.take() {
                c.kill().unwrap(); // SIGKILL
                c.wait().unwrap();
            }
        }

        fn cli(&self, args: &[&str]) -> Output {
            let mut all = args.to_vec();
            let config = self.config();
            all.extend(["--config", &config]);
            let env = self.env();
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            wagw(&all, &env)
        }

        fn inbound(&self, text: &str) {
            let body = serde_json::json!({"from": "+15550001111", "name": "Bob", "text": text})
                .to_string();
            let (s, b) = http(self.port, "POST", "/v1/sim/inbound", TOKEN, Some(&body));
            assert_eq!(s, 200, "{b}");
        }

        fn outbox(&self) -> Vec<String> {
            let (s, b) = http(self.port, "GET", "/v1/sim/outbox/default", TOKEN, None);
            assert_eq!(s, 200, "{b}");
            let v: Value = serde_json::from_str(&b).unwrap();
            v["messages"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|m| m["text"].as_str().map(str::to_owned))
                .collect()
        }

        fn log(&self) -> String {
            std::fs::read_to_string(self.dir.path().join("gateway.log")).unwrap_or_default()
        }
    }

    impl Drop for Gateway {
        fn drop(&mut self) {
            self.kill();
        }
    }

    fn got(agent: &Agent, text: &str) -> Vec<Received> {
        agent
            .seen()
            .into_iter()
            .filter(|r| serde_json::from_str::<Value>(&r.body).is_ok_and(|v| v["rawBody"] == text))
            .collect()
    }

    /// Issue 23 / 13.13: the status feed and broadcast lists are not send targets. The API
    /// answers 422 naming the field, the CLI exits 2 naming `--to`, and nothing is sent.
    #[test]
    fn broadcast_and_status_targets_are_refused_naming_the_field() {
        let agent = Agent::start();
        let gw = Gateway::new(agent.port);
        // A contact the simulator knows (it answers with a pairing code), for the control send.
        gw.inbound("hello");
        let before = wait_for("the pairing reply", 15, || {
            let out = gw.outbox();
            (!out.is_empty()).then_some(out)
        });
        for to in [
            "status@broadcast",
            "whatsapp:status@broadcast",
            "1234567890@broadcast",
        ] {
            let body = serde_json::json!({"to": to, "text": "hi"}).to_string();
            let (s, b) = http(
                gw.port,
                "POST",
                "/v1/accounts/default/messages",
                TOKEN,
                Some(&body),
            );
            assert_eq!(s, 422, "{to}: {b}");
            let v: Value = serde_json::from_str(&b).unwrap();
            assert_eq!(v["error"]["field"], "to", "{b}");
            assert_eq!(v["error"]["code"], "invalid_request", "{b}");
            let message = v["error"]["message"].as_str().unwrap();
            assert!(
                message.contains(to) && message.contains("not a chat"),
                "{message}"
            );

            let body = serde_json::json!({"to": to, "question": "Lunch?", "options": ["a", "b"]})
                .to_string();
            let (s, b) = http(
                gw.port,
                "POST",
                "/v1/accounts/default/polls",
                TOKEN,
                Some(&body),
            );
            assert_eq!(s, 422, "{to}: {b}");
            assert!(b.contains("\"field\":\"to\""), "{b}");

            let o = gw.cli(&["message", "send", "--to", to, "--text", "hi"]);
            assert_eq!(o.status.code(), Some(2), "{to}: {}", stderr(&o));
            let err = stderr(&o);
            assert!(err.contains("--to") && err.contains(to), "{err}");
        }
        assert_eq!(gw.outbox(), before, "nothing was sent");
        // The same command to a person goes out: the refusal is about the target alone.
        let o = gw.cli(&["message", "send", "--to", "+15550001111", "--text", "hi"]);
        assert_eq!(o.status.code(), Some(0), "{}\n{}", stderr(&o), gw.log());
        assert_eq!(gw.outbox().last().map(String::as_str), Some("hi"));
    }

    /// The acknowledged writes of a gateway whose stores are in PostgreSQL survive a
    /// SIGKILL each: the inbound commit, a pairing approval, the outbox entry of a delivery
    /// the agent has not taken yet (delivered after the restart with the same id).
    #[test]
    fn on_postgres_nothing_acknowledged_is_lost_to_sigkill() {
        let Some(server) = wagw_store::test_support::TestPostgres::shared() else {
            return;
        };
        let agent = Agent::start();
        let mut gw = Gateway::on(agent.port, Some(server.fresh_database()));
        gw.inbound("hi");
        let code = wait_for("the pairing code", 10, || {
            gw.outbox()
                .iter()
                .find_map(|t| t.split("Pairing code: ").nth(1).map(|r| r[..8].to_owned()))
        });
        // Killed right after the request was acknowledged: the request is there after.
        gw.kill();
        gw.spawn();
        let o = gw.cli(&["pairing", "approve", "whatsapp", &code]);
        assert_eq!(o.status.code(), Some(0), "{}\n{}", stderr(&o), gw.log());
        // Killed right after the approval was acknowledged: the sender stays approved.
        gw.kill();
        gw.spawn();
        agent.down.store(true, Ordering::SeqCst);
        gw.inbound("pending");
        let first = wait_for("the first attempt", 15, || {
            got(&agent, "pending").into_iter().next()
        });
        gw.kill();
        agent.down.store(false, Ordering::SeqCst);
        gw.spawn();
        let delivered = wait_for("the delivery after the restart", 30, || {
            got(&agent, "pending")
                .into_iter()
                .find(|r| r.answered == 200)
        });
        assert_eq!(delivered.delivery, first.delivery);
        let o = gw.cli(&["--json", "deliveries", "list", "--state", "delivered"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stdout(&o).contains(&first.delivery), "{}", stdout(&o));
        // Nothing of it went to an SQLite file.
        assert!(!gw.dir.path().join("data").join("state").exists());
    }

    #[test]
    fn pairing_webhook_retries_restart_and_refusals() {
        let agent = Agent::start();
        let mut gw = Gateway::new(agent.port);

        // An unknown sender gets a pairing code in the chat.
        gw.inbound("hi");
        let code = wait_for("the pairing code", 10, || {
            gw.outbox()
                .iter()
                .find_map(|t| t.split("Pairing code: ").nth(1).map(|r| r[..8].to_owned()))
        });
        assert!(
            agent.seen().is_empty(),
            "nothing reached the agent before approval"
        );
        let o = gw.cli(&["pairing", "approve", "whatsapp", &code]);
        assert_eq!(o.status.code(), Some(0), "{}\n{}", stderr(&o), gw.log());

        // The next message reaches the agent, signed; its reply reaches the chat.
        gw.inbound("second");
        let r = wait_for("the signed turn", 15, || {
            got(&agent, "second").into_iter().next()
        });
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        wagw_agents::verify_signature(SECRET.as_bytes(), &r.signature, r.body.as_bytes(), now, 300)
            .unwrap_or_else(|e| panic!("bad signature {:?}: {e}", r.signature));
        assert!(r.delivery.starts_with("dlv_"), "{}", r.delivery);
        wait_for("the agent's reply in the chat", 15, || {
            gw.outbox()
                .iter()
                .any(|t| t.contains("got: second"))
                .then_some(())
        });

        // The agent is down for a while: the turn is retried and arrives.
        agent.down.store(true, Ordering::SeqCst);
        gw.inbound("third");
        wait_for("a failed attempt", 15, || {
            (!got(&agent, "third").is_empty()).then_some(())
        });
        agent.down.store(false, Ordering::SeqCst);
        wait_for("the retried turn's reply", 30, || {
            gw.outbox()
                .iter()
                .any(|t| t.contains("got: third"))
                .then_some(())
        });
        let attempts = got(&agent, "third");
        assert!(
            attempts.len() >= 2 && attempts.iter().all(|a| a.delivery == attempts[0].delivery),
            "{attempts:?}"
        );

        // SIGKILL with a delivery pending: after the restart it arrives with the same id.
        agent.down.store(true, Ordering::SeqCst);
        gw.inbound("fourth");
        let first = wait_for("the first attempt", 15, || {
            got(&agent, "fourth").into_iter().next()
        });
        gw.kill();
        agent.down.store(false, Ordering::SeqCst);
        gw.spawn();
        let delivered = wait_for("the delivery after the restart", 30, || {
            got(&agent, "fourth")
                .into_iter()
                .find(|r| r.answered == 200)
        });
        assert_eq!(delivered.delivery, first.delivery);
        let o = gw.cli(&["--json", "deliveries", "list", "--state", "delivered"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stdout(&o).contains(&first.delivery), "{}", stdout(&o));

        // Bad token, oversized and malformed bodies: 401/413/422, nothing changed.
        let before = (gw.outbox().len(), agent.seen().len());
        let body = serde_json::json!({"from": "+15550002222", "text": "x"}).to_string();
        let (s, b) = http(
            gw.port,
            "POST",
            "/v1/sim/inbound",
            "wrong-token",
            Some(&body),
        );
        assert_eq!(s, 401, "{b}");
        let big = format!(
            "{{\"from\": \"+15550002222\", \"text\": \"{}\"}}",
            "a".repeat(2 * 1024 * 1024)
        );
        let (s, b) = http(gw.port, "POST", "/v1/sim/inbound", TOKEN, Some(&big));
        assert_eq!(s, 413, "{b}");
        let (s, b) = http(
            gw.port,
            "POST",
            "/v1/sim/inbound",
            TOKEN,
            Some("{\"from\": "),
        );
        assert_eq!(s, 422, "{b}");
        assert!(b.contains("not valid JSON"), "{b}");
        let (s, b) = http(
            gw.port,
            "POST",
            "/v1/allow/whatsapp",
            TOKEN,
            Some("{\"entry\": \"*\"}"),
        );
        assert_eq!(s, 422, "{b}");
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!((gw.outbox().len(), agent.seen().len()), before);
        let o = gw.cli(&["--json", "pairing", "list"]);
        assert_eq!(
            serde_json::from_str::<Value>(&stdout(&o)).unwrap()["requests"],
            serde_json::json!([])
        );
    }
}

#[test]
fn message_send_dry_run_plans_chunks_and_media_without_a_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("wagw.json5");
    std::fs::write(
        &cfg,
        "{ gateway: { listen: \"127.0.0.1:9\" }, channels: { whatsapp: { textChunkLimit: 1000 } } }",
    )
    .unwrap();
    let png = dir.path().join("dot.png");
    image::RgbImage::new(4, 3).save(&png).unwrap();
    let text = "word ".repeat(500); // 2,500 characters
    let o = wagw(
        &[
            "--json",
            "message",
            "send",
            "--to",
            "+15550001111",
            "--text",
            &text,
            "--media",
            png.to_str().unwrap(),
            "--dry-run",
            "--config",
            cfg.to_str().unwrap(),
        ],
        &[DATA],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let media = &v["media"][0];
    assert_eq!(media["kind"], "image", "{v}");
    assert_eq!(media["mime"], "image/png");
    assert_eq!(media["ptt"], false);
    assert_eq!(media["gifPlayback"], false);
    assert!(media["bytes"].as_u64().unwrap() > 0);
    assert!(
        media["transform"].as_str().unwrap().starts_with("image"),
        "{v}"
    );
    // 2,500 characters at 1,000 per message: the first chunk is the caption, two follow.
    let caption = media["caption"].as_str().unwrap();
    let chunks = v["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 2, "{v}");
    let total: usize = std::iter::once(caption)
        .chain(chunks.iter().map(|c| c.as_str().unwrap()))
        .map(|c| c.chars().count())
        .sum();
    assert!(
        total >= 2_490 && caption.chars().count() <= 1_000,
        "{total}"
    );
}

/// The README's run command: every step of the scripted conversation must happen, not just
/// print. The output is the evidence (what Bob, the group and the agent saw).
#[test]
fn demo_plays_every_step_of_the_script() {
    let o = wagw(&["demo"], &[]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let out = stdout(&o);
    for expected in [
        // 1-2: an unknown sender is challenged with a code the owner approves
        "wagw pairing approve whatsapp ",
        "gateway   approved +15550002222",
        // 3: the approved sender is answered
        "Echo: Hi again!",
        // 4: the unmentioned group message is history for the mentioned one
        "[Chat messages since your last reply - for context]",
        "Carol (+15550003333): Who's driving on Saturday?",
        "[Current message - respond to this]",
        // 5: the quoted reply block
        "[Replying to +15550009999 id:",
        "[/Replying]",
        // 6: 10,000 characters as chunks of at most 4000
        "3 message(s) of [3999, 4000, 1999] characters",
        // 7: the big PNG went out as a JPEG under the 5 MB cap
        "[image image/jpeg, 0.",
        "drops {\"mention_required\": 1}",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[path = "cli/operator.rs"]
mod operator;

#[path = "cli/hardening.rs"]
mod hardening;

#[path = "cli/onboarding.rs"]
mod onboarding;

#[path = "cli/store.rs"]
mod store;

#[path = "cli/postgres.rs"]
mod postgres;

#[path = "cli/reliability.rs"]
mod reliability;

#[path = "cli/accounts.rs"]
mod accounts;

#[path = "cli/chat_config.rs"]
mod chat_config;

#[path = "cli/cloud.rs"]
mod cloud;
