//! The protocol store: whatsapp-rust's five store traits on one database per account
//! (`wagw-store`): SQLite at `<authDir>/account.sqlite3`, or the namespace `account/<id>`
//! of a PostgreSQL database ([`AccountStore::open_at`]).
//!
//! One database per account, in that account's `authDir`: logout deletes the account's
//! files, and moving the folder moves the linked account to another host. Each database
//! keeps a small page cache (many accounts share one process). Every write the library makes
//! is committed (`synchronous=FULL`) before the trait call returns, because the library
//! treats a returned `Ok` as durable (Signal ratchets, pre-keys, and the pending-inbound
//! buffer behind the durability hook); the commit runs on tokio's blocking pool.
//!
//! Trees, one per protocol concept, mirror the library's reference `InMemoryBackend`, and
//! the differential test holds this store to that reference's answers.

mod appsync;
mod backup;
mod device;
pub(crate) mod keys;
mod protocol;
mod signal;
mod transfer;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::AtomicI32;

use whatsapp_rust::store::error::StoreError;

use crate::error::Error;

pub use backup::{BACKUP_FILE, Backup, BackupPlace};
pub use transfer::{AccountExport, EXPORT_FORMAT, EXPORT_VERSION, ImportError};

/// The database file's name in an account's authDir.
pub const STORE_FILE: &str = "account.sqlite3";

/// Default page cache per account, in bytes: small, because a process may hold hundreds.
pub const DEFAULT_CACHE_BYTES: u64 = 512 * 1024;

/// Options for [`AccountStore::open`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The page cache size in bytes ([`DEFAULT_CACHE_BYTES`] unless set).
    pub cache_capacity: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_capacity: DEFAULT_CACHE_BYTES,
        }
    }
}

/// The named trees of one account's database.
pub(crate) struct Trees {
    pub identities: wagw_store::Tree,
    pub sessions: wagw_store::Tree,
    pub prekeys: wagw_store::Tree,
    pub signed_prekeys: wagw_store::Tree,
    pub sender_keys: wagw_store::Tree,
    pub sync_keys: wagw_store::Tree,
    pub versions: wagw_store::Tree,
    pub mutation_macs: wagw_store::Tree,
    pub sender_key_devices: wagw_store::Tree,
    pub lid_mappings: wagw_store::Tree,
    pub pn_to_lid: wagw_store::Tree,
    pub base_keys: wagw_store::Tree,
    pub device_lists: wagw_store::Tree,
    pub group_metadata: wagw_store::Tree,
    pub tc_tokens: wagw_store::Tree,
    pub sent_messages: wagw_store::Tree,
    pub pending_inbound: wagw_store::Tree,
    pub msg_secrets: wagw_store::Tree,
    /// Polls this account sent (options + secret), to name the options of votes.
    pub polls: wagw_store::Tree,
    pub meta: wagw_store::Tree,
}

/// whatsapp-rust's protocol state for one account, in a SQLite database in its authDir.
///
/// ```no_run
/// use wagw_socket::store::{AccountStore, StoreOptions};
/// let store = AccountStore::open("/var/lib/wagw/accounts/default", StoreOptions::default())?;
/// # Ok::<(), wagw_socket::Error>(())
/// ```
pub struct AccountStore {
    db: wagw_store::Db,
    pub(crate) t: Trees,
    dir: PathBuf,
    pub(crate) cache_capacity: u64,
    /// Serializes read-modify-write operations that span a read and a write (or two trees).
    pub(crate) rmw: Mutex<()>,
    pub(crate) next_device_id: AtomicI32,
    /// Where the credentials backup lives.
    backup: BackupPlace,
    /// The device record last copied to the backup (not copied again while unchanged).
    backed_up: Mutex<Option<Vec<u8>>>,
    /// Set when this open restored the device record from the backup.
    restored: Option<Restored>,
}

/// A restore of the device record from the credentials backup.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Restored {
    /// When it was restored (Unix ms).
    pub at_ms: i64,
    /// When the backup was taken (Unix ms).
    pub backup_taken_at_ms: i64,
    /// Why: the record was missing or did not decode.
    pub reason: String,
}

impl std::fmt::Debug for AccountStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountStore")
            .field("dir", &self.dir)
            .finish()
    }
}

impl AccountStore {
    /// Opens (creating if needed) the database in `dir`. The folder is made 0700 and its
    /// files 0600. Opening an authDir this process already has open shares its database.
    pub fn open(dir: impl AsRef<Path>, options: StoreOptions) -> Result<AccountStore, Error> {
        let dir = dir.as_ref().to_path_buf();
        create_private_dir(&dir)?;
        AccountStore::open_at(&wagw_store::Location::Sqlite(dir.join(STORE_FILE)), options)
    }

