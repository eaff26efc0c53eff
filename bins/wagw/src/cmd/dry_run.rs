//! `wagw message send --dry-run`: what the gateway would send, planned by `wagw-outbound`
//! with the account's settings (prefix, `textChunkLimit`, `chunkMode`, the explicit-send
//! media caps, `media.localRoots`), without a gateway and without sending or encoding.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;
use wagw_config::Config;
use wagw_outbound::{
    MediaAction, MediaCaps, MediaFacts, MediaLoader, MediaOptions, MediaSource, Tools, plan_media,
    plan_text,
};

use super::message::SendArgs;
use crate::error::CliError;

/// The `--json` shape: `{"chunks": [...], "media": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DryRun {
    /// Text messages in send order (with media, the first is the first item's caption).
    pub chunks: Vec<String>,
    /// One entry per media item.
    pub media: Vec<MediaLine>,
}

/// One media item's plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaLine {
    /// What was given (`--media`).
    pub source: String,
    /// `image`, `video`, `audio`, `document`, `sticker`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The MIME type it goes out as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
    /// Input size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Sent as a voice note.
    pub ptt: bool,
    /// Plays as a looping GIF.
    pub gif_playback: bool,
    /// Its caption.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// What is done to it (`imagePassThrough`, `imageSweep`, `gifToMp4`, `voiceNote`,
    /// `video`, `document`, `reject`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
    /// Warnings, or why it cannot be sent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Plans `args` for `account` of `config`.
pub async fn plan(config: &Config, account: &str, args: &SendArgs) -> Result<DryRun, CliError> {
    let id = account
        .parse()
        .map_err(|e| CliError::Usage(format!("--account: {e}")))?;
    let resolved = config.resolve_account(&id)?;
    // Without the linked number the CLI cannot tell a self-chat; plan as any other chat.
    let text_settings = wagw_gateway::outbound::text_settings(resolved, config, false, false);
    let mut chunks = plan_text(args.text.as_deref().unwrap_or_default(), &text_settings);
    let loader = MediaLoader::new(wagw_gateway::outbound::media_settings(config))
        .map_err(|e| CliError::Usage(format!("media settings: {e}")))?;
    let ffmpeg = Tools::detect().ffmpeg.is_some();
    let caps = MediaCaps::explicit();
    let options = MediaOptions {
        gif_playback: args.gif_playback,
    };
    let mut media = Vec::new();
    for (i, given) in args.media.iter().enumerate() {
        // Like `message send`: local files go inline (not through media.localRoots).
        let source = if given.starts_with("http://") || given.starts_with("https://") {
            MediaSource::parse(given).map_err(|e| CliError::Usage(format!("--media: {e}")))?
        } else {
            let path = PathBuf::from(given);
            let data = std::fs::read(&path).map_err(|source| CliError::Io {
                what: "the media file",
                path: path.clone(),
                source,
            })?;
            MediaSource::Bytes {
                data: data.into(),
                file_name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
                mime: None,
            }
        };
        let mut line = MediaLine {
            source: given.clone(),
            kind: None,
            mime: None,
            bytes: None,
            ptt: false,
            gif_playback: false,
            caption: None,
            transform: None,
            warnings: Vec::new(),
        };
        match loader.load(&source).await {
            Ok(loaded) => {
                let facts = MediaFacts::inspect(&loaded, &loader.settings().image_limits);
                let p = plan_media(&facts, &caps, &options, ffmpeg);
                line.kind = serde_json::to_value(p.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned));
                line.mime = Some(p.mime.clone());
                line.bytes = Some(p.size);
                line.ptt = matches!(p.action, MediaAction::VoiceNote { .. });
                line.gif_playback = matches!(
                    p.action,
                    MediaAction::GifToMp4 | MediaAction::Video { gif_playback: true }
                );
                line.transform = serde_json::to_value(&p.action)
                    .ok()
                    .and_then(|v| v["action"].as_str().map(str::to_owned));
                if let MediaAction::Reject { error } = &p.action {
                    line.warnings.push(error.clone());
                }
                line.warnings.extend(p.warnings);
                // The first item carries the first chunk, except a voice note (no caption).
                if i == 0 && !line.ptt && !chunks.is_empty() {
                    line.caption = Some(chunks.remove(0));
                }
            }
            Err(e) => line.warnings.push(e.to_string()),
        }
        media.push(line);
    }
    Ok(DryRun { chunks, media })
}

/// Prints the plan.
pub fn print(plan: &DryRun, json: bool, out: &mut dyn Write) -> Result<ExitCode, CliError> {
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(plan)?).ok();
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "Dry run: nothing is sent.").ok();
    for (i, m) in plan.media.iter().enumerate() {
        writeln!(
            out,
            "media {}: {} -> {} {} ({} bytes){}{}{}",
            i + 1,
            m.source,
            m.kind.as_deref().unwrap_or("?"),
            m.mime.as_deref().unwrap_or("?"),
            m.bytes.unwrap_or(0),
            m.transform
                .as_deref()
                .map(|t| format!(", {t}"))
                .unwrap_or_default(),
            if m.ptt { ", voice note" } else { "" },
            if m.gif_playback { ", gif playback" } else { "" },
        )
        .ok();
        if let Some(c) = &m.caption {
            writeln!(out, "  caption: {c}").ok();
        }
        for w in &m.warnings {
            writeln!(out, "  warning: {w}").ok();
        }
    }
    for (i, c) in plan.chunks.iter().enumerate() {
        writeln!(
            out,
            "chunk {}/{} ({} chars):\n{c}",
            i + 1,
            plan.chunks.len(),
            c.chars().count()
        )
        .ok();
    }
    Ok(ExitCode::SUCCESS)
}
