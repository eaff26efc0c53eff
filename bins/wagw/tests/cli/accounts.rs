//! Credentials that survive and move, through the built `wagw` (issue 14): the credentials
//! backup is written at start and restored when the store's copy is lost, on SQLite and on
//! PostgreSQL; `wagw accounts export | import` moves a linked account from SQLite to
//! PostgreSQL without a new scan — refused while a gateway runs the account, the file 0600,
//! saying it holds secrets, never overwritten or imported over a linked account without
//! `--force`, and a bad file named with what is wrong.

use super::e2e::TOKEN;
use super::operator::{Daemon, json, wait_for};
use super::*;
use wagw_socket::store::{AccountStore, StoreOptions};
use wagw_store::test_support::TestPostgres;
use whatsapp_rust::store::traits::DeviceStore;

/// Writes a device that completed a link (as `+<digits>`) into the store at `location`,
/// as the protocol client does when a phone links it.
fn link(location: &wagw_store::Location, digits: &str) {
    if let wagw_store::Location::Sqlite(file) = location {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    }
    let store = AccountStore::open_at(location, StoreOptions::default()).unwrap();
    let mut d = whatsapp_rust::wacore::store::Device::new();
    d.pn = Some(whatsapp_rust::Jid::pn(digits));
    d.lid = Some(whatsapp_rust::Jid::lid("100000000000077"));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(store.save(&d))
        .unwrap();
}

/// A config on the simulator (`default`) plus the real-transport account `work`, whose
/// network goes nowhere (it keeps retrying, linked or not).
fn body(storage_url: Option<&str>) -> String {
    let mut v = serde_json::json!({
        "gateway": { "agents": [ { "id": "main", "type": "echo" } ] },
        "channels": { "whatsapp": { "accounts": {
            "default": { "transport": "sim" }, "work": {} } } },
    });
    if let Some(url) = storage_url {
        v["storage"] = serde_json::json!({ "url": url });
    }
    v.to_string()
}

