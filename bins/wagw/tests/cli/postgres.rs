//! `storage.url` through the built `wagw` (issue 14): the gateway keeps its state in
//! PostgreSQL across a SIGTERM and a SIGKILL, creates no SQLite file, `wagw store status |
//! migrate` list and migrate the namespaces, a restart of the database under a running
//! gateway is survived, and the URL's password is printed nowhere; a
//! URL that is not PostgreSQL's is a positioned config error, and a server that does not
//! answer a clear start error. The server is a real one the tests start
//! (`wagw_store::test_support`; skipped without PostgreSQL, failing under `CI=true`).

use super::operator::{Daemon, json, wait_for};
use super::*;
use wagw_store::test_support::TestPostgres;

/// What a URL's password is replaced with in every output.
const SHOWN: &str = ":***@";

/// `url` with a password in it (the test server trusts loopback, so any password
/// connects), and that password; a URL that has one already keeps it.
fn with_password(url: &str) -> (String, String) {
    let rest = url.strip_prefix("postgres://").unwrap();
    let (userinfo, host) = rest.split_once('@').unwrap();
    match userinfo.split_once(':') {
        Some((_, pw)) => (url.to_owned(), pw.to_owned()),
        None => (
            format!("postgres://{userinfo}:hunter2-never-shown@{host}"),
            "hunter2-never-shown".to_owned(),
        ),
    }
}

/// Every file under `dir` whose name says SQLite.
fn sqlite_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(sqlite_files(&path));
        } else if path.to_string_lossy().contains(".sqlite3") {
            found.push(path);
        }
    }
    found
}

