//! One database file: opening (registry, lock, pragmas, migrations), the connection and its
//! pending transaction, flushing and multi-tree transactions.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, PoisonError, Weak};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::error::{Result, StoreError};
use crate::pg;
use crate::schema;
use crate::tree::Tree;

/// How [`Db::open`] opens a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOptions {
    /// Create the file (and its folder, 0700) when missing (default true). When false, a
    /// missing file is [`StoreError::NotFound`].
    pub create: bool,
    /// SQLite's page cache for this database, in KiB (default 2048). Small per-account
    /// stores use less: a process may hold hundreds.
    pub cache_kib: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            create: true,
            cache_kib: 2048,
        }
    }
}

/// The connection and whether writes are waiting for the next [`Db::flush`].
pub(crate) struct Conn {
    pub(crate) c: Connection,
    /// A write happened since the last commit (the pending transaction holds data).
    dirty: bool,
    /// Set when a commit failed or a pending transaction was rolled back by the engine:
    /// writes that callers made were lost, so nothing more may be acknowledged.
    failed: Option<String>,
}

struct Inner {
    path: PathBuf,
    /// In the process registry (file-backed); `false` for temporary databases.
    registered: bool,
    engine: Engine,
    trees: Mutex<HashMap<String, i64>>,
    /// The advisory lock file (`<file>.lock`), held for the handle's life.
    lock: Option<fs::File>,
    schema_version: u32,
    /// The database file's (device, inode) at open.
    file_id: Option<(u64, u64)>,
}

/// Where a database lives, and its connection.
enum Engine {
    Sqlite(Mutex<Option<Conn>>),
    Postgres(Mutex<Option<pg::Conn>>, String),
}

/// One database: a file of ordered key-value [`Tree`]s. Cheap to clone (a shared handle).
///
/// Opening a path that this process already has open returns the same handle, so a store
/// reopened right after it was dropped never waits for a file lock. Another *process* on the
/// same file is refused at once ([`StoreError::Locked`]).
///
/// Writes go into one pending transaction that [`Db::flush`] commits (with
/// `synchronous=FULL`: the commit is on disk when `flush` returns). A caller acknowledges a
/// write only after a flush; several writers' data share one commit (group commit).
///
/// ```
/// # fn main() -> Result<(), wagw_store::StoreError> {
/// let dir = tempfile::tempdir().expect("tempdir");
/// let db = wagw_store::Db::open(dir.path().join("state.sqlite3"), &Default::default())?;
/// let tree = db.open_tree("notes")?;
/// tree.insert(b"k1", b"hello")?;
/// db.flush()?; // durable from here
/// assert_eq!(tree.get(b"k1")?.as_deref(), Some(&b"hello"[..]));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// Open file-backed databases of this process, by canonical path. The condvar signals that
/// a closing handle has finished closing (its lock released).
static REGISTRY: LazyLock<(Mutex<Registry>, Condvar)> =
    LazyLock::new(|| (Mutex::new(HashMap::new()), Condvar::new()));

/// Open handles by canonical path.
type Registry = HashMap<PathBuf, Weak<Inner>>;

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.0.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Creates `dir` (and parents) with mode 0700.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let io = |source| StoreError::Io {
        path: dir.to_path_buf(),
        what: "cannot create the folder",
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
    }
    #[cfg(not(unix))]
    fs::create_dir_all(dir).map_err(io)?;
    Ok(())
}

/// The files SQLite keeps beside a database file, plus wagw's lock file.
pub fn companion_files(path: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut s = path.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    [with("-wal"), with("-shm"), with(".lock")]
}

/// The file's (device, inode), to tell a replaced file from the one a handle has open.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Some((0, 0))
    }
}

fn set_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match fs::set_permissions(path, fs::Permissions::from_mode(0o600)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(StoreError::Io {
                    path: path.to_path_buf(),
                    what: "cannot set mode 0600",
                    source,
                });
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn create_private_file(path: &Path, what: &'static str) -> Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        what,
        source,
    })
}

