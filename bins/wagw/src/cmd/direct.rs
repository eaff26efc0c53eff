//! Where an operator command runs: through the running gateway's HTTP API, or — when no
//! gateway answers — directly on the store at `<dataDir>/state` (or the namespace `state`
//! of the configured PostgreSQL database).
//!
//! Only one process may open the store, so the direct path works only while no
//! gateway runs; when one holds the store but does not answer at the configured URL, the
//! command says so instead of guessing.

use std::path::{Path, PathBuf};

use wagw_access::AccessStore;
use wagw_config::Config;

use super::Context;
use crate::client::{Client, WAGW_URL};
use crate::daemon::files;
use crate::error::CliError;

/// The gateway's state database folder under a data dir.
pub fn state_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("state")
}

/// The gateway's state database file under a data dir.
pub fn state_file(data_dir: &Path) -> PathBuf {
    state_dir(data_dir).join(wagw_gateway::STATE_FILE)
}

/// The store, opened by this process (no gateway runs).
pub struct DirectStore {
    path: PathBuf,
    // Kept open for as long as `access` is used; committed on drop.
    db: wagw_store::Db,
    /// The access stores on it.
    pub access: AccessStore,
}

impl std::fmt::Debug for DirectStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl DirectStore {
    /// Opens the gateway's state (`<dataDir>/state`, or the namespace `state` of the
    /// configured PostgreSQL database). `Ok(None)` when there is no store yet and `create`
    /// is false (nothing was ever paired or allowed: reads need not create it).
    pub fn open(config: &Config, url: &str, create: bool) -> Result<Option<DirectStore>, CliError> {
        let data_dir = &config.gateway().data_dir;
        let location = crate::storage::state(config)?;
        let path = match &location {
            wagw_store::Location::Sqlite(_) => state_dir(data_dir),
            there => there.describe().to_path_buf(),
        };
        let exists = location.exists().map_err(|e| CliError::Store {
            path: path.clone(),
            reason: format!("cannot read it: {e}"),
        })?;
        if !exists {
            if !create {
                return Ok(None);
            }
            if !location.is_postgres() {
                files::ensure_private_dir(data_dir).map_err(|source| CliError::Io {
                    what: "the data directory",
                    path: data_dir.to_path_buf(),
                    source,
                })?;
            }
        }
        let db = location
            .open(&wagw_store::OpenOptions::default())
            .map_err(|e| {
                if e.is_locked() {
                    CliError::StoreBusy {
                        url: url.to_owned(),
                        path: path.clone(),
                    }
                } else {
                    CliError::Store {
                        path: path.clone(),
                        reason: format!("cannot open it: {e}"),
                    }
                }
            })?;
        let access = AccessStore::open(&db).map_err(|e| CliError::Store {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        Ok(Some(DirectStore { path, db, access }))
    }

    /// The webhook outbox on it.
    pub fn outbox(&self) -> Result<wagw_agents::Outbox, CliError> {
        let tree = self
            .db
            .open_tree(crate::runtime::OUTBOX_TREE)
            .map_err(|e| CliError::Store {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        Ok(wagw_agents::Outbox::new(tree))
    }

    /// The folder (for PostgreSQL, the store's name without the password).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DirectStore {
    fn drop(&mut self) {
        // Every access-store write was already committed; this covers tree creation.
        let _ = self.db.flush();
    }
}

/// Where a command runs.
#[derive(Debug)]
pub enum Backend {
    /// A gateway answered at the client's URL.
    Gateway(Client),
    /// No gateway answers: the store, opened directly.
    Store {
        /// The store (None: there is none yet).
        store: Option<DirectStore>,
        /// The URL where no gateway answered (for messages).
        url: String,
    },
}

/// Picks the backend: the gateway when `/healthz` answers; otherwise, unless `WAGW_URL`
/// names a gateway elsewhere (whose store is not on this host), the local store.
pub async fn backend(ctx: &Context, config: &Config, create: bool) -> Result<Backend, CliError> {
    let client = ctx.client(config)?;
    match client.healthy().await {
        Ok(()) => Ok(Backend::Gateway(client)),
        Err(e @ CliError::Unreachable { .. }) if ctx.env.get(WAGW_URL).is_some() => Err(e),
        Err(CliError::Unreachable { .. }) => {
            let store = DirectStore::open(config, client.base(), create)?;
            tracing::info!(target: "wagw::cli", url = client.base(),
                store = %store.as_ref().map_or_else(String::new, |s| s.path().display().to_string()),
                "no gateway answers; using the store directly");
            Ok(Backend::Store {
                store,
                url: client.base().to_owned(),
            })
        }
        Err(e) => Err(e),
    }
}

/// The error for an operation that needs a store when none exists yet.
pub fn no_store(config: &Config, url: &str, what: &str) -> CliError {
    CliError::Failed(format!(
        "{what}: no gateway answers at {url} and {} holds no store yet (no sender was ever \
         paired or allowed). Start it with `wagw gateway`",
        config.gateway().data_dir.display()
    ))
}
