//! The message model: what arrives from WhatsApp, what the gateway sends, and receipts.
//!
//! These types are the border format between transports (real or simulated) and the rest of
//! wagw. Field names are stable and serialize in camelCase; timestamps are Unix milliseconds.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::identity::{AccountId, Jid, Sender};

/// A WhatsApp message id (the stanza id), as the server or the sender assigned it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub String);

impl MessageId {
    /// Wraps a string id.
    pub fn new(id: impl Into<String>) -> MessageId {
        MessageId(id.into())
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Identifies one message in one chat: what reactions, edits, revokes and quotes point at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageKey {
    /// The chat the message is in.
    pub chat: Jid,
    /// The message id.
    pub id: MessageId,
    /// True when this account sent the message.
    pub from_me: bool,
    /// In groups, who sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<Jid>,
}

/// Kinds of media WhatsApp carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// A photo.
    Image,
    /// A video (also GIFs, which WhatsApp sends as MP4 with `gif_playback`).
    Video,
    /// Audio; a voice note when `ptt` is set.
    Audio,
    /// Any file, sent with its file name.
    Document,
    /// A sticker (WebP).
    Sticker,
}

impl MediaKind {
    /// The lowercase name used in placeholders (`<media:image>`) and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Document => "document",
            MediaKind::Sticker => "sticker",
        }
    }
}

/// Where a transport can fetch a media blob from. Opaque to everything above the transport:
/// the real transport fills WhatsApp's CDN fields, the simulator a handle of its own.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaRef {
    /// The CDN direct path (or a simulator handle).
    pub direct_path: String,
    /// Full URL when the sender gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The media key that decrypts the blob.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media_key: Vec<u8>,
    /// SHA-256 of the plaintext.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_sha256: Vec<u8>,
    /// SHA-256 of the encrypted blob.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_enc_sha256: Vec<u8>,
    /// Plaintext length in bytes.
    #[serde(default)]
    pub file_length: u64,
    /// When the media key was generated, Unix seconds (the protocol's `mediaKeyTimestamp`).
    /// Kept from the inbound message so a forward or re-upload carries the original; a
    /// send falls back to the send time when it is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_key_timestamp: Option<i64>,
}

/// A media attachment on an inbound message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Media {
    /// What kind of media.
    pub kind: MediaKindOrDefault,
    /// MIME type as the sender declared it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
    /// Caption text, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// File name (documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Size in bytes, when declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Duration in seconds (audio, video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u32>,
    /// Width in pixels (images, videos, stickers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// A voice note (push-to-talk) rather than an audio file.
    #[serde(default)]
    pub ptt: bool,
    /// A video that plays as a looping GIF.
    #[serde(default)]
    pub gif_playback: bool,
    /// Where to download the blob from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<MediaRef>,
}

/// [`MediaKind`] with a `Default` (document), so that [`Media`] can derive `Default`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MediaKindOrDefault(pub MediaKind);

impl Default for MediaKindOrDefault {
    fn default() -> Self {
        MediaKindOrDefault(MediaKind::Document)
    }
}

impl From<MediaKind> for MediaKindOrDefault {
    fn from(k: MediaKind) -> Self {
        MediaKindOrDefault(k)
    }
}

impl Media {
    /// A media item of the given kind with every other field empty.
    pub fn new(kind: MediaKind) -> Media {
        Media {
            kind: kind.into(),
            ..Media::default()
        }
    }

    /// The media kind.
    pub fn kind(&self) -> MediaKind {
        self.kind.0
    }
}

/// A location pin (or one update of a live location).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// Latitude in degrees.
    pub latitude: f64,
    /// Longitude in degrees.
    pub longitude: f64,
    /// Accuracy radius in metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
    /// Place name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Street address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Caption or comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

/// One shared contact card.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactCard {
    /// Display name.
    pub name: String,
    /// Phone numbers as written in the vCard (not validated: contacts hold all sorts).
    #[serde(default)]
    pub numbers: Vec<String>,
    /// The raw vCard, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcard: Option<String>,
}

/// What a message carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Content {
    /// Plain or extended text.
    Text {
        /// The text.
        text: String,
    },
    /// An image, video, audio, document or sticker (with optional caption).
    Media(Media),
    /// A location pin.
    Location(Location),
    /// A live location update.
    LiveLocation(Location),
    /// One or more contact cards.
    Contacts {
        /// The cards.
        contacts: Vec<ContactCard>,
    },
    /// A reaction to another message. An empty emoji removes the reaction.
    Reaction {
        /// The message reacted to.
        target: MessageKey,
        /// The emoji, or empty for removal.
        emoji: String,
    },
    /// A poll.
    Poll {
        /// The question.
        name: String,
        /// The options.
        options: Vec<String>,
        /// How many options a voter may pick (0 = any).
        selectable_count: u32,
    },
    /// A vote on a poll. Option names are resolved by the transport when it can.
    PollVote {
        /// The poll voted on.
        poll: MessageKey,
        /// The selected option names (or hashes as hex when unresolvable).
        selected: Vec<String>,
    },
    /// Anything the transport does not model; `kind` names it (e.g. `"buttons"`, `"call"`).
    Unsupported {
        /// The protocol's name for the content.
        kind: String,
    },
}

