//! [`Location`]: where one store lives — an SQLite file, or a namespace of a PostgreSQL
//! database — so the crates that own a store take one value instead of a path and a URL.

use std::path::{Path, PathBuf};

use crate::db::{Db, OpenOptions};
use crate::error::{Result, StoreError};
use crate::inspect::Inspection;
use crate::pg;

/// Where one store lives.
///
/// `Debug` and [`Location::describe`] never show a password: a PostgreSQL location prints
/// as `postgres://user@host:port/dbname#namespace`.
///
/// ```
/// use wagw_store::Location;
/// let dir = tempfile::tempdir().expect("tempdir");
/// let here = Location::Sqlite(dir.path().join("state.sqlite3"));
/// assert!(!here.exists()?);
/// let db = here.open(&Default::default())?;
/// assert!(here.exists()?);
/// assert_eq!(db.path(), here.describe());
///
/// let there = Location::postgres("postgres://wagw:s3cret@db:5432/wagw", "account/work")?;
/// assert_eq!(there.describe(), std::path::Path::new("postgres://wagw@db:5432/wagw#account/work"));
/// assert!(!format!("{there:?}").contains("s3cret"));
/// # Ok::<(), wagw_store::StoreError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A database file.
    Sqlite(PathBuf),
    /// A namespace of a PostgreSQL database.
    Postgres {
        /// `postgres://…` (with the password: never print it).
        url: String,
        /// The namespace ([`Location::valid_namespace`]).
        namespace: String,
        /// How the location is shown: the URL without its password, and the namespace.
        shown: PathBuf,
    },
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            Location::Postgres { shown, .. } => f.debug_tuple("Postgres").field(shown).finish(),
        }
    }
}

impl Location {
    /// The namespace `namespace` of the PostgreSQL database at `url`. Fails when the URL
    /// does not parse (the error does not echo it) or the namespace is not
    /// [valid](Location::valid_namespace).
    pub fn postgres(url: &str, namespace: &str) -> Result<Location> {
        let shown = pg::display_path(url, namespace)?;
        if !Location::valid_namespace(namespace) {
            return Err(StoreError::Codec {
                path: shown,
                what: "namespace".into(),
                detail: format!(
                    "{namespace:?} is not a valid namespace: 1 to 200 characters among \
                     a-z 0-9 _ - . /, not starting or ending with /"
                ),
            });
        }
        Ok(Location::Postgres {
            url: url.to_owned(),
            namespace: namespace.to_owned(),
            shown,
        })
    }

    /// True for the namespaces wagw makes (`state`, `account/<id>`): short, lowercase
    /// ASCII, stable in logs and in the lock key.
    pub fn valid_namespace(namespace: &str) -> bool {
        (1..=200).contains(&namespace.len())
            && !namespace.starts_with('/')
            && !namespace.ends_with('/')
            && namespace
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-./".contains(&b))
    }

