//! The store's one error type.

use std::path::{Path, PathBuf};

/// Why a store operation failed. Every variant names the database file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another process holds the store (only one wagw process may open a store at a time).
    #[error(
        "the store {} is in use by another process (a wagw gateway or command on the same \
         data directory); stop it, or point this one at another directory",
        path.display()
    )]
    Locked {
        /// The database file.
        path: PathBuf,
    },
    /// The store was written by a newer wagw; it is left untouched.
    #[error(
        "the store {} has schema version {found}, newer than this wagw understands \
         (up to {supported}); run the wagw that wrote it, or upgrade this one",
        path.display()
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// The file is not a wagw store, or is damaged.
    #[error(
        "the store {} is not a wagw database or is damaged ({detail}); {}",
        path.display(),
        corrupt_hint(path)
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What SQLite (or the schema check) said.
        detail: String,
    },
    /// The store does not exist and the caller asked not to create it.
    #[error("the store {} does not exist", path.display())]
    NotFound {
        /// The database file.
        path: PathBuf,
    },
    /// A file or folder operation around the database failed.
    #[error("the store {}: {what}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An earlier commit failed, so writes acknowledged to nobody yet were lost; the handle
    /// refuses further work rather than acknowledge anything on top of them.
    #[error(
        "the store {} failed to write earlier ({cause}); nothing more is accepted until wagw \
         is restarted ({})",
        path.display(),
        failed_hint(path)
    )]
    Failed {
        /// The database file.
        path: PathBuf,
        /// The first failure.
        cause: String,
    },
    /// A database operation failed.
    #[error("the store {}: {op}: {source}", path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The engine's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A value could not be encoded or decoded.
    #[error("the store {}: {what}: {detail}", path.display())]
    Codec {
        /// The database file.
        path: PathBuf,
        /// Which value.
        what: String,
        /// Why.
        detail: String,
    },
}

impl StoreError {
    /// The database file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            StoreError::Locked { path }
            | StoreError::TooNew { path, .. }
            | StoreError::Corrupt { path, .. }
            | StoreError::NotFound { path }
            | StoreError::Io { path, .. }
            | StoreError::Failed { path, .. }
            | StoreError::Database { path, .. }
            | StoreError::Codec { path, .. } => path,
        }
    }

    /// True when the file is damaged or not a wagw store (moving it aside is the fix).
    pub fn is_corrupt(&self) -> bool {
        matches!(self, StoreError::Corrupt { .. })
    }

    /// True when another process holds the store.
    pub fn is_locked(&self) -> bool {
        matches!(self, StoreError::Locked { .. })
    }

    /// Maps an engine error, recognising damage.
    pub(crate) fn sql(path: &Path, op: &'static str, e: rusqlite::Error) -> StoreError {
        if let rusqlite::Error::SqliteFailure(f, msg) = &e
            && matches!(
                f.code,
                rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
            )
        {
            return StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: msg.clone().unwrap_or_else(|| f.to_string()),
            };
        }
        StoreError::Database {
            path: path.to_path_buf(),
            op,
            source: Box::new(e),
        }
    }
}

/// What to check after a failed commit, by engine (a PostgreSQL store's path is its URL
/// without the password).
fn failed_hint(path: &Path) -> &'static str {
    if is_postgres(path) {
        "check that the PostgreSQL server is up and reachable, and its log"
    } else {
        "check free space and the disk"
    }
}

/// What to do with a damaged store, by engine.
fn corrupt_hint(path: &Path) -> &'static str {
    if is_postgres(path) {
        "its namespace must be replaced (an account: `wagw accounts import FILE --force`) or \
         deleted from the database (wagw creates a new one; a deleted account store means \
         relinking that account)"
    } else {
        "move it aside (wagw creates a new one; a moved account store means relinking that \
         account)"
    }
}

fn is_postgres(path: &Path) -> bool {
    path.to_string_lossy().starts_with("postgres")
}

/// Shorthand for results of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::StoreError;

    #[test]
    fn a_failed_store_names_what_to_check_for_its_engine() {
        let failed = |path: &str| {
            StoreError::Failed {
                path: path.into(),
                cause: "boom".into(),
            }
            .to_string()
        };
        let file = failed("/var/lib/wagw/state/state.sqlite3");
        assert!(file.contains("check free space and the disk"), "{file}");
        let pg = failed("postgres://wagw@db:5432/wagw#state");
        assert!(pg.contains("PostgreSQL server is up"), "{pg}");
        assert!(!pg.contains("free space"), "{pg}");
    }
}
