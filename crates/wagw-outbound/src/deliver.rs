//! Reply assembly and sending through a [`WaSocket`].
//!
//! Order of a reply: each media item (the first one carries the caption: the first text
//! chunk), then the remaining text chunks. A media item that fails becomes a
//! `⚠️ Media failed: <reason>` message and its caption goes out as text, so no text is ever
//! lost (the reference's Q7). Transient send errors are retried ([`send_with_retry`]); a send
//! counts only with the server's confirmation ([`SendReceipt`]).

use std::time::Duration;

use serde::Serialize;
use wagw_core::{
    ChunkMode, Jid, MessageId, OutboundContent, OutboundMessage, OutboundQuote, SendReceipt,
    SocketError, WaSocket,
};

use crate::chunk::{DEFAULT_TEXT_CHUNK_LIMIT, chunk_text};
use crate::error::OutboundError;
use crate::media::image::ImageLimits;
use crate::media::plan::{MediaCaps, MediaFacts, MediaOptions, MediaPlan, plan_media};
use crate::media::prepare::prepare_media;
use crate::media::source::{MediaLoader, MediaSource};
use crate::media::tools::Tools;
use crate::pacing::Pacer;
use crate::reply_text::{ReplyText, apply_prefix, normalize_reply_text};

/// Attempts per send for transient errors (the reference's `sendWithRetry`).
pub const SEND_ATTEMPTS: u32 = 3;
/// Backoff unit: the n-th retry waits `n × 500 ms`.
pub const RETRY_BACKOFF_MS: u64 = 500;

/// Sends one message, retrying transient failures ([`SocketError::is_transient`]: closed,
/// reset, timed out, disconnected) up to [`SEND_ATTEMPTS`] attempts with `500·n` ms backoff.
/// Returns only with the server-confirmed receipt.
pub async fn send_with_retry(
    socket: &dyn WaSocket,
    message: &OutboundMessage,
) -> Result<SendReceipt, SocketError> {
    let mut attempt = 1;
    loop {
        match socket.send(message.clone()).await {
            Ok(receipt) => return Ok(receipt),
            Err(e) if e.is_transient() && attempt < SEND_ATTEMPTS => {
                tracing::warn!(target: "wagw::outbound", chat = %message.chat, attempt, error = %e, "transient send failure; retrying");
                tokio::time::sleep(Duration::from_millis(RETRY_BACKOFF_MS * u64::from(attempt)))
                    .await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// How a reply's text is shaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextSettings {
    /// `textChunkLimit` (characters).
    pub limit: usize,
    /// `chunkMode`.
    pub mode: ChunkMode,
    /// The rendered response prefix, if any (see [`crate::resolve_prefix_template`] and
    /// [`crate::render_prefix`]).
    pub prefix: Option<String>,
}

impl Default for TextSettings {
    fn default() -> Self {
        TextSettings {
            limit: DEFAULT_TEXT_CHUNK_LIMIT,
            mode: ChunkMode::Length,
            prefix: None,
        }
    }
}

/// The chunks a reply's text becomes: silent tokens, prefix, chunking. Pure.
///
/// ```
/// use wagw_outbound::{plan_text, TextSettings};
/// let s = TextSettings { limit: 12, prefix: Some("[Ada]".into()), ..TextSettings::default() };
/// assert_eq!(plan_text("hello there world", &s), ["[Ada] hello", "there world"]);
/// assert!(plan_text("NO_REPLY", &s).is_empty());
/// ```
pub fn plan_text(text: &str, settings: &TextSettings) -> Vec<String> {
    match normalize_reply_text(text) {
        ReplyText::Silent => Vec::new(),
        ReplyText::Send(t) => {
            let t = match &settings.prefix {
                Some(p) => apply_prefix(&t, p),
                None => t,
            };
            chunk_text(&t, settings.limit, settings.mode)
        }
    }
}

/// Everything a reply delivery needs besides the content.
#[derive(Debug, Clone)]
pub struct ReplyTarget {
    /// The chat to send to.
    pub chat: Jid,
    /// True for the owner's self-chat (bypasses pacing).
    pub is_self_chat: bool,
    /// Quote attached to the first message sent.
    pub quote: Option<OutboundQuote>,
}

/// The IO a delivery uses. The gateway builds one per account.
#[derive(Clone, Copy)]
pub struct Outbox<'a> {
    /// The account's connection.
    pub socket: &'a dyn WaSocket,
    /// Media loading (URLs, local roots).
    pub loader: &'a MediaLoader,
    /// External tools found (ffmpeg).
    pub tools: &'a Tools,
    /// The account's pacer; `None` sends at once.
    pub pacer: Option<&'a Pacer>,
}

/// One message the server confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentMessage {
    /// `"text"`, `"image"`, `"audio"`, ...
    pub kind: &'static str,
    /// The server-confirmed id.
    pub id: MessageId,
    /// The server's timestamp, Unix ms.
    pub timestamp_ms: i64,
}

/// One part of a reply that did not go out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedPart {
    /// What it was (`"text chunk 2"`, `"media https://…"`).
    pub part: String,
    /// Why.
    pub error: String,
}

