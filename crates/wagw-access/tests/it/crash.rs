//! Durability: a process SIGKILLed right after `approve` returned must find the entry.
//!
//! The parent seeds a pending request, then re-executes this test binary running the
//! ignored `crash_child` test, which approves the code, writes a marker file, and sleeps.
//! The parent kills it (SIGKILL: no destructors, no flush at close), reopens the
//! database and checks the allow-store.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wagw_access::{AccessStore, ChallengeOutcome, PairingSettings};
use wagw_core::{AccountId, Phone, Sender};

const DIR_VAR: &str = "WAGW_ACCESS_CRASH_DIR";
const CODE_VAR: &str = "WAGW_ACCESS_CRASH_CODE";
const MARKER_VAR: &str = "WAGW_ACCESS_CRASH_MARKER";
const T: i64 = 1_700_000_000_000;

fn open(dir: &str) -> wagw_store::Db {
    // Writes are durable only through the store's own flushes (commits).
    wagw_store::Db::open(Path::new(dir).join("state.sqlite3"), &Default::default()).unwrap()
}

#[test]
fn approve_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_string();
    let acct = AccountId::default();
    let set = PairingSettings::default();
    let code = {
        let db = open(&path);
        let store = AccessStore::open(&db).unwrap();
        let bob = Sender::phone(Phone::parse("+15552220002").unwrap());
        match store.issue_challenge(&acct, &bob, None, &set, T).unwrap() {
            ChallengeOutcome::Created { request, .. } => request.code,
            other => panic!("{other:?}"),
        }
    };

    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("approved");
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "crash::crash_child",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env(DIR_VAR, &path)
        .env(CODE_VAR, &code)
        .env(MARKER_VAR, &marker)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut exited = None;
    while !Path::new(&marker).exists() && Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let approved = Path::new(&marker).exists();
    // std's kill() is SIGKILL on Unix.
    let _ = child.kill();
    let status = child.wait().unwrap();
    assert!(
        approved,
        "the child never approved (exited early: {exited:?})"
    );
    assert!(
        !status.success(),
        "the child must have been killed, not exited"
    );

    let db = open(&path);
    let store = AccessStore::open(&db).unwrap();
    let allowed: Vec<String> = store
        .list_allowed(&acct)
        .unwrap()
        .iter()
        .map(|r| r.entry.to_string())
        .collect();
    assert_eq!(allowed, ["+15552220002"]);
    assert!(store.list_pending(&acct, &set, T).unwrap().is_empty());
}

/// Run only by `approve_survives_sigkill`, in a child process.
#[test]
#[ignore = "child process of approve_survives_sigkill"]
fn crash_child() {
    let dir = std::env::var(DIR_VAR).expect("run by approve_survives_sigkill only");
    let code = std::env::var(CODE_VAR).unwrap();
    let db = open(&dir);
    let store = AccessStore::open(&db).unwrap();
    store
        .approve(
            &AccountId::default(),
            &code,
            &PairingSettings::default(),
            T + 1,
        )
        .unwrap();
    // Only now, with approve() returned, may the parent kill us.
    std::fs::write(std::env::var(MARKER_VAR).unwrap(), b"approved").unwrap();
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}
