//! Ordered key-value trees: point operations, ordered scans, batches and transactions.

use std::collections::VecDeque;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use rusqlite::OptionalExtension;
use rusqlite::types::Value;

use crate::db::{Db, Session, Transaction};
use crate::error::{Result, StoreError};
use crate::pg;

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// How many rows an iterator reads per step (it releases the connection between steps).
const PAGE: usize = 256;

/// A named, ordered map of byte keys to byte values in a [`Db`]. Keys sort as bytes
/// (big-endian integers sort numerically). Cheap to clone.
///
/// ```
/// # fn main() -> Result<(), wagw_store::StoreError> {
/// let db = wagw_store::Db::temporary()?;
/// let tree = db.open_tree("t")?;
/// tree.insert(b"a/2", b"two")?;
/// tree.insert(b"a/1", b"one")?;
/// tree.insert(b"b/1", b"other")?;
/// let keys: Vec<Vec<u8>> = tree.scan_prefix(b"a/").keys().collect::<Result<_, _>>()?;
/// assert_eq!(keys, [b"a/1".to_vec(), b"a/2".to_vec()]);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Tree {
    db: Db,
    id: i64,
    name: Arc<str>,
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree")
            .field("db", &self.db.path())
            .field("name", &self.name)
            .finish()
    }
}

