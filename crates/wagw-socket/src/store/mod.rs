//! The protocol store: a sled implementation of whatsapp-rust's five store traits.
//!
//! One sled database per account, in that account's `authDir`: logout deletes one folder,
//! and moving the folder moves the linked account to another host. Each database keeps a
//! small page cache (many accounts share one process) and has no background flusher
//! (`flush_every_ms(None)`): every write the library makes is flushed before the trait call
//! returns, because the library treats a returned `Ok` as durable (Signal ratchets,
//! pre-keys, and the pending-inbound buffer behind the durability hook).
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

/// Default sled page cache per account: small, because a process may hold hundreds.
pub const DEFAULT_CACHE_BYTES: u64 = 512 * 1024;

/// Options for [`SledStore::open`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// sled's page cache size in bytes ([`DEFAULT_CACHE_BYTES`] unless set).
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
    pub identities: sled::Tree,
    pub sessions: sled::Tree,
    pub prekeys: sled::Tree,
    pub signed_prekeys: sled::Tree,
    pub sender_keys: sled::Tree,
    pub sync_keys: sled::Tree,
    pub versions: sled::Tree,
    pub mutation_macs: sled::Tree,
    pub sender_key_devices: sled::Tree,
    pub lid_mappings: sled::Tree,
    pub pn_to_lid: sled::Tree,
    pub base_keys: sled::Tree,
    pub device_lists: sled::Tree,
    pub group_metadata: sled::Tree,
    pub tc_tokens: sled::Tree,
    pub sent_messages: sled::Tree,
    pub pending_inbound: sled::Tree,
    pub msg_secrets: sled::Tree,
    /// Polls this account sent (options + secret), to name the options of votes.
    pub polls: sled::Tree,
    pub meta: sled::Tree,
}

/// whatsapp-rust's protocol state for one account, in a sled database.
///
/// ```no_run
/// use wagw_socket::store::{SledStore, StoreOptions};
/// let store = SledStore::open("/var/lib/wagw/accounts/default", StoreOptions::default())?;
/// # Ok::<(), wagw_socket::Error>(())
/// ```
pub struct SledStore {
    db: sled::Db,
    pub(crate) t: Trees,
    dir: PathBuf,
    pub(crate) cache_capacity: u64,
    /// Serializes read-modify-write operations that span a read and a write (or two trees).
    pub(crate) rmw: Mutex<()>,
    pub(crate) next_device_id: AtomicI32,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").field("dir", &self.dir).finish()
    }
}

/// How long opening waits for the database's file lock to be released.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens the database, waiting up to [`LOCK_WAIT`] while its file lock is held. sled's IO
/// threads finish with a just-dropped database in the background, so its lock can outlive
/// the handle by a moment: a socket reopened on the same authDir right after the previous
/// one was dropped (a transport restart on reload, a relink, tests) would otherwise fail
/// with "could not acquire lock". A lock held longer is another process on this account.
fn open_waiting_for_lock(config: &sled::Config) -> sled::Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        match config.open() {
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock && started.elapsed() < LOCK_WAIT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

impl SledStore {
    /// Opens (creating if needed) the database in `dir`. The folder is made 0700 and its
    /// files 0600.
    pub fn open(dir: impl AsRef<Path>, options: StoreOptions) -> Result<SledStore, Error> {
        let dir = dir.as_ref().to_path_buf();
        create_private_dir(&dir)?;
        let config = sled::Config::new()
            .path(&dir)
            .cache_capacity(options.cache_capacity)
            .flush_every_ms(None)
            .mode(sled::Mode::LowSpace);
        let db = open_waiting_for_lock(&config).map_err(|e| Error::StoreOpen {
            path: dir.clone(),
            detail: e.to_string(),
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
        let next_id = device::load_next_device_id(&t.meta).map_err(|e| Error::StoreOpen {
            path: dir.clone(),
            detail: e.to_string(),
        })?;
        let store = SledStore {
            db,
            t,
            dir,
            cache_capacity: options.cache_capacity,
            rmw: Mutex::new(()),
            next_device_id: AtomicI32::new(next_id),
        };
        store.restrict_permissions()?;
        Ok(store)
    }

    /// Whether `dir` holds a database of this store (without opening or creating one).
    pub fn exists(dir: impl AsRef<Path>) -> bool {
        let dir = dir.as_ref();
        dir.join("conf").is_file() && dir.join("db").is_file()
    }

    /// The folder this database lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes the database occupies on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// Flushes every pending write to disk.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await.map(|_| ()).map_err(db_err)?;
        Ok(())
    }

    /// Makes the folder 0700 and every file in it 0600 (sled creates files with the
    /// process umask; the folder mode also covers snapshot files created later).
    pub fn restrict_permissions(&self) -> Result<(), Error> {
        restrict_tree(&self.dir).map_err(|e| Error::Io {
            path: self.dir.clone(),
            source: e,
        })
    }
}

/// Creates `dir` (and parents) with mode 0700.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), Error> {
    let io = |e| Error::Io {
        path: dir.to_path_buf(),
        source: e,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir).map_err(io)?;
    Ok(())
}

fn restrict_tree(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let ty = entry.file_type()?;
            if ty.is_dir() {
                restrict_tree(&entry.path())?;
            } else if ty.is_file() {
                std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Maps a sled error into the library's store error.
pub(crate) fn db_err(e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(io) => StoreError::Io(io),
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

impl SledStore {
    /// Flushes after a write: the library treats `Ok` as durable.
    pub(crate) async fn commit(&self) -> Result<(), StoreError> {
        self.flush().await
    }

    /// Takes the read-modify-write lock (poison is harmless: the data is in sled).
    pub(crate) fn rmw_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.rmw.lock().unwrap_or_else(|p| p.into_inner())
    }
}
