//! wagw-store's behaviour through its public API, on real files and on a real PostgreSQL
//! server (see `wagw_store::test_support`): every behaviour that both engines share runs on
//! both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod engines;
mod postgres_only;

use engines::{Engine, engines};

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use proptest::prelude::*;
use wagw_store::{Batch, Db, OpenOptions, SCHEMA_VERSION, StoreError};

fn open(path: &Path) -> Db {
    Db::open(path, &OpenOptions::default()).unwrap()
}

#[test]
fn flushed_writes_survive_reopen_and_reopen_never_waits() {
    for e in engines() {
        for round in 0..50u32 {
            let db = e.open("s");
            let t = db.open_tree("t").unwrap();
            t.insert(round.to_be_bytes(), b"v").unwrap();
            db.flush().unwrap();
            // Dropped here; the next round reopens at once.
        }
        let db = e.open("s");
        assert_eq!(db.open_tree("t").unwrap().len().unwrap(), 50, "{e:?}");
    }
}

#[test]
fn a_second_open_in_the_process_shares_the_handle() {
    for e in engines() {
        let a = e.open("s");
        let b = match &e {
            Engine::Sqlite(dir) => open(&dir.path().join(".").join("s.sqlite3")),
            Engine::Postgres(_) => e.open("s"),
        };
        shares(a, b);
    }
}

fn shares(a: Db, b: Db) {
    assert!(a.same_as(&b));
    a.open_tree("t").unwrap().insert(b"k", b"v").unwrap();
    // Unflushed writes are visible to every holder of the handle.
    assert_eq!(
        b.open_tree("t").unwrap().get(b"k").unwrap().as_deref(),
        Some(&b"v"[..])
    );
}

#[test]
fn another_process_holding_the_lock_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    drop(open(&path));
    // A lock taken on another open file description behaves like another process's.
    let lock = std::fs::File::open(dir.path().join("s.sqlite3.lock")).unwrap();
    lock.try_lock().unwrap();
    let started = std::time::Instant::now();
    let err = Db::open(&path, &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(
        err.to_string().contains("in use by another process"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    drop(lock);
    open(&path);
}

#[test]
fn files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("new").join("state");
    let db = open(&folder.join("s.sqlite3"));
    db.open_tree("t").unwrap().insert(b"k", b"v").unwrap();
    db.flush().unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&folder), 0o700);
    let mut files = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let p = entry.unwrap().path();
        assert_eq!(mode(&p), 0o600, "{}", p.display());
        files += 1;
    }
    assert!(files >= 3, "db, wal, lock");
}

#[test]
fn missing_store_is_not_created_when_asked_not_to() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("s.sqlite3");
    let options = OpenOptions {
        create: false,
        ..OpenOptions::default()
    };
    let err = Db::open(&path, &options).unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    assert!(!dir.path().join("sub").exists());
}

#[test]
fn random_bytes_are_reported_as_corrupt_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    let noise: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &noise).unwrap();
    let err = Db::open(&path, &OpenOptions::default()).unwrap_err();
    assert!(err.is_corrupt(), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), noise, "left untouched");
}