/// The first key after every key that starts with `prefix` (`None`: no such key).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn owned<K: AsRef<[u8]>>(b: Bound<&K>) -> Bound<Vec<u8>> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_ref().to_vec()),
        Bound::Excluded(k) => Bound::Excluded(k.as_ref().to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Builds the page query for a range; returns its SQL and parameters.
fn page_query(
    tree: i64,
    lo: &Bound<Vec<u8>>,
    hi: &Bound<Vec<u8>>,
    desc: bool,
) -> (String, Vec<Value>) {
    let mut sql = String::from("SELECT key, value FROM kv WHERE tree = ?1");
    let mut params = vec![Value::Integer(tree)];
    let mut bound = |op: &str, key: &Vec<u8>, params: &mut Vec<Value>| {
        params.push(Value::Blob(key.clone()));
        sql.push_str(&format!(" AND key {op} ?{}", params.len()));
    };
    match lo {
        Bound::Included(k) => bound(">=", k, &mut params),
        Bound::Excluded(k) => bound(">", k, &mut params),
        Bound::Unbounded => {}
    }
    match hi {
        Bound::Included(k) => bound("<=", k, &mut params),
        Bound::Excluded(k) => bound("<", k, &mut params),
        Bound::Unbounded => {}
    }
    sql.push_str(if desc {
        " ORDER BY key DESC"
    } else {
        " ORDER BY key ASC"
    });
    params.push(Value::Integer(PAGE as i64));
    sql.push_str(&format!(" LIMIT ?{}", params.len()));
    (sql, params)
}

impl Tree {
    pub(crate) fn new(db: Db, id: i64, name: &str) -> Tree {
        Tree {
            db,
            id,
            name: Arc::from(name),
        }
    }

    pub(crate) fn id(&self) -> i64 {
        self.id
    }

    /// The tree's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database it is in.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The value at `key`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        if self.db.is_postgres() {
            let (id, key) = (self.id, key.as_ref().to_vec());
            return self.db.pg_read("read", move |s| pg::get(s, id, &key));
        }
        self.db.read("read", |c| {
            c.prepare_cached("SELECT value FROM kv WHERE tree = ?1 AND key = ?2")?
                .query_row(rusqlite::params![self.id, key.as_ref()], |r| r.get(0))
                .optional()
        })
    }

    /// True when `key` has a value.
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        if self.db.is_postgres() {
            let (id, key) = (self.id, key.as_ref().to_vec());
            return self.db.pg_read("read", move |s| pg::contains(s, id, &key));
        }
        self.db.read("read", |c| {
            c.prepare_cached("SELECT 1 FROM kv WHERE tree = ?1 AND key = ?2")?
                .exists(rusqlite::params![self.id, key.as_ref()])
        })
    }

    /// Sets `key` to `value` (durable after the next flush).
    pub fn insert(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        if self.db.is_postgres() {
            let (id, key, value) = (self.id, key.as_ref().to_vec(), value.as_ref().to_vec());
            return self
                .db
                .pg_write("write", move |s| pg::insert(s, id, &key, &value));
        }
        self.db.write("write", |c| {
            insert(c, self.id, key.as_ref(), value.as_ref())?;
            Ok(())
        })
    }

    /// Removes `key`; returns the value it had.
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        if self.db.is_postgres() {
            let (id, key) = (self.id, key.as_ref().to_vec());
            return self.db.pg_write("delete", move |s| pg::remove(s, id, &key));
        }
        self.db
            .write("delete", |c| remove(c, self.id, key.as_ref()))
    }

    /// Removes every entry.
    pub fn clear(&self) -> Result<()> {
        if self.db.is_postgres() {
            let id = self.id;
            return self.db.pg_write("clear", move |s| pg::clear(s, id));
        }
        self.db.write("clear", |c| {
            c.prepare_cached("DELETE FROM kv WHERE tree = ?1")?
                .execute([self.id])?;
            Ok(())
        })
    }

    /// How many entries the tree holds.
    pub fn len(&self) -> Result<usize> {
        if self.db.is_postgres() {
            let id = self.id;
            return self.db.pg_read("count", move |s| pg::len(s, id));
        }
        self.db.read("count", |c| {
            c.prepare_cached("SELECT count(*) FROM kv WHERE tree = ?1")?
                .query_row([self.id], |r| r.get::<_, i64>(0))
                .map(|n| usize::try_from(n).unwrap_or(0))
        })
    }

    /// True when the tree holds nothing.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.first()?.is_none())
    }

    /// The entry with the smallest key.
    pub fn first(&self) -> Result<Option<Entry>> {
        self.iter().next().transpose()
    }

    /// The entry with the largest key.
    pub fn last(&self) -> Result<Option<Entry>> {
        self.iter().next_back().transpose()
    }

    /// Every entry in key order (read lazily, a page at a time).
    pub fn iter(&self) -> Iter {
        Iter::new(self.clone(), Bound::Unbounded, Bound::Unbounded)
    }

    /// Entries whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        let prefix = prefix.as_ref();
        let hi = match prefix_end(prefix) {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        Iter::new(self.clone(), Bound::Included(prefix.to_vec()), hi)
    }

    /// Entries whose key is in `range`, in key order.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Iter {
        Iter::new(
            self.clone(),
            owned(range.start_bound()),
            owned(range.end_bound()),
        )
    }

    /// Applies every operation of `batch` atomically.
    pub fn apply_batch(&self, batch: Batch) -> Result<()> {
        if batch.ops.is_empty() {
            return Ok(());
        }
        self.db.transaction(|tx| {
            for op in &batch.ops {
                match op {
                    (key, Some(value)) => tx.insert(self, key, value)?,
                    (key, None) => {
                        tx.remove(self, key)?;
                    }
                }
            }
            Ok::<_, StoreError>(())
        })
    }

    /// Runs `f` atomically on this tree (see [`Db::transaction`]).
    pub fn transaction<R, E>(
        &self,
        f: impl FnOnce(&TreeTransaction<'_, '_>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E>
    where
        E: From<StoreError>,
    {
        self.db
            .transaction(|tx| f(&TreeTransaction { tx, tree: self }))
    }

    /// Commits the database's pending writes (see [`Db::flush`]).
    pub fn flush(&self) -> Result<()> {
        self.db.flush()
    }

    /// [`Db::flush_async`].
    pub async fn flush_async(&self) -> Result<()> {
        self.db.flush_async().await
    }

    fn page(&self, lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>, desc: bool) -> Result<Vec<Entry>> {
        if self.db.is_postgres() {
            let (id, lo, hi) = (self.id, lo.clone(), hi.clone());
            return self.db.pg_read("scan", move |s| {
                pg::page(s, id, &lo, &hi, desc, PAGE as i64)
            });
        }
        let (sql, params) = page_query(self.id, lo, hi, desc);
        self.db.read("scan", |c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            rows.collect()
        })
    }
}

