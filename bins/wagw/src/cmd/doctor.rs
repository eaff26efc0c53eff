//! `wagw doctor`: checks the setup from the config file to each account's connection and
//! prints, for everything that is off, the command or setting that fixes it.

use std::io::Write;
use std::process::ExitCode;

use super::{Context, block_on};
use crate::client::Client;
use crate::daemon::token;
use crate::error::CliError;
use wagw_http::model::{AccountList, Readiness};

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Passed.
    pub ok: bool,
    /// What was checked and what was found.
    pub what: String,
    /// What to do, when it failed.
    pub fix: Option<String>,
}

fn ok(what: impl Into<String>) -> Check {
    Check {
        ok: true,
        what: what.into(),
        fix: None,
    }
}

fn fail(what: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        ok: false,
        what: what.into(),
        fix: Some(fix.into()),
    }
}

/// Runs every check and prints the report; exit 1 when any failed.
pub fn run(ctx: &Context) -> Result<ExitCode, CliError> {
    let mut checks = Vec::new();
    let config = match ctx.load_config() {
        Ok(c) => {
            checks.push(ok(format!(
                "config {} is valid ({} warning(s))",
                c.source()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                c.warnings().len()
            )));
            Some(c)
        }
        Err(e) => {
            checks.push(fail(format!("config: {e}"), "fix the problems listed (`wagw config check` shows each with its line), or create one with `wagw config init`"));
            None
        }
    };
    if let Some(config) = &config {
        checks.extend(local_checks(config));
        checks.extend(sled_checks(config));
        let client = ctx.client(config)?;
        let reachable = block_on(client.healthy())?.is_ok();
        checks.extend(block_on(gateway_checks(&client))??);
        if !reachable {
            // No gateway holds the store: check that it opens, as the gateway will need it.
            checks.push(store_check(config, client.base()));
            checks.extend(link_checks(config));
        }
    }
    let mut out = std::io::stdout();
    print(&checks, ctx.json, &mut out)?;
    Ok(if checks.iter().all(|c| c.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print(checks: &[Check], json: bool, out: &mut dyn Write) -> Result<(), CliError> {
    if json {
        let v: Vec<_> = checks
            .iter()
            .map(|c| serde_json::json!({"ok": c.ok, "check": c.what, "fix": c.fix}))
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?).ok();
        return Ok(());
    }
    for c in checks {
        writeln!(out, "{} {}", if c.ok { "ok  " } else { "FAIL" }, c.what).ok();
        if let Some(fix) = &c.fix {
            writeln!(out, "     fix: {fix}").ok();
        }
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    writeln!(
        out,
        "\n{}",
        if failed == 0 {
            "All checks passed.".to_owned()
        } else {
            format!("{failed} check(s) failed.")
        }
    )
    .ok();
    Ok(())
}

/// Data dir and token file permissions, without a gateway.
pub fn local_checks(config: &wagw_config::Config) -> Vec<Check> {
    let mut checks = Vec::new();
    let dir = &config.gateway().data_dir;
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = m.permissions().mode() & 0o777;
                if mode & 0o077 == 0 {
                    checks.push(ok(format!("data dir {} is private ({mode:o})", dir.display())));
                } else {
                    checks.push(fail(format!("data dir {} is readable by others ({mode:o})", dir.display()),
                        format!("chmod 700 {}", dir.display())));
                }
            }
            #[cfg(not(unix))]
            checks.push(ok(format!("data dir {} exists", dir.display())));
        }
        Ok(_) => checks.push(fail(format!("data dir {} is not a folder", dir.display()),
            "point gateway.dataDir (or WAGW_DATA_DIR) at a folder")),
        Err(_) => checks.push(fail(format!("data dir {} does not exist yet", dir.display()),
            "start the gateway once (`wagw gateway`) or run `wagw token`; both create it with mode 700")),
    }
    let configured = config
        .gateway()
        .token
        .as_deref()
        .is_some_and(|t| !t.trim().is_empty());
    if configured {
        checks.push(ok("API token: configured (WAGW_TOKEN or gateway.token)"));
    } else {
        let path = token::token_path(dir);
        #[cfg(unix)]
        match crate::daemon::files::mode(&path) {
            Ok(mode) if mode & 0o077 == 0 => checks.push(ok(format!(
                "API token file {} is private ({mode:o})",
                path.display()
            ))),
            Ok(mode) => checks.push(fail(
                format!(
                    "API token file {} is readable by others ({mode:o})",
                    path.display()
                ),
                format!(
                    "chmod 600 {} (and consider rotating it: delete it and restart the gateway)",
                    path.display()
                ),
            )),
            Err(_) => checks.push(fail(
                format!("no API token yet ({} missing)", path.display()),
                "run `wagw token` or start the gateway; it is generated on first start",
            )),
        }
    }
    if !config.gateway().listen.ip().is_loopback() && !configured {
        checks.push(fail(
            format!(
                "gateway.listen {} is not loopback and no token is configured",
                config.gateway().listen
            ),
            "set gateway.token (or WAGW_TOKEN), or listen on 127.0.0.1",
        ));
    }
    if let Some(token) = config.gateway().token.as_deref().map(str::trim)
        && !token.is_empty()
        && !config.gateway().listen.ip().is_loopback()
        && let Some(why) = crate::daemon::token::weakness(token)
    {
        checks.push(fail(
            format!(
                "gateway.listen {} is reachable from the network and the token is too weak: {why}",
                config.gateway().listen
            ),
            "set gateway.token (or WAGW_TOKEN) to the output of `openssl rand -hex 32`",
        ));
    }
    checks
}

