//! What the gateway did on the simulated network: the messages it sent (the outbox), the
//! read receipts it sent and the chat presence it set. Serde types (camelCase) so the daemon
//! can serve them over HTTP.

use serde::{Deserialize, Serialize};
use wagw_core::{
    AccountId, ChatPresence, Jid, MediaKind, MessageId, MessageKey, OutboundContent,
    OutboundMessage,
};

/// What kind of message an outbox entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SimOutboxKind {
    /// Text.
    Text,
    /// Media (see [`SimOutboxEntry::media`]).
    Media,
    /// A reaction (empty emoji = removal).
    Reaction,
    /// A poll.
    Poll,
    /// An edit of an earlier message.
    Edit,
    /// A delete-for-everyone.
    Revoke,
}

/// The media part of an outbox entry, flattened for assertions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimOutboxMedia {
    /// The media kind it was uploaded as.
    pub kind: MediaKind,
    /// Declared MIME type.
    pub mime: String,
    /// File name, for documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Sent as a voice note.
    pub ptt: bool,
    /// Sent as a looping GIF.
    pub gif_playback: bool,
    /// Size of the uploaded blob in bytes.
    pub size: u64,
    /// Declared duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u32>,
    /// Declared width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Declared height.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// A JPEG thumbnail was attached.
    pub has_thumbnail: bool,
    /// A voice-note waveform was attached.
    pub has_waveform: bool,
    /// The simulator's handle for the blob (`SimNetwork::media_bytes` reads it).
    pub direct_path: String,
}

/// One message the gateway sent, as the simulated server accepted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimOutboxEntry {
    /// The sending account.
    pub account: AccountId,
    /// The server-assigned id.
    pub id: MessageId,
    /// The server timestamp, Unix milliseconds.
    pub timestamp_ms: i64,
    /// The destination chat, exactly as the gateway addressed it.
    pub chat: Jid,
    /// What kind of message.
    pub kind: SimOutboxKind,
    /// The readable text: the body, the media caption, the edit's new text or the poll
    /// question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The media, for media messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<SimOutboxMedia>,
    /// The quoted message, for replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<MessageKey>,
    /// Mentioned JIDs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Jid>,
    /// The message a reaction, edit or revoke points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<MessageKey>,
    /// The reaction emoji (empty = removal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    /// Poll options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poll_options: Vec<String>,
    /// False when the send failed with an unconfirmed time-out although the server kept the
    /// message (the `timeoutDelivered` send fault): the gateway was told it failed.
    pub confirmed: bool,
    /// The message exactly as the gateway passed it to `send`.
    pub message: OutboundMessage,
}

impl SimOutboxEntry {
    pub(crate) fn new(
        account: AccountId,
        id: MessageId,
        timestamp_ms: i64,
        message: OutboundMessage,
        confirmed: bool,
    ) -> SimOutboxEntry {
        let mut e = SimOutboxEntry {
            account,
            id,
            timestamp_ms,
            chat: message.chat.clone(),
            kind: SimOutboxKind::Text,
            text: None,
            media: None,
            quote: message.quote.as_ref().map(|q| q.key.clone()),
            mentions: message.mentions.clone(),
            target: None,
            emoji: None,
            poll_options: Vec::new(),
            confirmed,
            message: message.clone(),
        };
        match message.content {
            OutboundContent::Text { text } => e.text = Some(text),
            OutboundContent::Media(m) => {
                e.kind = SimOutboxKind::Media;
                e.text = m.caption.clone();
                e.media = Some(SimOutboxMedia {
                    kind: m.upload.kind,
                    mime: m.mime,
                    file_name: m.file_name,
                    ptt: m.ptt,
                    gif_playback: m.gif_playback,
                    size: m.upload.reference.file_length,
                    duration_secs: m.duration_secs,
                    width: m.width,
                    height: m.height,
                    has_thumbnail: m.thumbnail_jpeg.is_some(),
                    has_waveform: m.waveform.is_some(),
                    direct_path: m.upload.reference.direct_path,
                });
            }
            OutboundContent::Reaction { target, emoji } => {
                e.kind = SimOutboxKind::Reaction;
                e.target = Some(target);
                e.emoji = Some(emoji);
            }
            OutboundContent::Poll { name, options, .. } => {
                e.kind = SimOutboxKind::Poll;
                e.text = Some(name);
                e.poll_options = options;
            }
            OutboundContent::Edit { target, text } => {
                e.kind = SimOutboxKind::Edit;
                e.target = Some(target);
                e.text = Some(text);
            }
            OutboundContent::Revoke { target } => {
                e.kind = SimOutboxKind::Revoke;
                e.target = Some(target);
            }
            // Refused before it is posted (templates are the Cloud API's); named for the
            // record should one ever be kept.
            OutboundContent::Template(t) => e.text = Some(format!("template {}", t.name)),
        }
        e
    }

    /// The key of this message as the sending account sees it (quote or react to it).
    pub fn key(&self) -> MessageKey {
        MessageKey {
            chat: self.chat.clone(),
            id: self.id.clone(),
            from_me: true,
            participant: None,
        }
    }

    /// The media kind, for media messages.
    pub fn media_kind(&self) -> Option<MediaKind> {
        self.media.as_ref().map(|m| m.kind)
    }

    /// The caption, for media messages.
    pub fn caption(&self) -> Option<&str> {
        match self.kind {
            SimOutboxKind::Media => self.text.as_deref(),
            _ => None,
        }
    }
}

/// A read receipt the gateway sent (`WaSocket::mark_read`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimReadMark {
    /// The account.
    pub account: AccountId,
    /// The chat.
    pub chat: Jid,
    /// The group participant whose messages were read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<Jid>,
    /// The ids marked read.
    pub ids: Vec<MessageId>,
    /// When, Unix milliseconds.
    pub timestamp_ms: i64,
}

/// A chat presence the gateway set (`WaSocket::send_chat_presence`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimPresence {
    /// The account.
    pub account: AccountId,
    /// The chat.
    pub chat: Jid,
    /// Typing, recording or paused.
    pub presence: ChatPresence,
    /// When, Unix milliseconds.
    pub timestamp_ms: i64,
}
