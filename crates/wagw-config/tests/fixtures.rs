//! Table tests over `fixtures/config/`: the valid configs and what they resolve to
//! (`valid.json`), and the broken ones with the exact problems each must report
//! (`invalid/<name>.json5` beside `invalid/<name>.expected`). A failing row prints its name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use wagw_config::{Config, Env};

#[path = "fixtures/chat.rs"]
mod chat;
#[path = "fixtures/migrate.rs"]
mod migrate;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/config")
}

fn env_from(v: &Value) -> Env {
    Env::from_pairs(
        v.as_object()
            .expect("env is an object")
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().expect("env values are strings").to_string(),
                )
            }),
    )
}

/// Replaces `${DIR}` in every string of `v`.
fn substitute(v: &Value, dir: &str) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace("${DIR}", dir)),
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, dir)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), substitute(x, dir)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Checks that `actual` has every key of `expected` with an equal value (recursively);
/// arrays must have the same length. With `exact`, objects must have the same keys.
fn matches(expected: &Value, actual: &Value, path: &str, exact: bool, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => matches(ev, av, &format!("{path}.{k}"), exact, out),
                    None => out.push(format!("{path}.{k}: missing (want {ev})")),
                }
            }
            if exact {
                for k in a.keys().filter(|k| !e.contains_key(*k)) {
                    out.push(format!("{path}.{k}: not in the fixture (got {})", a[k]));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                out.push(format!(
                    "{path}: {} items, want {}: got {actual}",
                    a.len(),
                    e.len()
                ));
                return;
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                matches(ev, av, &format!("{path}[{i}]"), exact, out);
            }
        }
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => {}
        (e, a) if e == a => {}
        (e, a) => out.push(format!("{path}: got {a}, want {e}")),
    }
}

#[test]
fn valid_configs_resolve_as_expected() {
    let dir = fixtures();
    let table: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("valid.json")).unwrap()).unwrap();
    let default_env = &table["defaultEnv"];
    let cases = table["cases"].as_array().unwrap();
    assert!(cases.len() >= 30, "only {} valid cases", cases.len());
    let mut failures = Vec::new();
    let mut seen_files = std::collections::BTreeSet::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let file = dir.join(case["file"].as_str().unwrap());
        seen_files.insert(file.file_name().unwrap().to_owned());
        let env = env_from(case.get("env").unwrap_or(default_env));
        let config = match Config::load(&file, &env) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name} ({}): rejected: {e}", file.display()));
                continue;
            }
        };
        let actual = serde_json::to_value(&config).unwrap();
        let file_dir = file.parent().unwrap().display().to_string();
        let mut expect = substitute(&case["expect"], &file_dir);
        if expect.get("warnings").is_none() {
            expect["warnings"] = Value::Array(Vec::new());
        }
        let mut diffs = Vec::new();
        let exact = case["exactAccounts"].as_bool().unwrap_or(false);
        for (key, want) in expect.as_object().unwrap() {
            let got = actual.get(key).unwrap_or(&Value::Null);
            matches(want, got, key, exact && key == "accounts", &mut diffs);
        }
        if !diffs.is_empty() {
            failures.push(format!(
                "{name} ({}):\n    {}",
                file.display(),
                diffs.join("\n    ")
            ));
        }
    }
    // Every file in valid/ is covered by a row.
    for entry in std::fs::read_dir(dir.join("valid")).unwrap() {
        let name = entry.unwrap().file_name();
        if !seen_files.contains(&name) {
            failures.push(format!(
                "valid/{} has no row in valid.json",
                name.to_string_lossy()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing rows:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn invalid_configs_report_every_expected_problem() {
    let dir = fixtures().join("invalid");
    let env = Env::from_pairs([("WAGW_DATA_DIR", "/data"), ("HOME", "/home/user")]);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json5"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "only {} invalid configs", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        let expected_path = file.with_extension("expected");
        let Ok(expected) = std::fs::read_to_string(&expected_path) else {
            failures.push(format!("{name}: missing {}", expected_path.display()));
            continue;
        };
        let want: Vec<&str> = expected.lines().filter(|l| !l.trim().is_empty()).collect();
        match Config::load(file, &env) {
            Ok(_) => failures.push(format!("{name}: accepted, want {} problem(s)", want.len())),
            Err(e) => {
                let got: Vec<String> = e.problems().iter().map(ToString::to_string).collect();
                if got.is_empty() {
                    failures.push(format!("{name}: failed without problems: {e}"));
                } else if got != want {
                    failures.push(format!(
                        "{name}:\n  got:\n    {}\n  want:\n    {}",
                        got.join("\n    "),
                        want.join("\n    ")
                    ));
                }
                // Every problem names where it is: a line and a path (syntax errors: a line).
                for p in e.problems() {
                    if p.pos.is_none()
                        || (p.path.is_empty() && p.kind != wagw_config::ProblemKind::Syntax)
                    {
                        failures.push(format!("{name}: problem without position or path: {p}"));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing files:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn starter_config_is_valid() {
    let env = Env::from_pairs([("WAGW_DATA_DIR", "/data")]);
    let config = Config::from_json5_str(wagw_config::STARTER_CONFIG, &env).unwrap();
    assert_eq!(config.default_account().account_id.as_str(), "default");
    assert!(config.warnings().is_empty());
}

#[test]
fn schema_lists_every_key_the_loader_accepts() {
    // The example uses nearly every key; each of its object keys must appear in the schema.
    let schema = wagw_config::json_schema();
    let text = serde_json::to_string(&schema).unwrap();
    for key in [
        "dmPolicy",
        "allowFrom",
        "groupAllowFrom",
        "groups",
        "requireMention",
        "selfChatMode",
        "sendReadReceipts",
        "ackReaction",
        "textChunkLimit",
        "chunkMode",
        "mediaMaxMb",
        "historyLimit",
        "dmHistoryLimit",
        "dms",
        "messagePrefix",
        "debounceMs",
        "configWrites",
        "actions",
        "pairing",
        "ttlMinutes",
        "maxPending",
        "replyTemplate",
        "pacing",
        "messagesPerMinute",
        "burst",
        "perChatMinIntervalMs",
        "newChatsPerDay",
        "typingIndicator",
        "accounts",
        "enabled",
        "authDir",
        "transport",
        "responsePrefix",
        "mentionPatterns",
        "envelope",
        "timezone",
        "inbound",
        "identity",
        "session",
        "dmScope",
        "mainKey",
        "web",
        "heartbeatSeconds",
        "reconnect",
        "initialMs",
        "maxMs",
        "factor",
        "jitter",
        "maxAttempts",
        "bindings",
        "agentId",
        "peer",
        "gateway",
        "listen",
        "token",
        "dataDir",
        "timeoutMs",
        "command",
        "media",
        "allowPrivateNetworks",
        "localRoots",
        "retentionHours",
    ] {
        assert!(text.contains(&format!("\"{key}\"")), "schema lacks {key}");
    }
    let sink = &schema["definitions"]["SinkEntry"];
    let required: Vec<&str> = sink["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required, ["id", "type"]);
    assert_eq!(
        schema["definitions"]["WhatsAppSection"]["additionalProperties"],
        false
    );
}