    /// The namespace of account `id`'s protocol state in a PostgreSQL database.
    pub fn namespace(id: &wagw_core::AccountId) -> String {
        format!("account/{id}")
    }

    /// Opens (creating if needed) the database at `location`: a file (its folder must
    /// exist; see [`AccountStore::open`]) or a PostgreSQL namespace
    /// ([`AccountStore::namespace`]).
    pub fn open_at(
        location: &wagw_store::Location,
        options: StoreOptions,
    ) -> Result<AccountStore, Error> {
        // Errors name the authDir for a file (as always), the store otherwise.
        let dir = match location {
            wagw_store::Location::Sqlite(f) => f
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            wagw_store::Location::Postgres { .. } => location.describe().to_path_buf(),
        };
        let backup = BackupPlace::of(location)?;
        // A migration is about to run: back the credentials up from the older schema first.
        if let Ok(found) = location.inspect()
            && found.schema_version.is_some()
            && found.needs_migration()
            && let Err(e) = AccountStore::back_up_unopened(location)
        {
            tracing::warn!(target: "wagw::store", store = %dir.display(), error = %e,
                "could not back up the credentials before the migration");
        }
        let open = wagw_store::OpenOptions {
            create: true,
            cache_kib: u32::try_from(options.cache_capacity / 1024).unwrap_or(u32::MAX),
        };
        let db = location.open(&open).map_err(|e| {
            if e.is_corrupt() {
                Error::StoreDamaged {
                    path: dir.clone(),
                    source: e,
                }
            } else {
                Error::StoreOpen {
                    path: dir.clone(),
                    detail: e.to_string(),
                }
            }
        })?;
        let tree = |name: &str| {
            db.open_tree(name).map_err(|e| Error::StoreOpen {
                path: dir.clone(),
                detail: format!("tree {name}: {e}"),
            })
        };
        let t = Trees {
            identities: tree("identities")?,
            sessions: tree("sessions")?,
            prekeys: tree("prekeys")?,
            signed_prekeys: tree("signed_prekeys")?,
            sender_keys: tree("sender_keys")?,
            sync_keys: tree("sync_keys")?,
            versions: tree("versions")?,
            mutation_macs: tree("mutation_macs")?,
            sender_key_devices: tree("sender_key_devices")?,
            lid_mappings: tree("lid_mappings")?,
            pn_to_lid: tree("pn_to_lid")?,
            base_keys: tree("base_keys")?,
            device_lists: tree("device_lists")?,
            group_metadata: tree("group_metadata")?,
            tc_tokens: tree("tc_tokens")?,
            sent_messages: tree("sent_messages")?,
            pending_inbound: tree("pending_inbound")?,
            msg_secrets: tree("msg_secrets")?,
            polls: tree("polls")?,
            meta: tree("meta")?,
        };
        // The new trees are part of the schema: committed before anything uses them.
        db.flush().map_err(|e| Error::StoreOpen {
            path: dir.clone(),
            detail: e.to_string(),
        })?;
        let next_id = device::load_next_device_id(&t.meta).map_err(|e| Error::StoreOpen {
            path: dir.clone(),
            detail: e.to_string(),
        })?;
        let mut store = AccountStore {
            db,
            t,
            dir,
            cache_capacity: options.cache_capacity,
            rmw: Mutex::new(()),
            next_device_id: AtomicI32::new(next_id),
            backup,
            backed_up: Mutex::new(None),
            restored: None,
        };
        store.restored = store.restore_or_back_up()?;
        Ok(store)
    }

    /// At open: a device record that is missing or does not decode is restored from a
    /// backup that does (logged, and recorded in the store); a linked record that decodes
    /// is backed up. A damaged record never replaces the backup.
    fn restore_or_back_up(&self) -> Result<Option<Restored>, Error> {
        let open_err = |detail: String| Error::StoreOpen {
            path: self.dir.clone(),
            detail,
        };
        let current = self
            .t
            .meta
            .get(device::DEVICE_KEY)
            .map_err(|e| open_err(e.to_string()))?;
        let reason = match &current {
            Some(record) if backup::decodes(record).is_ok() => {
                self.back_up_record(record);
                return Ok(None);
            }
            Some(_) => "the device record does not decode",
            None => "the device record is missing",
        };
        let found = match self.backup.read() {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(None),
            Err(e) => {
                tracing::warn!(target: "wagw::store", store = %self.dir.display(), error = %e,
                    "{reason} and the credentials backup cannot be used");
                return Ok(None);
            }
        };
        let restored = Restored {
            at_ms: backup::now_ms(),
            backup_taken_at_ms: found.taken_at_ms,
            reason: reason.to_owned(),
        };
        let note = serde_json::to_vec(&restored).map_err(|e| open_err(e.to_string()))?;
        self.t
            .meta
            .insert(device::DEVICE_KEY, &found.device)
            .and_then(|()| self.t.meta.insert(backup::RESTORED_KEY, &note))
            .and_then(|()| self.db.flush())
            .map_err(|e| open_err(format!("restoring the credentials backup: {e}")))?;
        *self.backed_up.lock().unwrap_or_else(|p| p.into_inner()) = Some(found.device);
        tracing::warn!(target: "wagw::store", store = %self.dir.display(),
            backup = %self.backup.describe().display(), backup_taken_at_ms = found.taken_at_ms,
            "{reason}: restored the account's credentials from the backup");
        Ok(Some(restored))
    }

