//! `wagw access explain`: what the access engine decides for a described message, why, and
//! which config key decided it — through the running gateway (its live store, linked
//! identity and LID mapping), or on the store directly when no gateway runs.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use wagw_access::{LidMap, SelfIdentity};

use super::channels::now_ms;
use super::direct::{Backend, backend};
use super::{Context, block_on};
use crate::access::{AccessOps, explain_without_store};
use crate::error::CliError;
use wagw_http::error::ApiError;
use wagw_http::model_access::{ExplainRequest, ExplainView};
use wagw_http::validate;

/// `wagw access ...`
#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Why would a message from someone be answered, challenged or dropped? Runs the real
    /// access engine against the config and the store and names the deciding config key.
    Explain(ExplainArgs),
}

/// `access explain` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  wagw access explain --from +15551234567\n  wagw access explain --from +15551234567 --group 120363012345678901@g.us --mentioned\n  wagw access explain --from 123456789@lid --account work --json"
)]
pub struct ExplainArgs {
    /// The sender: a phone number (any written form), a user JID or a LID (`…@lid`).
    #[arg(long, value_name = "PHONE|JID|LID")]
    pub from: String,
    /// The receiving account (default: the config's default account).
    #[arg(long)]
    pub account: Option<String>,
    /// Decide a message in this group (`…@g.us`) instead of a DM.
    #[arg(long, value_name = "JID")]
    pub group: Option<String>,
    /// The message mentions the bot.
    #[arg(long)]
    pub mentioned: bool,
    /// The message replies to one of the bot's.
    #[arg(long)]
    pub reply_to_bot: bool,
    /// The message was sent by the account itself (from the phone).
    #[arg(long)]
    pub from_me: bool,
    /// The message text (checked for owner commands like `/activation always`).
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,
}

impl ExplainArgs {
    /// The request body, as the HTTP route takes it.
    pub fn request(&self) -> ExplainRequest {
        ExplainRequest {
            from: self.from.clone(),
            account: self.account.clone(),
            group: self.group.clone(),
            mentioned: self.mentioned,
            reply_to_bot: self.reply_to_bot,
            from_me: self.from_me,
            text: self.text.clone(),
        }
    }
}

/// A 422 from validation as a usage error naming the flag (`--from`, not `from`).
pub fn usage(e: ApiError) -> CliError {
    match e {
        ApiError::Invalid {
            field: Some(field),
            message,
        } => {
            let flag: String = field
                .chars()
                .flat_map(|c| {
                    if c.is_ascii_uppercase() {
                        vec!['-', c.to_ascii_lowercase()]
                    } else {
                        vec![c]
                    }
                })
                .collect();
            let message = message
                .strip_prefix(&format!("{field}: "))
                .unwrap_or(&message)
                .to_owned();
            CliError::Usage(format!("--{flag}: {message}"))
        }
        other => other.into(),
    }
}

/// Runs an `access` subcommand.
pub fn run(cmd: AccessCommand, ctx: &Context) -> Result<ExitCode, CliError> {
    let AccessCommand::Explain(args) = cmd;
    let config = ctx.load_config()?;
    let request = args.request();
    // The same checks as the route, before anything is contacted or opened.
    let (account, input) = validate::explain(request.clone()).map_err(usage)?;
    let (view, note) = block_on(async {
        Ok::<_, CliError>(match backend(ctx, &config, false).await? {
            Backend::Gateway(client) => {
                let view: ExplainView = client.post("/v1/access/explain", &request).await?;
                (view, None)
            }
            Backend::Store { store: None, url } => (
                explain_without_store(&config, account.as_ref(), &input, now_ms())?,
                Some(format!(
                    "no gateway answers at {url} and there is no store yet: decided with an \
                     empty allow-store; the linked number is unknown, so only configured owners count"
                )),
            ),
            Backend::Store {
                store: Some(s),
                url,
            } => (
                AccessOps::new(&s.access, &config).explain(
                    account.as_ref(),
                    &input,
                    SelfIdentity::default(),
                    LidMap::new(),
                    now_ms(),
                )?,
                Some(format!(
                    "no gateway answers at {url}: decided against the store {} directly; the \
                     linked number and LID mapping are known only to a running gateway",
                    s.path().display()
                )),
            ),
        })
    })??;
    print(&view, note.as_deref(), ctx.json, &mut std::io::stdout())
}

/// Prints the decision (the note, if any, goes to stderr so `--json` stays clean).
pub fn print(
    view: &ExplainView,
    note: Option<&str>,
    json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    if let Some(n) = note {
        eprintln!("note: {n}");
    }
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(view)?).ok();
    } else {
        writeln!(out, "{}", view.to_line()).ok();
        writeln!(out, "  account: {}   sender: {}", view.account, view.sender).ok();
    }
    Ok(ExitCode::SUCCESS)
}