/// The canonical form of `path` (its folder resolved), creating the folder when allowed.
fn canonical(path: &Path, create: bool) -> Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| StoreError::Io {
        path: path.to_path_buf(),
        what: "not a file path",
        source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
    })?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.exists() {
        if !create {
            return Err(StoreError::NotFound {
                path: path.to_path_buf(),
            });
        }
        create_private_dir(&parent)?;
    }
    let parent = fs::canonicalize(&parent).map_err(|source| StoreError::Io {
        path: parent.clone(),
        what: "cannot resolve the folder",
        source,
    })?;
    Ok(parent.join(name))
}

impl Db {
    /// Opens (by default creating) the database file at `path`: its folder is made 0700 and
    /// its files 0600, the schema is migrated to this build's version, and a file written by
    /// a newer wagw is refused ([`StoreError::TooNew`]) without being changed.
    pub fn open(path: impl AsRef<Path>, options: &OpenOptions) -> Result<Db> {
        let path = canonical(path.as_ref(), options.create)?;
        let mut reg = registry();
        // A handle that no longer matches the file; dropped only after the registry is
        // unlocked (its drop takes that lock when it is the last one).
        let mut stale = None;
        loop {
            match reg.get(&path).map(Weak::upgrade) {
                // Shared only while it is still the file at `path`: a store deleted (logout)
                // or replaced under a lingering handle is opened afresh.
                Some(Some(inner)) if inner.file_id.is_some() && file_id(&path) == inner.file_id => {
                    return Ok(Db { inner });
                }
                Some(Some(inner)) => {
                    stale = Some(inner);
                    break;
                }
                // Its last handle is being dropped right now: wait until it has closed (an
                // in-process event, not a timed retry), then open afresh.
                Some(None) => {
                    reg = REGISTRY.1.wait(reg).unwrap_or_else(PoisonError::into_inner);
                }
                None => break,
            }
        }
        let opened = Inner::open(&path, options).map(|mut inner| {
            inner.registered = true;
            let inner = Arc::new(inner);
            reg.insert(path, Arc::downgrade(&inner));
            Db { inner }
        });
        drop(reg);
        drop(stale);
        opened
    }

    /// A database in memory, private to this handle and gone when it is dropped (tests,
    /// scratch stores).
    pub fn temporary() -> Result<Db> {
        let path = PathBuf::from(":memory:");
        let c = Connection::open_in_memory().map_err(|e| StoreError::sql(&path, "open", e))?;
        let version = schema::migrate(&c, &path)?;
        Ok(Db {
            inner: Arc::new(Inner {
                path,
                registered: false,
                engine: Engine::Sqlite(Mutex::new(Some(Conn {
                    c,
                    dirty: false,
                    failed: None,
                }))),
                trees: Mutex::new(HashMap::new()),
                lock: None,
                schema_version: version,
                file_id: None,
            }),
        })
    }

    /// Opens (by default creating) the store `namespace` in the PostgreSQL database at `url`
    /// (`postgres://user:password@host:port/dbname`). The database's schema is migrated to
    /// this build's version (a newer one is refused: [`StoreError::TooNew`]); the namespace
    /// is locked for this handle's life with a session advisory lock, so another process
    /// opening it is refused ([`StoreError::Locked`], after waiting up to
    /// [`crate::NAMESPACE_LOCK_WAIT`] for a holder that is going away), and this process shares one
    /// handle per namespace, as with files. [`Db::path`] names the store as
    /// `postgres://user@host:port/dbname#namespace`, never with the password.
    ///
    /// Every handle holds one connection (count them against the server's
    /// `max_connections`: the gateway's state plus one per account).
    pub fn open_postgres(url: &str, namespace: &str, options: &OpenOptions) -> Result<Db> {
        let path = pg::display_path(url, namespace)?;
        let mut reg = registry();
        loop {
            match reg.get(&path).map(Weak::upgrade) {
                Some(Some(inner)) => return Ok(Db { inner }),
                Some(None) => {
                    reg = REGISTRY.1.wait(reg).unwrap_or_else(PoisonError::into_inner);
                }
                None => break,
            }
        }
        let opened = pg::open(url, namespace, &path, options.create).map(|(conn, version)| {
            let inner = Arc::new(Inner {
                path: path.clone(),
                registered: true,
                engine: Engine::Postgres(Mutex::new(Some(conn)), namespace.to_owned()),
                trees: Mutex::new(HashMap::new()),
                lock: None,
                schema_version: version,
                file_id: None,
            });
            reg.insert(path, Arc::downgrade(&inner));
            Db { inner }
        });
        drop(reg);
        opened
    }

