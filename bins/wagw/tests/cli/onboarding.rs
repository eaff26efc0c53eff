//! The rest of what a new operator hits first (issue 13), through the built `wagw`:
//! `config check` runs every check the gateway runs at start (and a reload runs them too),
//! agent sink problems come all at once with line:column, docs and hints name only keys
//! and commands that exist, and the seeds' CLI (`--channel whatsapp`, login before the
//! gateway, `pairing approve --notify`, `channels status --probe`, `logs --follow`) works,
//! ending in the whole new-user journey as one test.

use super::operator::{Daemon, OPEN_ECHO, TOKEN, free_port, http, json, wait_for};
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