fn insert(c: &rusqlite::Connection, tree: i64, key: &[u8], value: &[u8]) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO kv (tree, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (tree, key) DO UPDATE SET value = excluded.value",
    )?
    .execute(rusqlite::params![tree, key, value])?;
    Ok(())
}

fn remove(c: &rusqlite::Connection, tree: i64, key: &[u8]) -> rusqlite::Result<Option<Vec<u8>>> {
    c.prepare_cached("DELETE FROM kv WHERE tree = ?1 AND key = ?2 RETURNING value")?
        .query_row(rusqlite::params![tree, key], |r| r.get(0))
        .optional()
}

/// Writes to apply together with [`Tree::apply_batch`].
#[derive(Debug, Default, Clone)]
pub struct Batch {
    ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Batch {
    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.ops
            .push((key.as_ref().to_vec(), Some(value.as_ref().to_vec())));
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: impl AsRef<[u8]>) {
        self.ops.push((key.as_ref().to_vec(), None));
    }

    /// True when the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

impl Transaction<'_> {
    /// The value at `key` in `tree`.
    pub fn get(&self, tree: &Tree, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let id = self.check(tree)?;
        match self.c {
            Session::Pg(conn) => {
                let key = key.as_ref().to_vec();
                conn.call(self.path(), "read", move |s| pg::get(s, id, &key))
            }
            Session::Sqlite(c) => c
                .prepare_cached("SELECT value FROM kv WHERE tree = ?1 AND key = ?2")
                .and_then(|mut s| {
                    s.query_row(rusqlite::params![id, key.as_ref()], |r| r.get(0))
                        .optional()
                })
                .map_err(|e| StoreError::sql(self.path(), "read", e)),
        }
    }

    /// Sets `key` to `value` in `tree`.
    pub fn insert(
        &self,
        tree: &Tree,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<()> {
        let id = self.check(tree)?;
        match self.c {
            Session::Pg(conn) => {
                let (key, value) = (key.as_ref().to_vec(), value.as_ref().to_vec());
                conn.call(self.path(), "write", move |s| {
                    pg::insert(s, id, &key, &value)
                })
            }
            Session::Sqlite(c) => insert(c, id, key.as_ref(), value.as_ref())
                .map_err(|e| StoreError::sql(self.path(), "write", e)),
        }
    }

    /// Removes `key` from `tree`; returns the value it had.
    pub fn remove(&self, tree: &Tree, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let id = self.check(tree)?;
        match self.c {
            Session::Pg(conn) => {
                let key = key.as_ref().to_vec();
                conn.call(self.path(), "delete", move |s| pg::remove(s, id, &key))
            }
            Session::Sqlite(c) => {
                remove(c, id, key.as_ref()).map_err(|e| StoreError::sql(self.path(), "delete", e))
            }
        }
    }

    /// Every entry of `tree` whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, tree: &Tree, prefix: impl AsRef<[u8]>) -> Result<Vec<Entry>> {
        let id = self.check(tree)?;
        let prefix = prefix.as_ref();
        let hi = match prefix_end(prefix) {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        let mut lo = Bound::Included(prefix.to_vec());
        let mut out = Vec::new();
        loop {
            let page: Vec<Entry> = match self.c {
                Session::Pg(conn) => {
                    let (l, h) = (lo.clone(), hi.clone());
                    conn.call(self.path(), "scan", move |s| {
                        pg::page(s, id, &l, &h, false, PAGE as i64)
                    })?
                }
                Session::Sqlite(c) => {
                    let (sql, params) = page_query(id, &lo, &hi, false);
                    c.prepare_cached(&sql)
                        .and_then(|mut s| {
                            s.query_map(rusqlite::params_from_iter(params), |r| {
                                Ok((r.get(0)?, r.get(1)?))
                            })?
                            .collect()
                        })
                        .map_err(|e| StoreError::sql(self.path(), "scan", e))?
                }
            };
            let full = page.len() == PAGE;
            if let Some((k, _)) = page.last() {
                lo = Bound::Excluded(k.clone());
            }
            out.extend(page);
            if !full {
                return Ok(out);
            }
        }
    }
}

/// One tree inside [`Tree::transaction`].
pub struct TreeTransaction<'t, 'a> {
    tx: &'t Transaction<'a>,
    tree: &'t Tree,
}

impl std::fmt::Debug for TreeTransaction<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeTransaction")
            .field("tree", &self.tree.name)
            .finish()
    }
}