/// Folders an earlier wagw left on the sled database (before the SQLite store), which this
/// version does not read: the state folder and each account's authDir. Nothing released
/// used sled, so there is nothing to migrate; doctor says what to delete and relink.
pub fn sled_checks(config: &wagw_config::Config) -> Vec<Check> {
    let mut checks = Vec::new();
    let state = super::direct::state_dir(&config.gateway().data_dir);
    let found = wagw_store::sled_leftovers(&state);
    if !found.is_empty() {
        checks.push(fail(
            format!(
                "{} holds a database of an earlier wagw (sled: {}), which this version does not read",
                state.display(),
                found.join(", ")
            ),
            format!(
                "stop wagw and delete those entries from {} (pairing requests, the allow-store \
                 and the outbox start empty; re-approve senders with `wagw allow add`)",
                state.display()
            ),
        ));
    }
    for account in config.accounts().iter().filter(|a| a.enabled) {
        let found = wagw_store::sled_leftovers(&account.auth_dir);
        if found.is_empty() {
            continue;
        }
        let id = &account.account_id;
        checks.push(fail(
            format!(
                "account {id}: {} holds protocol state of an earlier wagw (sled: {}), which this \
                 version does not read",
                account.auth_dir.display(),
                found.join(", ")
            ),
            format!(
                "relink the account: stop wagw, delete those entries from {}, then run \
                 `wagw channels login --account {id}`",
                account.auth_dir.display()
            ),
        ));
    }
    checks
}

/// Whether each enabled account is linked, from its transport's own record (only while no
/// gateway runs: it holds the protocol stores).
fn link_checks(config: &wagw_config::Config) -> Vec<Check> {
    use super::channels::{OfflineLink, offline_link};
    config
        .accounts()
        .iter()
        .filter(|a| a.enabled)
        .map(|a| {
            let id = &a.account_id;
            match offline_link(config, a) {
                OfflineLink::Simulated => ok(format!("account {id}: runs on the simulator")),
                OfflineLink::Linked(p) => ok(format!("account {id}: linked as {p}")),
                OfflineLink::NotLinked => fail(
                    format!("account {id}: not linked"),
                    format!("wagw channels login --account {id} (scan the QR)"),
                ),
                OfflineLink::Unknown(e) if e.contains("not a wagw database or is damaged") => fail(
                    format!("account {id}: its protocol store cannot be read: {e}"),
                    format!("move the file it names aside, then relink with `wagw channels login --account {id}` (the gateway runs the other accounts meanwhile)"),
                ),
                OfflineLink::Unknown(e) => fail(
                    format!("account {id}: link state unknown: {e}"),
                    "check the authDir's permissions; if another gateway holds it, point WAGW_URL at that gateway",
                ),
            }
        })
        .collect()
}

