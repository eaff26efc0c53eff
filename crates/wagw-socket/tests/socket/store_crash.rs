//! Crash durability: a child process writes to the store and reports each write once the
//! store acknowledged it; the parent SIGKILLs the child mid-stream, reopens the store, and
//! every acknowledged write must be there — on SQLite and on PostgreSQL (a real server, see
//! `wagw_store::test_support`). Also checks the files' permissions.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use wagw_socket::store::{AccountStore, StoreOptions};
use whatsapp_rust::store::traits::{ProtocolStore, SignalStore};

/// Where the child's store is: a folder (SQLite), or `postgres://…` (namespace
/// `account/crash`).
const DIR_ENV: &str = "WAGW_STORE_CRASH_DIR";

fn open(place: &str) -> AccountStore {
    if place.starts_with("postgres://") {
        let location = wagw_store::Location::postgres(place, "account/crash").unwrap();
        AccountStore::open_at(&location, StoreOptions::default()).unwrap()
    } else {
        AccountStore::open(place, StoreOptions::default()).unwrap()
    }
}

fn key(i: u64) -> String {
    format!("{i}@s.whatsapp.net")
}

/// The child: writes forever, printing `acked <i>` after each acknowledged write.
#[test]
#[ignore = "helper process for reopen_after_kill_keeps_acknowledged_writes"]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = open(&dir);
        let mut i = 0u64;
        loop {
            store.put_session(&key(i), &i.to_be_bytes()).await.unwrap();
            store
                .store_pending_inbound("chat", "sender", &i.to_string(), b"msg")
                .await
                .unwrap();
            println!("acked {i}");
            i += 1;
        }
    });
}

#[test]
fn reopen_after_kill_keeps_acknowledged_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acct");
    kill_and_check(path.to_str().unwrap());
}

#[test]
fn reopen_after_kill_keeps_acknowledged_writes_on_postgres() {
    let Some(server) = wagw_store::test_support::TestPostgres::shared() else {
        return;
    };
    // Reopened right after the kill: the dead child's connection still holds the
    // namespace's lock for a moment, which the open waits out.
    kill_and_check(&server.fresh_database());
}

/// Runs the child writing to `place`, kills it after 40 acknowledged writes, reopens.
fn kill_and_check(place: &str) {
    let path = place;
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "store_crash::crash_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut last_acked = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("acked ") {
            let n: u64 = n.trim().parse().unwrap();
            last_acked = Some(n);
            if n >= 40 {
                // SIGKILL: no destructors, no flush on drop.
                child.kill().unwrap();
                break;
            }
        }
    }
    let _ = child.wait();
    let last = last_acked.expect("the child acknowledged no write");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = open(path);
        for i in 0..=last {
            let got = store.get_session(&key(i)).await.unwrap();
            assert_eq!(
                got.as_deref(),
                Some(&i.to_be_bytes()[..]),
                "acknowledged session write {i} of {last} lost after SIGKILL"
            );
            assert!(
                store
                    .get_pending_inbound("chat", "sender", &i.to_string())
                    .await
                    .unwrap()
                    .is_some(),
                "acknowledged pending-inbound write {i} lost after SIGKILL"
            );
        }
    });
}

#[cfg(unix)]
#[test]
fn folder_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b");
    let store = AccountStore::open(&path, StoreOptions::default()).unwrap();
    drop(store);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "authDir mode");
    for entry in std::fs::read_dir(&path).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{:?} mode", entry.path());
        }
    }
}
