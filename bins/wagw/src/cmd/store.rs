//! `wagw store status | migrate`: the databases wagw keeps — the gateway's state and each
//! account's WhatsApp protocol state — with their engine, file and schema version
//! (`docs/decisions/0002-storage.md`).

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
    /// Each store (the gateway's state, each account's protocol state): engine, file and
    /// schema version. Works while the gateway runs.
    Status,
    /// Bring every store to this wagw's schema version (stop the gateway first; the gateway
    /// also migrates at start).
    Migrate,
}

/// One store of the config.
struct Target {
    name: String,
    path: PathBuf,
}

fn targets(config: &wagw_config::Config) -> Vec<Target> {
    let mut out = vec![Target {
        name: "state".into(),
        path: super::direct::state_file(&config.gateway().data_dir),
    }];
    for a in config.accounts() {
        if a.transport == wagw_config::Transport::Sim {
            continue;
        }
        out.push(Target {
            name: format!("account {}", a.account_id),
            path: a.auth_dir.join(wagw_socket::store::STORE_FILE),
        });
    }
    out
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
}

fn status_row(t: &Target) -> Row {
    let mut row = Row {
        store: t.name.clone(),
        engine: "sqlite",
        path: t.path.clone(),
        schema_version: None,
        supported_version: wagw_store::SCHEMA_VERSION,
        status: "current",
        detail: None,
    };
    match wagw_store::inspect(&t.path) {
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
    row
}

/// Runs `wagw store …`.
pub fn run(cmd: StoreCommand, ctx: &Context) -> Result<ExitCode, CliError> {
    let config = ctx.load_config()?;
    let mut out = std::io::stdout();
    match cmd {
        StoreCommand::Status => {
            let rows: Vec<Row> = targets(&config).iter().map(status_row).collect();
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
            let mut failed = false;
            for t in targets(&config) {
                let before = wagw_store::inspect(&t.path);
                let options = wagw_store::OpenOptions {
                    create: false,
                    ..wagw_store::OpenOptions::default()
                };
                match (before, wagw_store::Db::open(&t.path, &options)) {
                    (Err(wagw_store::StoreError::NotFound { .. }), _) => {
                        writeln!(out, "{}: none yet ({})", t.name, t.path.display()).ok();
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
                                t.path.display()
                            )
                            .ok();
                        } else {
                            writeln!(
                                out,
                                "{}: up to date (v{}, {})",
                                t.name,
                                db.schema_version(),
                                t.path.display()
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