impl Content {
    /// A text content.
    pub fn text(text: impl Into<String>) -> Content {
        Content::Text { text: text.into() }
    }

    /// The text a human would read first: the text, or a media caption.
    pub fn text_or_caption(&self) -> Option<&str> {
        match self {
            Content::Text { text } => Some(text),
            Content::Media(m) => m.caption.as_deref(),
            Content::Location(l) | Content::LiveLocation(l) => l.caption.as_deref(),
            _ => None,
        }
    }
}

/// The message this one replies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotedMessage {
    /// The quoted message's id.
    pub stanza_id: MessageId,
    /// Who wrote the quoted message (JID, as WhatsApp gave it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<Jid>,
    /// The quoted message's sender, resolved to phone and/or LID where the transport knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<Sender>,
    /// The quoted content, when WhatsApp included it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Box<Content>>,
}

/// Context that rides along a message: the quote and the mentions.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextInfo {
    /// The message replied to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted: Option<QuotedMessage>,
    /// JIDs mentioned with `@` (phones or LIDs, possibly with device suffixes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentioned: Vec<Jid>,
    /// True when the message was forwarded.
    #[serde(default)]
    pub forwarded: bool,
}

/// A message received by one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundMessage {
    /// The message id.
    pub id: MessageId,
    /// The account that received it.
    pub account: AccountId,
    /// The chat: the peer's JID for DMs, the group's for groups.
    pub chat: Jid,
    /// Who wrote it (in a DM, the peer — or this account when `from_me`).
    pub sender: Sender,
    /// The raw sender JID WhatsApp gave (participant in groups), device included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_jid: Option<Jid>,
    /// The sender's push name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_name: Option<String>,
    /// When it was sent, Unix milliseconds.
    pub timestamp_ms: i64,
    /// True when this account (from any of its devices) sent it.
    #[serde(default)]
    pub from_me: bool,
    /// True when it came from the offline backlog or history catch-up rather than live.
    #[serde(default)]
    pub offline: bool,
    /// What it carries.
    pub content: Content,
    /// Quote and mentions.
    #[serde(default)]
    pub context: ContextInfo,
}

impl InboundMessage {
    /// The key that identifies this message.
    pub fn key(&self) -> MessageKey {
        MessageKey {
            chat: self.chat.clone(),
            id: self.id.clone(),
            from_me: self.from_me,
            participant: if self.chat.is_group() {
                self.sender_jid.clone().or_else(|| self.sender.jid())
            } else {
                None
            },
        }
    }
}

/// A blob uploaded to WhatsApp's media servers, ready to be referenced by a media message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadedMedia {
    /// The kind it was uploaded as (decides the encryption keys).
    pub kind: MediaKind,
    /// Where it can be downloaded from, with its keys and hashes.
    pub reference: MediaRef,
}

/// A media message to send (after upload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundMedia {
    /// The uploaded blob.
    pub upload: UploadedMedia,
    /// MIME type (`audio/ogg; codecs=opus` for voice notes).
    pub mime: String,
    /// Caption (images, videos, documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// File name (documents keep theirs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Send audio as a voice note.
    #[serde(default)]
    pub ptt: bool,
    /// Play an MP4 as a looping GIF.
    #[serde(default)]
    pub gif_playback: bool,
    /// Duration in seconds (audio, video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u32>,
    /// Voice-note waveform: 64 samples, 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waveform: Option<Vec<u8>>,
    /// Width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// A small JPEG preview, when one was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_jpeg: Option<Bytes>,
}

impl OutboundMedia {
    /// The media kind.
    pub fn kind(&self) -> MediaKind {
        self.upload.kind
    }
}

/// What to send.
// The media variant is the big one (a CDN reference); a send builds one value and moves it
// a few times, so boxing it would only make every constructor in the workspace noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum OutboundContent {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// A media message.
    Media(OutboundMedia),
    /// A reaction; an empty emoji removes this account's reaction.
    Reaction {
        /// The message reacted to.
        target: MessageKey,
        /// The emoji, or empty to remove.
        emoji: String,
    },
    /// A poll.
    Poll {
        /// The question.
        name: String,
        /// 2–12 options.
        options: Vec<String>,
        /// How many options a voter may pick (0 = any).
        selectable_count: u32,
    },
    /// Replace the text of a message this account sent.
    Edit {
        /// The message to edit (must be `from_me`).
        target: MessageKey,
        /// The new text.
        text: String,
    },
    /// Delete a message for everyone.
    Revoke {
        /// The message to revoke.
        target: MessageKey,
    },
    /// An approved template (the WhatsApp Business Cloud API; what may be sent when the
    /// customer has not written in the last 24 hours). Other transports refuse it.
    Template(Template),
}

