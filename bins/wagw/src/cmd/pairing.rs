//! `wagw pairing list | approve | reject`, over the running gateway's HTTP API. The
//! channel word of the reference's CLI (`pairing approve whatsapp <CODE>`) is accepted.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::channels::now_ms;
use super::{Context, block_on};
use crate::client::Client;
use crate::error::CliError;
use crate::http::model::{PairingDecision, PairingDecisionRequest, PairingList};

/// `wagw pairing ...`
#[derive(Debug, Subcommand)]
pub enum PairingCommand {
    /// Pending pairing requests: unknown senders who were sent a code.
    List {
        /// `whatsapp` (optional; the only channel).
        channel: Option<String>,
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
}

fn channel_ok(channel: Option<&str>) -> Result<(), CliError> {
    match channel {
        None | Some("whatsapp") => Ok(()),
        Some(other) => Err(CliError::Usage(format!(
            "unknown channel {other:?}: wagw only serves `whatsapp`"
        ))),
    }
}

/// Runs a `pairing` subcommand.
pub fn run(cmd: PairingCommand, ctx: &Context) -> Result<ExitCode, CliError> {
    let config = ctx.load_config()?;
    let client = ctx.client(&config)?;
    let mut out = std::io::stdout();
    match cmd {
        PairingCommand::List { channel } => {
            channel_ok(channel.as_deref())?;
            block_on(list(&client, ctx.json, now_ms(), &mut out))?
        }
        PairingCommand::Approve(d) => block_on(decide(&client, d, true, ctx.json, &mut out))?,
        PairingCommand::Reject(d) => block_on(decide(&client, d, false, ctx.json, &mut out))?,
    }
}

/// Prints the pending requests.
pub async fn list(
    client: &Client,
    json: bool,
    now_ms: i64,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    let list: PairingList = client.get("/v1/pairing/whatsapp").await?;
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&list)?).ok();
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

async fn decide(
    client: &Client,
    d: Decision,
    approve: bool,
    json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    let code = match d.words.as_slice() {
        [code] => code.clone(),
        [channel, code] => {
            channel_ok(Some(channel))?;
            code.clone()
        }
        _ => {
            return Err(CliError::Usage(
                "give the pairing code, e.g. `wagw pairing approve K7PQ2MZX`".to_owned(),
            ));
        }
    };
    let path = if approve {
        "/v1/pairing/whatsapp/approve"
    } else {
        "/v1/pairing/whatsapp/reject"
    };
    let r: PairingDecision = client
        .post(
            path,
            &PairingDecisionRequest {
                code,
                account: d.account,
            },
        )
        .await?;
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&r)?).ok();
    } else if approve {
        writeln!(
            out,
            "Approved {} on account {}: their messages now reach the agent.",
            r.sender, r.account
        )
        .ok();
    } else {
        writeln!(out, "Rejected {} on account {}.", r.sender, r.account).ok();
    }
    Ok(ExitCode::SUCCESS)
}
