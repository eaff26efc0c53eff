//! The rest of what a new operator hits first (issue 13), through the built `wagw`:
//! `config check` runs every check the gateway runs at start (and a reload runs them too),
//! agent sink problems come all at once with line:column, docs and hints name only keys
//! and commands that exist, and the seeds' CLI (`--channel whatsapp`, login before the
//! gateway, `pairing approve --notify`, `channels status --probe`, `logs --follow`) works,
//! ending in the whole new-user journey as one test.

use super::operator::{Daemon, OPEN_ECHO, TOKEN, free_port, http, json, wait_for};
use super::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A host that never resolves (RFC 2606), so the real transport fails at once on any machine.
const NOWHERE: &str = "wss://wagw-test.invalid/ws/chat";

/// `wagw <args>` running in the background, its stdout read line by line on a thread.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: String,
}

impl Running {
    fn spawn(args: &[&str], env: &[(&str, String)]) -> Running {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wagw"));
        cmd.args(args)
            .env_clear()
            .env("HOME", "/nonexistent-home")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Running {
            child,
            lines,
            seen: String::new(),
        }
    }

    /// Reads stdout until a line contains `want`; everything read stays in `seen`.
    fn until(&mut self, want: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.seen.contains(want) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                }
                Err(_) => panic!("no {want:?} on stdout within {secs}s; got:\n{}", self.seen),
            }
        }
    }

    /// Waits for the exit (at most `secs`); the status and the rest of stdout and stderr.
    fn finish(mut self, secs: u64) -> (std::process::ExitStatus, String, String) {
        let child = &mut self.child;
        let status = wait_for("the command to exit", secs, || child.try_wait().unwrap());
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push_str(&line);
            self.seen.push('\n');
        }
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        (status, std::mem::take(&mut self.seen), err)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn env_of(d: &Daemon) -> Vec<(&'static str, String)> {
    d.env()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file.to_str().unwrap().to_owned()
}

const BAD_TEMPLATE: &str = r#"{
  channels: { whatsapp: {
    pairing: { replyTemplate: "hi {nope}" },
  } },
}"#;

#[test]
fn config_check_refuses_what_the_gateway_refuses_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [("WAGW_DATA_DIR", data.to_str().unwrap())];
    let file = write(dir.path(), "wagw.json5", BAD_TEMPLATE);
    let want = "3:16: channels.whatsapp.pairing.replyTemplate: ";

    let o = wagw(&["config", "check", "--config", &file], &env);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains(want), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("unknown placeholder {nope}"),
        "{}",
        stderr(&o)
    );

    // --json: the same problem with its line and column.
    let o = wagw(&["--json", "config", "check", "--config", &file], &env);
    assert_eq!(o.status.code(), Some(2));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let p = &v["problems"][0];
    assert_eq!(p["path"], "channels.whatsapp.pairing.replyTemplate", "{v}");
    assert_eq!(
        (p["line"].as_u64(), p["column"].as_u64()),
        (Some(3), Some(16))
    );

    // The gateway refuses it the same way, before listening or writing anything.
    let o = wagw(&["gateway", "--sim", "--config", &file], &env);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(want), "{}", stderr(&o));
    assert!(!data.exists(), "the data dir was created");

    // An account's own template is named at the account's path.
    let file = write(
        dir.path(),
        "account.json5",
        r#"{ channels: { whatsapp: { accounts: { work: {
  pairing: { replyTemplate: "no code here" } } } } } }"#,
    );
    let o = wagw(&["config", "check", "--config", &file], &env);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("2:14: channels.whatsapp.accounts.work.pairing.replyTemplate: "),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("{code} is missing"), "{}", stderr(&o));
}

