//! Reply assembly and sending through a [`WaSocket`].
//!
//! Order of a reply: every media item is prepared and uploaded first; then each media
//! message (the first one carries the caption: the first text chunk), then the remaining
//! text chunks. An explicit send with a media item that fails sends nothing and says which
//! item and why ([`MediaFailurePolicy::AllOrNothing`]); an agent's reply leaves the item out
//! and sends its text, so no text is ever lost (the reference's Q7) and no internal detail
//! (URL, path, config key) reaches the contact ([`MediaFailurePolicy::SkipFailed`]). Transient send errors are retried ([`send_with_retry`]); a send
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
use crate::media::prepare::{PreparedMedia, prepare_media};
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
    /// True for an agent's reply: `NO_REPLY` silences it and `HEARTBEAT_OK` is stripped
    /// (reference §10.1). False for an explicit send (HTTP API, `wagw message send`), which
    /// goes out as written, as the reference's proactive send does (§10.2): an operator who
    /// types `NO_REPLY` means those words.
    pub reply_tokens: bool,
}

impl Default for TextSettings {
    fn default() -> Self {
        TextSettings {
            limit: DEFAULT_TEXT_CHUNK_LIMIT,
            mode: ChunkMode::Length,
            prefix: None,
            reply_tokens: true,
        }
    }
}

/// The chunks a text becomes: silent tokens (replies only, see
/// [`TextSettings::reply_tokens`]), prefix, chunking. Pure.
///
/// ```
/// use wagw_outbound::{plan_text, TextSettings};
/// let s = TextSettings { limit: 12, prefix: Some("[Ada]".into()), ..TextSettings::default() };
/// assert_eq!(plan_text("hello there world", &s), ["[Ada] hello", "there world"]);
/// assert!(plan_text("NO_REPLY", &s).is_empty());
/// let explicit = TextSettings { reply_tokens: false, ..TextSettings::default() };
/// assert_eq!(plan_text("NO_REPLY", &explicit), ["NO_REPLY"]);
/// ```
pub fn plan_text(text: &str, settings: &TextSettings) -> Vec<String> {
    let normalized = if settings.reply_tokens {
        normalize_reply_text(text)
    } else if text.trim().is_empty() {
        ReplyText::Silent
    } else {
        ReplyText::Send(text.trim_end().to_string())
    };
    match normalized {
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

/// What a media item that cannot be prepared or uploaded does to the rest of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaFailurePolicy {
    /// An explicit send (HTTP API, CLI): every item is loaded, checked, prepared and
    /// uploaded before the first message goes out; one failure sends nothing and is
    /// returned to the caller ([`MediaFailure`]).
    AllOrNothing,
    /// An agent's reply (nobody to answer): the failed item is left out and its caption goes
    /// as text. The contact never sees why (no URL, path or config key reaches a chat); the
    /// failure is in the report, for the operator's log, events and metrics.
    SkipFailed,
}

/// One media item of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyMedia {
    /// Where it comes from.
    pub source: MediaSource,
    /// Its own caption. Without one, the first item carries the first text chunk.
    pub caption: Option<String>,
}

impl From<MediaSource> for ReplyMedia {
    fn from(source: MediaSource) -> Self {
        ReplyMedia {
            source,
            caption: None,
        }
    }
}

/// What a reply says: text, media and the options every part carries.
#[derive(Debug, Clone, Copy)]
pub struct ReplyContent<'a> {
    /// The text (prefixed and chunked by [`TextSettings`]).
    pub text: &'a str,
    /// Media items, in send order.
    pub media: &'a [ReplyMedia],
    /// Users mentioned (`@…`) in the text messages and captions.
    pub mentions: &'a [Jid],
    /// Media options (`gifPlayback`).
    pub options: &'a MediaOptions,
}

/// A media item of an explicit send that could not be prepared or uploaded; nothing was sent.
#[derive(Debug, thiserror::Error)]
#[error("media[{index}] ({described}): {error}")]
pub struct MediaFailure {
    /// The item's position in the request (0-based).
    pub index: usize,
    /// The item, as [`MediaSource::describe`] shows it.
    pub described: String,
    /// Why.
    #[source]
    pub error: OutboundError,
}

/// Delivers an agent's reply (or an API send): media first with the caption on the first
/// item, then the text chunks. Never stops at the first failure: every text chunk is tried.
/// A failed media item is left out (see [`MediaFailurePolicy::SkipFailed`]).
pub async fn deliver_reply(
    outbox: &Outbox<'_>,
    target: &ReplyTarget,
    text: &str,
    media: &[MediaSource],
    text_settings: &TextSettings,
    caps: &MediaCaps,
    options: &MediaOptions,
) -> DeliveryReport {
    let media: Vec<ReplyMedia> = media.iter().cloned().map(ReplyMedia::from).collect();
    let content = ReplyContent {
        text,
        media: &media,
        mentions: &[],
        options,
    };
    match deliver(
        outbox,
        target,
        &content,
        text_settings,
        caps,
        MediaFailurePolicy::SkipFailed,
    )
    .await
    {
        Ok(report) => report,
        // SkipFailed never returns a failure; kept total rather than panicking.
        Err(failure) => DeliveryReport {
            failed: vec![FailedPart {
                part: format!("media[{}] {}", failure.index, failure.described),
                error: failure.error.to_string(),
            }],
            ..DeliveryReport::default()
        },
    }
}

