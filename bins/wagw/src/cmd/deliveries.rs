//! `wagw deliveries list | replay`: the webhook outbox — through the running gateway, or on
//! the store directly when none runs (a replayed delivery then goes out when it starts).

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;

use super::direct::{Backend, backend, no_store};
use super::{Context, block_on};
use crate::client::segment;
use crate::error::CliError;
use wagw_http::model_agents::{DeliveryList, DeliveryView};

/// `wagw deliveries ...`
#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// Webhook deliveries in one state (default: dead).
    List {
        /// `pending`, `delivered` or `dead`.
        #[arg(long, default_value = "dead")]
        state: String,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Send a dead delivery again, with the same id (X-Wagw-Delivery) and body.
    Replay {
        /// The delivery id, as `deliveries list` shows it.
        id: String,
    },
}

/// Runs a `deliveries` subcommand.
pub fn run(cmd: DeliveriesCommand, ctx: &Context) -> Result<ExitCode, CliError> {
    let config = ctx.load_config()?;
    let mut out = std::io::stdout();
    match cmd {
        DeliveriesCommand::List { state, limit } => {
            let parsed = wagw_http::deliveries::state(Some(&state))
                .map_err(|e| CliError::Usage(e.to_string().replacen("state: ", "--state: ", 1)))?;
            let list = block_on(async {
                Ok::<_, CliError>(match backend(ctx, &config, false).await? {
                    Backend::Gateway(client) => {
                        client
                            .get::<DeliveryList>(&format!(
                                "/v1/deliveries?state={}&limit={limit}",
                                segment(&state)
                            ))
                            .await?
                            .deliveries
                    }
                    Backend::Store { store: None, .. } => Vec::new(),
                    Backend::Store { store: Some(s), .. } => {
                        wagw_http::deliveries::list(&s.outbox()?, parsed, limit)?
                    }
                })
            })??;
            print_list(&list, ctx.json, &mut out)
        }
        DeliveriesCommand::Replay { id } => {
            let view = block_on(async {
                Ok::<_, CliError>(match backend(ctx, &config, false).await? {
                    Backend::Gateway(client) => {
                        client
                            .post::<_, DeliveryView>(
                                &format!("/v1/deliveries/{}/replay", segment(&id)),
                                &serde_json::json!({}),
                            )
                            .await?
                    }
                    Backend::Store { store: None, url } => {
                        return Err(no_store(&config, &url, &format!("no delivery {id}")));
                    }
                    Backend::Store { store: Some(s), .. } => {
                        wagw_http::deliveries::replay(&s.outbox()?, &id).await?
                    }
                })
            })??;
            if ctx.json {
                writeln!(out, "{}", serde_json::to_string_pretty(&view)?).ok();
            } else {
                writeln!(
                    out,
                    "Replaying {} to agent {}: it is pending again (same id, attempts reset).",
                    view.id, view.agent_id
                )
                .ok();
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints deliveries.
pub fn print_list(
    list: &[DeliveryView],
    json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    if json {
        let v = DeliveryList {
            deliveries: list.to_vec(),
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?).ok();
    } else if list.is_empty() {
        writeln!(out, "No deliveries in that state.").ok();
    } else {
        writeln!(
            out,
            "{:<38} {:<10} {:<10} {:<9} {:>8}  LAST ERROR",
            "ID", "AGENT", "ACCOUNT", "STATE", "ATTEMPTS"
        )
        .ok();
        for d in list {
            writeln!(
                out,
                "{:<38} {:<10} {:<10} {:<9} {:>8}  {}",
                d.id,
                d.agent_id,
                d.account_id,
                d.state,
                d.attempts,
                d.last_error.as_deref().unwrap_or("-")
            )
            .ok();
        }
    }
    Ok(ExitCode::SUCCESS)
}
