//! The rest of what a new operator hits first (issue 13), through the built `wagw`:
//! `config check` runs every check the gateway runs at start (and a reload runs them too),
//! agent sink problems come all at once with line:column, docs and hints name only keys
//! and commands that exist, and the seeds' CLI (`--channel whatsapp`, login before the
//! gateway, `pairing approve --notify`, `channels status --probe`, `logs --follow`) works,
//! ending in the whole new-user journey as one test.

use super::operator::{Daemon, OPEN_ECHO, wait_for};
use super::*;
use std::time::Duration;

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