    /// The handle this process has open on `path` (a PostgreSQL store's display path), if
    /// any.
    pub(crate) fn open_handle(path: &Path) -> Option<Db> {
        registry()
            .get(path)
            .and_then(Weak::upgrade)
            .map(|inner| Db { inner })
    }

    /// Deletes this PostgreSQL handle's namespace through its own connection (a handle this
    /// process still holds, e.g. a library's clone during logout): what was pending is
    /// dropped, the rows go, the namespace's lock is released and the handle refuses all
    /// further work; the next open gets a fresh handle. Returns whether the namespace
    /// existed.
    pub(crate) fn remove_postgres_namespace(&self) -> Result<bool> {
        let path = &self.inner.path;
        let Engine::Postgres(_, ns) = &self.inner.engine else {
            return Err(wrong_engine(path));
        };
        let mut guard = self.pg_conn().ok_or_else(|| wrong_engine(path))?;
        let conn = guard.as_mut().ok_or_else(|| StoreError::Failed {
            path: path.clone(),
            cause: "the store was closed".into(),
        })?;
        if conn.in_tx {
            let _ = conn.call(path, "roll back", |s| s.batch("ROLLBACK"));
            conn.in_tx = false;
        }
        let removed = pg::delete_namespace_on(conn, path, ns)?;
        conn.unlock(path);
        conn.failed = Some("its namespace was deleted (logout)".into());
        drop(guard);
        let mut reg = registry();
        if reg
            .get(path)
            .is_some_and(|w| w.ptr_eq(&Arc::downgrade(&self.inner)))
        {
            reg.remove(path);
        }
        Ok(removed)
    }

