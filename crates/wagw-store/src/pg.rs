//! The PostgreSQL engine: one connection per [`crate::Db`] (a *namespace* in one PostgreSQL
//! database), driven from a thread of its own.
//!
//! The store's API is synchronous and is called from inside tokio runtimes, where the
//! synchronous `postgres` client (which runs a runtime of its own) would panic. So each
//! connection lives on a dedicated thread that runs jobs sent over a channel; a caller sends a
//! job and waits for its answer, the way it would wait for SQLite's file I/O. The handle's
//! mutex serialises the callers, so the pending transaction is one per handle, as on SQLite.
//!
//! Layout (schema version 1, shared by every namespace of the database):
//! `wagw_meta(key, value)` (the schema version), `wagw_namespaces(name)`,
//! `wagw_trees(id, namespace, name)` and `wagw_kv(tree, key bytea, value bytea)` with primary
//! key `(tree, key)`: `bytea` compares bytewise (like SQLite's `memcmp` on BLOBs), so key
//! order is byte order on both engines.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Client, NoTls, Statement};

use crate::error::{Result, StoreError};
use crate::schema::SCHEMA_VERSION;

/// Migration `i` takes the PostgreSQL schema from version `i` to `i + 1` (the same numbering
/// as SQLite's: one logical schema, two engines).
const MIGRATIONS: &[&str] = &[
    // 1: ordered key-value trees, per namespace. No foreign key from `wagw_kv` to
    // `wagw_trees`: every write would pay for its check, and only this code writes here.
    "CREATE TABLE wagw_namespaces (name text PRIMARY KEY);
     CREATE TABLE wagw_trees (
         id bigserial PRIMARY KEY,
         namespace text NOT NULL,
         name text NOT NULL,
         UNIQUE (namespace, name)
     );
     CREATE TABLE wagw_kv (
         tree bigint NOT NULL,
         key bytea NOT NULL,
         value bytea NOT NULL,
         PRIMARY KEY (tree, key)
     );",
];

// The two engines must agree on what schema version means.
const _: () = assert!(MIGRATIONS.len() as u32 == SCHEMA_VERSION);

/// The transaction-level advisory lock that serialises migrations of one database (two
/// processes starting at once on a fresh database).
const MIGRATION_LOCK: i64 = 0x7761_6777_0000_0001;

/// The advisory lock key of a namespace: a 64-bit FNV-1a hash of `wagw/<namespace>`.
pub fn namespace_lock_key(namespace: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in b"wagw/".iter().chain(namespace.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// How a PostgreSQL store is named in errors and logs: the URL without its password, plus
/// the namespace.
pub(crate) fn display_path(url: &str, namespace: &str) -> Result<PathBuf> {
    let config = postgres::Config::from_str(url).map_err(|e| StoreError::Database {
        // The URL itself may hold a password: never echoed.
        path: PathBuf::from(format!("postgres (namespace {namespace})")),
        op: "parse the database URL",
        source: Box::new(e),
    })?;
    let user = config.get_user().unwrap_or("");
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or(user);
    Ok(PathBuf::from(format!(
        "postgres://{user}@{host}:{port}/{db}#{namespace}"
    )))
}

/// How long opening a namespace waits for another connection's lock on it before it is
/// [`StoreError::Locked`].
pub const NAMESPACE_LOCK_WAIT: Duration = Duration::from_secs(3);

/// How long connecting may take when the URL sets no `connect_timeout`: a server that does
/// not answer (a dead host, a dropped packet) is an error at start, not a hang.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The client's settings for `url`, with [`DEFAULT_CONNECT_TIMEOUT`] and TCP keepalives (so a
/// server that vanishes mid-session is noticed rather than waited on forever).
pub(crate) fn client_config(url: &str, path: &Path) -> Result<postgres::Config> {
    let mut config =
        postgres::Config::from_str(url).map_err(|e| pg_err(path, "parse the URL", e))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    }
    config.keepalives(true);
    Ok(config)
}

/// Runs `f` on a client of its own, on a thread of its own (the synchronous client panics
/// inside a tokio runtime, and callers such as `wagw store status` may be in one): for
/// short administrative work that must not take a namespace's handle.
pub(crate) fn with_client<T: Send + 'static>(
    url: &str,
    path: &Path,
    op: &'static str,
    f: impl FnOnce(&mut Client) -> PgResult<T> + Send + 'static,
) -> Result<T> {
    let config = client_config(url, path)?;
    let p = path.to_path_buf();
    let worker = std::thread::Builder::new()
        .name("wagw-pg-admin".into())
        .spawn(move || -> Result<T> {
            let mut client = config
                .connect(NoTls)
                .map_err(|e| pg_err(&p, "connect", e))?;
            f(&mut client).map_err(|e| pg_err(&p, op, e))
        })
        .map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            what: "cannot start the database connection's thread",
            source,
        })?;
    worker.join().unwrap_or_else(|_| {
        Err(StoreError::Database {
            path: path.to_path_buf(),
            op,
            source: "the database connection's thread panicked".into(),
        })
    })
}

