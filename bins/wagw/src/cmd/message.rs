//! `wagw message send`, through the running gateway (which chunks, plans media and paces).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use base64::Engine as _;
use clap::{Args, Subcommand};

use super::channels::account_or_default;
use super::{Context, block_on};
use crate::client::{Client, segment};
use crate::error::CliError;
use wagw_http::model::{MediaItem, SendMessageRequest, SendResponse};

/// `wagw message ...`
#[derive(Debug, Subcommand)]
pub enum MessageCommand {
    /// Send text and/or media from an account.
    Send(SendArgs),
}

/// `message send` options.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Recipient: +E.164 phone number, or a user or group JID.
    #[arg(long, visible_alias = "target")]
    pub to: String,
    /// The text (with media: the first item's caption).
    #[arg(long, short = 'm', visible_alias = "message")]
    pub text: Option<String>,
    /// A file or http(s) URL to send; repeat for several.
    #[arg(long, value_name = "FILE|URL")]
    pub media: Vec<String>,
    /// Send MP4 video as a looping GIF.
    #[arg(long)]
    pub gif_playback: bool,
    /// Quote this message id.
    #[arg(long, value_name = "MESSAGE_ID")]
    pub reply_to: Option<String>,
    /// Mention this user (+E.164 or a user JID); repeat for several. Write `@<number>` in
    /// the text where the mention shows.
    #[arg(long = "mention", value_name = "PHONE|JID")]
    pub mentions: Vec<String>,
    /// The sending account (default: the config's default account).
    #[arg(long)]
    pub account: Option<String>,
    /// Send nothing: print the chunks and the media plan for the account's settings (needs
    /// no running gateway).
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub channel: super::ChannelArg,
}

/// Runs a `message` subcommand.
pub fn run(cmd: MessageCommand, ctx: &Context) -> Result<ExitCode, CliError> {
    let MessageCommand::Send(args) = cmd;
    args.channel.check()?;
    let config = ctx.load_config()?;
    let account = account_or_default(&config, args.account.as_deref());
    let request = build(&args)?;
    if args.dry_run {
        let plan = block_on(super::dry_run::plan(&config, &account, &args))??;
        return super::dry_run::print(&plan, ctx.json, &mut std::io::stdout());
    }
    let client = ctx.client(&config)?;
    block_on(send(
        &client,
        &account,
        &request,
        ctx.json,
        &mut std::io::stdout(),
    ))?
}

/// The request: URLs are passed on, files are read and sent inline (base64), so the CLI
/// works against a gateway on another host.
pub fn build(args: &SendArgs) -> Result<SendMessageRequest, CliError> {
    // Refused here, naming the argument, before any file is read or the gateway is asked.
    wagw_core::Jid::from_target(&args.to).map_err(|e| {
        CliError::Usage(format!(
            "--to: {e} (expected +E.164 like +15551234567, or a JID like 120363012345678901@g.us)"
        ))
    })?;
    let mut media = Vec::new();
    for m in &args.media {
        if m.starts_with("http://") || m.starts_with("https://") {
            media.push(MediaItem {
                url: Some(m.clone()),
                path: None,
                base64: None,
                mime: None,
                file_name: None,
                caption: None,
            });
            continue;
        }
        let path = PathBuf::from(m);
        let bytes = std::fs::read(&path).map_err(|source| CliError::Io {
            what: "the media file",
            path: path.clone(),
            source,
        })?;
        media.push(MediaItem {
            url: None,
            path: None,
            base64: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            mime: None,
            file_name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
            caption: None,
        });
    }
    if args.text.as_deref().is_none_or(|t| t.trim().is_empty()) && media.is_empty() {
        return Err(CliError::Usage(
            "nothing to send: give --text, --media, or both".to_owned(),
        ));
    }
    Ok(SendMessageRequest {
        to: args.to.clone(),
        text: args.text.clone(),
        media,
        gif_playback: args.gif_playback,
        reply_to: args.reply_to.clone(),
        mentions: args.mentions.clone(),
        // Templates go through the HTTP API (`template` in the body); no CLI flag yet.
        template: None,
    })
}

/// Sends and prints the server-confirmed ids.
pub async fn send(
    client: &Client,
    account: &str,
    request: &SendMessageRequest,
    json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    let r: SendResponse = client
        .post(
            &format!("/v1/accounts/{}/messages", segment(account)),
            request,
        )
        .await?;
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&r)?).ok();
    } else {
        writeln!(
            out,
            "Sent from {account} to {}: {}",
            request.to,
            r.message_ids.join(", ")
        )
        .ok();
    }
    Ok(ExitCode::SUCCESS)
}
