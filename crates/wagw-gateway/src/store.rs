//! The gateway store: one database (`wagw-store`) for every account, one tree per concern:
//! SQLite at `<dataDir>/state/state.sqlite3`, or the namespace `state` of a PostgreSQL
//! database ([`GatewayStore::open_at`]).
//!
//! Trees owned here: `dedupe` (handled inbound messages, so a restart or WhatsApp's
//! redelivery never replays one) and `events` (a bounded event log the daemon's resumable
//! event stream reads). Other crates open their own trees on [`GatewayStore::db`] (the
//! access stores keep pairing requests, allow entries and group activation there), so the
//! process holds exactly one database: writes collect in its pending transaction and are
//! committed, grouped, before they are acknowledged.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wagw_normalize::DedupeKey;

use crate::error::GatewayError;
pub use crate::events::{EventLog, GatewayEvent, StoredEvent};

/// Tuning for the store. The defaults suit a process with up to 1,000 accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// The database's page cache in bytes (default 16 MiB: the state is small and mostly
    /// written).
    pub cache_bytes: u64,
    /// How many events the event log keeps (default 10,000); older ones are trimmed.
    pub event_log_capacity: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_bytes: 16 * 1024 * 1024,
            event_log_capacity: 10_000,
        }
    }
}

/// The gateway's state database. Cheap to clone (shared handle).
#[derive(Clone)]
pub struct GatewayStore {
    inner: Arc<StoreInner>,
}

struct StoreInner {
    path: PathBuf,
    db: wagw_store::Db,
    dedupe: DedupeStore,
    events: EventLog,
}

impl std::fmt::Debug for GatewayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// Creates `dir` (and parents) with mode 0700, and tightens it if it already exists.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), GatewayError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| GatewayError::store(dir, format!("cannot create directory: {e}")))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| GatewayError::store(dir, format!("cannot set mode 0700: {e}")))
}

/// The database file's name in `<dataDir>/state`.
pub const STATE_FILE: &str = "state.sqlite3";

impl GatewayStore {
    /// Opens (or creates) the store at `<data_dir>/state` with default options.
    pub fn open(data_dir: &Path) -> Result<GatewayStore, GatewayError> {
        GatewayStore::open_with(data_dir, StoreOptions::default())
    }

    /// Opens (or creates) the store at `<data_dir>/state`.
    ///
    /// Fails when another process holds the database (only one gateway may run per data
    /// directory) or the directory is not writable.
    pub fn open_with(data_dir: &Path, options: StoreOptions) -> Result<GatewayStore, GatewayError> {
        create_private_dir(data_dir)?;
        let path = data_dir.join("state");
        create_private_dir(&path)?;
        GatewayStore::open_at(
            &wagw_store::Location::Sqlite(path.join(STATE_FILE)),
            options,
        )
    }

    /// The namespace of the gateway's state in a PostgreSQL database.
    pub const NAMESPACE: &'static str = "state";

    /// Opens (or creates) the store at `location`: a file (its folder must exist; see
    /// [`GatewayStore::open_with`]) or a PostgreSQL namespace ([`GatewayStore::NAMESPACE`]).
    ///
    /// Fails when another process holds the store (only one gateway may run on it) or it
    /// cannot be reached; the error names the store without any password.
    pub fn open_at(
        location: &wagw_store::Location,
        options: StoreOptions,
    ) -> Result<GatewayStore, GatewayError> {
        let file = location.describe().to_path_buf();
        let path = match location {
            wagw_store::Location::Sqlite(f) => f
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            wagw_store::Location::Postgres { .. } => file.clone(),
        };
        let open = wagw_store::OpenOptions {
            create: true,
            cache_kib: u32::try_from(options.cache_bytes / 1024).unwrap_or(u32::MAX),
        };
        let db = location.open(&open).map_err(|e| {
            let hint = match (e.is_locked(), location.is_postgres()) {
                (true, false) => "; is another wagw gateway running on this data directory?",
                (true, true) => "; is another wagw gateway running on this database?",
                _ => "",
            };
            GatewayError::store(&file, format!("cannot open the state database: {e}{hint}"))
        })?;
        let open_tree = |name: &str| {
            db.open_tree(name)
                .map_err(|e| GatewayError::store(&file, format!("cannot open tree {name}: {e}")))
        };
        let dedupe = DedupeStore::open(open_tree("dedupe")?)?;
        let events = EventLog::open(open_tree("events")?, options.event_log_capacity)?;
        Ok(GatewayStore {
            inner: Arc::new(StoreInner {
                path,
                db,
                dedupe,
                events,
            }),
        })
    }

    /// The database, for other crates' trees (pairing, allow entries, activation, outbox).
    pub fn db(&self) -> &wagw_store::Db {
        &self.inner.db
    }