/// What a PostgreSQL database holds, read without locking anything.
pub(crate) fn survey(url: &str, path: &Path) -> Result<(Option<u32>, Vec<String>)> {
    let raw = with_client(url, path, "list the namespaces", |c| {
        let has = c.query(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'wagw_meta'",
            &[],
        )?;
        if has.is_empty() {
            return Ok((None, Vec::new()));
        }
        let version = c
            .query(
                "SELECT value FROM wagw_meta WHERE key = 'schema_version'",
                &[],
            )?
            .first()
            .map(|r| r.get::<_, String>(0));
        let names = c
            .query(
                r#"SELECT name FROM wagw_namespaces ORDER BY name COLLATE "C""#,
                &[],
            )?
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect();
        Ok((version, names))
    })?;
    let version = match raw.0 {
        None => None,
        Some(v) => Some(v.parse::<u32>().map_err(|_| StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("schema version {v:?} is not a number"),
        })?),
    };
    Ok((version, raw.1))
}

/// One value of a namespace's tree, read without locking anything
/// ([`crate::Location::peek`]).
pub(crate) fn peek(
    url: &str,
    path: &Path,
    namespace: &str,
    tree: &str,
    key: &[u8],
) -> Result<Option<Vec<u8>>> {
    let (ns, tree, key) = (namespace.to_owned(), tree.to_owned(), key.to_vec());
    with_client(url, path, "read a value", move |c| {
        let has = c.query(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'wagw_kv'",
            &[],
        )?;
        if has.is_empty() {
            return Ok(None);
        }
        Ok(c.query(
            "SELECT kv.value FROM wagw_kv kv JOIN wagw_trees t ON t.id = kv.tree \
                 WHERE t.namespace = $1 AND t.name = $2 AND kv.key = $3",
            &[&ns, &tree, &key],
        )?
        .first()
        .map(|r| r.get::<_, Vec<u8>>(0)))
    })
}

/// Deletes `namespace`'s rows in one transaction on `conn` (which holds its lock).
pub(crate) fn delete_namespace_on(conn: &Conn, path: &Path, namespace: &str) -> Result<bool> {
    let ns = namespace.to_owned();
    conn.call(path, "delete the namespace", move |s| {
        s.batch("BEGIN")?;
        let run = |s: &mut Session| -> PgResult<bool> {
            s.execute(
                "DELETE FROM wagw_kv WHERE tree IN (SELECT id FROM wagw_trees WHERE namespace = $1)",
                &[&ns],
            )?;
            s.execute("DELETE FROM wagw_trees WHERE namespace = $1", &[&ns])?;
            Ok(s.execute("DELETE FROM wagw_namespaces WHERE name = $1", &[&ns])? > 0)
        };
        match run(s) {
            Ok(removed) => {
                s.batch("COMMIT")?;
                Ok(removed)
            }
            Err(e) => {
                let _ = s.batch("ROLLBACK");
                Err(e)
            }
        }
    })
}