    /// Copies `record` to the backup when it is a linked device's and differs from the last
    /// copy. A failure is logged: the store itself is fine.
    fn back_up_record(&self, record: &[u8]) {
        if !device::linked_record(record) {
            return;
        }
        let mut last = self.backed_up.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_deref() == Some(record) {
            return;
        }
        // The first time for this handle: a backup that already holds this record is kept
        // (a read-only command opening the store does not rewrite it).
        if last.is_none()
            && let Ok(Some(found)) = self.backup.read()
            && backup::same_record(&found.device, record)
        {
            *last = Some(record.to_vec());
            return;
        }
        match self.backup.write(record, backup::now_ms()) {
            Ok(()) => *last = Some(record.to_vec()),
            Err(e) => {
                tracing::warn!(target: "wagw::store", store = %self.dir.display(), error = %e,
                    "could not back up the credentials");
            }
        }
    }

    /// Backs the credentials up now (the gateway stopping an account without a logout).
    pub fn back_up_credentials(&self) {
        match self.t.meta.get(device::DEVICE_KEY) {
            Ok(Some(record)) => self.back_up_record(&record),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(target: "wagw::store", store = %self.dir.display(), error = %e,
                    "could not read the credentials to back them up");
            }
        }
    }

    /// Backs up the credentials of the store at `location` without opening it (before a
    /// migration: the record is read from the older schema); whether a linked device's
    /// record was there to back up.
    pub fn back_up_unopened(location: &wagw_store::Location) -> Result<bool, Error> {
        let backup = BackupPlace::of(location)?;
        let record = location
            .peek("meta", device::DEVICE_KEY)
            .map_err(|e| Error::StoreOpen {
                path: location.describe().to_path_buf(),
                detail: format!("reading the credentials: {e}"),
            })?;
        match record {
            Some(r) if device::linked_record(&r) => {
                backup.write(&r, backup::now_ms())?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Where the credentials backup lives.
    pub fn backup_place(&self) -> &BackupPlace {
        &self.backup
    }

    /// Whether this open restored the credentials from the backup.
    pub fn restored_from_backup(&self) -> Option<&Restored> {
        self.restored.as_ref()
    }

    /// The last restore from the backup recorded in the store at `location`, read without
    /// opening it (`wagw store status`, also while a gateway runs).
    pub fn last_restore(location: &wagw_store::Location) -> Option<Restored> {
        let raw = location.peek("meta", backup::RESTORED_KEY).ok()??;
        serde_json::from_slice(&raw).ok()
    }

    /// Whether `dir` holds a database of this store (without opening or creating one).
    pub fn exists(dir: impl AsRef<Path>) -> bool {
        dir.as_ref().join(STORE_FILE).is_file()
    }

    /// The folder this database lives in (for PostgreSQL, the store's name).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The database.
    pub fn db(&self) -> &wagw_store::Db {
        &self.db
    }

    /// Bytes the database occupies on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk()
    }

    /// Commits every pending write to disk (on tokio's blocking pool).
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await.map_err(db_err)
    }
}

/// Creates `dir` (and parents) with mode 0700.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), Error> {
    wagw_store::create_private_dir(dir).map_err(|e| Error::StoreOpen {
        path: dir.to_path_buf(),
        detail: e.to_string(),
    })
}

/// Maps a store error into the library's store error.
pub(crate) fn db_err(e: wagw_store::StoreError) -> StoreError {
    match e {
        wagw_store::StoreError::Io { source, .. } => StoreError::Io(source),
        other => StoreError::Database(Box::new(other)),
    }
}

/// Maps a (de)serialization error into the library's store error.
pub(crate) fn ser_err(e: serde_json::Error) -> StoreError {
    StoreError::Serialization(Box::new(e))
}

/// Serializes a value as JSON bytes.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(ser_err)
}

/// Deserializes JSON bytes.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(b).map_err(ser_err)
}

impl AccountStore {
    /// Commits after a write: the library treats `Ok` as durable.
    pub(crate) async fn commit(&self) -> Result<(), StoreError> {
        self.flush().await
    }

    /// Takes the read-modify-write lock (poison is harmless: the data is in the database).
    pub(crate) fn rmw_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.rmw.lock().unwrap_or_else(|p| p.into_inner())
    }
}