    /// True for a PostgreSQL namespace.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Location::Postgres { .. })
    }

    /// `"sqlite"` or `"postgresql"`.
    pub fn engine(&self) -> &'static str {
        match self {
            Location::Sqlite(_) => "sqlite",
            Location::Postgres { .. } => "postgresql",
        }
    }

    /// The file, or the PostgreSQL store's name without its password (what [`Db::path`]
    /// returns once it is open).
    pub fn describe(&self) -> &Path {
        match self {
            Location::Sqlite(p) => p,
            Location::Postgres { shown, .. } => shown,
        }
    }

    /// Opens (by default creating) the store: [`Db::open`] or [`Db::open_postgres`].
    pub fn open(&self, options: &OpenOptions) -> Result<Db> {
        match self {
            Location::Sqlite(p) => Db::open(p, options),
            Location::Postgres { url, namespace, .. } => Db::open_postgres(url, namespace, options),
        }
    }

    /// Whether the store exists (the file; the namespace in the database), without opening,
    /// locking or creating anything. Works while another process has it open.
    pub fn exists(&self) -> Result<bool> {
        match self {
            Location::Sqlite(p) => Ok(p.is_file()),
            Location::Postgres {
                url,
                namespace,
                shown,
            } => Ok(pg::survey(url, shown)?.1.iter().any(|n| n == namespace)),
        }
    }

    /// The store's schema version without taking it over ([`crate::inspect`] for a file;
    /// for PostgreSQL the database's version, shared by its namespaces).
    /// [`StoreError::NotFound`] when it does not exist.
    pub fn inspect(&self) -> Result<Inspection> {
        match self {
            Location::Sqlite(p) => crate::inspect(p),
            Location::Postgres {
                url,
                namespace,
                shown,
            } => {
                let (version, names) = pg::survey(url, shown)?;
                if !names.iter().any(|n| n == namespace) {
                    return Err(StoreError::NotFound {
                        path: shown.clone(),
                    });
                }
                Ok(Inspection {
                    path: shown.clone(),
                    schema_version: version,
                    size_bytes: 0,
                })
            }
        }
    }

    /// One value of one tree, read without locking, migrating or creating anything (works
    /// while another process has the store open; `None` when the store, the tree or the key
    /// is missing). Every schema version keeps the trees in the same tables, so this also
    /// reads a store whose schema is older than this build's: what is worth saving before a
    /// migration is read this way.
    pub fn peek(&self, tree: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if !self.exists()? {
            return Ok(None);
        }
        match self {
            Location::Sqlite(p) => crate::inspect::peek(p, tree, key),
            Location::Postgres {
                url,
                namespace,
                shown,
            } => pg::peek(url, shown, namespace, tree, key),
        }
    }

    /// Deletes the store (logout): the file and SQLite's files beside it, or the namespace
    /// and everything in it. Returns whether there was one. A PostgreSQL namespace this
    /// process has open is deleted through that handle, which then refuses all further work
    /// (as a deleted file's handle is never shared again); one another process keeps open
    /// (after [`crate::NAMESPACE_LOCK_WAIT`] for one that is closing) is
    /// [`StoreError::Locked`].
    pub fn remove(&self) -> Result<bool> {
        match self {
            Location::Sqlite(p) => {
                let mut found = false;
                let [wal, shm, lock] = crate::db::companion_files(p);
                for file in [p.as_path(), wal.as_path(), shm.as_path(), lock.as_path()] {
                    match std::fs::remove_file(file) {
                        Ok(()) => found |= file == p.as_path(),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(source) => {
                            return Err(StoreError::Io {
                                path: file.to_path_buf(),
                                what: "cannot delete",
                                source,
                            });
                        }
                    }
                }
                Ok(found)
            }
            Location::Postgres {
                url,
                namespace,
                shown,
            } => match Db::open_handle(shown) {
                // This process still has it open (a library's clone of the handle during a
                // logout): deleted through that handle, which then refuses all work.
                Some(db) => db.remove_postgres_namespace(),
                None => pg::remove_namespace(url, namespace, shown),
            },
        }
    }
}

/// What a PostgreSQL database holds: its schema version (`None`: no wagw schema yet) and
/// its namespaces, read without locking, migrating or creating anything (for
/// `wagw store status`, which works while a gateway runs). `url`'s password is never
/// shown in errors.
pub fn survey_postgres(url: &str) -> Result<(Option<u32>, Vec<String>)> {
    let shown = pg::display_path(url, "*")?;
    pg::survey(url, &shown)
}

/// Brings the PostgreSQL database at `url` to this build's schema version without opening
/// a namespace (`wagw store migrate`); returns the version found before and after. A newer
/// schema is [`StoreError::TooNew`], untouched.
pub fn migrate_postgres(url: &str) -> Result<(Option<u32>, u32)> {
    let shown = pg::display_path(url, "*")?;
    let (before, _) = pg::survey(url, &shown)?;
    let after = pg::migrate_only(url, &shown)?;
    Ok((before, after))
}