    /// True when the store is on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.inner.engine, Engine::Postgres(..))
    }

    /// The database file (`:memory:` for a temporary one; for PostgreSQL the URL without
    /// its password, and the namespace: see [`Db::open_postgres`]).
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The schema version of the file (this build's [`crate::SCHEMA_VERSION`] once open).
    pub fn schema_version(&self) -> u32 {
        self.inner.schema_version
    }

    /// True when both handles are the same database.
    pub fn same_as(&self, other: &Db) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Opens (creating if needed) the tree `name`. A new tree is written with the next
    /// flush.
    pub fn open_tree(&self, name: &str) -> Result<Tree> {
        if let Some(id) = self.trees().get(name) {
            return Ok(Tree::new(self.clone(), *id, name));
        }
        let id = if let Engine::Postgres(_, ns) = &self.inner.engine {
            let (ns1, n1) = (ns.clone(), name.to_owned());
            let existing = self.pg_read("open a tree", move |s| {
                s.query(
                    "SELECT id FROM wagw_trees WHERE namespace = $1 AND name = $2",
                    &[&ns1, &n1],
                )
                .map(|rows| rows.first().map(|r| r.get::<_, i64>(0)))
            })?;
            match existing {
                Some(id) => id,
                None => {
                    let (ns2, n2) = (ns.clone(), name.to_owned());
                    self.pg_write("create a tree", move |s| {
                        s.query_one(
                            "INSERT INTO wagw_trees (namespace, name) VALUES ($1, $2) RETURNING id",
                            &[&ns2, &n2],
                        )
                        .map(|r| r.get::<_, i64>(0))
                    })?
                }
            }
        } else {
            let existing = self.read("open a tree", |c| {
                c.prepare_cached("SELECT id FROM trees WHERE name = ?1")?
                    .query_row([name], |r| r.get::<_, i64>(0))
                    .optional()
            })?;
            match existing {
                Some(id) => id,
                None => self.write("create a tree", |c| {
                    c.prepare_cached("INSERT INTO trees (name) VALUES (?1) RETURNING id")?
                        .query_row([name], |r| r.get::<_, i64>(0))
                })?,
            }
        };
        self.trees().insert(name.to_owned(), id);
        Ok(Tree::new(self.clone(), id, name))
    }

    /// Names of the trees in this database.
    pub fn tree_names(&self) -> Result<Vec<String>> {
        if let Engine::Postgres(_, ns) = &self.inner.engine {
            let ns = ns.clone();
            return self.pg_read("list trees", move |s| {
                s.query(
                    r#"SELECT name FROM wagw_trees WHERE namespace = $1 ORDER BY name COLLATE "C""#,
                    &[&ns],
                )
                .map(|rows| rows.iter().map(|r| r.get::<_, String>(0)).collect())
            });
        }
        self.read("list trees", |c| {
            let mut stmt = c.prepare_cached("SELECT name FROM trees ORDER BY name")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect()
        })
    }

    fn trees(&self) -> MutexGuard<'_, HashMap<String, i64>> {
        self.inner
            .trees
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Commits the pending transaction: every write made before this call (by any holder of
    /// this handle) is durable when it returns `Ok` (on disk for SQLite; committed with the
    /// server's default `synchronous_commit = on` for PostgreSQL).
    pub fn flush(&self) -> Result<()> {
        let path = &self.inner.path;
        if let Some(mut guard) = self.pg_conn() {
            return live_pg(&mut guard, path)?.commit(path);
        }
        let mut guard = self.conn()?;
        let conn = live(&mut guard, path)?;
        commit(conn, path)
    }

    /// [`Db::flush`] on tokio's blocking pool, so an fsync never stalls a runtime worker.
    /// Returns at once when nothing is pending.
    pub async fn flush_async(&self) -> Result<()> {
        if !self.has_pending()? {
            return Ok(());
        }
        let db = self.clone();
        match tokio::task::spawn_blocking(move || db.flush()).await {
            Ok(result) => result,
            Err(e) => Err(StoreError::Database {
                path: self.inner.path.clone(),
                op: "flush",
                source: Box::new(e),
            }),
        }
    }

    /// True when writes wait for a flush.
    pub fn has_pending(&self) -> Result<bool> {
        if let Some(mut guard) = self.pg_conn() {
            return Ok(live_pg(&mut guard, &self.inner.path)?.in_tx);
        }
        let mut guard = self.conn()?;
        let conn = live(&mut guard, &self.inner.path)?;
        Ok(!conn.c.is_autocommit())
    }

    /// Bytes the database occupies on disk (the file and its write-ahead log; 0 for
    /// PostgreSQL, whose files are the server's).
    pub fn size_on_disk(&self) -> u64 {
        if self.is_postgres() {
            return 0;
        }
        let wal = &companion_files(&self.inner.path)[0];
        [self.inner.path.as_path(), wal.as_path()]
            .iter()
            .filter_map(|p| fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    /// Runs `f` atomically over any trees of this database: its writes all land or none
    /// does (when `f` returns `Err`, they are rolled back). Like every write, the result is
    /// durable after the next [`Db::flush`].
    ///
    /// `f` must use only the [`Transaction`] it is given: other calls on this database from
    /// inside it would wait for the transaction to end.
    pub fn transaction<R, E>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E>
    where
        E: From<StoreError>,
    {
        let path = &self.inner.path;
        if let Some(mut guard) = self.pg_conn() {
            let conn = live_pg(&mut guard, path)?;
            conn.begin(path)?;
            if let Err(e) = conn.call(path, "begin a transaction", |s| {
                s.batch("SAVEPOINT wagw_tx")
            }) {
                conn.after_error(path, &e);
                return Err(e.into());
            }
            let (result, ended) = {
                let mut savepoint = PgSavepoint {
                    conn: &*conn,
                    path,
                    open: true,
                };
                let tx = Transaction {
                    db: self,
                    c: Session::Pg(savepoint.conn),
                };
                let result = f(&tx);
                let ended = if result.is_ok() {
                    savepoint.open = false;
                    savepoint
                        .conn
                        .call(path, "end a transaction", |s| s.batch("RELEASE wagw_tx"))
                } else {
                    // Rolled back by the guard's drop (also when `f` panicked).
                    Ok(())
                };
                (result, ended)
            };
            if let Err(e) = ended {
                conn.after_error(path, &e);
                return Err(e.into());
            }
            if result.is_ok() {
                conn.dirty = true;
            }
            return result;
        }
        let mut guard = self.conn()?;
        let conn = live(&mut guard, path)?;
        begin(conn, path)?;
        conn.c
            .execute_batch("SAVEPOINT wagw_tx")
            .map_err(|e| StoreError::sql(path, "begin a transaction", e))?;
        let result = {
            let savepoint = Savepoint {
                c: &conn.c,
                open: true,
            };
            let tx = Transaction {
                db: self,
                c: Session::Sqlite(&conn.c),
            };
            let result = f(&tx);
            if result.is_ok() {
                savepoint
                    .release()
                    .map_err(|e| StoreError::sql(path, "end a transaction", e))?;
            }
            // Dropped unreleased on `Err` (or a panic in `f`): rolled back.
            result
        };
        if result.is_ok() {
            conn.dirty = true;
        }
        result
    }

    pub(crate) fn conn(&self) -> Result<MutexGuard<'_, Option<Conn>>> {
        match &self.inner.engine {
            Engine::Sqlite(m) => Ok(m.lock().unwrap_or_else(PoisonError::into_inner)),
            Engine::Postgres(..) => Err(StoreError::Failed {
                path: self.inner.path.clone(),
                cause: "an SQLite operation on a PostgreSQL store".into(),
            }),
        }
    }

    /// The PostgreSQL connection (`None` on SQLite).
    fn pg_conn(&self) -> Option<MutexGuard<'_, Option<pg::Conn>>> {
        match &self.inner.engine {
            Engine::Postgres(m, _) => Some(m.lock().unwrap_or_else(PoisonError::into_inner)),
            Engine::Sqlite(_) => None,
        }
    }

    /// Runs a read on PostgreSQL (inside the pending transaction when one is open, so it sees
    /// the pending writes).
    ///
    /// Outside a transaction nothing is pending, so a read that finds the connection lost
    /// (the server restarted) is retried once on a new connection.
    pub(crate) fn pg_read<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut pg::Session) -> pg::PgResult<T> + Send + Clone + 'static,
    ) -> Result<T> {
        let path = &self.inner.path;
        let mut guard = self.pg_conn().ok_or_else(|| wrong_engine(path))?;
        let conn = live_pg(&mut guard, path)?;
        let outside = !conn.in_tx;
        let mut r = conn.call(path, op, f.clone());
        if r.is_err() && outside && conn.is_closed() {
            conn.revive(path)?;
            r = conn.call(path, op, f);
        }
        if let Err(e) = &r {
            conn.after_error(path, e);
        }
        r
    }

    /// Runs a write on PostgreSQL inside the pending transaction (opening it when needed).
    pub(crate) fn pg_write<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut pg::Session) -> pg::PgResult<T> + Send + 'static,
    ) -> Result<T> {
        let path = &self.inner.path;
        let mut guard = self.pg_conn().ok_or_else(|| wrong_engine(path))?;
        let conn = live_pg(&mut guard, path)?;
        conn.begin(path)?;
        match conn.call(path, op, f) {
            Ok(v) => {
                conn.dirty = true;
                Ok(v)
            }
            Err(e) => {
                conn.after_error(path, &e);
                Err(e)
            }
        }
    }

    /// Runs a read.
    pub(crate) fn read<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let path = &self.inner.path;
        let mut guard = self.conn()?;
        let conn = live(&mut guard, path)?;
        f(&conn.c).map_err(|e| StoreError::sql(path, op, e))
    }

    /// Runs a write inside the pending transaction (opening it when needed).
    pub(crate) fn write<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let path = &self.inner.path;
        let mut guard = self.conn()?;
        let conn = live(&mut guard, path)?;
        begin(conn, path)?;
        match f(&conn.c) {
            Ok(v) => {
                conn.dirty = true;
                Ok(v)
            }
            Err(e) => {
                let err = StoreError::sql(path, op, e);
                if conn.c.is_autocommit() && conn.dirty {
                    // The engine rolled the whole pending transaction back: earlier writes
                    // of other callers are gone.
                    conn.failed = Some(err.to_string());
                }
                Err(err)
            }
        }
    }
}