#[test]
fn a_reload_runs_the_start_checks_and_keeps_the_running_config() {
    let mut d = Daemon::start(OPEN_ECHO);
    d.wait_connected("default");
    std::fs::write(d.config_path(), BAD_TEMPLATE).unwrap();
    let (s, b) = d.http("POST", "/v1/reload", Some("{}"));
    assert_eq!(s, 422, "{b}");
    assert!(
        b.contains("channels.whatsapp.pairing.replyTemplate") && b.contains("3:16"),
        "{b}"
    );
    // Still answering with the old config.
    d.inbound("+15550001111", "still there?");
    wait_for("the echo reply", 30, || {
        d.outbox()
            .iter()
            .any(|m| {
                m["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("still there?"))
            })
            .then_some(())
    });
    let (status, took) = d.terminate(20);
    assert!(
        status.success() && took < Duration::from_secs(10),
        "{took:?}"
    );
}

#[test]
fn agent_sink_problems_come_all_at_once_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "wagw.json5",
        r#"{
  gateway: { agents: [
    { id: "hook", type: "webhook", url: "http://127.0.0.1:9/a", secret: "short" },
    { id: "two", type: "webhook", url: "http://127.0.0.1:9/b",
      secret: "also-short" },
  ] },
}"#,
    );
    let o = wagw(&["config", "check", "--config", &file], &[DATA]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    for want in [
        "(2 problems)",
        "3:65: gateway.agents[0].secret: too short",
        "5:7: gateway.agents[1].secret: too short",
    ] {
        assert!(err.contains(want), "lacks {want:?}:\n{err}");
    }
    let o = wagw(&["--json", "config", "check", "--config", &file], &[DATA]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["problems"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["problems"][1]["line"], 5, "{v}");
}

#[test]
fn every_fixture_labelled_valid_passes_config_check() {
    let mut files = vec![fixtures().join("example.json5")];
    for entry in std::fs::read_dir(fixtures().join("valid")).unwrap() {
        files.push(entry.unwrap().path());
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|x| x == "json5"))
    {
        let o = wagw(
            &["config", "check", "--config", file.to_str().unwrap()],
            &[
                ("WAGW_DATA_DIR", data.to_str().unwrap()),
                ("HOME", dir.path().to_str().unwrap()),
            ],
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}: {}",
            file.display(),
            stderr(&o)
        );
    }
}

mod names {
    //! Every config key and `wagw …` command that README.md, docs/*.md and the source's
    //! error and hint strings name must exist: keys in `wagw config schema`, commands and
    //! flags in the CLI (`wagw … --help`).

    use super::*;
    use std::collections::{BTreeMap, HashMap};

    /// Dotted words that look like config keys but are not: a host, the HTTP API's and the
    /// agent reply's `media` fields, a placeholder, and the reference's key that
    /// docs/compatibility.md names to say wagw does not have it.
    const NOT_KEYS: [&str; 5] = [
        "web.whatsapp.com",
        "media.path",
        "media.url",
        "gateway.agents[i].field",
        "messages.inbound.byChannel.whatsapp",
    ];

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// README.md, docs/*.md and every `src/**/*.rs` of the binary and the crates.
    fn sources() -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        let root = root();
        let mut out = vec![root.join("README.md")];
        for e in std::fs::read_dir(root.join("docs")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
        walk(&root.join("bins/wagw/src"), &mut out);
        for e in std::fs::read_dir(root.join("crates")).unwrap() {
            walk(&e.unwrap().path().join("src"), &mut out);
        }
        out.sort();
        out
    }

    /// The `…` spans of a line.
    fn backticked(line: &str) -> impl Iterator<Item = &str> {
        line.split('`').skip(1).step_by(2)
    }

    /// `a.b[0].<id>.c` → `["a", "b", "[0]", "<id>", "c"]`.
    fn segments(key: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        for c in key.chars() {
            match c {
                '.' => out.push(std::mem::take(&mut cur)),
                '[' => {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                    cur.push(c);
                }
                _ => cur.push(c),
            }
        }
        out.push(cur);
        out.into_iter().filter(|s| !s.is_empty()).collect()
    }

    struct Schema {
        root: Value,
    }