#[test]
fn a_store_from_a_newer_wagw_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    {
        let db = open(&path);
        db.open_tree("t").unwrap().insert(b"k", b"v").unwrap();
        db.flush().unwrap();
    }
    // What a future wagw would leave: a higher version in `meta`.
    {
        let c = rusqlite_free_bump(&path, SCHEMA_VERSION + 3);
        assert!(c);
    }
    let before = std::fs::read(&path).unwrap();
    let err = Db::open(&path, &OpenOptions::default()).unwrap_err();
    match &err {
        StoreError::TooNew {
            path: p,
            found,
            supported,
        } => {
            assert_eq!(p, &std::fs::canonicalize(&path).unwrap());
            assert_eq!(*found, SCHEMA_VERSION + 3);
            assert_eq!(*supported, SCHEMA_VERSION);
        }
        other => panic!("{other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&format!("schema version {}", SCHEMA_VERSION + 3)),
        "{text}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// Writes a schema version into the file the way a future wagw would (raw SQL).
fn rusqlite_free_bump(path: &Path, version: u32) -> bool {
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
        [version.to_string()],
    )
    .unwrap()
        == 1
}

#[test]
fn transactions_are_atomic_across_trees() {
    for e in engines() {
        atomic(e.open("s"));
    }
}

fn atomic(db: Db) {
    let (a, b) = (db.open_tree("a").unwrap(), db.open_tree("b").unwrap());
    let r: Result<(), StoreError> = db.transaction(|tx| {
        tx.insert(&a, b"1", b"x")?;
        tx.insert(&b, b"1", b"y")?;
        Err(StoreError::NotFound {
            path: "abort".into(),
        })
    });
    assert!(r.is_err());
    assert!(a.get(b"1").unwrap().is_none() && b.get(b"1").unwrap().is_none());
    db.transaction(|tx| {
        tx.insert(&a, b"1", b"x")?;
        tx.insert(&b, b"1", b"y")?;
        Ok::<_, StoreError>(())
    })
    .unwrap();
    assert!(a.get(b"1").unwrap().is_some() && b.get(b"1").unwrap().is_some());
    let other = Db::temporary().unwrap().open_tree("a").unwrap();
    let r = db.transaction(|tx| tx.insert(&other, b"k", b"v"));
    assert!(r.is_err(), "a tree of another database is refused");
}

#[test]
fn iteration_pages_in_key_order_from_both_ends() {
    for e in engines() {
        paging(e.open("s"));
    }
}

fn paging(db: Db) {
    let t = db.open_tree("t").unwrap();
    for i in 0..1000u32 {
        t.insert(i.to_be_bytes(), i.to_le_bytes()).unwrap();
    }
    let fwd: Vec<u32> = t
        .iter()
        .keys()
        .map(|k| u32::from_be_bytes(k.unwrap().try_into().unwrap()))
        .collect();
    assert_eq!(fwd, (0..1000).collect::<Vec<_>>());
    let rev: Vec<u32> = t
        .iter()
        .rev()
        .map(|e| u32::from_be_bytes(e.unwrap().0.try_into().unwrap()))
        .collect();
    assert_eq!(rev, (0..1000).rev().collect::<Vec<_>>());
    // Alternating ends meet exactly once.
    let mut it = t.range(10u32.to_be_bytes()..990u32.to_be_bytes());
    let mut seen = Vec::new();
    loop {
        let a = it.next();
        let b = it.next_back();
        if a.is_none() && b.is_none() {
            break;
        }
        seen.extend(a.map(|e| u32::from_be_bytes(e.unwrap().0.try_into().unwrap())));
        seen.extend(b.map(|e| u32::from_be_bytes(e.unwrap().0.try_into().unwrap())));
    }
    seen.sort();
    assert_eq!(seen, (10..990).collect::<Vec<_>>());
    assert_eq!(t.first().unwrap().unwrap().0, 0u32.to_be_bytes());
    assert_eq!(t.last().unwrap().unwrap().0, 999u32.to_be_bytes());
}

#[test]
fn a_sled_folder_is_recognised() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("conf"), b"").unwrap();
    std::fs::write(dir.path().join("db"), b"").unwrap();
    std::fs::write(dir.path().join("snap.0000000000001234"), b"").unwrap();
    std::fs::create_dir(dir.path().join("blobs")).unwrap();
    assert_eq!(
        wagw_store::sled_leftovers(dir.path()),
        ["blobs/", "conf", "db", "snap.0000000000001234"]
    );
}