fn pairing_phones(d: &Daemon) -> Vec<String> {
    let o = d.cli(&["--json", "pairing", "list"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    json(&stdout(&o))["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sender"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn allowed(d: &Daemon) -> String {
    let o = d.cli(&["--json", "allow", "list"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn the_gateway_keeps_its_state_in_postgres_across_sigterm_and_sigkill() {
    let Some(server) = TestPostgres::shared() else {
        return;
    };
    let (url, password) = with_password(&server.fresh_database());
    // `default` on the simulator; `work` on the real transport, pointed at a port where
    // nothing answers (it keeps retrying), so its protocol store opens too.
    let body = serde_json::json!({
        "gateway": { "agents": [ { "id": "main", "type": "echo" } ] },
        "channels": { "whatsapp": { "dmPolicy": "pairing", "accounts": {
            "default": { "transport": "sim" }, "work": {} } } },
        "storage": { "url": url },
    })
    .to_string();
    let nowhere = format!("ws://127.0.0.1:{}/ws/chat", super::operator::free_port());
    let mut d = Daemon::launch(&body, false, &[], &[("WAGW_WHATSAPP_URL", &nowhere)]);
    d.wait_connected("default");
    wait_for("the work account's protocol store", 30, || {
        let (_, names) = wagw_store::survey_postgres(&url).unwrap();
        names.iter().any(|n| n == "account/work").then_some(())
    });

    // Acknowledged writes: a pairing request (a stranger writes), an allow entry (the API
    // answers once it is committed), and an inbound message (dedupe, event log).
    d.inbound("+15550003333", "hello, may I?");
    wait_for("the pairing request", 30, || {
        pairing_phones(&d)
            .iter()
            .any(|p| p == "+15550003333")
            .then_some(())
    });
    let o = d.cli(&["allow", "add", "+15550004444"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // Status, with the gateway running: the namespaces, current, no password.
    let o = d.cli(&["store", "status"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("state: postgresql postgres://") && out.contains("#state schema 1/1 current"),
        "{out}"
    );
    assert!(out.contains("#account/work schema 1/1 current"), "{out}");
    assert!(!out.contains(&password), "{out}");

    let (status, _) = d.terminate(30);
    assert!(status.success(), "{status:?}\n{}", d.log());
    d.spawn();
    d.wait_connected("default");
    assert!(
        pairing_phones(&d).iter().any(|p| p == "+15550003333"),
        "the pairing request survived the restart"
    );
    assert!(allowed(&d).contains("+15550004444"), "{}", allowed(&d));

    // SIGKILL right after an acknowledged write: nothing acknowledged is lost.
    let o = d.cli(&["allow", "add", "+15550005555"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    d.kill();
    // The restart right after the crash must not trip over the dead process's lock.
    d.spawn();
    d.wait_connected("default");
    let list = allowed(&d);
    assert!(
        list.contains("+15550004444") && list.contains("+15550005555"),
        "{list}"
    );
    assert!(pairing_phones(&d).iter().any(|p| p == "+15550003333"));

    // Nothing went to SQLite: no state folder, no database file anywhere in the data dir.
    assert!(!d.data().join("state").exists());
    assert!(
        !d.data().join("accounts").join("work").exists(),
        "nothing is written in the authDir"
    );
    assert_eq!(sqlite_files(&d.data()), Vec::<PathBuf>::new());

    // The password is in none of what wagw printed or logged.
    let o = d.cli(&["config", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("storage: postgresql postgres://"),
        "{}",
        stdout(&o)
    );
    let o2 = d.cli(&["--json", "config", "check"]);
    let o3 = d.cli(&["doctor"]);
    for (what, text) in [
        ("config check", stdout(&o)),
        ("config check --json", stdout(&o2)),
        ("doctor", stdout(&o3) + &stderr(&o3)),
        ("the gateway's log", d.log()),
    ] {
        assert!(
            !text.contains(&password),
            "{what} shows the password:\n{text}"
        );
    }
    assert!(stdout(&o2).contains(SHOWN), "{}", stdout(&o2));

    // Stopped: direct commands use the database too.
    let (status, _) = d.terminate(30);
    assert!(status.success(), "{status:?}\n{}", d.log());
    let list = allowed(&d);
    assert!(list.contains("+15550005555"), "{list}");
    let o = d.cli(&["store", "migrate"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("up to date (v1)"), "{}", stdout(&o));
    assert!(!stdout(&o).contains(&password), "{}", stdout(&o));
    assert_eq!(sqlite_files(&d.data()), Vec::<PathBuf>::new());
}

#[test]
fn store_status_lists_every_namespace_of_the_database() {
    let Some(server) = TestPostgres::shared() else {
        return;
    };
    let (url, password) = with_password(&server.fresh_database());
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("wagw.json5");
    std::fs::write(
        &cfg,
        "{ channels: { whatsapp: { accounts: { default: {}, lab: { transport: 'sim' } } } } }",
    )
    .unwrap();
    let data = dir.path().join("data");
    // From the environment this time (the file sets no storage.url).
    let env = [
        ("WAGW_DATA_DIR", data.to_str().unwrap()),
        ("WAGW_DATABASE_URL", url.as_str()),
    ];
    let cfg = cfg.to_str().unwrap();
    // An empty database: nothing yet, nothing created by looking.
    let o = wagw(&["store", "status", "--config", cfg], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("state: postgresql postgres://"), "{out}");
    assert!(out.contains("#state schema -/1 missing"), "{out}");
    assert!(
        out.contains("account default: postgresql") && out.contains("#account/default"),
        "{out}"
    );
    assert!(!out.contains("account lab"), "{out}");
    assert_eq!(wagw_store::survey_postgres(&url).unwrap(), (None, vec![]));
    // Migrate creates the schema; the namespaces appear when used.
    let o = wagw(&["store", "migrate", "--config", cfg], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("schema created (v1)"), "{}", stdout(&o));
    for ns in ["state", "account/default", "account/gone"] {
        drop(
            wagw_store::Location::postgres(&url, ns)
                .unwrap()
                .open(&Default::default())
                .unwrap(),
        );
    }
    let o = wagw(&["--json", "store", "status", "--config", cfg], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rows = rows.as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["store"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["state", "account default", "namespace account/gone"]
    );
    for r in rows {
        assert_eq!(r["engine"], "postgresql");
        assert_eq!(r["schemaVersion"], 1);
        assert_eq!(r["status"], "current");
    }
    assert_eq!(rows[2]["detail"], "not a store of this config");
    assert!(!stdout(&o).contains(&password));
    assert!(!data.join("state").exists());
}

#[test]
fn a_storage_url_that_is_not_postgres_is_a_positioned_config_error() {
    let dir = tempfile::tempdir().unwrap();
    for (url, want) in [
        (
            "mysql://root:hunter2@db/wagw",
            "a mysql:// URL; must be a PostgreSQL URL",
        ),
        (
            "postgres://root:hunter2@db:notaport/wagw",
            "not a usable PostgreSQL URL",
        ),
    ] {
        let cfg = dir.path().join("wagw.json5");
        std::fs::write(
            &cfg,
            format!("{{\n  channels: {{ whatsapp: {{}} }},\n  storage: {{\n    url: {url:?},\n  }},\n}}\n"),
        )
        .unwrap();
        let cfg = cfg.to_str().unwrap();
        let env = [(
            "WAGW_DATA_DIR",
            dir.path().join("data").to_str().unwrap().to_owned(),
        )];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for args in [
            vec!["config", "check", "--config", cfg],
            vec!["gateway", "--sim", "--config", cfg],
        ] {
            let o = wagw(&args, &env);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
            let err = stderr(&o);
            assert!(err.contains("4:5: storage.url: "), "{args:?}: {err}");
            assert!(err.contains(want), "{args:?}: {err}");
            assert!(!err.contains("hunter2"), "{args:?}: {err}");
        }
        assert!(!dir.path().join("data").join("state").exists());
    }
}

#[test]
fn a_database_that_does_not_answer_fails_the_start_clearly() {
    // A port nothing listens on.
    let port = super::operator::free_port();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("wagw.json5");
    std::fs::write(
        &cfg,
        format!(
            "{{ gateway: {{ listen: '127.0.0.1:{}' }}, storage: {{ url: 'postgres://wagw:hunter2@127.0.0.1:{port}/wagw' }} }}",
            super::operator::free_port()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let started = std::time::Instant::now();
    let o = wagw(
        &["gateway", "--sim", "--config", cfg.to_str().unwrap()],
        &[("WAGW_DATA_DIR", data.to_str().unwrap())],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("postgres://wagw@127.0.0.1:{port}/wagw#state"))
            && err.contains("connect"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    assert!(!data.join("state").exists());
}

/// The database restarts under a running gateway (maintenance, a failover): the gateway goes
/// on without a restart of its own, and what it acknowledged before and after is kept.
#[test]
fn the_gateway_survives_a_restart_of_the_database() {
    let Some(mut server) = TestPostgres::start_own() else {
        return;
    };
    let url = server.fresh_database();
    let body = serde_json::json!({
        "gateway": { "agents": [ { "id": "main", "type": "echo" } ] },
        "channels": { "whatsapp": { "dmPolicy": "pairing" } },
        "storage": { "url": url },
    })
    .to_string();
    let d = Daemon::start(&body);
    d.wait_connected("default");
    let o = d.cli(&["allow", "add", "+15550006666"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    server.crash();
    server.restart();
    let o = d.cli(&["allow", "add", "+15550007777"]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stderr(&o), d.log());
    let list = allowed(&d);
    assert!(
        list.contains("+15550006666") && list.contains("+15550007777"),
        "{list}\n{}",
        d.log()
    );
    // Messages still flow: a stranger gets a pairing request, stored.
    d.inbound("+15550008888", "anyone there?");
    wait_for("the pairing request after the restart", 30, || {
        pairing_phones(&d)
            .iter()
            .any(|p| p == "+15550008888")
            .then_some(())
    });
}

/// A reload that changes `storage.url` says the stores stay where they are until a
/// restart (without either password), and they do — also for the stopped (disabled)
/// account, whose link is still read from the database in use.
#[test]
fn a_reload_that_moves_the_storage_says_it_needs_a_restart() {
    let Some(server) = TestPostgres::shared() else {
        return;
    };
    let (url, password) = with_password(&server.fresh_database());
    {
        let location = wagw_store::Location::postgres(&url, "account/spare").unwrap();
        let store = wagw_socket::store::AccountStore::open_at(
            &location,
            wagw_socket::store::StoreOptions::default(),
        )
        .unwrap();
        let mut d = whatsapp_rust::wacore::store::Device::new();
        d.pn = Some(whatsapp_rust::Jid::pn("15550006060"));
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(whatsapp_rust::store::traits::DeviceStore::save(&store, &d))
            .unwrap();
    }
    let body = |url: &str| {
        serde_json::json!({
            "gateway": { "agents": [ { "id": "main", "type": "echo" } ] },
            "channels": { "whatsapp": { "dmPolicy": "pairing", "accounts": {
                "default": { "transport": "sim" }, "spare": { "enabled": false } } } },
            "storage": { "url": url },
        })
        .to_string()
    };
    let spare_linked = |d: &Daemon| {
        let (s, b) = d.http("GET", "/v1/accounts/spare", None);
        assert_eq!(s, 200, "{b}");
        json(&b)["linked"].clone()
    };
    // Not `--sim`: the stopped account's link is read from its store.
    let mut d = Daemon::start_with(&body(&url), false);
    d.wait_connected("default");
    assert_eq!(spare_linked(&d), true);
    let o = d.cli(&["allow", "add", "+15550009999"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (other, other_password) = with_password(&server.fresh_database());
    d.config = body(&other);
    d.write_config();
    let (s, b) = d.http("POST", "/v1/reload", None);
    assert_eq!(s, 200, "{b}");
    assert!(
        b.contains("until the gateway restarts") && b.contains(SHOWN),
        "{b}"
    );
    assert!(
        !b.contains(&password) && !b.contains(&other_password),
        "{b}"
    );
    assert!(allowed(&d).contains("+15550009999"), "the stores stayed");
    assert_eq!(
        spare_linked(&d),
        true,
        "the stopped account is still read where the stores are"
    );
}

/// The corrupt-account test on PostgreSQL. There a store cannot be random bytes: an
/// account's namespace is damaged when its protocol state does not decode — here the device
/// record's bytes, with its credentials backup damaged too (an intact one is restored). That
/// account is marked failed with the reason and the fix, while the others run.
#[test]
fn on_postgres_a_corrupt_account_fails_that_account_while_the_others_run() {
    let Some(server) = TestPostgres::shared() else {
        return;
    };
    let url = server.fresh_database();
    let link = |namespace: &str, digits: &str| {
        let location = wagw_store::Location::postgres(&url, namespace).unwrap();
        let store = wagw_socket::store::AccountStore::open_at(
            &location,
            wagw_socket::store::StoreOptions::default(),
        )
        .unwrap();
        let mut d = whatsapp_rust::wacore::store::Device::new();
        d.pn = Some(whatsapp_rust::Jid::pn(digits));
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(whatsapp_rust::store::traits::DeviceStore::save(&store, &d))
            .unwrap();
    };
    link("account/work", "15550002222");
    link("account/broken", "15550003333");
    let body = serde_json::json!({
        "gateway": { "agents": [ { "id": "main", "type": "echo" } ] },
        "channels": { "whatsapp": { "dmPolicy": "open", "allowFrom": ["*"], "accounts": {
            "default": { "transport": "sim" }, "work": {}, "broken": {} } } },
        "storage": { "url": url },
    })
    .to_string();
    let nowhere = format!("ws://127.0.0.1:{}/ws/chat", super::operator::free_port());
    let mut d = Daemon::launch(&body, false, &[], &[("WAGW_WHATSAPP_URL", &nowhere)]);
    d.wait_connected("default");
    wait_for("both credentials backups", 30, || {
        let (_, names) = wagw_store::survey_postgres(&url).unwrap();
        ["backup/account/work", "backup/account/broken"]
            .iter()
            .all(|b| names.iter().any(|n| n == b))
            .then_some(())
    });
    let (status, _) = d.terminate(30);
    assert!(status.success(), "{status:?}\n{}", d.log());

    // While wagw is stopped, broken's device record and its backup stop decoding.
    for (namespace, tree, key) in [
        ("account/broken", "meta", &b"device"[..]),
        ("backup/account/broken", "credentials", &b"backup"[..]),
    ] {
        let db = wagw_store::Location::postgres(&url, namespace)
            .unwrap()
            .open(&wagw_store::OpenOptions::default())
            .unwrap();
        db.open_tree(tree)
            .unwrap()
            .insert(key, b"\x00\xffnot json")
            .unwrap();
        db.flush().unwrap();
    }

    d.spawn();
    d.wait_connected("default");
    let v = wait_for("broken to fail", 30, || {
        let (s, b) = d.http("GET", "/v1/accounts/broken", None);
        assert_eq!(s, 200, "{b}");
        let v = json(&b);
        (v["state"] == "failed").then_some(v)
    });
    assert_eq!(v["running"], false, "{v}");
    let detail = v["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("#account/broken"), "{v}");
    assert!(detail.contains("the device record does not decode"), "{v}");
    assert!(
        detail.contains("wagw accounts import FILE --force")
            && detail.contains("delete the namespace account/broken"),
        "{v}"
    );
    assert!(!detail.contains("move it aside"), "a SQLite hint: {v}");
    assert!(
        d.log().contains("the credentials backup cannot be used"),
        "{}",
        d.log()
    );
    // The other real account is up and linked; the simulated one answers.
    let (_, b) = d.http("GET", "/v1/accounts/work", None);
    let w = json(&b);
    assert_eq!(w["linked"], true, "{b}");
    assert_ne!(w["state"], "failed", "{b}");
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
}
