//! # wagw-store — everything wagw persists, on embedded SQLite or PostgreSQL
//!
//! A [`Db`] is one database file ([`Db::open`]) or one namespace of a PostgreSQL database
//! ([`Db::open_postgres`]: the same API, guarantees and schema version; see
//! `docs/decisions/0003-postgresql.md`) holding named, ordered key-value [`Tree`]s (keys sort as
//! bytes), with point reads and writes, ordered and prefix scans from either end, batches
//! and atomic transactions over several trees. wagw's stores are built on it: the gateway
//! state (dedupe, event log, access stores, the agents' outbox and event log) in
//! `<dataDir>/state/state.sqlite3`, and each account's WhatsApp protocol state in its
//! `authDir`.
//!
//! What it guarantees:
//! - **Durability of acknowledgements.** Writes collect in one pending transaction;
//!   [`Db::flush`] commits it with `synchronous=FULL` (the write-ahead log is synced before
//!   the call returns). Callers acknowledge only after a flush; several writers share one
//!   commit. [`Db::flush_async`] does the sync on tokio's blocking pool.
//! - **One handle per file and process.** Opening a path already open in this process
//!   returns the same handle (reopening right after a drop never waits on a lock); another
//!   process is refused at once ([`StoreError::Locked`]) through an advisory lock on
//!   `<file>.lock`.
//! - **Versioned schema.** Migrations run at open in one transaction; a file written by a
//!   newer wagw is refused untouched ([`StoreError::TooNew`], naming the file and both
//!   versions); a damaged or foreign file is [`StoreError::Corrupt`].
//! - **Private files.** Folders are created 0700, the database and SQLite's files beside it
//!   0600.
//!
//! On PostgreSQL, a commit is durable with the server's default `synchronous_commit = on`;
//! another process opening the same namespace is refused ([`StoreError::Locked`], through a
//! session advisory lock, after a short wait for a holder that is going away); a database whose schema is newer is refused
//! ([`StoreError::TooNew`]); the password of the URL never appears in [`Db::path`], errors
//! or logs. A [`Location`] names where one store lives (a file or a namespace), so the crates
//! that own stores take one value for either engine. The feature `test-support` adds the module `test_support` (a throwaway server for tests).
//!
//! Other wagw crates use these types and never the database libraries; the pure crates
//! (`wagw-core`, `wagw-normalize`, `wagw-config`, `wagw-outbound`, `wagw-reconnect`) do not
//! depend on this one.
//!
//! ```
//! # fn main() -> Result<(), wagw_store::StoreError> {
//! let db = wagw_store::Db::temporary()?;
//! let (queue, index) = (db.open_tree("queue")?, db.open_tree("index")?);
//! db.transaction(|tx| {
//!     tx.insert(&queue, b"job-1", b"payload")?;
//!     tx.insert(&index, b"due/0001/job-1", b"")?;
//!     Ok::<_, wagw_store::StoreError>(())
//! })?;
//! db.flush()?;
//! assert_eq!(index.scan_prefix(b"due/").count(), 1);
//! # Ok(()) }
//! ```

mod db;
mod error;
mod inspect;
mod legacy;
mod location;
mod pg;
mod schema;
#[cfg(feature = "test-support")]
pub mod test_support;
mod tree;

pub use db::{Db, OpenOptions, Transaction, companion_files, create_private_dir};
pub use error::{Result, StoreError};
pub use inspect::{Inspection, inspect};
pub use legacy::sled_leftovers;
pub use location::{Location, migrate_postgres, survey_postgres};
pub use pg::NAMESPACE_LOCK_WAIT;
pub use schema::{APPLICATION_ID, SCHEMA_VERSION};
pub use tree::{Batch, Entry, Iter, Tree, TreeTransaction};
