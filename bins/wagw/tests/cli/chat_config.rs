//! `/config` from a chat through the built `wagw` on the simulator (issue 19): an owner's
//! `/config set` is written into the file in place (comments kept), reloaded, and changes
//! what the gateway does next; a non-owner's is ignored; the change is in the event log.
//! And `wagw config migrate` on an older layout.

use super::operator::{Daemon, EventStream, wait_for};

const OWNER: &str = "+15550001111";
const FRIEND: &str = "+15550002222";

fn config(port: u16) -> String {
    format!(
        r#"// wagw for the /config test
{{
  gateway: {{
    listen: "127.0.0.1:{port}",
    agents: [{{ id: "main", type: "echo" }}], // replies with the message
  }},
  commands: {{ config: true }},
  channels: {{
    whatsapp: {{
      /* only the owner, for now */
      dmPolicy: "allowlist",
      allowFrom: ["{OWNER}"],
    }},
  }},
}}
"#
    )
}

fn texts_to(d: &Daemon, chat_phone: &str) -> Vec<String> {
    let digits = chat_phone.trim_start_matches('+');
    d.outbox()
        .iter()
        .filter(|m| m["chat"].as_str().is_some_and(|c| c.starts_with(digits)))
        .filter_map(|m| m["text"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn an_owner_widens_the_allowlist_from_the_chat_and_the_friend_gets_answers() {
    let d = Daemon::launch_text(config);
    d.wait_connected("default");
    let mut events = EventStream::open(d.port, "?after=0");

    // Not on the allowlist: no answer, and its /config is ignored like the reference does.
    d.inbound(FRIEND, "hello?");
    d.inbound(
        FRIEND,
        &format!("/config set channels.whatsapp.allowFrom [\"{FRIEND}\"]"),
    );
    // The owner's own message is a marker: once its echo is out, the friend's were handled.
    d.inbound(OWNER, "ping");
    wait_for("the owner's echo", 60, || {
        texts_to(&d, OWNER)
            .iter()
            .any(|t| t.contains("ping"))
            .then_some(())
    });
    assert!(texts_to(&d, FRIEND).is_empty(), "{:?}", d.outbox());
    let before = std::fs::read_to_string(d.config_path()).unwrap();
    assert_eq!(
        before,
        config(d.port),
        "a non-owner's /config changed the file"
    );

    // A secret is neither shown nor set; an invalid value is answered with its reason.
    d.inbound(
        OWNER,
        "/config set gateway.token abcdefghijklmnopqrstuvwxyz0123456789",
    );
    d.inbound(OWNER, "/config set channels.whatsapp.dmPolicy open");
    d.inbound(
        OWNER,
        &format!("/config set channels.whatsapp.allowFrom [\"{OWNER}\", \"{FRIEND}\"]"),
    );
    let answers = wait_for("the three answers", 60, || {
        let t = texts_to(&d, OWNER);
        t.iter()
            .any(|t| t.starts_with("⚙️ Config updated"))
            .then_some(t)
    });
    assert!(
        answers
            .iter()
            .any(|t| t.contains("gateway.token holds a secret")),
        "{answers:?}"
    );
    assert!(
        answers.iter().any(|t| t.starts_with("⚠️ Config invalid after set; nothing was changed.\nchannels.whatsapp.allowFrom: channels.whatsapp.dmPolicy is \"open\"")),
        "{answers:?}"
    );
    assert!(
        answers.contains(&format!(
            "⚙️ Config updated: channels.whatsapp.allowFrom = [\"{OWNER}\",\"{FRIEND}\"]"
        )),
        "{answers:?}"
    );
    // Written in place: only the edited value differs, comments and layout are kept.
    let after = std::fs::read_to_string(d.config_path()).unwrap();
    assert_eq!(
        after,
        config(d.port).replace(
            &format!("allowFrom: [\"{OWNER}\"]"),
            &format!("allowFrom: [\"{OWNER}\",\"{FRIEND}\"]")
        )
    );
    assert!(!after.contains("abcdefghijklmnopqrstuvwxyz"), "{after}");

    // Reloaded live: the friend is answered now.
    d.inbound(FRIEND, "now?");
    wait_for("the friend's echo", 60, || {
        texts_to(&d, FRIEND)
            .iter()
            .any(|t| t.contains("now?"))
            .then_some(())
    });

    // The event log says who changed what.
    assert!(events.until("the config_changed event", 30, |seen| {
        seen.lines().any(|l| {
            l.contains("\"config_changed\"")
                && l.contains(&format!("\"by\":\"{OWNER}\""))
                && l.contains("\"path\":\"channels.whatsapp.allowFrom\"")
        })
    }));
}

/// `wagw config migrate` on seed 001's top-level `whatsapp` sample: `config check` points
/// at it, `--dry-run` prints the diff and changes nothing, the real run rewrites the file
/// in place (same mode), after which `config check` passes and a second run has nothing
/// to do.
#[test]
fn config_migrate_moves_a_top_level_whatsapp_and_prints_the_diff() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wagw.json");
    let before = "{\n  \"whatsapp\": {\n    \"selfChatMode\": true,\n    \"dmPolicy\": \"allowlist\",\n    \"allowFrom\": [\"+15551234567\"]\n  }\n}\n";
    std::fs::write(&file, before).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let path = file.to_str().unwrap();
    let env = [("WAGW_DATA_DIR", "/data")];
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--config", path]);
        super::wagw(&all, &env)
    };
    let check = run(&["config", "check"]);
    assert_eq!(check.status.code(), Some(2));
    assert!(
        super::stderr(&check).contains("`wagw config migrate` moves this object there"),
        "{}",
        super::stderr(&check)
    );

    let dry = run(&["config", "migrate", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", super::stderr(&dry));
    let out = super::stdout(&dry);
    assert!(out.contains("-  \"whatsapp\": {\n"), "{out}");
    assert!(
        out.contains("+  \"channels\": { \"whatsapp\": {\n"),
        "{out}"
    );
    assert!(
        out.contains("note: Moved whatsapp → channels.whatsapp."),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);

    let done = run(&["config", "migrate"]);
    assert_eq!(done.status.code(), Some(0), "{}", super::stderr(&done));
    assert!(
        super::stdout(&done).contains("migrated."),
        "{}",
        super::stdout(&done)
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "{\n  \"channels\": { \"whatsapp\": {\n    \"selfChatMode\": true,\n    \"dmPolicy\": \"allowlist\",\n    \"allowFrom\": [\"+15551234567\"]\n  } }\n}\n"
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    assert_eq!(run(&["config", "check"]).status.code(), Some(0));
    let again = run(&["config", "migrate"]);
    assert!(
        super::stdout(&again).contains("nothing to migrate"),
        "{}",
        super::stdout(&again)
    );
    let entries = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(entries, 1, "no temporary file left behind");
}
