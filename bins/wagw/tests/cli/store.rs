//! Storage through the built `wagw` (issue 14): what an earlier wagw left on sled is named
//! by `doctor` with what to do; a damaged account store fails that account only; `wagw store
//! status | migrate`.

use super::*;

fn config_file(dir: &Path, text: &str) -> String {
    let path = dir.join("wagw.json5");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn doctor_names_an_old_sled_store_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = config_file(
        dir.path(),
        &format!(
            "{{ gateway: {{ listen: \"127.0.0.1:{port}\" }}, channels: {{ whatsapp: {{}} }} }}"
        ),
    );
    let data = dir.path().join("data");
    // What sled left: `conf`, `db`, `blobs/` and `snap.*` in the state folder and an authDir.
    let state = data.join("state");
    let auth = data.join("accounts").join("default");
    for folder in [&state, &auth] {
        std::fs::create_dir_all(folder.join("blobs")).unwrap();
        for file in ["conf", "db", "snap.00000000000A1B2C"] {
            std::fs::write(folder.join(file), b"sled").unwrap();
        }
    }
    let env = [("WAGW_DATA_DIR", data.to_str().unwrap())];
    let o = wagw(&["doctor", "--config", &cfg], &env);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "FAIL {} holds a database of an earlier wagw (sled: blobs/, conf, db, snap.00000000000A1B2C), which this version does not read",
            state.display()
        )),
        "{out}"
    );
    assert!(
        out.contains("re-approve senders with `wagw allow add`"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "FAIL account default: {} holds protocol state of an earlier wagw (sled:",
            auth.display()
        )),
        "{out}"
    );
    assert!(
        out.contains("then run `wagw channels login --account default`"),
        "{out}"
    );
    // Nothing was deleted or converted behind the operator's back.
    assert!(state.join("conf").is_file() && auth.join("db").is_file());
}

/// One account's protocol store is damaged (random bytes): that account is marked failed
/// with the reason and the fix — in `/v1/accounts`, `channels status` and `doctor` — while
/// the other account runs and answers.
#[test]
fn a_corrupt_account_store_fails_that_account_while_the_others_run() {
    use super::operator::{Daemon, json, wait_for};
    let body = r#"{
        "gateway": { "agents": [ { "id": "main", "type": "echo" } ] },
        "channels": { "whatsapp": { "dmPolicy": "open", "allowFrom": ["*"],
            "accounts": { "default": { "transport": "sim" }, "broken": {} } } }
    }"#;
    // First run: both accounts start (the real one has no network and keeps retrying).
    let mut d = Daemon::start_with(body, false);
    d.wait_connected("default");
    let store = d
        .data()
        .join("accounts")
        .join("broken")
        .join("account.sqlite3");
    wait_for("the broken account's store", 30, || {
        store.is_file().then_some(())
    });
    let (status, _) = d.terminate(30);
    assert!(status.success(), "{status:?}\n{}", d.log());

    // The store is damaged while wagw is stopped.
    let noise: Vec<u8> = (0..65_536u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    std::fs::write(&store, &noise).unwrap();
    for f in ["account.sqlite3-wal", "account.sqlite3-shm"] {
        let _ = std::fs::remove_file(store.with_file_name(f));
    }

    d.spawn();
    d.wait_connected("default");
    let (s, b) = d.http("GET", "/v1/accounts/broken", None);
    assert_eq!(s, 200, "{b}");
    let v = json(&b);
    assert_eq!(v["state"], "failed", "{b}");
    assert_eq!(v["running"], false, "{b}");
    let detail = v["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(&store.display().to_string()), "{b}");
    assert!(detail.contains("not a wagw database or is damaged"), "{b}");
    assert!(
        detail.contains("wagw channels login --account broken"),
        "{b}"
    );
    // The healthy account answers.
    d.inbound("+15550001111", "still there?");
    wait_for("the echo reply", 30, || {
        d.outbox()
            .iter()
            .any(|m| m.to_string().contains("still there?"))
            .then_some(())
    });

    let o = d.cli(&["channels", "status"]);
    let out = stdout(&o);
    assert!(
        out.contains("- WhatsApp broken: enabled, not linked, failed"),
        "{out}"
    );
    assert!(out.contains("not a wagw database or is damaged"), "{out}");

    let o = d.cli(&["doctor"]);
    let out = stdout(&o);
    assert!(
        out.contains("FAIL account broken: failed to start:"),
        "{out}"
    );
    assert!(
        out.contains("ok   account default: linked and connected"),
        "{out}"
    );
    assert_eq!(
        std::fs::read(&store).unwrap(),
        noise,
        "left for the operator"
    );
}

/// `wagw store status` names each store with its engine, file and schema version (also
/// while another process holds it); `wagw store migrate` needs the store free and reports
/// each store.
#[test]
fn store_status_and_migrate_name_each_store() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(
        dir.path(),
        r#"{ channels: { whatsapp: { accounts: { default: {}, lab: { transport: "sim" } } } } }"#,
    );
    let data = dir.path().join("data");
    let env = [("WAGW_DATA_DIR", data.to_str().unwrap())];
    let state = data.join("state").join("state.sqlite3");
    let account = data
        .join("accounts")
        .join("default")
        .join("account.sqlite3");

    let o = wagw(&["store", "status", "--config", &cfg], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "state: sqlite {} schema -/1 missing",
            state.display()
        )),
        "{out}"
    );
    assert!(out.contains("account default: sqlite"), "{out}");
    assert!(
        !out.contains("account lab"),
        "simulated accounts keep no store: {out}"
    );
    assert!(!data.join("state").exists(), "status creates nothing");

    // Held by another process (this test): status still reads it, migrate refuses.
    let held = wagw_store::Db::open(&state, &wagw_store::OpenOptions::default()).unwrap();
    let o = wagw(&["store", "status", "--json", "--config", &cfg], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(rows[0]["store"], "state");
    assert_eq!(rows[0]["engine"], "sqlite");
    assert_eq!(rows[0]["schemaVersion"], 1);
    assert_eq!(rows[0]["status"], "current");
    let o = wagw(&["store", "migrate", "--config", &cfg], &env);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("stop the gateway first"),
        "{}",
        stdout(&o)
    );
    drop(held);

    // A damaged account store is named, with what to do.
    std::fs::create_dir_all(account.parent().unwrap()).unwrap();
    std::fs::write(&account, vec![0x5a; 8192]).unwrap();
    let o = wagw(&["store", "status", "--config", &cfg], &env);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("account default: sqlite"), "{out}");
    assert!(out.contains("damaged"), "{out}");
    let o = wagw(&["store", "migrate", "--config", &cfg], &env);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains(&format!("state: up to date (v1, {})", state.display())),
        "{out}"
    );
    assert!(out.contains("not a wagw database or is damaged"), "{out}");
}
