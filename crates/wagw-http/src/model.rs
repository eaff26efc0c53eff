//! The JSON shapes of the HTTP API (requests as sent, responses as returned), with their
//! OpenAPI schemas. Field names are camelCase like the config file's.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /v1/accounts/{id}`: one account as the gateway sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    /// The account id (`channels.whatsapp.accounts.<id>`).
    pub id: String,
    /// Its display name, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `enabled` in the config.
    pub enabled: bool,
    /// A WhatsApp Web session exists (the account was linked and not logged out).
    pub linked: bool,
    /// The gateway runs this account (its supervisor is started).
    pub running: bool,
    /// The account has a live connection: sends go out now.
    pub connected: bool,
    /// Supervisor state: `starting`, `connecting`, `linking`, `connected`, `backoff`,
    /// `stopped`, ...; `failed` when the account could not start (its protocol store is
    /// damaged or unreadable: `detail` says why and what to do; the others run).
    pub state: String,
    /// What the state means right now (close reason, next retry, what to do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Transport: `whatsapp` or `sim`.
    pub transport: String,
    /// The linked phone number (+E.164), once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_phone: Option<String>,
    /// The linked account's LID, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_lid: Option<String>,
    /// The last error (close reason, failed send), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Failed connection attempts in a row since the last stable connection (0 once a
    /// connection has stayed up a heartbeat interval).
    pub reconnect_attempts: u32,
    /// Reconnects since the gateway started the account (every close that led to a retry).
    #[serde(default)]
    pub reconnects_total: u64,
    /// When the last inbound message arrived, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_inbound_at_ms: Option<i64>,
    /// When WhatsApp last confirmed a send from this account, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_outbound_at_ms: Option<i64>,
    /// The account's DM policy (`pairing`, `allowlist`, `open`, `disabled`).
    pub dm_policy: String,
    /// The account's configured `allowFrom` entries.
    #[serde(default)]
    pub allow_from: Vec<String>,
}

/// `GET /v1/accounts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountList {
    /// Every configured account, enabled or not.
    pub accounts: Vec<AccountView>,
}

/// How to link an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoginMethod {
    /// Scan a QR code in WhatsApp → Settings → Linked devices.
    Qr,
    /// Type an 8-character pair code on the phone (needs the phone number).
    Code,
}

/// `POST /v1/accounts/{id}/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    /// `qr` (default) or `code`.
    #[serde(default = "default_method")]
    pub method: LoginMethod,
    /// The account's phone number; required for `code`.
    #[serde(default)]
    pub phone: Option<String>,
    /// Link again even when the account is already linked.
    #[serde(default)]
    pub force: bool,
}

fn default_method() -> LoginMethod {
    LoginMethod::Qr
}

/// `POST /v1/accounts/{id}/login` → the QR to scan or the code to type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    /// The method in progress.
    pub method: LoginMethod,
    /// The QR payload (render it yourself, or use `qrPng`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr: Option<String>,
    /// The QR as `data:image/png;base64,…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_png: Option<String>,
    /// The pair code to type on the phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Seconds until this QR or code expires (poll `GET …/login` for a fresh one).
    pub expires_in: u64,
    /// What to do with it.
    pub message: String,
}

/// The state of a login.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoginState {
    /// No login in progress and the account is not linked.
    #[default]
    Idle,
    /// Waiting for the scan or the code.
    Pending,
    /// Linked and connected.
    Connected,
    /// The QR or code expired before it was used: start a new login.
    Expired,
    /// WhatsApp refused the link (see `message`).
    Failed,
}

/// `GET /v1/accounts/{id}/login`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginStatus {
    /// `idle`, `pending`, `connected`, `expired` or `failed`.
    pub status: LoginState,
    /// The linked phone, once connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// While pending with a QR: the current QR payload (it rotates; redraw when it changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr: Option<String>,
    /// The current QR as a PNG data URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_png: Option<String>,
    /// While pending with a pair code: the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Seconds until the current QR or code expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// While WhatsApp waits for a passkey: the WebAuthn request options to hand to an
    /// authenticator that holds the account's passkey (`navigator.credentials.get`); post
    /// its assertion to `POST …/login/passkey`, or fall back to a pair code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub passkey_options: Option<serde_json::Value>,
    /// After the passkey was accepted: the verification code the phone shows. When they
    /// match, confirm with `POST …/login/passkey/confirm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey_code: Option<String>,
    /// Why the last linking step failed while the login is still pending (a refused
    /// assertion, a failed confirmation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A sentence for a person.
    pub message: String,
}