/// Deletes a namespace and everything in it, holding its lock (waiting up to
/// [`NAMESPACE_LOCK_WAIT`] for a handle that is closing; one still open elsewhere is
/// [`StoreError::Locked`]).
pub(crate) fn remove_namespace(url: &str, namespace: &str, path: &Path) -> Result<bool> {
    let ns = namespace.to_owned();
    let key = namespace_lock_key(namespace);
    let outcome = with_client(url, path, "delete the namespace", move |c| {
        c.batch_execute(&format!(
            "SET lock_timeout = {}",
            NAMESPACE_LOCK_WAIT.as_millis()
        ))?;
        if let Err(e) = c.query("SELECT pg_advisory_lock($1)", &[&key]) {
            // 55P03: lock_not_available (the wait ran out).
            if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) {
                return Ok(None);
            }
            return Err(e);
        }
        let has = c.query(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'wagw_namespaces'",
            &[],
        )?;
        let mut removed = false;
        if !has.is_empty() {
            let mut tx = c.transaction()?;
            tx.execute(
                "DELETE FROM wagw_kv WHERE tree IN (SELECT id FROM wagw_trees WHERE namespace = $1)",
                &[&ns],
            )?;
            tx.execute("DELETE FROM wagw_trees WHERE namespace = $1", &[&ns])?;
            removed = tx.execute("DELETE FROM wagw_namespaces WHERE name = $1", &[&ns])? > 0;
            tx.commit()?;
        }
        c.query("SELECT pg_advisory_unlock($1)", &[&key])?;
        Ok(Some(removed))
    })?;
    outcome.ok_or_else(|| StoreError::Locked {
        path: path.to_path_buf(),
    })
}

fn pg_err(path: &Path, op: &'static str, e: postgres::Error) -> StoreError {
    StoreError::Database {
        path: path.to_path_buf(),
        op,
        source: Box::new(e),
    }
}

/// What a job runs on: the client and its prepared statements.
pub(crate) struct Session {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl Session {
    /// A prepared statement for `sql` (prepared once per connection).
    fn prepare(&mut self, sql: &str) -> std::result::Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    pub(crate) fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> std::result::Result<Vec<postgres::Row>, postgres::Error> {
        let s = self.prepare(sql)?;
        self.client.query(&s, params)
    }

    pub(crate) fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> std::result::Result<u64, postgres::Error> {
        let s = self.prepare(sql)?;
        self.client.execute(&s, params)
    }

    pub(crate) fn batch(&mut self, sql: &str) -> std::result::Result<(), postgres::Error> {
        self.client.batch_execute(sql)
    }
}

type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// One connection on its thread, and the state of its pending transaction.
pub(crate) struct Conn {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// A transaction is open (`BEGIN` sent, no `COMMIT` yet).
    pub(crate) in_tx: bool,
    /// A write happened since the last commit.
    pub(crate) dirty: bool,
    /// Set when a commit failed or the pending transaction was lost: nothing more may be
    /// acknowledged.
    pub(crate) failed: Option<String>,
    lock_key: i64,
    /// Set on the connection's thread when a statement failed and the client found the
    /// connection closed (the server restarted, or the network dropped it).
    closed: Arc<AtomicBool>,
    /// To connect again after `closed` ([`Conn::revive`]); the URL holds the password and
    /// is never shown.
    url: String,
    namespace: String,
}

pub(crate) type PgResult<T> = std::result::Result<T, postgres::Error>;

impl Conn {
    /// Runs `f` on the connection's thread and waits for its answer.
    pub(crate) fn call<R: Send + 'static>(
        &self,
        path: &Path,
        op: &'static str,
        f: impl FnOnce(&mut Session) -> PgResult<R> + Send + 'static,
    ) -> Result<R> {
        let gone = || StoreError::Database {
            path: path.to_path_buf(),
            op,
            source: "the database connection's thread has ended".into(),
        };
        let (tx, rx) = mpsc::sync_channel(1);
        let closed = self.closed.clone();
        let job: Job = Box::new(move |s| {
            let r = f(s);
            if r.is_err() && s.client.is_closed() {
                closed.store(true, Ordering::SeqCst);
            }
            let _ = tx.send(r);
        });
        self.jobs
            .as_ref()
            .ok_or_else(gone)?
            .send(job)
            .map_err(|_| gone())?;
        match rx.recv() {
            Ok(r) => r.map_err(|e| pg_err(path, op, e)),
            Err(_) => Err(gone()),
        }
    }

