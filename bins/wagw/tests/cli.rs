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
            out.contains("- WhatsApp default: enabled, not linked, dm:pairing, allow:+15551234567"),
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

        fn db(&self) -> sled::Db {
            sled::open(self.data.join("state")).unwrap()
        }

        /// A pairing request from `phone` on `account`, issued `age_ms` ago.
        fn challenge(&self, account: &str, phone: &str, age_ms: i64) -> String {
            let db = self.db();
            let store = AccessStore::open(&db).unwrap();
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
        let _code = s.challenge("default", "+15550001111", 0);
        let _held = s.db();
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