fn wrong_engine(path: &Path) -> StoreError {
    StoreError::Failed {
        path: path.to_path_buf(),
        cause: "a PostgreSQL operation on an SQLite store".into(),
    }
}

/// The PostgreSQL connection, connected again first when it was lost with nothing pending
/// ([`pg::Conn::revive`]).
fn live_pg<'a>(
    guard: &'a mut MutexGuard<'_, Option<pg::Conn>>,
    path: &Path,
) -> Result<&'a mut pg::Conn> {
    let conn = live_conn(guard, path, |conn| &conn.failed)?;
    conn.revive(path)?;
    Ok(conn)
}

/// Rolls the PostgreSQL savepoint back unless released (also when the closure panicked).
struct PgSavepoint<'a> {
    conn: &'a pg::Conn,
    path: &'a Path,
    open: bool,
}

impl Drop for PgSavepoint<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.call(self.path, "roll back a transaction", |s| {
                s.batch("ROLLBACK TO wagw_tx; RELEASE wagw_tx")
            });
        }
    }
}

fn live<'a>(guard: &'a mut MutexGuard<'_, Option<Conn>>, path: &Path) -> Result<&'a mut Conn> {
    live_conn(guard, path, |conn| &conn.failed)
}

/// Either engine's connection, unless the store was closed or a lost commit poisoned it.
fn live_conn<'a, C>(
    guard: &'a mut MutexGuard<'_, Option<C>>,
    path: &Path,
    failed: fn(&C) -> &Option<String>,
) -> Result<&'a mut C> {
    match guard.as_mut() {
        Some(conn) => match failed(conn) {
            Some(cause) => Err(StoreError::Failed {
                path: path.to_path_buf(),
                cause: cause.clone(),
            }),
            None => Ok(conn),
        },
        None => Err(StoreError::Failed {
            path: path.to_path_buf(),
            cause: "the store was closed".into(),
        }),
    }
}