    /// The directory holding the database (`<dataDir>/state`; for PostgreSQL the store's
    /// name, as [`GatewayStore::file`]).
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The database file.
    pub fn file(&self) -> &Path {
        self.inner.db.path()
    }

    /// The persisted dedupe set.
    pub fn dedupe(&self) -> &DedupeStore {
        &self.inner.dedupe
    }

    /// The bounded event log.
    pub fn events(&self) -> &EventLog {
        &self.inner.events
    }

    /// Commits every pending write to disk (on tokio's blocking pool, so the runtime keeps
    /// running — and paused test time does not jump ahead while the disk works).
    pub async fn flush(&self) -> Result<(), GatewayError> {
        self.inner
            .db
            .flush_async()
            .await
            .map_err(|e| GatewayError::store(&self.inner.path, format!("flush failed: {e}")))
    }

    /// Flushes synchronously (for shutdown paths outside a runtime).
    pub fn flush_blocking(&self) -> Result<(), GatewayError> {
        self.inner
            .db
            .flush()
            .map_err(|e| GatewayError::store(&self.inner.path, format!("flush failed: {e}")))
    }
}

/// The stored form of a dedupe key: a stable 128-bit FNV-1a hash of
/// `<account>:<chat>:<id>` (fixed size, so records pack densely; at 2^-128 a collision is
/// not a concern). Stable across versions: the store persists it.
fn tree_key(key: &DedupeKey) -> [u8; 16] {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut hash = OFFSET;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u128::from(*b);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    feed(key.account.as_str().as_bytes());
    feed(b":");
    feed(key.chat.user_part().as_bytes());
    feed(b"@");
    feed(key.chat.server().as_bytes());
    feed(b":");
    feed(key.id.as_str().as_bytes());
    hash.to_be_bytes()
}

/// Handled inbound messages, persisted.
///
/// Lookups hit an in-memory index of the handled keys (rebuilt at open), so the hot path
/// never reads the database. Records are written by the committer, one entry per group commit
/// (key: a sequence number; value: the group's `[hash: 16 bytes][handled at: 8 bytes]`
/// records), right before the flush that precedes the acknowledgements: one tree write per
/// group instead of one per message. Pruning drops whole groups older than the retention.
#[derive(Debug, Clone)]
pub struct DedupeStore {
    tree: wagw_store::Tree,
    index: Arc<std::sync::Mutex<std::collections::HashSet<[u8; 16]>>>,
    next_seq: Arc<AtomicU64>,
}

/// A dedupe record waiting to be persisted: the key's hash and the time it was handled.
pub type DedupeRecord = ([u8; 16], i64);

const RECORD_LEN: usize = 24;

fn records_of(blob: &[u8]) -> impl Iterator<Item = DedupeRecord> + '_ {
    blob.chunks_exact(RECORD_LEN).filter_map(|chunk| {
        let key = <[u8; 16]>::try_from(&chunk[..16]).ok()?;
        let at = <[u8; 8]>::try_from(&chunk[16..])
            .ok()
            .map(i64::from_be_bytes)?;
        Some((key, at))
    })
}

impl DedupeStore {
    fn open(tree: wagw_store::Tree) -> Result<DedupeStore, GatewayError> {
        let mut index = std::collections::HashSet::new();
        for item in tree.iter().values() {
            let blob = item.map_err(|e| GatewayError::store("state/dedupe", e))?;
            index.extend(records_of(&blob).map(|(key, _)| key));
        }
        let next_seq = match tree
            .last()
            .map_err(|e| GatewayError::store("state/dedupe", e))?
        {
            Some((key, _)) => seq_of(&key) + 1,
            None => 1,
        };
        Ok(DedupeStore {
            tree,
            index: Arc::new(std::sync::Mutex::new(index)),
            next_seq: Arc::new(AtomicU64::new(next_seq)),
        })
    }

    fn index(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<[u8; 16]>> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True when the message was handled before.
    pub fn contains(&self, key: &DedupeKey) -> Result<bool, GatewayError> {
        Ok(self.index().contains(&tree_key(key)))
    }

    /// Records the message as handled at `now_ms` in the index and returns the record to
    /// persist (with [`DedupeStore::persist`]) before acknowledging the message.
    pub fn record(&self, key: &DedupeKey, now_ms: i64) -> DedupeRecord {
        let k = tree_key(key);
        self.index().insert(k);
        (k, now_ms)
    }

    /// Writes records as one entry (unflushed; the caller flushes before acknowledging).
    pub fn persist(&self, records: &[DedupeRecord]) -> Result<(), GatewayError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut blob = Vec::with_capacity(records.len() * RECORD_LEN);
        for (key, at) in records {
            blob.extend_from_slice(key);
            blob.extend_from_slice(&at.to_be_bytes());
        }
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        self.tree
            .insert(seq.to_be_bytes(), blob)
            .map_err(|e| GatewayError::store("state/dedupe", e))
    }