fn nowhere() -> String {
    format!("ws://127.0.0.1:{}/ws/chat", super::operator::free_port())
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn linked_as(d: &Daemon, account: &str) -> Value {
    let (s, b) = d.http("GET", &format!("/v1/accounts/{account}"), None);
    assert_eq!(s, 200, "{b}");
    json(&b)
}

#[test]
fn a_linked_account_moves_from_sqlite_to_postgres_without_a_new_scan() {
    let Some(server) = TestPostgres::shared() else {
        return;
    };
    let url = server.fresh_database();
    let nowhere = nowhere();

    // Host A, on SQLite: a gateway runs `work`, and while it does both commands refuse.
    let mut a = Daemon::launch(&body(None), false, &[], &[("WAGW_WHATSAPP_URL", &nowhere)]);
    a.wait_connected("default");
    let auth = a.data().join("accounts").join("work");
    let store = wagw_store::Location::Sqlite(auth.join("account.sqlite3"));
    wait_for("work's protocol store", 30, || {
        store.exists().unwrap().then_some(())
    });
    let file = a.dir.path().join("work.wagw-account.json");
    let file_arg = file.to_str().unwrap().to_owned();
    let o = a.cli(&["accounts", "export", "work", &file_arg]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("account work is running: a wagw gateway holds its store")
            && err.contains("Stop that gateway, export, then start it again"),
        "{err}"
    );
    assert!(!file.exists(), "nothing written");
    let (status, _) = a.terminate(30);
    assert!(status.success(), "{status:?}\n{}", a.log());

    // Never linked: nothing to export.
    let o = a.cli(&["accounts", "export", "work", &file_arg]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("account work is not linked"),
        "{}",
        stderr(&o)
    );
    assert!(!file.exists());

    link(&store, "15550007777");
    let o = a.cli(&["accounts", "export", "work", &file_arg]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Exported account work (linked as +15550007777)"),
        "{}",
        stdout(&o)
    );
    assert_eq!(mode(&file), 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with(
            "{\n  \"secret\": \"SECRET: this file holds a linked WhatsApp account's private keys"
        ),
        "{}",
        &text[..200.min(text.len())]
    );
    let exported = json(&text);
    assert_eq!(exported["format"], "wagw-account-export");
    assert_eq!(exported["version"], 1);
    assert_eq!(exported["account"], "work");
    assert_eq!(exported["linkedAs"], "+15550007777");

    // An existing file is kept unless --force.
    let before = std::fs::read(&file).unwrap();
    let o = a.cli(&["accounts", "export", "work", &file_arg]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("already exists; not overwriting it (pass --force"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
    let o = a.cli(&["accounts", "export", "work", &file_arg, "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(mode(&file), 0o600);

    // Host B, on PostgreSQL: its gateway ran once (work's namespace exists, unlinked).
    let mut b = Daemon::launch(
        &body(Some(&url)),
        false,
        &[],
        &[("WAGW_WHATSAPP_URL", &nowhere)],
    );
    b.wait_connected("default");
    assert_eq!(linked_as(&b, "work")["linked"], false);
    let o = b.cli(&["accounts", "import", &file_arg]);
    assert_eq!(o.status.code(), Some(1), "refused while running");
    assert!(
        stderr(&o).contains("account work is running: a wagw gateway holds its store postgres://"),
        "{}",
        stderr(&o)
    );
    let (status, _) = b.terminate(30);
    assert!(status.success(), "{status:?}\n{}", b.log());

    let o = b.cli(&["accounts", "import", &file_arg]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("Imported account work (linked as +15550007777) into postgres://")
            && out.contains("#account/work (postgresql)"),
        "{out}"
    );
    // Importing over a linked account needs --force.
    let o = b.cli(&["accounts", "import", &file_arg]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("account work is already linked here (as +15550007777); pass --force"),
        "{}",
        stderr(&o)
    );
    let o = b.cli(&["accounts", "import", &file_arg, "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = b.cli(&["store", "status"]);
    let out = stdout(&o);
    assert!(
        out.contains("credentials backup: postgres://") && out.contains("#backup/account/work"),
        "{out}"
    );
    assert!(
        !out.contains("namespace backup/"),
        "shown on the account's row: {out}"
    );

    // The imported account comes up linked, as the same phone; no SQLite file on host B.
    let o = b.cli(&["channels", "status"]);
    assert!(
        stdout(&o).contains("linked as +15550007777"),
        "{}",
        stdout(&o)
    );
    b.spawn();
    b.wait_connected("default");
    let v = linked_as(&b, "work");
    assert_eq!(v["linked"], true, "{v}");
    assert!(
        !b.data()
            .join("accounts")
            .join("work")
            .join("account.sqlite3")
            .exists(),
        "the store is in PostgreSQL"
    );
}

#[test]
fn import_refuses_a_bad_file_naming_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("wagw.json5");
    std::fs::write(&cfg, body(None)).unwrap();
    let data = dir.path().join("data");
    let env = [
        ("WAGW_DATA_DIR", data.to_str().unwrap()),
        ("WAGW_TOKEN", TOKEN),
    ];
    let import = |name: &str, text: &str| {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        let o = wagw(
            &[
                "accounts",
                "import",
                f.to_str().unwrap(),
                "--config",
                cfg.to_str().unwrap(),
            ],
            &env,
        );
        (o.status.code(), stderr(&o))
    };
    // A real export to start from.
    let source = wagw_store::Location::Sqlite(data.join("accounts/work/account.sqlite3"));
    link(&source, "15550006666");
    let file = dir.path().join("good.json");
    let o = wagw(
        &[
            "accounts",
            "export",
            "work",
            file.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let good = json(&std::fs::read_to_string(&file).unwrap());

    let (code, err) = import("noise.json", "PK\u{3}\u{4} not json");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("noise.json is not an importable account export: not JSON"),
        "{err}"
    );

    let (code, err) = import("other.json", r#"{"hello": 1}"#);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not a wagw account export"), "{err}");

    let mut v = good.clone();
    v["version"] = 99.into();
    let (code, err) = import("newer.json", &v.to_string());
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("export version 99; this wagw reads version 1"),
        "{err}"
    );

    let mut v = good.clone();
    v["account"] = "Not An Id!".into();
    let (code, err) = import("badid.json", &v.to_string());
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("\"account\":"), "{err}");

    let mut v = good.clone();
    v["account"] = "elsewhere".into();
    let (code, err) = import("unknown.json", &v.to_string());
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "holds account elsewhere, which this config does not have (accounts: default, work)"
        ),
        "{err}"
    );

    let mut v = good.clone();
    v["trees"]["meta"] = serde_json::json!([["%%%", "AA=="]]);
    let (code, err) = import("b64.json", &v.to_string());
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("trees.meta[0]: the key is not base64"),
        "{err}"
    );

    let mut v = good.clone();
    v["trees"]["meta"] = serde_json::json!([]);
    let (code, err) = import("unlinked.json", &v.to_string());
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("no device record: the account was not linked"),
        "{err}"
    );

    // The store was not touched by any of them: still linked as before.
    let o = wagw(
        &[
            "accounts",
            "import",
            file.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("already linked here (as +15550006666)"),
        "{}",
        stderr(&o)
    );
    // A simulated account keeps nothing to export.
    let o = wagw(
        &[
            "accounts",
            "export",
            "default",
            dir.path().join("sim.json").to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("runs on the simulator"),
        "{}",
        stderr(&o)
    );
}

/// The gateway backs a linked account's credentials up (0600 beside the store); when the
/// store's copy is lost — the damaged store moved aside, as the failure's fix says — the next
/// start restores the link from the backup, logs it, and `wagw store status` shows it.
#[test]
fn credentials_are_restored_from_the_backup_when_the_store_loses_them() {
    let nowhere = nowhere();
    let mut d = Daemon::launch(&body(None), false, &[], &[("WAGW_WHATSAPP_URL", &nowhere)]);
    d.wait_connected("default");
    let (status, _) = d.terminate(30);
    assert!(status.success(), "{status:?}\n{}", d.log());
    let auth = d.data().join("accounts").join("work");
    let store = auth.join("account.sqlite3");
    link(&wagw_store::Location::Sqlite(store.clone()), "15550005555");

    d.spawn();
    d.wait_connected("default");
    let backup = auth.join("credentials.bak");
    wait_for("the credentials backup", 30, || {
        backup.is_file().then_some(())
    });
    assert_eq!(mode(&backup), 0o600);
    assert!(
        std::fs::read_to_string(&backup)
            .unwrap()
            .starts_with("{\n  \"secret\": \"SECRET: a wagw account's WhatsApp credentials"),
    );
    assert_eq!(linked_as(&d, "work")["linked"], true);
    let (status, _) = d.terminate(30);
    assert!(status.success(), "{status:?}\n{}", d.log());

    // The store is damaged: the account fails, and the fix names the intact backup.
    std::fs::write(&store, vec![0x5a_u8; 8192]).unwrap();
    for f in ["account.sqlite3-wal", "account.sqlite3-shm"] {
        let _ = std::fs::remove_file(auth.join(f));
    }
    d.spawn();
    d.wait_connected("default");
    let v = wait_for("work to fail", 30, || {
        let v = linked_as(&d, "work");
        (v["state"] == "failed").then_some(v)
    });
    let detail = v["detail"].as_str().unwrap_or_default().to_owned();
    assert!(
        detail.contains("Its credentials backup") && detail.contains("is intact"),
        "{v}"
    );
    let (status, _) = d.terminate(30);
    assert!(status.success(), "{status:?}\n{}", d.log());

    // As the fix says: the damaged store moved aside, the next start restores the link.
    std::fs::rename(&store, auth.join("account.sqlite3.damaged")).unwrap();
    d.spawn();
    d.wait_connected("default");
    let v = linked_as(&d, "work");
    assert_eq!(v["linked"], true, "{v}");
    assert_ne!(v["state"], "failed", "{v}");
    assert!(
        d.log().contains(
            "the device record is missing: restored the account's credentials from the backup"
        ),
        "{}",
        d.log()
    );
    let o = d.cli(&["store", "status"]);
    let out = stdout(&o);
    assert!(
        out.contains("credentials restored from the backup just now (the device record is missing"),
        "{out}"
    );
}

/// On PostgreSQL the backup is the namespace `backup/account/<id>`: a device record that
/// no longer decodes is restored from it at start.
#[test]
fn on_postgres_an_undecodable_device_record_is_restored_from_the_backup() {
    let Some(server) = TestPostgres::shared() else {
        return;
    };
    let url = server.fresh_database();
    let location = wagw_store::Location::postgres(&url, "account/work").unwrap();
    link(&location, "15550004444");
    let nowhere = nowhere();
    let mut d = Daemon::launch(
        &body(Some(&url)),
        false,
        &[],
        &[("WAGW_WHATSAPP_URL", &nowhere)],
    );
    d.wait_connected("default");
    wait_for("the backup namespace", 30, || {
        let (_, names) = wagw_store::survey_postgres(&url).unwrap();
        names
            .iter()
            .any(|n| n == "backup/account/work")
            .then_some(())
    });
    let (status, _) = d.terminate(30);
    assert!(status.success(), "{status:?}\n{}", d.log());

    // The device record's bytes are damaged in the database.
    {
        let db = location.open(&wagw_store::OpenOptions::default()).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert(b"device", b"{\"truncated")
            .unwrap();
        db.flush().unwrap();
    }
    d.spawn();
    d.wait_connected("default");
    let v = linked_as(&d, "work");
    assert_eq!(v["linked"], true, "{v}");
    assert!(
        d.log().contains(
            "the device record does not decode: restored the account's credentials from the backup"
        ),
        "{}",
        d.log()
    );
}
