//! `wagw pairing list | approve | reject`: over the running gateway's HTTP API, or on the
//! store directly when no gateway runs. The channel word of the reference's CLI
//! (`pairing approve whatsapp <CODE>`) is accepted.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use wagw_config::Config;

use super::channels::now_ms;
use super::direct::{Backend, backend, no_store};
use super::{Context, block_on};
use crate::access::AccessOps;
use crate::client::Client;
use crate::error::CliError;
use wagw_http::model::{PairingDecision, PairingDecisionRequest, PairingList};
use wagw_http::validate;

/// `wagw pairing ...`
#[derive(Debug, Subcommand)]
pub enum PairingCommand {
    /// Pending pairing requests: unknown senders who were sent a code.
    List {
        /// `whatsapp` (optional; the only channel).
        #[arg(value_name = "CHANNEL")]
        word: Option<String>,
        #[command(flatten)]
        channel_flag: super::ChannelArg,
        /// Only this account's requests.
        #[arg(long)]
        account: Option<String>,
    },
    /// Allow the sender who received CODE to talk to the agent.
    Approve(Decision),
    /// Drop the request with CODE.
    Reject(Decision),
}

/// `[whatsapp] <CODE> [--account A]`.
#[derive(Debug, Args)]
pub struct Decision {
    /// `[whatsapp] CODE`.
    #[arg(num_args = 1..=2, required = true, value_name = "CODE")]
    words: Vec<String>,
    /// Only this account's request.
    #[arg(long)]
    account: Option<String>,
    #[command(flatten)]
    channel: super::ChannelArg,
    /// Approve only: send the approved sender a short confirmation on WhatsApp.
    #[arg(long)]
    notify: bool,
}

/// Refuses a channel other than `whatsapp`; `(argument, value)` names where it was given.
pub fn channel_ok(channel: Option<(&str, &str)>) -> Result<(), CliError> {
    match channel {
        None => Ok(()),
        Some((_, c)) if c.eq_ignore_ascii_case("whatsapp") => Ok(()),
        Some((arg, other)) => Err(CliError::Usage(format!(
            "{arg}: unknown channel {other:?}; wagw serves one channel, `whatsapp`"
        ))),
    }
}

/// Runs a `pairing` subcommand.
pub fn run(cmd: PairingCommand, ctx: &Context) -> Result<ExitCode, CliError> {
    let config = ctx.load_config()?;
    let mut out = std::io::stdout();
    block_on(async {
        match cmd {
            PairingCommand::List {
                word,
                channel_flag,
                account,
            } => {
                channel_ok(word.as_deref().map(|c| ("CHANNEL", c)))?;
                channel_flag.check()?;
                let account = account
                    .as_deref()
                    .map(|a| validate::account_id("--account", a))
                    .transpose()?;
                if let Some(a) = &account {
                    config.resolve_account(a)?;
                }
                let mut list = match backend(ctx, &config, false).await? {
                    Backend::Gateway(client) => fetch_list(&client).await?,
                    Backend::Store { store: None, .. } => PairingList {
                        requests: Vec::new(),
                    },
                    Backend::Store { store: Some(s), .. } => PairingList {
                        requests: AccessOps::new(&s.access, &config).pairing_list(now_ms())?,
                    },
                };
                if let Some(a) = &account {
                    list.requests.retain(|r| r.account == a.as_str());
                }
                print_list(&list, ctx.json, now_ms(), &mut out)
            }
            PairingCommand::Approve(d) => decide(ctx, &config, d, true, &mut out).await,
            PairingCommand::Reject(d) => decide(ctx, &config, d, false, &mut out).await,
        }
    })?
}

/// `GET /v1/pairing/whatsapp`.
pub async fn fetch_list(client: &Client) -> Result<PairingList, CliError> {
    client.get("/v1/pairing/whatsapp").await
}