fn begin(conn: &mut Conn, path: &Path) -> Result<()> {
    if conn.c.is_autocommit() {
        conn.c
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| StoreError::sql(path, "begin", e))?;
        conn.dirty = false;
    }
    Ok(())
}

fn commit(conn: &mut Conn, path: &Path) -> Result<()> {
    if conn.c.is_autocommit() {
        return Ok(());
    }
    match conn.c.execute_batch("COMMIT") {
        Ok(()) => {
            conn.dirty = false;
            Ok(())
        }
        Err(e) => {
            let err = StoreError::sql(path, "commit", e);
            if !conn.c.is_autocommit() {
                let _ = conn.c.execute_batch("ROLLBACK");
            }
            if conn.dirty {
                conn.failed = Some(err.to_string());
            }
            tracing::error!(target: "wagw::store", path = %path.display(), error = %err, "commit failed");
            Err(err)
        }
    }
}

/// Rolls the savepoint back unless released (also when the closure panicked).
struct Savepoint<'a> {
    c: &'a Connection,
    open: bool,
}

impl Savepoint<'_> {
    fn release(mut self) -> rusqlite::Result<()> {
        self.open = false;
        self.c.execute_batch("RELEASE wagw_tx")
    }
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.c.execute_batch("ROLLBACK TO wagw_tx; RELEASE wagw_tx");
        }
    }
}

/// The connection a [`Transaction`] works on.
pub(crate) enum Session<'a> {
    Sqlite(&'a Connection),
    Pg(&'a pg::Conn),
}

/// The view of the database inside [`Db::transaction`].
pub struct Transaction<'a> {
    db: &'a Db,
    pub(crate) c: Session<'a>,
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("path", &self.db.inner.path)
            .finish_non_exhaustive()
    }
}

