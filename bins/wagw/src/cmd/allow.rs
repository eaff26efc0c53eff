//! `wagw allow list | add | remove`: the allow-store of senders approved by pairing or by
//! the operator — through the running gateway, or on the store directly when none runs.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use wagw_config::Config;
use wagw_core::DmPolicy;

use super::access::usage;
use super::channels::now_ms;
use super::direct::{Backend, backend};
use super::{Context, block_on};
use crate::access::AccessOps;
use crate::client::{Client, segment};
use crate::error::CliError;
use wagw_http::model_access::{AllowChange, AllowEntryView, AllowListView, AllowRequest};
use wagw_http::validate;

/// `wagw allow ...`
#[derive(Debug, Subcommand)]
pub enum AllowCommand {
    /// The allow-store's entries (every account unless --account).
    List {
        /// Only this account.
        #[arg(long)]
        account: Option<String>,
    },
    /// Let a sender in without pairing.
    Add(EntryArgs),
    /// Take a sender's approval back.
    Remove(EntryArgs),
}

/// `<ENTRY> [--account A]`.
#[derive(Debug, Args)]
pub struct EntryArgs {
    /// A phone number (any written form) or a LID (`123456789@lid`).
    #[arg(value_name = "PHONE|LID")]
    pub entry: String,
    /// The account (default: the config's default account).
    #[arg(long)]
    pub account: Option<String>,
}

/// Runs an `allow` subcommand.
pub fn run(cmd: AllowCommand, ctx: &Context) -> Result<ExitCode, CliError> {
    let config = ctx.load_config()?;
    let mut out = std::io::stdout();
    match cmd {
        AllowCommand::List { account } => {
            let acct = account
                .as_deref()
                .map(|a| validate::account_id("account", a))
                .transpose()
                .map_err(usage)?;
            let entries = block_on(async {
                Ok::<_, CliError>(match backend(ctx, &config, false).await? {
                    Backend::Gateway(client) => {
                        let path = match &account {
                            Some(a) => format!("/v1/allow/whatsapp?account={}", segment(a)),
                            None => "/v1/allow/whatsapp".to_owned(),
                        };
                        client.get::<AllowListView>(&path).await?.entries
                    }
                    Backend::Store { store: None, .. } => {
                        // Still refuse an unknown account.
                        if let Some(a) = &acct {
                            config.resolve_account(a)?;
                        }
                        Vec::new()
                    }
                    Backend::Store { store: Some(s), .. } => {
                        AccessOps::new(&s.access, &config).allow_list(acct.as_ref())?
                    }
                })
            })??;
            print_list(&entries, ctx.json, &mut out)
        }
        AllowCommand::Add(args) => change(ctx, &config, args, true, &mut out),
        AllowCommand::Remove(args) => change(ctx, &config, args, false, &mut out),
    }
}

/// Adds or removes through the gateway behind `client`.
pub async fn change_http(
    client: &Client,
    entry: &str,
    account: Option<&str>,
    add: bool,
) -> Result<AllowChange, CliError> {
    if add {
        client
            .post(
                "/v1/allow/whatsapp",
                &AllowRequest {
                    entry: entry.to_owned(),
                    account: account.map(str::to_owned),
                },
            )
            .await
    } else {
        let mut path = format!("/v1/allow/whatsapp/{}", segment(entry));
        if let Some(a) = account {
            path.push_str(&format!("?account={}", segment(a)));
        }
        client.delete(&path).await
    }
}

fn change(
    ctx: &Context,
    config: &Config,
    args: EntryArgs,
    add: bool,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    let entry = validate::allow_entry("entry", &args.entry).map_err(|e| match usage(e) {
        CliError::Usage(m) => CliError::Usage(m.replacen("--entry: ", "", 1)),
        other => other,
    })?;
    let account = args
        .account
        .as_deref()
        .map(|a| validate::account_id("account", a))
        .transpose()
        .map_err(usage)?;
    let ops_account = account.clone();
    let r = block_on(async {
        Ok::<_, CliError>(match backend(ctx, config, add).await? {
            Backend::Gateway(client) => {
                change_http(&client, &entry.to_string(), args.account.as_deref(), add).await?
            }
            Backend::Store { store: None, .. } => {
                // Removing from a store that does not exist: nothing to do.
                let acct = match &ops_account {
                    Some(a) => config.resolve_account(a)?,
                    None => config.default_account(),
                };
                AllowChange {
                    account: acct.account_id.to_string(),
                    entry: entry.to_string(),
                    changed: false,
                }
            }
            Backend::Store { store: Some(s), .. } => {
                let ops = AccessOps::new(&s.access, config);
                if add {
                    ops.allow_add(ops_account.as_ref(), entry.clone(), now_ms())?
                } else {
                    ops.allow_remove(ops_account.as_ref(), entry.clone())?
                }
            }
        })
    })??;
    if ctx.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&r)?).ok();
        return Ok(ExitCode::SUCCESS);
    }
    let line = match (add, r.changed) {
        (true, true) => format!(
            "Added {} to account {}'s allow-store: their messages now reach the agent.",
            r.entry, r.account
        ),
        (true, false) => format!(
            "{} was already in account {}'s allow-store.",
            r.entry, r.account
        ),
        (false, true) => format!(
            "Removed {} from account {}'s allow-store.",
            r.entry, r.account
        ),
        (false, false) => format!(
            "{} was not in account {}'s allow-store (entries in allowFrom live in the config).",
            r.entry, r.account
        ),
    };
    writeln!(out, "{line}").ok();
    let dm_policy = account
        .as_ref()
        .and_then(|a| config.resolve_account(a).ok())
        .unwrap_or_else(|| config.default_account())
        .dm_policy;
    if add && dm_policy == DmPolicy::Allowlist {
        writeln!(
            out,
            "note: account {} has dmPolicy \"allowlist\": for DMs only allowFrom in the config \
             counts; the allow-store still admits the sender in groups that fall back to it.",
            r.account
        )
        .ok();
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the entries.
pub fn print_list(
    entries: &[AllowEntryView],
    json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    if json {
        let v = AllowListView {
            entries: entries.to_vec(),
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?).ok();
    } else if entries.is_empty() {
        writeln!(
            out,
            "The allow-store is empty (senders in allowFrom are in the config)."
        )
        .ok();
    } else {
        writeln!(
            out,
            "{:<10} {:<22} {:<8} {:<20} LID",
            "ACCOUNT", "ENTRY", "SOURCE", "NAME"
        )
        .ok();
        for e in entries {
            writeln!(
                out,
                "{:<10} {:<22} {:<8} {:<20} {}",
                e.account,
                e.entry,
                e.source,
                e.name.as_deref().unwrap_or("-"),
                e.lid.as_deref().unwrap_or("-")
            )
            .ok();
        }
    }
    Ok(ExitCode::SUCCESS)
}