    /// True when a statement found the connection closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Connects again when the connection was found closed and no transaction was open
    /// (so no write is lost: pending writes live only in an open transaction, and a handle
    /// that lost some has failed). The namespace is locked again and the schema version
    /// checked, as at open. A failed attempt leaves the handle as it was, for the next call
    /// to try again.
    pub(crate) fn revive(&mut self, path: &Path) -> Result<()> {
        if self.in_tx || !self.closed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut fresh = connect(&self.url, &self.namespace, path, self.lock_key)?;
        let ready =
            lock(&fresh, path, self.lock_key).and_then(|()| match read_version(&fresh, path)? {
                Some(v) => check_version(path, v).map(|_| ()),
                None => Err(StoreError::Corrupt {
                    path: path.to_path_buf(),
                    detail: "the wagw schema is gone from the database".into(),
                }),
            });
        if let Err(e) = ready {
            fresh.jobs.take();
            if let Some(t) = fresh.thread.take() {
                let _ = t.join();
            }
            return Err(e);
        }
        std::mem::swap(&mut self.jobs, &mut fresh.jobs);
        std::mem::swap(&mut self.thread, &mut fresh.thread);
        self.closed.store(false, Ordering::SeqCst);
        self.dirty = false;
        // The old connection's thread ends with its channel.
        fresh.jobs.take();
        if let Some(t) = fresh.thread.take() {
            let _ = t.join();
        }
        tracing::info!(target: "wagw::store", path = %path.display(),
            "reconnected to the database after the connection was lost (nothing was pending)");
        Ok(())
    }

    /// Opens the pending transaction when none is.
    pub(crate) fn begin(&mut self, path: &Path) -> Result<()> {
        if !self.in_tx {
            if let Err(e) = self.call(path, "begin", |s| s.batch("BEGIN")) {
                // Nothing is pending outside a transaction: a lost connection is replaced
                // and the write goes on, instead of failing the first write after a restart.
                if !self.closed.load(Ordering::SeqCst) {
                    return Err(e);
                }
                self.revive(path)?;
                self.call(path, "begin", |s| s.batch("BEGIN"))?;
            }
            self.in_tx = true;
            self.dirty = false;
        }
        Ok(())
    }

    /// Commits the pending transaction (durable when it returns with the server's default
    /// `synchronous_commit = on`).
    pub(crate) fn commit(&mut self, path: &Path) -> Result<()> {
        if !self.in_tx {
            return Ok(());
        }
        let r = self.call(path, "commit", |s| s.batch("COMMIT"));
        self.in_tx = false;
        match r {
            Ok(()) => {
                self.dirty = false;
                Ok(())
            }
            Err(err) => {
                if self.dirty {
                    self.failed = Some(err.to_string());
                }
                tracing::error!(target: "wagw::store", path = %path.display(), error = %err, "commit failed");
                Err(err)
            }
        }
    }

    /// After a failed statement: PostgreSQL aborts the whole pending transaction, so the
    /// writes made since the last commit are gone (the handle fails), or there were none
    /// (the transaction is rolled back and work goes on).
    pub(crate) fn after_error(&mut self, path: &Path, err: &StoreError) {
        if !self.in_tx {
            return;
        }
        if self.dirty {
            self.failed = Some(err.to_string());
        } else {
            let _ = self.call(path, "roll back", |s| s.batch("ROLLBACK"));
            self.in_tx = false;
        }
    }