/// One media item ready to send: uploaded, with its own caption.
struct Ready {
    prepared: PreparedMedia,
    upload: wagw_core::UploadedMedia,
    caption: Option<String>,
}

/// Delivers `content` to `target`: first every media item is loaded, checked (guards, caps,
/// the decompression-bomb guard on declared dimensions), prepared and uploaded; then the
/// media messages go out (the first item carries the first text chunk unless it has its own
/// caption), then the remaining text chunks. What a media failure does depends on `policy`.
pub async fn deliver(
    outbox: &Outbox<'_>,
    target: &ReplyTarget,
    content: &ReplyContent<'_>,
    text_settings: &TextSettings,
    caps: &MediaCaps,
    policy: MediaFailurePolicy,
) -> Result<DeliveryReport, MediaFailure> {
    let mut report = DeliveryReport::default();
    let mut chunks: std::collections::VecDeque<String> =
        plan_text(content.text, text_settings).into();
    let mut quote = target.quote.clone();
    let limits: ImageLimits = outbox.loader.settings().image_limits;

    // Prepare and upload everything before the first send.
    let mut ready: Vec<(usize, Ready)> = Vec::new();
    for (index, item) in content.media.iter().enumerate() {
        let result = match prepare_one(outbox, &item.source, caps, content.options, &limits).await {
            Ok(prepared) => upload_with_retry(outbox.socket, prepared.data.clone(), prepared.kind)
                .await
                .map(|upload| (prepared, upload))
                .map_err(OutboundError::from),
            Err(e) => Err(e),
        };
        match result {
            Ok((prepared, upload)) => {
                report.warnings.extend(prepared.warnings.clone());
                ready.push((
                    index,
                    Ready {
                        prepared,
                        upload,
                        caption: item.caption.clone(),
                    },
                ));
            }
            Err(error) => {
                let described = item.source.describe();
                tracing::warn!(target: "wagw::outbound", chat = %target.chat, index, media = %described, error = %error, "media failed");
                match policy {
                    MediaFailurePolicy::AllOrNothing => {
                        return Err(MediaFailure {
                            index,
                            described,
                            error,
                        });
                    }
                    MediaFailurePolicy::SkipFailed => report.failed.push(FailedPart {
                        part: format!("media[{index}] {described}"),
                        error: error.to_string(),
                    }),
                }
            }
        }
    }

    for (index, item) in ready {
        // The first item (when it went through and has no caption of its own) carries the
        // first text chunk; a voice note takes none, so the chunk stays text.
        let takes_first_chunk = index == 0 && item.caption.is_none() && !item.prepared.ptt;
        let caption = if takes_first_chunk {
            chunks.pop_front()
        } else {
            item.caption
        };
        let caption = match caption {
            // A voice note carries no caption: its own goes after it as text.
            Some(c) if item.prepared.ptt => {
                chunks.push_back(c);
                None
            }
            c => c,
        };
        let kind = item.prepared.kind;
        let media = item.prepared.into_outbound(item.upload, caption);
        let message = OutboundMessage {
            chat: target.chat.clone(),
            mentions: if media.caption.is_some() {
                content.mentions.to_vec()
            } else {
                Vec::new()
            },
            content: OutboundContent::Media(media),
            quote: quote.clone(),
        };
        match paced_send(outbox, target, &message).await {
            Ok(receipt) => {
                quote = None;
                report.sent.push(SentMessage {
                    kind: kind.as_str(),
                    id: receipt.id,
                    timestamp_ms: receipt.timestamp_ms,
                });
            }
            Err(e) => {
                tracing::warn!(target: "wagw::outbound", chat = %target.chat, index, error = %e, "media send failed");
                report.failed.push(FailedPart {
                    part: format!("media[{index}]"),
                    error: e.to_string(),
                });
            }
        }
    }
    for (i, chunk) in chunks.iter().enumerate() {
        send_text(
            outbox,
            target,
            chunk,
            content.mentions,
            &mut quote,
            &format!("text chunk {}", i + 1),
            &mut report,
        )
        .await;
    }
    Ok(report)
}

/// Loads, checks, plans and prepares one media item (nothing is uploaded or sent).
async fn prepare_one(
    outbox: &Outbox<'_>,
    source: &MediaSource,
    caps: &MediaCaps,
    options: &MediaOptions,
    limits: &ImageLimits,
) -> Result<PreparedMedia, OutboundError> {
    let loaded = outbox.loader.load(source).await?;
    let facts = MediaFacts::inspect(&loaded, limits);
    let plan = plan_media(&facts, caps, options, outbox.tools.ffmpeg.is_some());
    tracing::debug!(target: "wagw::outbound", media = %source.describe(), plan = ?plan.action, "media plan");
    prepare_media(loaded, &plan, outbox.tools, limits).await
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
    mentions: &[Jid],
    quote: &mut Option<OutboundQuote>,
    part: &str,
    report: &mut DeliveryReport,
) {
    let mut message = OutboundMessage::text(target.chat.clone(), text);
    message.quote = quote.clone();
    message.mentions = mentions.to_vec();
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
