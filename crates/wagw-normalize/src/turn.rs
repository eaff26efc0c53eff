//! [`InboundTurn`]: what an agent receives for one inbound message. Its JSON is a public
//! contract (documented in `docs/inbound-turn.md`): field names are stable camelCase, every
//! field is always present, and unknown values are `null` rather than missing.

use serde::{Deserialize, Serialize};
use wagw_core::{Location, Media};

/// Direct message or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatType {
    /// A one-to-one chat.
    Dm,
    /// A group chat.
    Group,
}

/// One inbound turn for an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundTurn {
    /// The text the agent reads: envelope, message prefix, body, quoted reply block and (in
    /// groups) the pending history.
    pub body: String,
    /// The message body alone: text, caption or placeholder, without envelope or quote.
    pub raw_body: String,
    /// `dm` or `group`.
    pub chat_type: ChatType,
    /// The chat's JID: the peer's for DMs (phone or LID), the group's for groups.
    pub chat_id: String,
    /// The sender: E.164 when known, else the LID (`<digits>@lid`).
    pub from: String,
    /// The sender's push name.
    pub sender_name: Option<String>,
    /// The sender's number in E.164, when known.
    pub sender_e164: Option<String>,
    /// The sender's LID, when known.
    pub sender_lid: Option<String>,
    /// The sender's JID as WhatsApp gave it (group participant), device dropped; use it as the
    /// `participant` when reacting in groups.
    pub sender_jid: Option<String>,
    /// The receiving account's own number (E.164).
    pub to: String,
    /// The receiving account's id.
    pub account_id: String,
    /// The agent the turn is for.
    pub agent_id: String,
    /// The message id (stanza id): what reactions and quotes point at.
    pub message_id: String,
    /// When the message was sent, Unix milliseconds.
    pub timestamp: i64,
    /// True when the message was written by this account (self-chat).
    pub from_me: bool,
    /// True when WhatsApp marked the message as forwarded.
    pub forwarded: bool,
    /// True when the message addressed the bot (mention, pattern, its number, a reply to it,
    /// or a caller's gating decision). Always false for DMs unless the caller set it.
    pub was_mentioned: bool,
    /// The quoted message's id, for replies.
    pub reply_to_id: Option<String>,
    /// The quoted message's text or placeholder, for replies.
    pub reply_to_body: Option<String>,
    /// The quoted message's sender (E.164 when known, else LID or JID), for replies.
    pub reply_to_sender: Option<String>,
    /// The attachment, for media messages.
    pub media: Option<TurnMedia>,
    /// The location, for location and live-location messages.
    pub location: Option<TurnLocation>,
    /// The agent session this turn belongs to (see `session.dmScope`).
    pub session_key: String,
    /// The group's subject, when known.
    pub group_subject: Option<String>,
    /// The group's members, when the group's metadata is known.
    pub group_members: Option<Vec<GroupMember>>,
    /// How many pending group messages were injected above the current one.
    pub history_count: usize,
    /// For DMs: how many past user turns the agent should keep (`dms.<phone>.historyLimit`,
    /// else `dmHistoryLimit`); `null` when unset or in groups.
    pub dm_history_limit: Option<u32>,
    /// The sender is an owner of the account: `allowFrom` without `"*"`, else the account's
    /// own number (docs/access-control.md).
    #[serde(default)]
    pub sender_is_owner: bool,
    /// The sender may run commands (the reference's `CommandAuthorized`): an agent gates
    /// its own `/commands` on it. See `wagw_access::command_authorized`.
    #[serde(default)]
    pub command_authorized: bool,
    /// The session was silent for longer than `session.idleMinutes`: the agent should start
    /// a fresh conversation under the same `sessionKey`. Always false without idleMinutes.
    #[serde(default)]
    pub session_reset: bool,
    /// `message` (a WhatsApp message) or `heartbeat` (a scheduled heartbeat turn: `body` is
    /// the heartbeat prompt; reply `HEARTBEAT_OK` when nothing needs saying).
    #[serde(default)]
    pub kind: TurnKind,
    /// Heartbeat turns: the configured `heartbeat.model`, passed through; else `null`.
    #[serde(default)]
    pub heartbeat_model: Option<String>,
}

/// What a turn is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TurnKind {
    /// A WhatsApp message.
    #[default]
    Message,
    /// A scheduled agent heartbeat (`agents.defaults.heartbeat`, `agents.list[].heartbeat`).
    Heartbeat,
}

/// An attachment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnMedia {
    /// `image`, `video`, `audio`, `document` or `sticker`.
    pub kind: String,
    /// The MIME type the sender declared (e.g. `audio/ogg; codecs=opus`).
    pub mime: Option<String>,
    /// The file name (documents).
    pub file_name: Option<String>,
    /// Size in bytes, when declared.
    pub size: Option<u64>,
    /// Duration in seconds (audio, video).
    pub duration_secs: Option<u32>,
    /// A voice note rather than an audio file.
    pub ptt: bool,
    /// A video that plays as a looping GIF.
    pub gif_playback: bool,
    /// The local file once the gateway saved it; `null` until then or when saving failed.
    pub path: Option<String>,
    /// A URL the agent can fetch it from, when the gateway serves saved media.
    pub url: Option<String>,
}

impl TurnMedia {
    /// The turn's view of a media attachment (not yet saved).
    pub fn from_media(media: &Media) -> TurnMedia {
        TurnMedia {
            kind: media.kind().as_str().to_string(),
            mime: media.mime.clone(),
            file_name: media.file_name.clone(),
            size: media.size,
            duration_secs: media.duration_secs,
            ptt: media.ptt,
            gif_playback: media.gif_playback,
            path: None,
            url: None,
        }
    }
}

/// A shared location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnLocation {
    /// Latitude in degrees.
    pub latitude: f64,
    /// Longitude in degrees.
    pub longitude: f64,
    /// Accuracy radius in metres.
    pub accuracy_m: Option<f64>,
    /// Place name.
    pub name: Option<String>,
    /// Street address.
    pub address: Option<String>,
    /// True for a live location update.
    pub live: bool,
}

impl TurnLocation {
    /// The turn's view of a location.
    pub fn from_location(location: &Location, live: bool) -> TurnLocation {
        TurnLocation {
            latitude: location.latitude,
            longitude: location.longitude,
            accuracy_m: location.accuracy_m,
            name: location.name.clone(),
            address: location.address.clone(),
            live,
        }
    }
}

/// One group member (at least one of `e164` and `lid` is set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMember {
    /// The member's number, when known.
    pub e164: Option<String>,
    /// The member's LID, when known.
    pub lid: Option<String>,
    /// The member's push name, when seen in this turn or its history.
    pub name: Option<String>,
    /// Group admin.
    pub admin: bool,
}
