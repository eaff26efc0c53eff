//! What only the PostgreSQL engine has: a server that crashes, other connections, the
//! namespace lock, the database-wide schema version.

use std::str::FromStr;

use wagw_store::test_support::{TestPostgres, namespace_lock_key};
use wagw_store::{Db, OpenOptions, SCHEMA_VERSION, StoreError, Tree};

fn client(url: &str) -> postgres::Client {
    postgres::Config::from_str(url)
        .unwrap()
        .connect(postgres::NoTls)
        .unwrap()
}

fn count(c: &mut postgres::Client) -> i64 {
    c.query_one("SELECT count(*) FROM wagw_kv", &[])
        .unwrap()
        .get(0)
}

/// A store with one flushed (acknowledged) write, `acked`, and one pending write, `pending`.
fn acked_and_pending(url: &str, namespace: &str) -> (Db, Tree) {
    let db = Db::open_postgres(url, namespace, &OpenOptions::default()).unwrap();
    let t = db.open_tree("t").unwrap();
    t.insert(b"acked", b"1").unwrap();
    db.flush().unwrap();
    t.insert(b"pending", b"2").unwrap();
    (db, t)
}

/// The keys of tree `t` as a fresh opener of `namespace` sees them.
fn keys_after_reopen(url: &str, namespace: &str) -> Vec<Vec<u8>> {
    let db = Db::open_postgres(url, namespace, &OpenOptions::default()).unwrap();
    let t = db.open_tree("t").unwrap();
    t.iter().keys().map(Result::unwrap).collect()
}

#[test]
fn a_flushed_write_survives_a_crash_of_the_server_and_pending_ones_are_not_seen_by_others() {
    // A server of the test's own: it is crashed and restarted.
    let Some(mut server) = TestPostgres::start_own() else {
        return;
    };
    let url = server.fresh_database();
    {
        let (db, t) = acked_and_pending(&url, "account/1");
        // Another connection sees the acknowledged write only.
        let mut other = client(&url);
        assert_eq!(count(&mut other), 1);
        server.crash();
        // The connection is gone with the server: the pending write is lost and the handle
        // refuses to acknowledge anything more.
        assert!(db.flush().is_err());
        assert!(t.insert(b"after", b"3").is_err());
    }
    server.restart();
    assert_eq!(keys_after_reopen(&url, "account/1"), [b"acked".to_vec()]);
}

#[test]
fn a_killed_connection_loses_only_unflushed_writes() {
    let Some(server) = TestPostgres::shared() else {
        return;
    };
    let url = server.fresh_database();
    {
        let (db, t) = acked_and_pending(&url, "state");
        let mut admin = client(&url);
        let killed: i64 = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(killed, 1);
        let err = db.flush().unwrap_err();
        assert!(matches!(err, StoreError::Database { .. }), "{err}");
        // Nothing more is acknowledged on top of the lost write.
        let err = t.insert(b"x", b"y").unwrap_err();
        assert!(matches!(err, StoreError::Failed { .. }), "{err}");
    }
    assert_eq!(keys_after_reopen(&url, "state"), [b"acked".to_vec()]);
}

#[test]
fn a_second_opener_of_a_namespace_is_refused_after_a_short_wait_and_others_are_not() {
    let Some(server) = TestPostgres::shared() else {
        return;
    };
    let url = server.fresh_database();
    drop(Db::open_postgres(&url, "account/7", &OpenOptions::default()).unwrap());
    // What another process holding the namespace looks like: its connection has the lock.
    let mut other = client(&url);
    other
        .execute(
            "SELECT pg_advisory_lock($1)",
            &[&namespace_lock_key("account/7")],
        )
        .unwrap();
    let started = std::time::Instant::now();
    let err = Db::open_postgres(&url, "account/7", &OpenOptions::default()).unwrap_err();
    assert!(err.is_locked(), "{err}");
    assert!(err.to_string().contains("account/7"), "{err}");
    let waited = started.elapsed();
    assert!(
        waited >= wagw_store::NAMESPACE_LOCK_WAIT && waited < wagw_store::NAMESPACE_LOCK_WAIT * 3,
        "{waited:?}"
    );
    // Another namespace of the same database opens.
    Db::open_postgres(&url, "account/8", &OpenOptions::default()).unwrap();
    // A holder that goes away (a killed process: the server notices a moment later) is
    // waited for, not refused: a restart right after a crash opens.
    let gone = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(other);
    });
    Db::open_postgres(&url, "account/7", &OpenOptions::default()).unwrap();
    gone.join().unwrap();
}