    impl Schema {
        /// The alternatives `node` stands for (through `$ref` and `anyOf`/`oneOf`/`allOf`,
        /// nulls dropped).
        fn resolve<'a>(&'a self, node: &'a Value) -> Vec<&'a Value> {
            if let Some(r) = node.get("$ref").and_then(Value::as_str) {
                let name = r.rsplit('/').next().unwrap();
                return self.resolve(&self.root["definitions"][name]);
            }
            for k in ["anyOf", "oneOf", "allOf"] {
                if let Some(alts) = node.get(k).and_then(Value::as_array) {
                    return alts
                        .iter()
                        .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
                        .flat_map(|a| self.resolve(a))
                        .collect();
                }
            }
            vec![node]
        }

        fn step<'a>(&'a self, nodes: &[&'a Value], seg: &str) -> Vec<&'a Value> {
            let wild = seg.starts_with('<') || seg == "*";
            let mut out = Vec::new();
            for n in nodes.iter().flat_map(|n| self.resolve(n)) {
                if seg.starts_with('[') {
                    out.extend(n.get("items"));
                    continue;
                }
                let props = n.get("properties").and_then(Value::as_object);
                if let Some(p) = props.and_then(|p| p.get(seg)) {
                    out.push(p);
                } else if wild || props.is_none() {
                    out.extend(n.get("additionalProperties").filter(|a| a.is_object()));
                    if let Some(pp) = n.get("patternProperties").and_then(Value::as_object) {
                        out.extend(pp.values());
                    }
                    if wild && props.is_some() {
                        out.push(n);
                    }
                }
            }
            out
        }

        fn has(&self, from: &[&str], key: &str) -> bool {
            let mut nodes = vec![&self.root];
            for seg in from {
                nodes = self.step(&nodes, seg);
            }
            for seg in segments(key) {
                nodes = self.step(&nodes, &seg);
                if nodes.is_empty() {
                    return false;
                }
            }
            true
        }

        fn top(&self, from: &[&str]) -> Vec<String> {
            let mut nodes = vec![&self.root];
            for seg in from {
                nodes = self.step(&nodes, seg);
            }
            nodes
                .iter()
                .flat_map(|n| self.resolve(n))
                .filter_map(|n| n.get("properties").and_then(Value::as_object))
                .flat_map(|p| p.keys().cloned())
                .collect()
        }
    }

    /// A dotted config key as written in docs, or None for other words.
    fn as_key(word: &str) -> Option<&str> {
        let word = word.trim_matches(|c| c == '"' || c == '\'');
        let first = word.chars().next()?;
        let ok = first.is_ascii_lowercase()
            && (word.contains('.') || word.contains('['))
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._<>*[]-".contains(c))
            && !word.ends_with('.');
        // camelCase keys never hold `_`; Rust paths (`gateway.send_reply`) do.
        let rust = segments(word)
            .iter()
            .any(|s| !s.starts_with('[') && !s.starts_with('<') && s.contains('_'));
        let file = ["rs", "md", "go", "json", "json5", "toml", "sh"]
            .iter()
            .any(|x| word.ends_with(&format!(".{x}")));
        (ok && !rust && !file).then_some(word)
    }

