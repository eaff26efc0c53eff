//! Reading what a store file holds without taking it over: for `wagw store status`, which
//! must work while a gateway has the store open.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::error::{Result, StoreError};
use crate::schema;

/// What [`inspect`] found in a store file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// The database file.
    pub path: PathBuf,
    /// The schema version in the file (`None`: an empty file, no wagw schema yet).
    pub schema_version: Option<u32>,
    /// Bytes on disk (the file and its write-ahead log).
    pub size_bytes: u64,
}

impl Inspection {
    /// True when the file's schema is older than this build's ([`crate::Db::open`] migrates it).
    pub fn needs_migration(&self) -> bool {
        self.schema_version
            .is_none_or(|v| v < schema::SCHEMA_VERSION)
    }

    /// True when a newer wagw wrote the file (this build refuses it).
    pub fn is_newer(&self) -> bool {
        self.schema_version
            .is_some_and(|v| v > schema::SCHEMA_VERSION)
    }
}

/// A connection to an existing store file that takes nothing over (no lock, no migration).
fn open_untaken(path: &Path) -> Result<Connection> {
    if !path.is_file() {
        return Err(StoreError::NotFound {
            path: path.to_path_buf(),
        });
    }
    // Read-write without create: a read-only connection cannot open a WAL database whose
    // shared-memory file is gone (a store closed cleanly). Nothing is written here.
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::sql(path, "open", e))
}

/// One value of a store file ([`crate::Location::peek`]): `None` when the file has no
/// trees yet, or the tree or key is missing.
pub(crate) fn peek(path: &Path, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
    let c = open_untaken(path)?;
    if schema::read_version(&c, path)?.is_none() {
        return Ok(None);
    }
    c.query_row(
        "SELECT kv.value FROM kv JOIN trees ON trees.id = kv.tree WHERE trees.name = ?1 AND kv.key = ?2",
        rusqlite::params![tree, key],
        |r| r.get::<_, Vec<u8>>(0),
    )
    .optional()
    .map_err(|e| StoreError::sql(path, "read a value", e))
}

/// Reads a store file's schema version without locking, migrating or creating anything.
/// Safe while another process has the store open (SQLite's own locking applies).
///
/// ```
/// # fn main() -> Result<(), wagw_store::StoreError> {
/// let dir = tempfile::tempdir().expect("tempdir");
/// let path = dir.path().join("s.sqlite3");
/// drop(wagw_store::Db::open(&path, &Default::default())?);
/// let found = wagw_store::inspect(&path)?;
/// assert_eq!(found.schema_version, Some(wagw_store::SCHEMA_VERSION));
/// assert!(!found.needs_migration());
/// # Ok(()) }
/// ```
pub fn inspect(path: &Path) -> Result<Inspection> {
    let c = open_untaken(path)?;
    let app: i32 = c
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| StoreError::sql(path, "read the header", e))?;
    if app != 0 && app != schema::APPLICATION_ID {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("application id {app:#x}: a database of another program"),
        });
    }
    let schema_version = schema::read_version(&c, path)?;
    let wal = &crate::db::companion_files(path)[0];
    let size_bytes = [path, wal.as_path()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    Ok(Inspection {
        path: path.to_path_buf(),
        schema_version,
        size_bytes,
    })
}
