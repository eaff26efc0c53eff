//! `wagw accounts export ID FILE | import FILE`: move a linked account to another host or
//! storage engine (SQLite ↔ PostgreSQL) without scanning a QR code again. The file holds the
//! account's whole protocol state — secrets — and says so in its first field; it is written
//! 0600 and never over an existing file without `--force`. Both refuse while a gateway runs
//! the account: the gateway holds the account's store lock, which is how they know.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use wagw_config::{Config, ResolvedAccount, Transport};
use wagw_core::AccountId;
use wagw_socket::store::{AccountExport, AccountStore, StoreOptions};

use super::Context;
use crate::error::CliError;

/// `wagw accounts …`.
#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Write linked account ID's protocol state (its keys and sessions: secrets) to FILE,
    /// mode 0600, to import on another host or storage engine without a new QR scan. Stop
    /// the gateway first.
    Export {
        /// The account id.
        id: String,
        /// The file to write.
        file: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Load an account written by `wagw accounts export` into this config's store (the
    /// account must be configured here). Stop the gateway first.
    Import {
        /// The exported file.
        file: PathBuf,
        /// Replace a linked account already stored here.
        #[arg(long)]
        force: bool,
    },
}

/// Runs `wagw accounts …`.
pub fn run(cmd: AccountsCommand, ctx: &Context) -> Result<ExitCode, CliError> {
    let config = ctx.load_config()?;
    match cmd {
        AccountsCommand::Export { id, file, force } => export(&config, ctx, &id, &file, force),
        AccountsCommand::Import { file, force } => import(&config, ctx, &file, force),
    }
}

/// The account's store location; a simulated account has none.
fn location_of(
    config: &Config,
    account: &ResolvedAccount,
) -> Result<wagw_store::Location, CliError> {
    if account.transport == Transport::Sim {
        return Err(CliError::Failed(format!(
            "account {} runs on the simulator (transport: sim): it keeps no WhatsApp \
             protocol state to move",
            account.account_id
        )));
    }
    Ok(crate::storage::account(config, account)?)
}

/// Opens the account's store, taking its lock: a gateway running the account holds it, and
/// that refusal is said plainly.
fn open(
    id: &AccountId,
    location: &wagw_store::Location,
    action: &str,
) -> Result<(wagw_store::Db, AccountStore), CliError> {
    let store_err = |reason: String| CliError::Store {
        path: location.describe().to_path_buf(),
        reason,
    };
    // Held while the account store uses it: the same handle, so the lock check is this one.
    let held = location
        .open(&wagw_store::OpenOptions::default())
        .map_err(|e| {
            if e.is_locked() {
                CliError::Failed(format!(
                    "account {id} is running: a wagw gateway holds its store {} (locked). \
                     Stop that gateway, {action}, then start it again",
                    location.describe().display()
                ))
            } else {
                store_err(format!("cannot open it: {e}"))
            }
        })?;
    let store = AccountStore::open_at(location, StoreOptions::default())
        .map_err(|e| store_err(e.to_string()))?;
    Ok((held, store))
}