#[derive(Debug, Clone)]
enum Op {
    Insert(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
    Batch(Vec<(Vec<u8>, Option<Vec<u8>>)>),
    Flush,
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![Just(0u8), Just(1), Just(0xfe), Just(0xff), any::<u8>()],
        0..4,
    )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (key(), prop::collection::vec(any::<u8>(), 0..8)).prop_map(|(k, v)| Op::Insert(k, v)),
        key().prop_map(Op::Remove),
        prop::collection::vec(
            (
                key(),
                prop::option::of(prop::collection::vec(any::<u8>(), 0..4))
            ),
            0..5
        )
        .prop_map(Op::Batch),
        Just(Op::Flush),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// A tree answers like a BTreeMap: point reads, prefix scans and ranges in both directions.
    #[test]
    fn a_tree_behaves_like_an_ordered_map(ops in prop::collection::vec(op(), 0..60), probe in key()) {
        for e in engines::shared() {
        let db = e.open_fresh();
        let t = db.open_tree("t").unwrap();
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for op in ops.clone() {
            match op {
                Op::Insert(k, v) => { t.insert(&k, &v).unwrap(); model.insert(k, v); }
                Op::Remove(k) => { prop_assert_eq!(t.remove(&k).unwrap(), model.remove(&k)); }
                Op::Batch(ops) => {
                    let mut b = Batch::default();
                    for (k, v) in ops {
                        match v {
                            Some(v) => { b.insert(&k, &v); model.insert(k, v); }
                            None => { b.remove(&k); model.remove(&k); }
                        }
                    }
                    t.apply_batch(b).unwrap();
                }
                Op::Flush => db.flush().unwrap(),
            }
        }
        prop_assert_eq!(t.get(&probe).unwrap(), model.get(&probe).cloned());
        let all: Vec<_> = t.iter().map(Result::unwrap).collect();
        prop_assert_eq!(&all, &model.clone().into_iter().collect::<Vec<_>>());
        let pre: Vec<_> = t.scan_prefix(&probe).map(Result::unwrap).collect();
        let want: Vec<_> = model.iter().filter(|(k, _)| k.starts_with(&probe)).map(|(k, v)| (k.clone(), v.clone())).collect();
        prop_assert_eq!(pre, want);
        let back: Vec<_> = t.range(probe.clone()..).rev().map(Result::unwrap).collect();
        let want: Vec<_> = model.range(probe.clone()..).rev().map(|(k, v)| (k.clone(), v.clone())).collect();
        prop_assert_eq!(back, want);
        prop_assert_eq!(t.len().unwrap(), model.len());
        }
    }
}

#[test]
fn a_deleted_store_is_opened_afresh_even_while_an_old_handle_lingers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    let old = open(&path);
    old.open_tree("t").unwrap().insert(b"k", b"old").unwrap();
    old.flush().unwrap();
    // What logout does: delete the store's files while some task still holds a handle.
    std::fs::remove_file(&path).unwrap();
    for f in wagw_store::companion_files(&path) {
        let _ = std::fs::remove_file(f);
    }
    let new = open(&path);
    assert!(!new.same_as(&old));
    assert!(new.open_tree("t").unwrap().get(b"k").unwrap().is_none());
    drop(old);
    // The old handle's close leaves the new one registered.
    assert!(open(&path).same_as(&new));
}

#[test]
fn keys_sort_as_bytes_with_0x00_and_0xff_and_prefix_scans_end_at_0xff() {
    for e in engines() {
        let db = e.open("s");
        let t = db.open_tree("t").unwrap();
        let keys: [&[u8]; 10] = [
            b"",
            b"\x00",
            b"\x00\x00",
            b"\x00\xff",
            b"\x7f",
            b"\x80",
            b"\xfe\xff",
            b"\xff",
            b"\xff\x00",
            b"\xff\xff",
        ];
        for k in keys.iter().rev() {
            t.insert(k, k).unwrap();
        }
        let all: Vec<Vec<u8>> = t.iter().keys().map(Result::unwrap).collect();
        assert_eq!(all, keys.map(<[u8]>::to_vec), "{e:?}");
        let scan =
            |p: &[u8]| -> Vec<Vec<u8>> { t.scan_prefix(p).keys().map(Result::unwrap).collect() };
        assert_eq!(
            scan(b"\xff"),
            [b"\xff".to_vec(), b"\xff\x00".to_vec(), b"\xff\xff".to_vec()]
        );
        assert_eq!(scan(b"\xff\xff"), [b"\xff\xff".to_vec()]);
        assert_eq!(scan(b"\xfe"), [b"\xfe\xff".to_vec()]);
        assert_eq!(
            scan(b"\x00"),
            [b"\x00".to_vec(), b"\x00\x00".to_vec(), b"\x00\xff".to_vec()]
        );
        let rev: Vec<Vec<u8>> = t
            .scan_prefix(b"\xff")
            .keys()
            .rev()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            rev,
            [b"\xff\xff".to_vec(), b"\xff\x00".to_vec(), b"\xff".to_vec()]
        );
        // Inside a transaction too.
        let in_tx = db.transaction(|tx| tx.scan_prefix(&t, b"\xff")).unwrap();
        assert_eq!(in_tx.len(), 3, "{e:?}");
        assert_eq!(db.tree_names().unwrap(), ["t"]);
    }
}