/// What happened to a reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryReport {
    /// Confirmed messages, in send order.
    pub sent: Vec<SentMessage>,
    /// Parts that failed (media failures also produced a warning message to the user).
    pub failed: Vec<FailedPart>,
    /// Warnings from media planning (fallbacks, ignored options).
    pub warnings: Vec<String>,
}

impl DeliveryReport {
    /// True when every part went out.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }
}

/// The full plan of a reply, for `--dry-run`: chunks, and per media item its plan or why it
/// could not be loaded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyPlan {
    /// Text chunks in send order (the first is the caption when media is present).
    pub chunks: Vec<String>,
    /// The caption on the first media item.
    pub caption: Option<String>,
    /// One entry per media item.
    pub media: Vec<Result<MediaPlan, String>>,
}

/// Plans a reply without sending or encoding anything (loads media to inspect it).
pub async fn plan_reply(
    outbox: &Outbox<'_>,
    text: &str,
    media: &[MediaSource],
    text_settings: &TextSettings,
    caps: &MediaCaps,
    options: &MediaOptions,
) -> ReplyPlan {
    let chunks = plan_text(text, text_settings);
    let mut plans = Vec::new();
    for source in media {
        let plan = match outbox.loader.load(source).await {
            Ok(loaded) => {
                let facts = MediaFacts::inspect(&loaded, &outbox.loader.settings().image_limits);
                Ok(plan_media(
                    &facts,
                    caps,
                    options,
                    outbox.tools.ffmpeg.is_some(),
                ))
            }
            Err(e) => Err(e.to_string()),
        };
        plans.push(plan);
    }
    // Voice notes take no caption; then the first chunk goes as a text message.
    let first_takes_caption = plans.first().is_some_and(|p| {
        p.as_ref()
            .map_or(true, |p| p.kind != wagw_core::MediaKind::Audio)
    });
    let caption = if first_takes_caption {
        chunks.first().cloned()
    } else {
        None
    };
    ReplyPlan {
        chunks,
        caption,
        media: plans,
    }
}

/// Delivers an agent's reply (or an API send): media first with the caption on the first
/// item, then the text chunks. Never stops at the first failure: every text chunk is tried.
pub async fn deliver_reply(
    outbox: &Outbox<'_>,
    target: &ReplyTarget,
    text: &str,
    media: &[MediaSource],
    text_settings: &TextSettings,
    caps: &MediaCaps,
    options: &MediaOptions,
) -> DeliveryReport {
    let mut report = DeliveryReport::default();
    let mut chunks: std::collections::VecDeque<String> = plan_text(text, text_settings).into();
    let mut quote = target.quote.clone();
    let limits: ImageLimits = outbox.loader.settings().image_limits;

    for (index, source) in media.iter().enumerate() {
        let caption = if index == 0 { chunks.pop_front() } else { None };
        let result = send_one_media(
            outbox,
            target,
            source,
            caps,
            options,
            &limits,
            caption.clone(),
            &mut quote,
        )
        .await;
        match result {
            Ok((sent, warnings, caption_used)) => {
                report.sent.push(sent);
                report.warnings.extend(warnings);
                if !caption_used && let Some(c) = caption {
                    // Voice notes carry no caption: the text follows as a message.
                    chunks.push_front(c);
                }
            }
            Err(e) => {
                let reason = e.to_string();
                tracing::warn!(target: "wagw::outbound", chat = %target.chat, media = %source.describe(), error = %reason, "media failed");
                report.failed.push(FailedPart {
                    part: format!("media {}", source.describe()),
                    error: reason.clone(),
                });
                let notice = format!("⚠️ Media failed: {reason}");
                send_text(
                    outbox,
                    target,
                    &notice,
                    &mut quote,
                    "media failure notice",
                    &mut report,
                )
                .await;
                if let Some(c) = caption {
                    chunks.push_front(c);
                }
            }
        }
    }
    for (i, chunk) in chunks.iter().enumerate() {
        send_text(
            outbox,
            target,
            chunk,
            &mut quote,
            &format!("text chunk {}", i + 1),
            &mut report,
        )
        .await;
    }
    report
}