/// Whether the state database at `<dataDir>/state` opens (only while no gateway runs: the
/// gateway holds it exclusively). Nothing is created when there is no store yet.
fn store_check(config: &wagw_config::Config, url: &str) -> Check {
    let dir = &config.gateway().data_dir;
    match super::direct::DirectStore::open(config, url, false) {
        Ok(Some(store)) => ok(format!("state store {} opens", store.path().display())),
        Ok(None) => ok(match &config.storage().url {
            Some(db) => {
                format!("no state store yet in {db} (the gateway creates it on first start)")
            }
            None => format!(
                "no state store yet in {} (the gateway creates it on first start)",
                dir.display()
            ),
        }),
        Err(e) if config.storage().url.is_some() => fail(
            format!("state store: {e}"),
            "check that the PostgreSQL server answers and storage.url (or WAGW_DATABASE_URL) is right; if another gateway holds it, point WAGW_URL at that gateway",
        ),
        Err(e) => fail(
            format!("state store: {e}"),
            "check the data dir's permissions and free space; if another gateway holds it, point WAGW_URL at that gateway",
        ),
    }
}

/// Reachability, token, readiness (store open, accounts started), each account's state.
pub async fn gateway_checks(client: &Client) -> Result<Vec<Check>, CliError> {
    let mut checks = Vec::new();
    if let Err(e) = client.healthy().await {
        let what = match e {
            CliError::Unreachable { url, reason } => {
                format!("gateway not reachable at {url} ({reason})")
            }
            other => format!("gateway: {other}"),
        };
        checks.push(fail(
            what,
            "start it with `wagw gateway` (or check gateway.listen / WAGW_URL)",
        ));
        return Ok(checks);
    }
    checks.push(ok(format!("gateway reachable at {}", client.base())));
    match client.get::<Readiness>("/readyz").await {
        Ok(r) if r.ready => checks.push(ok("gateway ready (store open, accounts started)")),
        Ok(r) => checks.push(fail(
            format!("gateway not ready: {}", r.message.unwrap_or_default()),
            "see the gateway's log",
        )),
        Err(CliError::Api { status: 401, .. }) => {
            checks.push(fail("the gateway rejected this CLI's token",
                "the CLI and the gateway must see the same WAGW_TOKEN / gateway.token / data dir; `wagw token` prints the one the CLI uses"));
            return Ok(checks);
        }
        // 503 carries a Readiness body too, but as an error here.
        Err(CliError::Api { message, .. }) => checks.push(fail(
            format!("gateway not ready: {message}"),
            "see the gateway's log",
        )),
        Err(e) => return Err(e),
    }
    let list: AccountList = client.get("/v1/accounts").await?;
    for a in &list.accounts {
        let id = &a.id;
        checks.push(if !a.enabled {
            ok(format!("account {id}: disabled"))
        } else if a.state == "failed" {
            fail(
                format!("account {id}: failed to start: {}", a.detail.clone().unwrap_or_default()),
                format!("the other accounts run; do what the reason says, then restart the gateway (or `wagw channels login --account {id}` once the store was moved aside)"),
            )
        } else if !a.linked {
            fail(format!("account {id}: not linked"), format!("wagw channels login --account {id} (scan the QR on the gateway host)"))
        } else if a.connected {
            ok(format!("account {id}: linked and connected{}", a.self_phone.as_ref().map(|p| format!(" as {p}")).unwrap_or_default()))
        } else if !a.running {
            fail(format!("account {id}: linked but stopped ({})", a.detail.clone().or(a.last_error.clone()).unwrap_or_else(|| a.state.clone())),
                "restart the gateway; if WhatsApp logged the device out, relink with `wagw channels login --account <id>`".replace("<id>", id))
        } else {
            fail(format!("account {id}: linked but disconnected (state {}, reconnectAttempts={}){}", a.state, a.reconnect_attempts,
                a.last_error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()),
                format!("check the host's network and the gateway log; if it persists, relink with `wagw channels login --account {id} --force`"))
        });
    }
    Ok(checks)
}