#[test]
fn pending_writes_are_readable_before_the_flush() {
    for e in engines() {
        let db = e.open("s");
        let t = db.open_tree("t").unwrap();
        db.flush().unwrap();
        assert!(!db.has_pending().unwrap());
        t.insert(b"k", b"v").unwrap();
        assert!(db.has_pending().unwrap(), "{e:?}");
        assert_eq!(t.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        assert!(t.contains_key(b"k").unwrap());
        assert_eq!(t.iter().count(), 1);
        assert_eq!(t.len().unwrap(), 1);
        assert_eq!(t.remove(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        assert!(t.is_empty().unwrap());
        db.flush().unwrap();
        assert!(!db.has_pending().unwrap());
    }
}

#[test]
fn a_failing_transaction_is_rolled_back_and_earlier_pending_writes_stay() {
    for e in engines() {
        let db = e.open("s");
        let t = db.open_tree("t").unwrap();
        t.insert(b"before", b"1").unwrap();
        let r: Result<(), StoreError> = t.transaction(|tx| {
            tx.insert(b"inside", b"2")?;
            assert_eq!(tx.get(b"inside")?.as_deref(), Some(&b"2"[..]));
            tx.remove(b"before")?;
            Err(StoreError::NotFound {
                path: "abort".into(),
            })
        });
        assert!(r.is_err());
        assert!(t.get(b"inside").unwrap().is_none(), "{e:?}");
        assert_eq!(t.get(b"before").unwrap().as_deref(), Some(&b"1"[..]));
        // A panic inside rolls back too.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: Result<(), StoreError> = t.transaction(|tx| {
                tx.insert(b"panicked", b"3")?;
                panic!("inside a transaction");
            });
        }));
        assert!(caught.is_err());
        assert!(t.get(b"panicked").unwrap().is_none(), "{e:?}");
        db.flush().unwrap();
        drop((t, db));
        let db = e.open("s");
        let t = db.open_tree("t").unwrap();
        let keys: Vec<Vec<u8>> = t.iter().keys().map(Result::unwrap).collect();
        assert_eq!(keys, [b"before".to_vec()], "{e:?}");
    }
}

/// `Location::peek` reads one value while another handle holds the store, creates nothing
/// for a missing store, and says `None` for a missing tree or key.
#[test]
fn peek_reads_a_value_without_taking_the_store_over() {
    for e in engines() {
        let location = match &e {
            Engine::Sqlite(dir) => wagw_store::Location::Sqlite(dir.path().join("p.sqlite3")),
            Engine::Postgres(url) => wagw_store::Location::postgres(url, "peek/one").unwrap(),
        };
        assert_eq!(location.peek("meta", b"k").unwrap(), None, "{e:?}");
        assert!(!location.exists().unwrap(), "peek created nothing: {e:?}");
        let held = location.open(&OpenOptions::default()).unwrap();
        let meta = held.open_tree("meta").unwrap();
        meta.insert(b"k", b"value").unwrap();
        meta.insert(b"k2", b"other").unwrap();
        held.flush().unwrap();
        // The handle stays open (as a running gateway's would).
        assert_eq!(
            location.peek("meta", b"k").unwrap().as_deref(),
            Some(&b"value"[..]),
            "{e:?}"
        );
        assert_eq!(location.peek("meta", b"nope").unwrap(), None, "{e:?}");
        assert_eq!(location.peek("other", b"k").unwrap(), None, "{e:?}");
        drop(held);
    }
}