/// Prints the pending requests.
pub fn print_list(
    list: &PairingList,
    json: bool,
    now_ms: i64,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(list)?).ok();
    } else if list.requests.is_empty() {
        writeln!(out, "No pending pairing requests.").ok();
    } else {
        writeln!(
            out,
            "{:<10} {:<10} {:<18} {:<20} EXPIRES",
            "CODE", "ACCOUNT", "SENDER", "NAME"
        )
        .ok();
        for r in &list.requests {
            let mins = ((r.expires_at_ms - now_ms).max(0) + 59_999) / 60_000;
            writeln!(
                out,
                "{:<10} {:<10} {:<18} {:<20} in {mins}m",
                r.code,
                r.account,
                r.sender,
                r.name.as_deref().unwrap_or("-")
            )
            .ok();
        }
        writeln!(out, "\nApprove one with: wagw pairing approve <CODE>").ok();
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the pending requests of the gateway behind `client`.
#[cfg(test)]
pub async fn list(
    client: &Client,
    json: bool,
    now_ms: i64,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    let list = fetch_list(client).await?;
    print_list(&list, json, now_ms, out)
}

fn code_of(d: &Decision) -> Result<String, CliError> {
    match d.words.as_slice() {
        [code] => Ok(code.clone()),
        [channel, code] => {
            channel_ok(Some(("CHANNEL", channel)))?;
            Ok(code.clone())
        }
        _ => Err(CliError::Usage(
            "give the pairing code, e.g. `wagw pairing approve K7PQ2MZX`".to_owned(),
        )),
    }
}

/// Approves or rejects through the gateway behind `client`; `notify` (approve only) sends
/// the sender a confirmation.
pub async fn decide_http(
    client: &Client,
    code: String,
    account: Option<String>,
    approve: bool,
    notify: bool,
) -> Result<PairingDecision, CliError> {
    let path = if approve {
        "/v1/pairing/whatsapp/approve"
    } else {
        "/v1/pairing/whatsapp/reject"
    };
    client
        .post(
            path,
            &PairingDecisionRequest {
                code,
                account,
                notify,
            },
        )
        .await
}

async fn decide(
    ctx: &Context,
    config: &Config,
    d: Decision,
    approve: bool,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    d.channel.check()?;
    let code = code_of(&d)?;
    if d.notify && !approve {
        return Err(CliError::Usage(
            "--notify: only `wagw pairing approve` sends a confirmation".to_owned(),
        ));
    }
    let r = match backend(ctx, config, false).await? {
        Backend::Gateway(client) => {
            decide_http(&client, code, d.account, approve, d.notify).await?
        }
        Backend::Store { .. } if d.notify => {
            return Err(CliError::Usage(
                "--notify sends a WhatsApp message, which needs the running gateway: start it with `wagw gateway`, or approve without --notify".to_owned(),
            ));
        }
        Backend::Store { store: None, url } => {
            return Err(no_store(
                config,
                &url,
                &format!(
                    "no pending pairing request has code {}",
                    code.to_uppercase()
                ),
            ));
        }
        Backend::Store { store: Some(s), .. } => {
            let code = validate::pairing_code(&code)?;
            let account = d
                .account
                .as_deref()
                .map(|a| validate::account_id("account", a))
                .transpose()?;
            AccessOps::new(&s.access, config).pairing_decide(
                &code,
                account.as_ref(),
                approve,
                now_ms(),
            )?
        }
    };
    print_decision(&r, approve, ctx.json, out)
}

/// Prints an approval or rejection.
pub fn print_decision(
    r: &PairingDecision,
    approve: bool,
    json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(r)?).ok();
    } else if approve {
        writeln!(
            out,
            "Approved {} on account {}: their messages now reach the agent.",
            r.sender, r.account
        )
        .ok();
        if let Some(id) = &r.notified_message_id {
            writeln!(out, "They were told so on WhatsApp (message {id}).").ok();
        }
    } else {
        writeln!(out, "Rejected {} on account {}.", r.sender, r.account).ok();
    }
    Ok(ExitCode::SUCCESS)
}
