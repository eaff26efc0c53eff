//! Versioned schema migrations, run when a database is opened.
//!
//! The `meta` table holds `schema_version` (and which wagw last migrated the file). Each
//! entry of [`MIGRATIONS`] takes the schema from its index to the next version; they run in
//! one transaction, so a failed migration leaves the file as it was. A file whose version is
//! newer than [`SCHEMA_VERSION`] is refused untouched.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Result, StoreError};

/// `PRAGMA application_id` of a wagw database ("wagw" in ASCII), so a file of another
/// program is recognised as such.
pub const APPLICATION_ID: i32 = 0x7761_6777;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: ordered key-value trees. BLOB keys compare with memcmp, so key order is byte
    // order (what the callers' big-endian and prefix-encoded keys rely on).
    "CREATE TABLE trees (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
     CREATE TABLE kv (
         tree INTEGER NOT NULL,
         key BLOB NOT NULL,
         value BLOB NOT NULL,
         PRIMARY KEY (tree, key)
     ) WITHOUT ROWID;",
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

fn corrupt(path: &Path, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// Reads the version without changing anything (`None`: no wagw schema yet).
pub(crate) fn read_version(c: &Connection, path: &Path) -> Result<Option<u32>> {
    let sql = |e| StoreError::sql(path, "read the schema version", e);
    let has_meta: bool = c
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(sql)?
        > 0;
    if !has_meta {
        return Ok(None);
    }
    let raw: Option<String> = c
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql)?;
    match raw {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| corrupt(path, format!("schema version {v:?} is not a number"))),
    }
}

/// Brings the schema to [`SCHEMA_VERSION`]; returns it.
pub(crate) fn migrate(c: &Connection, path: &Path) -> Result<u32> {
    let sql = |op| move |e| StoreError::sql(path, op, e);
    let app: i32 = c
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(sql("read the header"))?;
    if app != 0 && app != APPLICATION_ID {
        return Err(corrupt(
            path,
            format!("application id {app:#x}: a database of another program"),
        ));
    }
    let found = read_version(c, path)?;
    if found.is_none() {
        let tables: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name <> 'meta'",
                [],
                |r| r.get(0),
            )
            .map_err(sql("read the schema"))?;
        if tables > 0 {
            return Err(corrupt(path, "tables but no wagw schema version"));
        }
    }
    let from = found.unwrap_or(0);
    if from > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: from,
            supported: SCHEMA_VERSION,
        });
    }
    if from == SCHEMA_VERSION {
        return Ok(from);
    }
    c.execute_batch("BEGIN IMMEDIATE")
        .map_err(sql("begin the migration"))?;
    let run = || -> Result<()> {
        c.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID};
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
        ))
        .map_err(sql("create the meta table"))?;
        for (i, step) in MIGRATIONS.iter().enumerate().skip(from as usize) {
            c.execute_batch(step).map_err(sql("migrate"))?;
            tracing::info!(target: "wagw::store", path = %path.display(), version = i + 1, "schema migrated");
        }
        let mut put = c
            .prepare("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .map_err(sql("write the schema version"))?;
        put.execute(["schema_version", &SCHEMA_VERSION.to_string()])
            .map_err(sql("write the schema version"))?;
        put.execute(["migrated_by", concat!("wagw ", env!("CARGO_PKG_VERSION"))])
            .map_err(sql("write the schema version"))?;
        Ok(())
    };
    match run() {
        Ok(()) => {
            c.execute_batch("COMMIT")
                .map_err(sql("commit the migration"))?;
            Ok(SCHEMA_VERSION)
        }
        Err(e) => {
            let _ = c.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}