    #[test]
    fn docs_and_hints_name_only_keys_and_commands_that_exist() {
        let o = wagw(&["config", "schema"], &[DATA]);
        let schema = Schema {
            root: serde_json::from_slice(&o.stdout).unwrap(),
        };
        let tops = schema.top(&[]);
        let channel = schema.top(&["channels", "whatsapp"]);
        let mut bad: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut commands: Vec<(String, String)> = Vec::new();
        for file in sources() {
            let text = std::fs::read_to_string(&file).unwrap();
            let name = file
                .strip_prefix(root())
                .unwrap_or(&file)
                .display()
                .to_string();
            let markdown = name.ends_with(".md");
            let mut fenced = false;
            for (n, line) in text.lines().enumerate() {
                let at = format!("{name}:{}", n + 1);
                if markdown && line.starts_with("```") {
                    fenced = !fenced;
                    continue;
                }
                if fenced {
                    let l = line.trim().trim_start_matches("$ ");
                    if let Some(rest) = l.strip_prefix("wagw ") {
                        commands.push((rest.to_owned(), at.clone()));
                    }
                    continue;
                }
                for span in backticked(line) {
                    if let Some(rest) = span.strip_prefix("wagw ") {
                        commands.push((rest.to_owned(), at.clone()));
                        continue;
                    }
                    if span.contains('(') || span.contains("::") {
                        continue; // code, not a key
                    }
                    for word in span.split(|c: char| c.is_whitespace() || ",=:()".contains(c)) {
                        let Some(key) = as_key(word) else { continue };
                        if NOT_KEYS.contains(&key) || key.starts_with("media[") {
                            continue;
                        }
                        let first = segments(key)[0].clone();
                        let known = if tops.contains(&first) {
                            schema.has(&[], key)
                        } else if channel.contains(&first) {
                            // A channel key written relative to `channels.whatsapp` (the
                            // tables of docs/configuration.md).
                            schema.has(&["channels", "whatsapp"], key)
                        } else {
                            continue;
                        };
                        if !known {
                            bad.entry(format!("config key `{key}`"))
                                .or_default()
                                .push(at.clone());
                        }
                    }
                }
            }
        }
        let mut helps: HashMap<Vec<String>, String> = HashMap::new();
        let mut help = |path: &[String]| -> String {
            helps
                .entry(path.to_vec())
                .or_insert_with(|| {
                    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
                    args.push("--help");
                    stdout(&wagw(&args, &[DATA]))
                })
                .clone()
        };
        let subcommands = |help: &str| -> Vec<String> {
            help.split_once("Commands:")
                .map(|(_, rest)| {
                    rest.split("\n\n")
                        .next()
                        .unwrap_or("")
                        .lines()
                        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut checked = 0;
        for (cmd, at) in &commands {
            let cmd = cmd.split(['|', ';', '&', '>', '#']).next().unwrap();
            let mut words: Vec<&str> = cmd.split_whitespace().collect();
            // Global flags may come first.
            loop {
                match words.first() {
                    Some(&"--json") | Some(&"-v") | Some(&"-vv") => {
                        words.remove(0);
                    }
                    Some(&"--config") if words.len() > 1 => {
                        words.drain(..2);
                    }
                    _ => break,
                }
            }
            let Some(first) = words.first() else { continue };
            if first.starts_with('…') || first.starts_with("...") {
                continue; // "any command"
            }
            checked += 1;
            let mut path: Vec<String> = Vec::new();
            let mut rest = words.as_slice();
            while let Some((w, tail)) = rest.split_first() {
                if subcommands(&help(&path)).iter().any(|s| s == w) {
                    path.push((*w).to_owned());
                    rest = tail;
                } else {
                    break;
                }
            }
            let text = help(&path);
            let problem = if path.is_empty() {
                Some(format!("no command `wagw {first}`"))
            } else if !subcommands(&text).is_empty()
                && rest
                    .first()
                    .is_some_and(|w| w.chars().all(|c| c.is_ascii_lowercase()))
            {
                Some(format!(
                    "`wagw {}` has no subcommand `{}`",
                    path.join(" "),
                    rest[0]
                ))
            } else {
                rest.iter()
                    .map(|w| {
                        w.split('=')
                            .next()
                            .unwrap()
                            .trim_end_matches([',', '.', ']'])
                    })
                    .filter(|f| f.starts_with("--") && f.len() > 2)
                    .find(|f| {
                        !text.match_indices(f).any(|(i, _)| {
                            !text[i + f.len()..]
                                .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-')
                        })
                    })
                    .map(|f| format!("`wagw {}` has no flag `{f}`", path.join(" ")))
            };
            if let Some(p) = problem {
                bad.entry(p).or_default().push(at.clone());
            }
        }
        assert!(checked > 50, "only {checked} commands found");
        let report: Vec<String> = bad
            .iter()
            .map(|(what, at)| format!("{what} named at {}", at.join(", ")))
            .collect();
        assert!(
            report.is_empty(),
            "names that do not exist:\n{}",
            report.join("\n")
        );
    }
}

#[test]
fn channel_whatsapp_is_accepted_everywhere_and_any_other_channel_named() {
    let d = Daemon::start(OPEN_ECHO);
    d.wait_connected("default");
    d.inbound("+15550001111", "hello"); // a contact the simulator knows
    let ok = d.cli(&["pairing", "list", "--channel", "whatsapp"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let ok = d.cli(&["channels", "status", "--channel", "whatsapp"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let ok = d.cli(&[
        "message",
        "send",
        "--channel",
        "whatsapp",
        "--to",
        "+15550001111",
        "--text",
        "hi",
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    for args in [
        &["channels", "login", "--channel", "telegram"][..],
        &["channels", "logout", "--channel", "telegram"],
        &["channels", "status", "--channel", "telegram"],
        &["pairing", "list", "--channel", "telegram"],
        &["pairing", "list", "telegram"],
        &["pairing", "approve", "--channel", "telegram", "K7PQ2MZX"],
        &["pairing", "reject", "telegram", "K7PQ2MZX"],
        &[
            "message",
            "send",
            "--channel",
            "telegram",
            "--to",
            "+15550001111",
            "--text",
            "x",
        ],
    ] {
        let o = d.cli(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o)
                .contains("unknown channel \"telegram\"; wagw serves one channel, `whatsapp`"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn login_shows_the_transports_own_error_and_what_to_do() {
    // With a gateway: the API's login answers with the transport's reason.
    let body = r#"{ "channels": { "whatsapp": { "accounts": { "default": {} } } } }"#;
    let d = Daemon::launch(body, false, &[], &[("WAGW_WHATSAPP_URL", NOWHERE)]);
    let o = d.cli(&["channels", "login", "--timeout", "30"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("account default could not start linking"),
        "{err}"
    );
    assert!(
        err.contains("Check that this host reaches WhatsApp"),
        "{err}"
    );
    assert!(!err.contains("no QR within 5 s"), "{err}");
    drop(d);

    // Without a gateway: the CLI links directly, and says why it could not.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = write(
        dir.path(),
        "wagw.json5",
        &format!("{{ gateway: {{ listen: \"127.0.0.1:{}\" }} }}", free_port()),
    );
    let o = wagw(
        &["channels", "login", "--config", &cfg, "--timeout", "60"],
        &[
            ("WAGW_DATA_DIR", data.to_str().unwrap()),
            ("WAGW_WHATSAPP_URL", NOWHERE),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("No gateway is running: linking account default directly"),
        "{}",
        stdout(&o)
    );
    let err = stderr(&o);
    assert!(
        err.contains("Check that this host reaches WhatsApp"),
        "{err}"
    );
    assert!(
        err.contains("wagw channels login --account default"),
        "{err}"
    );
}

#[test]
fn status_probe_pings_each_connection() {
    let d = Daemon::start(OPEN_ECHO);
    d.wait_connected("default");
    let o = d.cli(&["channels", "status", "--probe"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Probe (a ping WhatsApp must answer):"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("default: ok, "), "{}", stdout(&o));
    let o = d.cli(&["--json", "channels", "status", "--probe"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["probes"][0]["ok"], true, "{v}");
    assert!(v["probes"][0]["rttMs"].is_u64(), "{v}");
    let (s, b) = d.http("POST", "/v1/accounts/default/probe", Some("{}"));
    assert_eq!(s, 200, "{b}");
    let (s, b) = d.http("POST", "/v1/accounts/nope/probe", Some("{}"));
    assert_eq!(s, 404, "{b}");
    // The route is documented.
    let (_, doc) = d.http("GET", "/v1/openapi.json", None);
    assert!(json(&doc)["paths"]["/v1/accounts/{id}/probe"]["post"].is_object());

    // An unlinked account's ping fails, naming why, and the exit status says so.
    let d = Daemon::launch(OPEN_ECHO, true, &["--unlinked"], &[]);
    let o = d.cli(&["channels", "status", "--probe"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("default: failed: "), "{}", stdout(&o));
}

#[test]
fn logs_follow_tails_the_event_stream() {
    // An `events` agent: its turns go to the event stream.
    let d = Daemon::start(
        r#"{ "gateway": { "agents": [ { "id": "main", "type": "events" } ] },
             "channels": { "whatsapp": { "dmPolicy": "open", "allowFrom": ["*"] } } }"#,
    );
    d.wait_connected("default");
    let o = d.cli(&["logs"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("add --follow"), "{}", stderr(&o));
    // --from-start replays what the gateway holds, so the turn is there however fast the
    // followers connect; then they stay on the live stream.
    d.inbound("+15550002222", "hello from the log test");
    let cfg = d.config_path();
    let env = env_of(&d);
    let mut text = Running::spawn(
        &["logs", "--follow", "--from-start", "--config", &cfg],
        &env,
    );
    let mut lines = Running::spawn(
        &["--json", "logs", "-f", "--from-start", "--config", &cfg],
        &env,
    );
    lines.until("\"type\":\"turn\"", 30);
    let turn = lines
        .seen
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["type"] == "turn")
        .unwrap();
    assert!(turn["seq"].is_u64(), "{turn}");
    text.until(" turn ", 30);
    assert!(
        text.seen.contains(" account_state default: "),
        "{}",
        text.seen
    );
    assert!(
        !text.seen.contains("hello from the log test"),
        "a body in the text log: {}",
        text.seen
    );
    // Live: a later event arrives without a restart.
    d.inbound("+15550003333", "second");
    lines.until("+15550003333", 30);
}

/// A child process killed when the test ends, passed or not.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `wagw gateway` with its log in a file (a piped stderr nobody reads would block it).
fn gateway(args: &[&str], env: &[(&str, String)], log: &Path) -> Guard {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wagw"));
    cmd.arg("gateway")
        .args(args)
        .env_clear()
        .env("HOME", "/nonexistent-home")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Guard(cmd.spawn().unwrap())
}

fn outbox_has(port: u16, chat: &str, text: &str) -> bool {
    let (_, b) = http(port, "GET", "/v1/sim/outbox/default", None);
    serde_json::from_str::<Value>(&b).is_ok_and(|v| {
        v["messages"].as_array().is_some_and(|m| {
            m.iter()
                .any(|m| m["chat"] == chat && m["text"].as_str().is_some_and(|t| t.contains(text)))
        })
    })
}

#[test]
fn sim_pair_code_links_an_unlinked_account_through_channels_login() {
    let d = Daemon::launch(OPEN_ECHO, true, &["--unlinked"], &[]);
    let (_, b) = d.http("GET", "/v1/accounts/default", None);
    assert_eq!(json(&b)["linked"], false, "{b}");
    let cfg = d.config_path();
    let mut login = Running::spawn(
        &[
            "channels",
            "login",
            "--phone",
            "+15550190001",
            "--config",
            &cfg,
        ],
        &env_of(&d),
    );
    login.until("Pair code for account default: ", 30);
    let code = login
        .seen
        .split("Pair code for account default: ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_owned();
    // A wrong code is the caller's error, naming the field; the right one links.
    let (s, b) = d.http(
        "POST",
        "/v1/sim/scan",
        Some(r#"{"phone": "+15550190001", "code": "WRONG123"}"#),
    );
    assert_eq!(
        (s, json(&b)["error"]["field"].clone()),
        (422, "code".into()),
        "{b}"
    );
    let body = serde_json::json!({"phone": "+15550190001", "code": code}).to_string();
    let (s, b) = d.http("POST", "/v1/sim/scan", Some(&body));
    assert_eq!(s, 200, "{b}");
    assert!(
        json(&b)["message"]
            .as_str()
            .unwrap()
            .contains("typed the pair code"),
        "{b}"
    );
    let (status, out, err) = login.finish(60);
    assert!(status.success(), "{out}\n{err}");
    assert!(out.contains("Linked"), "{out}");
}

#[test]
fn new_user_journey_init_gateway_login_pairing_send_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("wagw.json5");
    let cfg = cfg.to_str().unwrap().to_owned();
    let data = dir.path().join("data");
    let env = vec![
        ("WAGW_DATA_DIR", data.to_str().unwrap().to_owned()),
        ("WAGW_TOKEN", TOKEN.to_owned()),
    ];
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--config", cfg.as_str()]);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        wagw(&all, &env)
    };

    // 1. config init, then the operator picks a port and checks the file.
    let o = run(&["config", "init"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let port = free_port();
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("127.0.0.1:7420"));
    std::fs::write(
        &cfg,
        text.replace("127.0.0.1:7420", &format!("127.0.0.1:{port}")),
    )
    .unwrap();
    let o = run(&["config", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // 2. The gateway on the simulator, its account not linked yet.
    let mut gw = gateway(
        &["--sim", "--unlinked", "--config", &cfg],
        &env,
        &dir.path().join("gateway.log"),
    );
    wait_for("the gateway to listen", 60, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    let (_, b) = http(port, "GET", "/v1/accounts/default", None);
    assert_eq!(json(&b)["linked"], false, "{b}");

    // 3. channels login shows a QR; the simulated phone scans it; login exits linked.
    let mut login = Running::spawn(&["channels", "login", "--config", &cfg], &env);
    login.until("Waiting for WhatsApp to link account default", 30);
    assert!(login.seen.contains("Scan this QR"), "{}", login.seen);
    let (s, b) = http(port, "POST", "/v1/sim/scan", Some("{}"));
    assert_eq!(s, 200, "{b}");
    let (status, out, err) = login.finish(60);
    assert!(status.success(), "{out}\n{err}");
    assert!(out.contains("Linked"), "{out}");

    // 4. Someone new writes in: they get a pairing code; the owner approves with --notify.
    let sender = "+15550004444";
    let chat = "15550004444@s.whatsapp.net";
    let hello = serde_json::json!({"from": sender, "text": "hi, who is this?"}).to_string();
    let (s, b) = http(port, "POST", "/v1/sim/inbound", Some(&hello));
    assert_eq!(s, 200, "{b}");
    wait_for("the pairing code reply", 30, || {
        outbox_has(port, chat, "Pairing code:").then_some(())
    });
    let o = run(&["--json", "pairing", "list"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let list: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let code = list["requests"][0]["code"].as_str().unwrap().to_owned();
    let o = run(&["pairing", "approve", "whatsapp", &code, "--notify"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("They were told so on WhatsApp"),
        "{}",
        stdout(&o)
    );
    wait_for("the approval notice", 30, || {
        outbox_has(port, chat, "You have been approved").then_some(())
    });
    let again = serde_json::json!({"from": sender, "text": "now it works"}).to_string();
    http(port, "POST", "/v1/sim/inbound", Some(&again));
    wait_for("the agent's echo", 30, || {
        outbox_has(port, chat, "now it works").then_some(())
    });

    // 5. The operator sends a message.
    let o = run(&[
        "message",
        "send",
        "--to",
        sender,
        "--text",
        "from the operator",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(outbox_has(port, chat, "from the operator"));

    // 6. SIGTERM: the daemon exits cleanly within 10 s.
    let started = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &gw.0.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = wait_for("the gateway to exit", 20, || gw.0.try_wait().unwrap());
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
