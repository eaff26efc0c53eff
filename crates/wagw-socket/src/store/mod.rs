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
mod device;
pub(crate) mod keys;
mod protocol;
mod signal;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::AtomicI32;

use whatsapp_rust::store::error::StoreError;

use crate::error::Error;

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
        Ok(AccountStore {
            db,
            t,
            dir,
            cache_capacity: options.cache_capacity,
            rmw: Mutex::new(()),
            next_device_id: AtomicI32::new(next_id),
        })
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