impl Transaction<'_> {
    pub(crate) fn path(&self) -> &Path {
        &self.db.inner.path
    }

    pub(crate) fn check(&self, tree: &Tree) -> Result<i64> {
        if tree.db().same_as(self.db) {
            Ok(tree.id())
        } else {
            Err(StoreError::Codec {
                path: self.db.inner.path.clone(),
                what: format!("tree {}", tree.name()),
                detail: "belongs to another database than the transaction".into(),
            })
        }
    }
}

impl Inner {
    fn open(path: &Path, options: &OpenOptions) -> Result<Inner> {
        let exists = path.exists();
        if !exists && !options.create {
            return Err(StoreError::NotFound {
                path: path.to_path_buf(),
            });
        }
        let [wal, shm, lock_path] = companion_files(path);
        let lock = create_private_file(&lock_path, "cannot create the lock file")?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    path: path.to_path_buf(),
                });
            }
            Err(fs::TryLockError::Error(source)) => {
                return Err(StoreError::Io {
                    path: lock_path,
                    what: "cannot lock",
                    source,
                });
            }
        }
        if !exists {
            // Created 0600 here, so SQLite (which gives its -wal and -shm files the
            // database's mode) never makes a readable file.
            create_private_file(path, "cannot create the database")?;
        }
        let c = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::sql(path, "open", e))?;
        c.set_prepared_statement_cache_capacity(64);
        let pragma = |op: &'static str, sql: &str| {
            c.query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0))
                .optional()
                .map_err(|e| StoreError::sql(path, op, e))
        };
        // Reading the header first: a file of random bytes fails here as Corrupt.
        pragma("read the header", "PRAGMA application_id")?;
        let mode = pragma("set WAL mode", "PRAGMA journal_mode = WAL")?;
        if !matches!(&mode, Some(rusqlite::types::Value::Text(m)) if m.eq_ignore_ascii_case("wal"))
        {
            return Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: format!("cannot switch to WAL mode (journal mode {mode:?})"),
            });
        }
        // FULL: in WAL mode a commit syncs the log before it returns, so a flushed write
        // survives power loss, not only a crash of the process.
        c.execute_batch(&format!(
            "PRAGMA synchronous = FULL; PRAGMA cache_size = -{}; PRAGMA temp_store = MEMORY;",
            options.cache_kib.max(64)
        ))
        .map_err(|e| StoreError::sql(path, "set pragmas", e))?;
        let version = schema::migrate(&c, path)?;
        for file in [path, wal.as_path(), shm.as_path()] {
            set_private(file)?;
        }
        Ok(Inner {
            path: path.to_path_buf(),
            registered: false,
            engine: Engine::Sqlite(Mutex::new(Some(Conn {
                c,
                dirty: false,
                failed: None,
            }))),
            trees: Mutex::new(HashMap::new()),
            lock: Some(lock),
            schema_version: version,
            file_id: file_id(path),
        })
    }

    /// Commits what is pending and closes the connection, then releases the lock.
    fn close(&mut self) {
        let conn = match &mut self.engine {
            Engine::Sqlite(m) => m.get_mut().unwrap_or_else(PoisonError::into_inner).take(),
            Engine::Postgres(m, _) => {
                if let Some(mut conn) = m.get_mut().unwrap_or_else(PoisonError::into_inner).take() {
                    conn.close(&self.path);
                }
                None
            }
        };
        if let Some(mut conn) = conn {
            if conn.failed.is_none()
                && let Err(e) = commit(&mut conn, &self.path)
            {
                tracing::error!(target: "wagw::store", path = %self.path.display(), error = %e,
                    "writes pending at close were lost");
            }
            if let Err((_, e)) = conn.c.close() {
                tracing::warn!(target: "wagw::store", path = %self.path.display(), error = %e,
                    "closing the database failed");
            }
        }
        self.lock.take();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self.registered {
            self.close();
            return;
        }
        let mut reg = registry();
        self.close();
        if reg.get(&self.path).is_some_and(|w| w.strong_count() == 0) {
            reg.remove(&self.path);
        }
        drop(reg);
        REGISTRY.1.notify_all();
    }
}