/// `POST /v1/accounts/{id}/login/passkey`: the assertion JSON an authenticator returned
/// for `passkeyOptions` (a WebAuthn `PublicKeyCredential` as JSON: `id`/`rawId` in
/// base64url, `type: "public-key"`, `response` with `clientDataJSON`,
/// `authenticatorData`, `signature`, `userHandle`). It is passed on to WhatsApp as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object, example = json!({
    "id": "AQID", "rawId": "AQID", "type": "public-key",
    "response": {"clientDataJSON": "…", "authenticatorData": "…", "signature": "…", "userHandle": "…"}
}))]
pub struct PasskeyAssertion(pub serde_json::Value);

/// `POST /v1/accounts/{id}/logout`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogoutResponse {
    /// True when a session existed and was removed.
    pub cleared: bool,
    /// A sentence for a person.
    pub message: String,
}

/// One media item of a send: exactly one of `url`, `path`, `base64`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MediaItem {
    /// An http(s) URL the gateway fetches.
    #[serde(default)]
    pub url: Option<String>,
    /// A file on the gateway host (under `media.localRoots`).
    #[serde(default)]
    pub path: Option<String>,
    /// The bytes, base64 (standard alphabet).
    #[serde(default)]
    pub base64: Option<String>,
    /// MIME type; sniffed when absent.
    #[serde(default)]
    pub mime: Option<String>,
    /// File name (documents keep it).
    #[serde(default)]
    pub file_name: Option<String>,
    /// Caption for this item.
    #[serde(default)]
    pub caption: Option<String>,
}

/// `POST /v1/accounts/{id}/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendMessageRequest {
    /// A phone number (`+15551234567`), a user JID or a group JID (`…@g.us`).
    pub to: String,
    /// The text; chunked by the account's `textChunkLimit`.
    #[serde(default)]
    pub text: Option<String>,
    /// Media items, sent in order; the first carries the text as caption.
    #[serde(default)]
    pub media: Vec<MediaItem>,
    /// Send MP4 videos as looping GIFs.
    #[serde(default)]
    pub gif_playback: bool,
    /// Quote this message id (usually the turn's `messageId`).
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Phone numbers or JIDs to mention.
    #[serde(default)]
    pub mentions: Vec<String>,
    /// An approved template, sent before any text or media: Cloud API accounts only, for
    /// customers who have not written in 24 hours (other transports refuse it).
    #[serde(default)]
    pub template: Option<TemplateRequest>,
}

/// A template send: as Meta's `template` object, with `language` as the code alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateRequest {
    /// The template's name in WhatsApp Manager.
    pub name: String,
    /// Its language code (`en_US`).
    pub language: String,
    /// Header, body and button parameters, as Meta defines them.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub components: Vec<serde_json::Value>,
}

/// What was sent: the ids WhatsApp's server confirmed, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendResponse {
    /// Server-confirmed message ids (one per chunk or media item).
    pub message_ids: Vec<String>,
    /// The server timestamp of the last one, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_ms: Option<i64>,
}

/// `POST /v1/accounts/{id}/reactions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReactionRequest {
    /// The chat the message is in (phone or JID).
    pub chat: String,
    /// The message reacted to.
    pub message_id: String,
    /// The emoji (omit with `remove: true`).
    #[serde(default)]
    pub emoji: Option<String>,
    /// Remove this account's reaction instead.
    #[serde(default)]
    pub remove: bool,
    /// In groups: who wrote the message.
    #[serde(default)]
    pub participant: Option<String>,
    /// The message was sent by this account.
    #[serde(default)]
    pub from_me: bool,
}

/// `POST /v1/accounts/{id}/polls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PollRequest {
    /// Where to send it (phone or JID).
    pub to: String,
    /// The question.
    pub question: String,
    /// 2–12 distinct options.
    pub options: Vec<String>,
    /// How many options a voter may pick (0 = any; default 1).
    #[serde(default = "one")]
    pub selectable_count: u32,
}

fn one() -> u32 {
    1
}

