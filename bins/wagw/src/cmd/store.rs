//! `wagw store status | migrate`: the databases wagw keeps — the gateway's state and each
//! account's WhatsApp protocol state — with their engine, file (or PostgreSQL namespace) and
//! schema version (`docs/decisions/0002-storage.md`, `0003-postgresql.md`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use serde::Serialize;

use super::Context;
use crate::error::CliError;

/// `wagw store …`.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Each store (the gateway's state, each account's protocol state): engine, file or
    /// PostgreSQL namespace, and schema version. Works while the gateway runs.
    Status,
    /// Bring every store to this wagw's schema version (SQLite: stop the gateway first;
    /// PostgreSQL: the database's one schema. The gateway also migrates at start).
    Migrate,
}

/// One store of the config.
struct Target {
    name: String,
    location: wagw_store::Location,
    /// An account's protocol store (it has a credentials backup).
    account: bool,
}

/// The gateway's state and each account's protocol state (accounts on the simulator have
/// none); on PostgreSQL also any other namespace the database holds (an account since
/// removed from the config, another gateway's), so status shows the whole database.
fn targets(config: &wagw_config::Config) -> Result<Vec<Target>, CliError> {
    let mut out = vec![Target {
        name: "state".into(),
        location: crate::storage::state(config)?,
        account: false,
    }];
    for a in config.accounts() {
        if a.transport == wagw_config::Transport::Sim {
            continue;
        }
        out.push(Target {
            name: format!("account {}", a.account_id),
            location: crate::storage::account(config, a)?,
            account: true,
        });
    }
    Ok(out)
}

/// Namespaces of the database that no target names (only on PostgreSQL; `Err`: the
/// database cannot be read, which the targets' rows already say).
fn other_namespaces(config: &wagw_config::Config, targets: &[Target]) -> Vec<String> {
    let Some(url) = &config.storage().url else {
        return Vec::new();
    };
    let Ok((_, names)) = wagw_store::survey_postgres(url.expose()) else {
        return Vec::new();
    };
    names
        .into_iter()
        .filter(|n| {
            // An account's credentials backup is shown on the account's row.
            !targets.iter().any(|t| {
                matches!(&t.location, wagw_store::Location::Postgres { namespace, .. }
                    if namespace == n || (t.account && n.strip_prefix("backup/") == Some(namespace.as_str())))
            })
        })
        .collect()
}

/// One line of `wagw store status`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    store: String,
    engine: &'static str,
    path: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema_version: Option<u32>,
    supported_version: u32,
    /// `current`, `missing`, `needs-migration`, `newer`, `damaged`, `unreadable`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    /// An account's credentials backup: where, and when it was taken (Unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    credentials_backup: Option<BackupView>,
    /// The last time the account's credentials were restored from the backup.
    #[serde(skip_serializing_if = "Option::is_none")]
    restored_from_backup: Option<wagw_socket::store::Restored>,
}

/// Where an account's credentials backup is and when it was taken.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BackupView {
    path: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    taken_at_ms: Option<i64>,
    /// Set when the backup cannot be read (it would not be restored).
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

/// An account's backup and last restore (reads only; works while a gateway runs).
fn backup_of(t: &Target, row: &mut Row) {
    if !t.account {
        return;
    }
    let Ok(place) = wagw_socket::store::BackupPlace::of(&t.location) else {
        return;
    };
    row.credentials_backup = match place.read() {
        Ok(Some(b)) => Some(BackupView {
            path: place.describe().to_path_buf(),
            taken_at_ms: Some(b.taken_at_ms),
            problem: None,
        }),
        Ok(None) => None,
        Err(e) => Some(BackupView {
            path: place.describe().to_path_buf(),
            taken_at_ms: None,
            problem: Some(e.to_string()),
        }),
    };
    row.restored_from_backup = wagw_socket::store::AccountStore::last_restore(&t.location);
}

fn status_row(t: &Target) -> Row {
    let mut row = Row {
        store: t.name.clone(),
        engine: t.location.engine(),
        path: t.location.describe().to_path_buf(),
        schema_version: None,
        supported_version: wagw_store::SCHEMA_VERSION,
        status: "current",
        detail: None,
        credentials_backup: None,
        restored_from_backup: None,
    };
    match t.location.inspect() {
        Ok(found) => {
            row.schema_version = found.schema_version;
            if found.is_newer() {
                row.status = "newer";
                row.detail = Some("written by a newer wagw; this one refuses it".into());
            } else if found.needs_migration() {
                row.status = "needs-migration";
                row.detail =
                    Some("`wagw store migrate` (or the gateway's start) upgrades it".into());
            }
        }
        Err(wagw_store::StoreError::NotFound { .. }) => {
            row.status = "missing";
            row.detail = Some("created on first use".into());
        }
        Err(e) if e.is_corrupt() => {
            row.status = "damaged";
            row.detail = Some(e.to_string());
        }
        Err(e) => {
            row.status = "unreadable";
            row.detail = Some(e.to_string());
        }
    }
    backup_of(t, &mut row);
    row
}