    /// Records and writes one message as handled at `now_ms` (unflushed).
    pub fn insert(&self, key: &DedupeKey, now_ms: i64) -> Result<(), GatewayError> {
        let record = self.record(key, now_ms);
        self.persist(&[record])
    }

    /// Removes the groups whose every record was handled before `cutoff_ms`; returns how
    /// many records were removed.
    pub fn prune_before(&self, cutoff_ms: i64) -> Result<usize, GatewayError> {
        let mut removed = 0;
        for item in self.tree.iter() {
            let (key, blob) = item.map_err(|e| GatewayError::store("state/dedupe", e))?;
            let newest = records_of(&blob)
                .map(|(_, at)| at)
                .max()
                .unwrap_or(i64::MIN);
            if newest >= cutoff_ms {
                continue;
            }
            self.tree
                .remove(&key)
                .map_err(|e| GatewayError::store("state/dedupe", e))?;
            let mut index = self.index();
            for (k, _) in records_of(&blob) {
                index.remove(&k);
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// How many messages are recorded.
    pub fn len(&self) -> usize {
        self.index().len()
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.index().is_empty()
    }
}

/// The persisted store speaks `wagw-normalize`'s dedupe trait too (check and record in one
/// step). The pipeline itself checks on arrival and records after handling, so a crash
/// between the two replays the message rather than losing it.
impl wagw_normalize::DedupeStore for DedupeStore {
    type Error = GatewayError;

    fn check_and_record(&mut self, key: &DedupeKey, now_ms: i64) -> Result<bool, GatewayError> {
        let seen = self.contains(key)?;
        self.insert(key, now_ms)?;
        Ok(seen)
    }
}

pub(crate) fn seq_of(key: &[u8]) -> u64 {
    <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn key(id: &str) -> DedupeKey {
        DedupeKey {
            account: wagw_core::AccountId::default_account(),
            chat: wagw_core::Jid::parse("15550001111@s.whatsapp.net").unwrap(),
            id: wagw_core::MessageId::new(id),
        }
    }

    #[test]
    fn dedupe_survives_reopen_and_prunes() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = GatewayStore::open(dir.path()).unwrap();
            store.dedupe().insert(&key("a"), 1_000).unwrap();
            store.dedupe().insert(&key("b"), 5_000).unwrap();
            store.flush_blocking().unwrap();
        }
        let store = GatewayStore::open(dir.path()).unwrap();
        assert!(store.dedupe().contains(&key("a")).unwrap());
        assert!(!store.dedupe().contains(&key("c")).unwrap());
        assert_eq!(store.dedupe().prune_before(2_000).unwrap(), 1);
        assert!(!store.dedupe().contains(&key("a")).unwrap());
        assert!(store.dedupe().contains(&key("b")).unwrap());
    }

    #[test]
    fn grouped_records_reload_and_the_hash_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = GatewayStore::open(dir.path()).unwrap();
            let records: Vec<DedupeRecord> = ["x", "y", "z"]
                .iter()
                .map(|id| store.dedupe().record(&key(id), 7))
                .collect();
            store.dedupe().persist(&records).unwrap();
            store.dedupe().persist(&[]).unwrap();
            store.flush_blocking().unwrap();
        }
        let store = GatewayStore::open(dir.path()).unwrap();
        assert_eq!(store.dedupe().len(), 3);
        assert!(store.dedupe().contains(&key("y")).unwrap());
        // The stored form must never change between versions.
        let hex: String = tree_key(&key("a"))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, "4b5af0627a8c8772d06894dc8d53cdf7");
    }

    #[test]
    fn files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = GatewayStore::open(&data).unwrap();
        store.flush_blocking().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(store.path()), 0o700);
        for entry in fs::read_dir(store.path()).unwrap() {
            let entry = entry.unwrap();
            if entry.metadata().unwrap().is_file() {
                assert_eq!(mode(&entry.path()), 0o600, "{:?}", entry.path());
            }
        }
    }

    #[test]
    fn a_second_open_in_the_process_shares_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let a = GatewayStore::open(dir.path()).unwrap();
        let b = GatewayStore::open(dir.path()).unwrap();
        assert!(a.db().same_as(b.db()));
    }

    #[test]
    fn a_store_held_by_another_process_fails_with_hint() {
        let dir = tempfile::tempdir().unwrap();
        drop(GatewayStore::open(dir.path()).unwrap());
        // A lock on another open file description is what another process would hold.
        let lock = fs::File::open(dir.path().join("state").join("state.sqlite3.lock")).unwrap();
        lock.try_lock().unwrap();
        let err = GatewayStore::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("another wagw gateway"), "{err}");
    }
}