#[test]
fn a_database_from_a_newer_wagw_is_refused_untouched() {
    let Some(server) = TestPostgres::shared() else {
        return;
    };
    let url = server.fresh_database();
    {
        let db = Db::open_postgres(&url, "state", &OpenOptions::default()).unwrap();
        assert_eq!(db.schema_version(), SCHEMA_VERSION);
        db.open_tree("t").unwrap().insert(b"k", b"v").unwrap();
        db.flush().unwrap();
    }
    let mut c = client(&url);
    c.execute(
        "UPDATE wagw_meta SET value = $1 WHERE key = 'schema_version'",
        &[&(SCHEMA_VERSION + 3).to_string()],
    )
    .unwrap();
    let err = Db::open_postgres(&url, "state", &OpenOptions::default()).unwrap_err();
    match &err {
        StoreError::TooNew {
            found, supported, ..
        } => {
            assert_eq!(*found, SCHEMA_VERSION + 3);
            assert_eq!(*supported, SCHEMA_VERSION);
        }
        other => panic!("{other}"),
    }
    assert!(
        err.to_string()
            .contains(&format!("schema version {}", SCHEMA_VERSION + 3))
    );
    assert_eq!(count(&mut c), 1, "left untouched");
    let v: String = c
        .query_one(
            "SELECT value FROM wagw_meta WHERE key = 'schema_version'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(v, (SCHEMA_VERSION + 3).to_string());
}

#[test]
fn a_missing_namespace_is_not_created_when_asked_not_to_and_no_password_is_shown() {
    let Some(server) = TestPostgres::shared() else {
        return;
    };
    let url = server.fresh_database();
    let options = OpenOptions {
        create: false,
        ..OpenOptions::default()
    };
    let err = Db::open_postgres(&url, "nobody", &options).unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    // A password in the URL is never part of the store's name or errors.
    let with_password = url.replacen("postgres://wagw@", "postgres://wagw:s3cret-pw@", 1);
    let err = Db::open_postgres(&with_password, "nobody", &options).unwrap_err();
    assert!(!err.to_string().contains("s3cret-pw"), "{err}");
    let db = Db::open_postgres(&with_password, "somebody", &OpenOptions::default()).unwrap();
    assert!(!db.path().display().to_string().contains("s3cret-pw"));
    assert!(db.is_postgres());
    let err =
        Db::open_postgres("postgres://wagw:s3cret-pw@127.0.0.1:1/x", "n", &options).unwrap_err();
    assert!(!format!("{err} {err:?}").contains("s3cret-pw"), "{err:?}");
}

#[test]
fn a_location_surveys_inspects_and_removes_a_namespace_without_taking_it_over() {
    use wagw_store::Location;
    let Some(server) = TestPostgres::shared() else {
        return;
    };
    let url = server.fresh_database();
    // An empty database: no schema, no namespaces; migrating creates the schema only.
    assert_eq!(wagw_store::survey_postgres(&url).unwrap(), (None, vec![]));
    assert_eq!(
        wagw_store::migrate_postgres(&url).unwrap(),
        (None, SCHEMA_VERSION)
    );
    assert_eq!(
        wagw_store::migrate_postgres(&url).unwrap(),
        (Some(SCHEMA_VERSION), SCHEMA_VERSION)
    );
    let here = Location::postgres(&url, "account/a").unwrap();
    assert!(!here.exists().unwrap());
    assert!(matches!(here.inspect(), Err(StoreError::NotFound { .. })));
    let db = here.open(&OpenOptions::default()).unwrap();
    db.open_tree("t").unwrap().insert(b"k", b"v").unwrap();
    db.flush().unwrap();
    drop(
        Location::postgres(&url, "state")
            .unwrap()
            .open(&OpenOptions::default())
            .unwrap(),
    );
    // Read while the handle is open (a running gateway): nothing is locked.
    assert!(here.exists().unwrap());
    assert_eq!(here.inspect().unwrap().schema_version, Some(SCHEMA_VERSION));
    assert_eq!(
        wagw_store::survey_postgres(&url).unwrap(),
        (
            Some(SCHEMA_VERSION),
            vec!["account/a".to_owned(), "state".to_owned()]
        )
    );
    // Removing waits for a handle that is being closed (here, a moment later).
    let closing = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(db);
    });
    assert!(here.remove().unwrap());
    closing.join().unwrap();
    assert!(!here.exists().unwrap());
    assert!(!here.remove().unwrap());
    let mut c = client(&url);
    assert_eq!(count(&mut c), 0, "the namespace's rows are gone");
    // A reopened namespace starts empty.
    let again = here.open(&OpenOptions::default()).unwrap();
    let t = again.open_tree("t").unwrap();
    assert!(t.get(b"k").unwrap().is_none());
    t.insert(b"pending", b"x").unwrap();
    // Removed while this process still holds it (a library's clone during logout): through
    // that handle, which then refuses all work, and the next open is a fresh handle.
    assert!(here.remove().unwrap());
    assert!(!here.exists().unwrap());
    let refused = t.insert(b"late", b"x").unwrap_err();
    assert!(matches!(refused, StoreError::Failed { .. }), "{refused}");
    let fresh = here.open(&OpenOptions::default()).unwrap();
    assert!(!fresh.same_as(&again));
    assert_eq!(fresh.open_tree("t").unwrap().len().unwrap(), 0);
    drop((fresh, again, t));
    // Held by another process: refused after the wait.
    let mut other = client(&url);
    other
        .execute(
            "SELECT pg_advisory_lock($1)",
            &[&namespace_lock_key("account/a")],
        )
        .unwrap();
    let busy = here.remove().unwrap_err();
    assert!(busy.is_locked(), "{busy}");
    drop(other);
    // Namespaces are checked; the URL's password never shows.
    let secret = url.replacen("://", "://wagw:hunter2@", 1);
    let bad = Location::postgres(&secret, "Account/A")
        .unwrap_err()
        .to_string();
    assert!(
        bad.contains("not a valid namespace") && !bad.contains("hunter2"),
        "{bad}"
    );
    let shown = format!("{:?}", Location::postgres(&secret, "state").unwrap());
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn a_server_that_does_not_answer_fails_the_open_quickly_without_the_password() {
    // A port nothing listens on: refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://wagw:hunter2@127.0.0.1:{port}/wagw");
    let err = Db::open_postgres(&url, "state", &OpenOptions::default()).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("connect") && shown.contains("127.0.0.1"),
        "{shown}"
    );
    assert!(!shown.contains("hunter2"), "{shown}");
    // A host that never answers (a non-routable address): the connect timeout ends it.
    let started = std::time::Instant::now();
    let url = "postgres://wagw:hunter2@10.255.255.1:5432/wagw?connect_timeout=1";
    let err = Db::open_postgres(url, "state", &OpenOptions::default()).unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{err}"
    );
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn a_handle_with_nothing_pending_reconnects_after_the_server_restarts() {
    let Some(mut server) = TestPostgres::start_own() else {
        return;
    };
    let url = server.fresh_database();
    let db = Db::open_postgres(&url, "state", &OpenOptions::default()).unwrap();
    let t = db.open_tree("t").unwrap();
    t.insert(b"acked", b"1").unwrap();
    db.flush().unwrap();
    // The server goes away and comes back while nothing is pending (a restart, a failover).
    server.crash();
    server.restart();
    // The first read finds the connection closed; with nothing pending, the handle connects
    // again, relocks the namespace and answers (the read is retried once).
    assert_eq!(t.get(b"acked").unwrap().as_deref(), Some(&b"1"[..]));
    t.insert(b"after", b"2").unwrap();
    db.flush().unwrap();
    // The same for a write that comes first after another restart.
    server.crash();
    server.restart();
    t.insert(b"later", b"3").unwrap();
    db.flush().unwrap();
    // It holds the namespace again: another opener is refused.
    let mut other = client(&url);
    let held: bool = other
        .query_one(
            "SELECT pg_try_advisory_lock($1)",
            &[&namespace_lock_key("state")],
        )
        .unwrap()
        .get(0);
    assert!(!held, "the reconnected handle does not hold the namespace");
    drop((t, db));
    assert_eq!(
        keys_after_reopen(&url, "state"),
        [b"acked".to_vec(), b"after".to_vec(), b"later".to_vec()]
    );
}