/// A message template approved in WhatsApp Manager, with its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    /// The template's name.
    pub name: String,
    /// Its language code (`en_US`, `de`, ...).
    pub language: String,
    /// Header, body and button parameters, in Meta's `components` shape.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<serde_json::Value>,
}

/// A quote to attach to an outbound message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundQuote {
    /// The quoted message.
    pub key: MessageKey,
    /// Its content, when known (WhatsApp shows it in the quote bubble).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
}

/// A message the gateway asks a transport to send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundMessage {
    /// Destination chat (user, LID or group JID).
    pub chat: Jid,
    /// What to send.
    pub content: OutboundContent,
    /// Quote, for replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<OutboundQuote>,
    /// JIDs to mention.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Jid>,
}

impl OutboundMessage {
    /// A plain text message.
    pub fn text(chat: Jid, text: impl Into<String>) -> OutboundMessage {
        OutboundMessage {
            chat,
            content: OutboundContent::Text { text: text.into() },
            quote: None,
            mentions: Vec::new(),
        }
    }
}

/// What the server confirmed for a send. A send without this is not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendReceipt {
    /// The message id the server acknowledged.
    pub id: MessageId,
    /// The server's timestamp for it, Unix milliseconds.
    pub timestamp_ms: i64,
}

/// Kinds of receipts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    /// Delivered to a device.
    Delivered,
    /// Read (blue ticks).
    Read,
    /// A voice note or video was played.
    Played,
    /// Another device of this account read it.
    ReadSelf,
    /// The recipient could not decrypt and asked for a retry.
    Retry,
    /// The server accepted the message for delivery (the Cloud API's `sent` status).
    Sent,
    /// The message could not be delivered; [`Receipt::error`] says why.
    Failed,
    /// Anything else the protocol sends.
    Other,
}

/// A receipt for messages this account sent (or read elsewhere).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The chat.
    pub chat: Jid,
    /// Who sent the receipt (group participant or peer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<Jid>,
    /// The message ids it covers.
    pub ids: Vec<MessageId>,
    /// What it says.
    pub kind: ReceiptKind,
    /// When, Unix milliseconds.
    pub timestamp_ms: i64,
    /// Why delivery failed, for [`ReceiptKind::Failed`] (the transport's words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Chat presence ("typing…").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatPresence {
    /// Typing.
    Composing,
    /// Recording a voice note.
    Recording,
    /// Stopped typing.
    Paused,
}

/// One group member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupParticipant {
    /// The member's JID as the group addresses it (phone or LID).
    pub jid: Jid,
    /// Phone and/or LID, where known.
    pub sender: Sender,
    /// Admin or super-admin.
    #[serde(default)]
    pub admin: bool,
}

/// How a group addresses its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressingMode {
    /// Members are phone JIDs.
    #[default]
    Phone,
    /// Members are LIDs.
    Lid,
}

/// Group metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMetadata {
    /// The group's JID.
    pub jid: Jid,
    /// Its subject (name).
    pub subject: String,
    /// Its members.
    pub participants: Vec<GroupParticipant>,
    /// How members are addressed.
    #[serde(default)]
    pub addressing_mode: AddressingMode,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Phone;

    #[test]
    fn inbound_serializes_camel_case() -> Result<(), Box<dyn std::error::Error>> {
        let msg = InboundMessage {
            id: MessageId::new("ABC"),
            account: AccountId::default_account(),
            chat: Jid::parse("15551234567@s.whatsapp.net")?,
            sender: Sender::phone(Phone::parse("+15551234567")?),
            sender_jid: None,
            push_name: Some("Alice".into()),
            timestamp_ms: 1_700_000_000_000,
            from_me: false,
            offline: false,
            content: Content::Media(Media {
                caption: Some("look".into()),
                ..Media::new(MediaKind::Image)
            }),
            context: ContextInfo::default(),
        };
        let json = serde_json::to_value(&msg)?;
        assert_eq!(json["pushName"], "Alice");
        assert_eq!(json["timestampMs"], 1_700_000_000_000_i64);
        assert_eq!(json["content"]["type"], "media");
        assert_eq!(json["content"]["kind"], "image");
        assert_eq!(json["sender"]["phone"], "+15551234567");
        let back: InboundMessage = serde_json::from_value(json)?;
        assert_eq!(back, msg);
        Ok(())
    }

    #[test]
    fn media_key_timestamp_is_optional_on_the_wire() -> Result<(), Box<dyn std::error::Error>> {
        // References stored before the field existed still read.
        let old: MediaRef = serde_json::from_str(r#"{"directPath":"/v/x","fileLength":3}"#)?;
        assert_eq!(old.media_key_timestamp, None);
        assert!(!serde_json::to_string(&old)?.contains("mediaKeyTimestamp"));
        let r = MediaRef {
            media_key_timestamp: Some(1_700_000_000),
            ..old
        };
        let json = serde_json::to_value(&r)?;
        assert_eq!(json["mediaKeyTimestamp"], 1_700_000_000_i64);
        assert_eq!(serde_json::from_value::<MediaRef>(json)?, r);
        Ok(())
    }
}