    /// Releases the namespace's lock (a no-op when this session does not hold it).
    pub(crate) fn unlock(&self, path: &Path) {
        let key = self.lock_key;
        let _ = self.call(path, "unlock", move |s| {
            s.query("SELECT pg_advisory_unlock($1)", &[&key])
                .map(|_| ())
        });
    }

    /// Commits what is pending (unless failed), releases the namespace and ends the thread.
    pub(crate) fn close(&mut self, path: &Path) {
        if self.failed.is_none()
            && let Err(e) = self.commit(path)
        {
            tracing::error!(target: "wagw::store", path = %path.display(), error = %e,
                "writes pending at close were lost");
        }
        // Unlocked explicitly: the server releases a session lock only when the backend
        // exits, a moment after the client hung up, and a reopen right after this must not
        // find the namespace still locked.
        self.unlock(path);
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Connects (the connection on a thread of its own); `lock_key` is what [`Conn::close`]
/// unlocks.
fn connect(url: &str, namespace: &str, path: &Path, lock_key: i64) -> Result<Conn> {
    let config = client_config(url, path)?;
    let (ready_tx, ready_rx) = mpsc::sync_channel(1);
    let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
    let name = format!("wagw-pg-{}", namespace.chars().take(6).collect::<String>());
    let thread = std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let client = match config.connect(NoTls) {
                Ok(c) => {
                    let _ = ready_tx.send(Ok(()));
                    c
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let mut session = Session {
                client,
                statements: HashMap::new(),
            };
            while let Ok(job) = jobs_rx.recv() {
                job(&mut session);
            }
        })
        .map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            what: "cannot start the database connection's thread",
            source,
        })?;
    match ready_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            let _ = thread.join();
            return Err(pg_err(path, "connect", e));
        }
        Err(_) => {
            let _ = thread.join();
            return Err(StoreError::Database {
                path: path.to_path_buf(),
                op: "connect",
                source: "the database connection's thread has ended".into(),
            });
        }
    }
    Ok(Conn {
        jobs: Some(jobs_tx),
        thread: Some(thread),
        in_tx: false,
        dirty: false,
        failed: None,
        lock_key,
        closed: Arc::new(AtomicBool::new(false)),
        url: url.to_owned(),
        namespace: namespace.to_owned(),
    })
}

/// Takes the namespace's lock on `conn`, waiting up to [`NAMESPACE_LOCK_WAIT`] server-side:
/// the connection of a process that was just killed keeps its lock until the server
/// notices the hang-up (a moment later), and a restart right after a crash must not fail on
/// it. A live holder is [`StoreError::Locked`] after the wait.
fn lock(conn: &Conn, path: &Path, lock_key: i64) -> Result<()> {
    let locked = conn.call(path, "lock the namespace", move |s| {
        s.batch(&format!(
            "SET lock_timeout = {}",
            NAMESPACE_LOCK_WAIT.as_millis()
        ))?;
        let r = s.query("SELECT pg_advisory_lock($1)", &[&lock_key]);
        s.batch("RESET lock_timeout")?;
        match r {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => Ok(false),
            Err(e) => Err(e),
        }
    })?;
    if locked {
        Ok(())
    } else {
        Err(StoreError::Locked {
            path: path.to_path_buf(),
        })
    }
}