impl TreeTransaction<'_, '_> {
    /// The value at `key`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.tx.get(self.tree, key)
    }

    /// Sets `key` to `value`.
    pub fn insert(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        self.tx.insert(self.tree, key, value)
    }

    /// Removes `key`; returns the value it had.
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.tx.remove(self.tree, key)
    }
}

/// An ordered scan over a key range, read a page at a time from both ends (so `.rev()` and
/// `next_back` work). Not a snapshot: writes made between pages may or may not be seen.
pub struct Iter {
    tree: Tree,
    /// The part of the range not read yet is between `lo` and `hi`.
    lo: Bound<Vec<u8>>,
    hi: Bound<Vec<u8>>,
    front: VecDeque<Entry>,
    back: VecDeque<Entry>,
    /// Nothing is left between `lo` and `hi`.
    exhausted: bool,
    failed: bool,
}

impl std::fmt::Debug for Iter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iter")
            .field("tree", &self.tree.name)
            .finish_non_exhaustive()
    }
}

impl Iter {
    fn new(tree: Tree, lo: Bound<Vec<u8>>, hi: Bound<Vec<u8>>) -> Iter {
        Iter {
            tree,
            lo,
            hi,
            front: VecDeque::new(),
            back: VecDeque::new(),
            exhausted: false,
            failed: false,
        }
    }

    /// The keys only.
    pub fn keys(self) -> impl DoubleEndedIterator<Item = Result<Vec<u8>>> {
        self.map(|r| r.map(|(k, _)| k))
    }

    /// The values only.
    pub fn values(self) -> impl DoubleEndedIterator<Item = Result<Vec<u8>>> {
        self.map(|r| r.map(|(_, v)| v))
    }

    /// Reads the next page from the front (`desc == false`) or the back.
    fn fill(&mut self, desc: bool) -> Result<()> {
        let page = self.tree.page(&self.lo, &self.hi, desc)?;
        if page.len() < PAGE {
            self.exhausted = true;
        }
        if let Some((k, _)) = page.last() {
            if desc {
                self.hi = Bound::Excluded(k.clone());
            } else {
                self.lo = Bound::Excluded(k.clone());
            }
        }
        if desc {
            self.back.extend(page);
        } else {
            self.front.extend(page);
        }
        Ok(())
    }
}

impl Iterator for Iter {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if let Some(e) = self.front.pop_front() {
            return Some(Ok(e));
        }
        if !self.exhausted {
            if let Err(e) = self.fill(false) {
                self.failed = true;
                return Some(Err(e));
            }
            if let Some(e) = self.front.pop_front() {
                return Some(Ok(e));
            }
        }
        // What is left was read from the back (it holds the largest keys, descending).
        self.back.pop_back().map(Ok)
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if let Some(e) = self.back.pop_front() {
            return Some(Ok(e));
        }
        if !self.exhausted {
            if let Err(e) = self.fill(true) {
                self.failed = true;
                return Some(Err(e));
            }
            if let Some(e) = self.back.pop_front() {
                return Some(Ok(e));
            }
        }
        self.front.pop_back().map(Ok)
    }
}