/// Runs `wagw store …`.
pub fn run(cmd: StoreCommand, ctx: &Context) -> Result<ExitCode, CliError> {
    let config = ctx.load_config()?;
    let mut out = std::io::stdout();
    match cmd {
        StoreCommand::Status => {
            let targets = targets(&config)?;
            let mut rows: Vec<Row> = targets.iter().map(status_row).collect();
            for namespace in other_namespaces(&config, &targets) {
                if let Some(url) = &config.storage().url
                    && let Ok(location) = wagw_store::Location::postgres(url.expose(), &namespace)
                {
                    let mut row = status_row(&Target {
                        name: format!("namespace {namespace}"),
                        location,
                        account: false,
                    });
                    row.detail = Some("not a store of this config".into());
                    rows.push(row);
                }
            }
            if ctx.json {
                writeln!(out, "{}", serde_json::to_string_pretty(&rows)?).ok();
            } else {
                for r in &rows {
                    let version = r
                        .schema_version
                        .map_or_else(|| "-".to_owned(), |v| v.to_string());
                    writeln!(
                        out,
                        "{}: {} {} schema {version}/{} {}{}",
                        r.store,
                        r.engine,
                        r.path.display(),
                        r.supported_version,
                        r.status,
                        r.detail
                            .as_ref()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default()
                    )
                    .ok();
                    let now = crate::cmd::channels::now_ms();
                    if let Some(b) = &r.credentials_backup {
                        match (&b.problem, b.taken_at_ms) {
                            (Some(p), _) => writeln!(out, "  credentials backup unusable: {p}"),
                            (None, Some(at)) => writeln!(
                                out,
                                "  credentials backup: {} (taken {})",
                                b.path.display(),
                                crate::cmd::channels::age(now, at)
                            ),
                            (None, None) => Ok(()),
                        }
                        .ok();
                    }
                    if let Some(restored) = &r.restored_from_backup {
                        writeln!(
                            out,
                            "  credentials restored from the backup {} ({}; the backup was taken {})",
                            crate::cmd::channels::age(now, restored.at_ms),
                            restored.reason,
                            crate::cmd::channels::age(now, restored.backup_taken_at_ms)
                        )
                        .ok();
                    }
                }
            }
            let bad = rows
                .iter()
                .any(|r| matches!(r.status, "newer" | "damaged" | "unreadable"));
            Ok(if bad {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        StoreCommand::Migrate => {
            if let Some(url) = &config.storage().url {
                // Every account's credentials are backed up before the database's schema
                // changes (when it does).
                if let Ok((Some(v), _)) = wagw_store::survey_postgres(url.expose())
                    && v < wagw_store::SCHEMA_VERSION
                {
                    back_up_accounts(&targets(&config)?, &mut out);
                }
                // One schema for the whole database: migrated once, namespaces untouched
                // (a running gateway keeps them; it needs no stop here).
                return match wagw_store::migrate_postgres(url.expose()) {
                    Ok((before, after)) => {
                        match before {
                            Some(v) if v == after => {
                                writeln!(out, "database {url}: up to date (v{after})").ok()
                            }
                            Some(v) => {
                                writeln!(out, "database {url}: migrated v{v} -> v{after}").ok()
                            }
                            None => writeln!(
                                out,
                                "database {url}: schema created (v{after}); the namespaces \
                                 are created on first use"
                            )
                            .ok(),
                        };
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => {
                        writeln!(out, "database {url}: {e}").ok();
                        Ok(ExitCode::FAILURE)
                    }
                };
            }
            let mut failed = false;
            for t in targets(&config)? {
                let wagw_store::Location::Sqlite(path) = &t.location else {
                    continue;
                };
                let before = wagw_store::inspect(path);
                let options = wagw_store::OpenOptions {
                    create: false,
                    ..wagw_store::OpenOptions::default()
                };
                if t.account
                    && let Ok(found) = &before
                    && found.schema_version.is_some()
                    && found.needs_migration()
                {
                    back_up_accounts(std::slice::from_ref(&t), &mut out);
                }
                match (before, wagw_store::Db::open(path, &options)) {
                    (Err(wagw_store::StoreError::NotFound { .. }), _) => {
                        writeln!(out, "{}: none yet ({})", t.name, path.display()).ok();
                    }
                    (Ok(found), Ok(db)) => {
                        let from = found
                            .schema_version
                            .map_or_else(|| "empty".to_owned(), |v| format!("v{v}"));
                        if found.needs_migration() {
                            writeln!(
                                out,
                                "{}: migrated {from} -> v{} ({})",
                                t.name,
                                db.schema_version(),
                                path.display()
                            )
                            .ok();
                        } else {
                            writeln!(
                                out,
                                "{}: up to date (v{}, {})",
                                t.name,
                                db.schema_version(),
                                path.display()
                            )
                            .ok();
                        }
                    }
                    (_, Err(e)) if e.is_locked() => {
                        failed = true;
                        writeln!(
                            out,
                            "{}: {e}; stop the gateway first (it migrates at start too)",
                            t.name
                        )
                        .ok();
                    }
                    (_, Err(e)) | (Err(e), Ok(_)) => {
                        failed = true;
                        writeln!(out, "{}: {e}", t.name).ok();
                    }
                }
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// Backs up the credentials of each account target before a migration, saying so.
fn back_up_accounts(targets: &[Target], out: &mut impl Write) {
    for t in targets.iter().filter(|t| t.account) {
        match wagw_socket::store::AccountStore::back_up_unopened(&t.location) {
            Ok(true) => {
                writeln!(
                    out,
                    "{}: credentials backed up before the migration",
                    t.name
                )
                .ok();
            }
            Ok(false) => {}
            Err(e) => {
                writeln!(
                    out,
                    "{}: could not back up the credentials before the migration: {e}",
                    t.name
                )
                .ok();
            }
        }
    }
}