async fn paced_send(
    outbox: &Outbox<'_>,
    target: &ReplyTarget,
    message: &OutboundMessage,
) -> Result<SendReceipt, SocketError> {
    if let Some(pacer) = outbox.pacer {
        pacer
            .wait_turn(outbox.socket, &target.chat, target.is_self_chat)
            .await;
    }
    send_with_retry(outbox.socket, message).await
}

async fn send_text(
    outbox: &Outbox<'_>,
    target: &ReplyTarget,
    text: &str,
    quote: &mut Option<OutboundQuote>,
    part: &str,
    report: &mut DeliveryReport,
) {
    let mut message = OutboundMessage::text(target.chat.clone(), text);
    message.quote = quote.clone();
    match paced_send(outbox, target, &message).await {
        Ok(r) => {
            *quote = None;
            report.sent.push(SentMessage {
                kind: "text",
                id: r.id,
                timestamp_ms: r.timestamp_ms,
            });
        }
        Err(e) => {
            tracing::warn!(target: "wagw::outbound", chat = %target.chat, part, error = %e, "text send failed");
            report.failed.push(FailedPart {
                part: part.to_string(),
                error: e.to_string(),
            });
        }
    }
}

/// Loads, prepares, uploads and sends one media item. Returns the receipt, the warnings,
/// and whether the caption was attached.
#[allow(clippy::too_many_arguments)]
async fn send_one_media(
    outbox: &Outbox<'_>,
    target: &ReplyTarget,
    source: &MediaSource,
    caps: &MediaCaps,
    options: &MediaOptions,
    limits: &ImageLimits,
    caption: Option<String>,
    quote: &mut Option<OutboundQuote>,
) -> Result<(SentMessage, Vec<String>, bool), OutboundError> {
    let loaded = outbox.loader.load(source).await?;
    let facts = MediaFacts::inspect(&loaded, limits);
    let plan = plan_media(&facts, caps, options, outbox.tools.ffmpeg.is_some());
    tracing::debug!(target: "wagw::outbound", media = %source.describe(), plan = ?plan.action, "media plan");
    let prepared = prepare_media(loaded, &plan, outbox.tools, limits).await?;
    let warnings = prepared.warnings.clone();
    let kind = prepared.kind;
    let upload = upload_with_retry(outbox.socket, prepared.data.clone(), kind).await?;
    let media = prepared.into_outbound(upload, caption);
    let caption_used = media.caption.is_some();
    let message = OutboundMessage {
        chat: target.chat.clone(),
        content: OutboundContent::Media(media),
        quote: quote.clone(),
        mentions: Vec::new(),
    };
    let receipt = paced_send(outbox, target, &message).await?;
    *quote = None;
    Ok((
        SentMessage {
            kind: kind.as_str(),
            id: receipt.id,
            timestamp_ms: receipt.timestamp_ms,
        },
        warnings,
        caption_used,
    ))
}

async fn upload_with_retry(
    socket: &dyn WaSocket,
    data: bytes::Bytes,
    kind: wagw_core::MediaKind,
) -> Result<wagw_core::UploadedMedia, SocketError> {
    let mut attempt = 1;
    loop {
        match socket.upload_media(data.clone(), kind).await {
            Ok(u) => return Ok(u),
            Err(e) if e.is_transient() && attempt < SEND_ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(RETRY_BACKOFF_MS * u64::from(attempt)))
                    .await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