fn export(
    config: &Config,
    ctx: &Context,
    id: &str,
    file: &Path,
    force: bool,
) -> Result<ExitCode, CliError> {
    let id = AccountId::parse(id).map_err(|e| CliError::Usage(format!("ID: {e}")))?;
    let account = config.resolve_account(&id)?;
    let location = location_of(config, account)?;
    let exists = location.exists().map_err(|e| CliError::Store {
        path: location.describe().to_path_buf(),
        reason: format!("cannot read it: {e}"),
    })?;
    if !exists {
        return Err(CliError::Failed(format!(
            "account {id} has no protocol state at {}: it was never linked with this \
             config's storage (nothing to export)",
            location.describe().display()
        )));
    }
    refuse_existing(file, force)?;
    let (_held, store) = open(&id, &location, "export")?;
    let export = store
        .export(&id)
        .map_err(|e| CliError::Store {
            path: location.describe().to_path_buf(),
            reason: e.to_string(),
        })?
        .ok_or_else(|| {
            CliError::Failed(format!(
                "account {id} is not linked: nothing to export (link it with `wagw channels \
                 login --account {id}`)"
            ))
        })?;
    drop(store);
    write_private(file, &export.to_bytes(), force)?;
    let entries: usize = export.trees.values().map(Vec::len).sum();
    let mut out = std::io::stdout();
    if ctx.json {
        let v = serde_json::json!({
            "account": id.to_string(),
            "linkedAs": export.linked_as,
            "file": file,
            "entries": entries,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?).ok();
    } else {
        writeln!(
            out,
            "Exported account {id} (linked as {}) to {} ({entries} entries, mode 0600).\n\
             The file holds the account's secret keys: keep it private, and delete it once \
             imported with `wagw accounts import`.\n\
             Run the account in one place only: once it is imported elsewhere, do not start \
             it here again (two gateways on one link take the connection from each other).",
            export.linked_as,
            file.display()
        )
        .ok();
    }
    Ok(ExitCode::SUCCESS)
}

fn import(config: &Config, ctx: &Context, file: &Path, force: bool) -> Result<ExitCode, CliError> {
    let bytes = std::fs::read(file).map_err(|source| CliError::Io {
        what: "the account export",
        path: file.to_path_buf(),
        source,
    })?;
    let export = AccountExport::parse(&bytes).map_err(|e| {
        CliError::Usage(format!(
            "{} is not an importable account export: {e}",
            file.display()
        ))
    })?;
    let id = export
        .account_id()
        .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
    let account = config.resolve_account(&id).map_err(|_| {
        CliError::Usage(format!(
            "{} holds account {id}, which this config does not have (accounts: {}); add \
             `{id}: {{}}` under channels.whatsapp.accounts, then import",
            file.display(),
            config
                .accounts()
                .iter()
                .map(|a| a.account_id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let location = location_of(config, account)?;
    if let wagw_store::Location::Sqlite(_) = &location {
        wagw_socket::auth_dir::claim(&account.auth_dir).map_err(|e| CliError::Store {
            path: account.auth_dir.clone(),
            reason: e.to_string(),
        })?;
    }
    let (_held, store) = open(&id, &location, "import")?;
    let store_err = |e: wagw_socket::Error| CliError::Store {
        path: location.describe().to_path_buf(),
        reason: e.to_string(),
    };
    if let Some(current) = store.linked_as().map_err(store_err)?
        && !force
    {
        return Err(CliError::Failed(format!(
            "account {id} is already linked here (as {current}); pass --force to replace it \
             with the imported one ({})",
            export.linked_as
        )));
    }
    store.import(&export).map_err(store_err)?;
    drop(store);
    let mut out = std::io::stdout();
    if ctx.json {
        let v = serde_json::json!({
            "account": id.to_string(),
            "linkedAs": export.linked_as,
            "store": location.describe(),
            "engine": location.engine(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?).ok();
    } else {
        writeln!(
            out,
            "Imported account {id} (linked as {}) into {} ({}).\n\
             Start the gateway: the account connects without a new QR scan. Delete {} now, \
             and do not run the account where it was exported from.",
            export.linked_as,
            location.describe().display(),
            location.engine(),
            file.display()
        )
        .ok();
    }
    Ok(ExitCode::SUCCESS)
}

/// An existing FILE is replaced only with `--force`.
fn refuse_existing(file: &Path, force: bool) -> Result<(), CliError> {
    match std::fs::symlink_metadata(file) {
        Ok(m) if m.is_dir() => Err(CliError::Usage(format!(
            "FILE: {} is a folder; name a file",
            file.display()
        ))),
        Ok(_) if !force => Err(CliError::Failed(format!(
            "{} already exists; not overwriting it (pass --force to replace it)",
            file.display()
        ))),
        _ => Ok(()),
    }
}

/// Writes the export through a new 0600 file beside FILE, renamed over it: FILE is never
/// readable by others, not even while it is written.
fn write_private(file: &Path, bytes: &[u8], force: bool) -> Result<(), CliError> {
    let write_err = |source| CliError::Write {
        path: file.to_path_buf(),
        source,
    };
    let name = file
        .file_name()
        .ok_or_else(|| CliError::Usage(format!("FILE: {} is not a file name", file.display())))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".wagw-tmp");
    let tmp = file.with_file_name(tmp_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp).map_err(write_err)?;
    let written = f.write_all(bytes).and_then(|()| f.sync_all());
    drop(f);
    let placed = written.and_then(|()| {
        if force {
            std::fs::rename(&tmp, file)
        } else {
            // Not over a file that appeared meanwhile.
            std::fs::hard_link(&tmp, file).and_then(|()| std::fs::remove_file(&tmp))
        }
    });
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_err(e));
    }
    Ok(())
}
