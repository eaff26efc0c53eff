//! The two engines, for tests that run on both.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use wagw_store::test_support::TestPostgres;
use wagw_store::{Db, OpenOptions, StoreError};

/// Where a test's stores live: a folder of SQLite files, or a PostgreSQL database of the
/// test's own (each store a namespace in it).
#[derive(Debug)]
pub enum Engine {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

/// SQLite, and PostgreSQL when a server is available (else skipped with a message, or a
/// failure under `CI=true`: see `wagw_store::test_support`).
pub fn engines() -> Vec<Engine> {
    let mut all = vec![Engine::Sqlite(tempfile::tempdir().unwrap())];
    if let Some(pg) = TestPostgres::shared() {
        all.push(Engine::Postgres(pg.fresh_database()));
    }
    all
}

impl Engine {
    pub fn open(&self, name: &str) -> Db {
        self.try_open(name, &OpenOptions::default())
            .unwrap_or_else(|e| panic!("{self:?}: {e}"))
    }

    pub fn try_open(&self, name: &str, options: &OpenOptions) -> Result<Db, StoreError> {
        match self {
            Engine::Sqlite(dir) => Db::open(dir.path().join(format!("{name}.sqlite3")), options),
            Engine::Postgres(url) => Db::open_postgres(url, name, options),
        }
    }
}

/// For property tests, which open a store per case: an in-memory SQLite database, or a new
/// namespace in one PostgreSQL database shared by the cases.
pub enum Scratch {
    Memory,
    Postgres(&'static str),
}

pub fn shared() -> Vec<Scratch> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    let url = URL.get_or_init(|| TestPostgres::shared().map(TestPostgres::fresh_database));
    let mut all = vec![Scratch::Memory];
    if let Some(url) = url {
        all.push(Scratch::Postgres(url));
    }
    all
}

impl Scratch {
    pub fn open_fresh(&self) -> Db {
        static N: AtomicU32 = AtomicU32::new(0);
        match self {
            Scratch::Memory => Db::temporary().unwrap(),
            Scratch::Postgres(url) => {
                let ns = format!("case-{}", N.fetch_add(1, Ordering::Relaxed));
                Db::open_postgres(url, &ns, &OpenOptions::default()).unwrap()
            }
        }
    }
}