/// Connects, migrates the database, registers and locks the namespace.
pub(crate) fn open(url: &str, namespace: &str, path: &Path, create: bool) -> Result<(Conn, u32)> {
    let lock_key = namespace_lock_key(namespace);
    let mut conn = connect(url, namespace, path, lock_key)?;
    if let Err(e) = lock(&conn, path, lock_key) {
        conn.jobs.take();
        return Err(e);
    }
    let prepared = migrate(&conn, path).and_then(|version| {
        let ns = namespace.to_owned();
        let exists = conn.call(path, "read the namespace", move |s| {
            s.query("SELECT 1 FROM wagw_namespaces WHERE name = $1", &[&ns])
                .map(|r| !r.is_empty())
        })?;
        if !exists {
            if !create {
                return Err(StoreError::NotFound {
                    path: path.to_path_buf(),
                });
            }
            let ns = namespace.to_owned();
            conn.call(path, "create the namespace", move |s| {
                s.execute(
                    "INSERT INTO wagw_namespaces (name) VALUES ($1) ON CONFLICT DO NOTHING",
                    &[&ns],
                )
            })?;
        }
        Ok(version)
    });
    match prepared {
        Ok(version) => Ok((conn, version)),
        Err(e) => {
            conn.close(path);
            Err(e)
        }
    }
}

/// Migrates the database at `url` without opening a namespace (`wagw store migrate`).
pub(crate) fn migrate_only(url: &str, path: &Path) -> Result<u32> {
    // Key 0 is never a namespace's: unlocking it at close is a no-op.
    let mut conn = connect(url, "migrate", path, 0)?;
    let r = migrate(&conn, path);
    conn.close(path);
    r
}

/// Brings the database's schema to [`SCHEMA_VERSION`] in one transaction, under a lock that
/// serialises concurrent migrations; a newer schema is refused untouched.
fn migrate(conn: &Conn, path: &Path) -> Result<u32> {
    let found = read_version(conn, path)?;
    if let Some(v) = found
        && v >= SCHEMA_VERSION
    {
        return check_version(path, v);
    }
    let p = path.to_path_buf();
    let outcome = conn.call(path, "migrate", move |s| {
        s.batch("BEGIN")?;
        let run = |s: &mut Session| -> PgResult<std::result::Result<u32, u32>> {
            s.query("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
            s.batch(
                "CREATE TABLE IF NOT EXISTS wagw_meta (key text PRIMARY KEY, value text NOT NULL)",
            )?;
            let rows = s.query(
                "SELECT value FROM wagw_meta WHERE key = 'schema_version'",
                &[],
            )?;
            let from: u32 = rows
                .first()
                .and_then(|r| r.get::<_, String>(0).parse().ok())
                .unwrap_or(0);
            if from >= SCHEMA_VERSION {
                // Another process migrated it meanwhile (or it is newer: refused below).
                return Ok(Err(from));
            }
            for (i, step) in MIGRATIONS.iter().enumerate().skip(from as usize) {
                s.batch(step)?;
                tracing::info!(target: "wagw::store", path = %p.display(), version = i + 1, "schema migrated");
            }
            let put = "INSERT INTO wagw_meta (key, value) VALUES ($1, $2)
                       ON CONFLICT (key) DO UPDATE SET value = excluded.value";
            s.execute(put, &[&"schema_version", &SCHEMA_VERSION.to_string()])?;
            s.execute(
                put,
                &[&"migrated_by", &concat!("wagw ", env!("CARGO_PKG_VERSION"))],
            )?;
            Ok(Ok(SCHEMA_VERSION))
        };
        match run(s) {
            Ok(Ok(v)) => {
                s.batch("COMMIT")?;
                Ok(Ok(v))
            }
            Ok(Err(v)) => {
                s.batch("ROLLBACK")?;
                Ok(Err(v))
            }
            Err(e) => {
                let _ = s.batch("ROLLBACK");
                Err(e)
            }
        }
    })?;
    match outcome {
        Ok(v) => Ok(v),
        Err(v) => check_version(path, v),
    }
}

fn check_version(path: &Path, found: u32) -> Result<u32> {
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(found)
}

/// The database's schema version (`None`: no wagw schema yet).
fn read_version(conn: &Conn, path: &Path) -> Result<Option<u32>> {
    let raw = conn.call(path, "read the schema version", |s| {
        let has = s.query(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'wagw_meta'",
            &[],
        )?;
        if has.is_empty() {
            return Ok(None);
        }
        let rows = s.query(
            "SELECT value FROM wagw_meta WHERE key = 'schema_version'",
            &[],
        )?;
        Ok(rows.first().map(|r| r.get::<_, String>(0)))
    })?;
    match raw {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("schema version {v:?} is not a number"),
        }),
    }
}