/// `POST /v1/accounts/{id}/read`: mark messages read (blue ticks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadRequest {
    /// The chat (phone or JID).
    pub chat: String,
    /// The message ids to mark read.
    pub message_ids: Vec<String>,
    /// In groups: who wrote them.
    #[serde(default)]
    pub participant: Option<String>,
}

/// A chat presence to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PresenceState {
    /// "typing…"
    Composing,
    /// "recording audio…"
    Recording,
    /// Stop showing either.
    Paused,
}

/// `POST /v1/accounts/{id}/presence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PresenceRequest {
    /// The chat (phone or JID).
    pub chat: String,
    /// `composing`, `recording` or `paused`.
    pub state: PresenceState,
}

/// A confirmed single send (reaction, poll).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SentId {
    /// The server-confirmed message id.
    pub message_id: String,
    /// The server timestamp, Unix milliseconds.
    pub timestamp_ms: i64,
}

/// `{"ok": true}` for operations with nothing else to say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OkResponse {
    /// Always true.
    pub ok: bool,
}

/// A pending pairing request: an unknown sender who was sent a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PairingRequestView {
    /// The account the sender wrote to.
    pub account: String,
    /// The code the sender received.
    pub code: String,
    /// The sender (+E.164, or a LID when WhatsApp hid the number).
    pub sender: String,
    /// The sender's WhatsApp name, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When the request was made, Unix milliseconds.
    pub created_at_ms: i64,
    /// When it expires, Unix milliseconds.
    pub expires_at_ms: i64,
}

/// `GET /v1/pairing/whatsapp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PairingList {
    /// Pending requests, oldest first.
    pub requests: Vec<PairingRequestView>,
}

/// `POST /v1/pairing/whatsapp/approve` and `/reject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PairingDecisionRequest {
    /// The code the sender received.
    pub code: String,
    /// The account, when the same code could exist on several (default: any account).
    #[serde(default)]
    pub account: Option<String>,
    /// Approve only: also send the approved sender a short confirmation on WhatsApp.
    #[serde(default)]
    pub notify: bool,
}

/// The result of approving or rejecting a pairing request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PairingDecision {
    /// The account.
    pub account: String,
    /// The sender now allowed (approve) or dropped (reject).
    pub sender: String,
    /// `approved` or `rejected`.
    pub outcome: String,
    /// With `notify`: the id of the confirmation sent to the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_message_id: Option<String>,
}

/// One event of the stream (`GET /v1/events`); sent as the SSE `data:` with `id: <seq>`
/// and `event: <type>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventRecord {
    /// Monotonic sequence number; the SSE id. Resume with `Last-Event-ID: <seq>`.
    pub seq: u64,
    /// When it happened, Unix milliseconds.
    pub at_ms: i64,
    /// `turn`, `account_state`, `qr_code`, `linked`, `pairing_challenge`, `send_failed`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The event's fields (an inbound turn for `turn`).
    pub data: serde_json::Value,
}

/// `GET /readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    /// True when the store is open and every enabled account has started.
    pub ready: bool,
    /// Why not, when not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `POST /v1/reload`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReloadResponse {
    /// The accounts running after the reload.
    pub accounts: Vec<String>,
    /// Config warnings, one line each.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// `POST /v1/sim/inbound`: a simulated person writes to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimInboundRequest {
    /// The receiving account (default: the default account).
    #[serde(default)]
    pub account: Option<String>,
    /// The sender's phone number.
    pub from: String,
    /// The sender's WhatsApp name.
    #[serde(default)]
    pub name: Option<String>,
    /// A group JID, to write in that group instead of a DM.
    #[serde(default)]
    pub group: Option<String>,
    /// The text.
    #[serde(default)]
    pub text: Option<String>,
    /// Quote this message id.
    #[serde(default)]
    pub quote: Option<String>,
    /// Phone numbers or JIDs mentioned.
    #[serde(default)]
    pub mentions: Vec<String>,
}

/// `POST /v1/sim/inbound` → the id the simulated server gave the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimInjected {
    /// The message id.
    pub message_id: String,
}

/// `GET /v1/sim/outbox/{account}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SimOutbox {
    /// Everything the account sent on the simulated network, oldest first.
    pub messages: Vec<serde_json::Value>,
}