impl Session {
    pub(crate) fn query_one(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> PgResult<postgres::Row> {
        let s = self.prepare(sql)?;
        self.client.query_one(&s, params)
    }
}

// The tree operations, run on the connection's thread.

pub(crate) fn get(s: &mut Session, tree: i64, key: &[u8]) -> PgResult<Option<Vec<u8>>> {
    s.query(
        "SELECT value FROM wagw_kv WHERE tree = $1 AND key = $2",
        &[&tree, &key],
    )
    .map(|rows| rows.first().map(|r| r.get::<_, Vec<u8>>(0)))
}

pub(crate) fn contains(s: &mut Session, tree: i64, key: &[u8]) -> PgResult<bool> {
    s.query(
        "SELECT 1 FROM wagw_kv WHERE tree = $1 AND key = $2",
        &[&tree, &key],
    )
    .map(|rows| !rows.is_empty())
}

pub(crate) fn insert(s: &mut Session, tree: i64, key: &[u8], value: &[u8]) -> PgResult<()> {
    s.execute(
        "INSERT INTO wagw_kv (tree, key, value) VALUES ($1, $2, $3)
         ON CONFLICT (tree, key) DO UPDATE SET value = excluded.value",
        &[&tree, &key, &value],
    )
    .map(|_| ())
}

pub(crate) fn remove(s: &mut Session, tree: i64, key: &[u8]) -> PgResult<Option<Vec<u8>>> {
    s.query(
        "DELETE FROM wagw_kv WHERE tree = $1 AND key = $2 RETURNING value",
        &[&tree, &key],
    )
    .map(|rows| rows.first().map(|r| r.get::<_, Vec<u8>>(0)))
}

pub(crate) fn clear(s: &mut Session, tree: i64) -> PgResult<()> {
    s.execute("DELETE FROM wagw_kv WHERE tree = $1", &[&tree])
        .map(|_| ())
}

pub(crate) fn len(s: &mut Session, tree: i64) -> PgResult<usize> {
    s.query_one("SELECT count(*) FROM wagw_kv WHERE tree = $1", &[&tree])
        .map(|r| usize::try_from(r.get::<_, i64>(0)).unwrap_or(0))
}

/// One page of a range scan, `limit` rows from the low end (or the high end when `desc`).
pub(crate) fn page(
    s: &mut Session,
    tree: i64,
    lo: &std::ops::Bound<Vec<u8>>,
    hi: &std::ops::Bound<Vec<u8>>,
    desc: bool,
    limit: i64,
) -> PgResult<Vec<(Vec<u8>, Vec<u8>)>> {
    use std::ops::Bound;
    let mut sql = String::from("SELECT key, value FROM wagw_kv WHERE tree = $1");
    let mut keys: Vec<&Vec<u8>> = Vec::new();
    for (bound, incl, excl) in [(lo, ">=", ">"), (hi, "<=", "<")] {
        let (op, k) = match bound {
            Bound::Included(k) => (incl, k),
            Bound::Excluded(k) => (excl, k),
            Bound::Unbounded => continue,
        };
        keys.push(k);
        sql.push_str(&format!(" AND key {op} ${}", keys.len() + 1));
    }
    sql.push_str(if desc {
        " ORDER BY key DESC"
    } else {
        " ORDER BY key ASC"
    });
    sql.push_str(&format!(" LIMIT ${}", keys.len() + 2));
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&tree];
    for k in &keys {
        params.push(*k);
    }
    params.push(&limit);
    s.query(&sql, &params).map(|rows| {
        rows.iter()
            .map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, Vec<u8>>(1)))
            .collect()
    })
}
