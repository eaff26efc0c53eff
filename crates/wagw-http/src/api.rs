//! [`GatewayApi`]: the seam between the HTTP layer and the gateway runtime.
//!
//! The handlers parse and validate requests (every field error names its field), call one
//! method of this trait, and render the result. The daemon implements the trait on the real
//! gateway; tests implement it with a fake. Requests reach the trait already validated,
//! in wagw-core's types, so an implementation never re-parses a phone number.

use std::path::PathBuf;

use async_trait::async_trait;
use tokio::sync::broadcast;
use wagw_core::{AccountId, ChatPresence, Jid, MessageId, Phone};

use super::error::ApiError;
use super::model::{
    AccountView, EventRecord, LoginMethod, LoginStatus, LogoutResponse, PairingDecision,
    PairingRequestView, Readiness, ReloadResponse, SendResponse, SentId, SimInjected,
};
use super::model_access::{AllowChange, AllowEntryView, ExplainView};
use super::model_agents::DeliveryView;
use super::model_resources::{AccountResources, ProbeResult};

/// The gateway operations the HTTP API exposes. Every method is one route (or two).
///
/// Errors are [`ApiError`]s whose messages a person can act on: an unknown account is
/// [`ApiError::unknown_account`], a send without a live connection is
/// [`ApiError::Unavailable`] with code `no_active_listener` and the `wagw channels login`
/// command, an action turned off by config is [`ApiError::Forbidden`].
#[async_trait]
pub trait GatewayApi: Send + Sync + 'static {
    /// `GET /readyz`: whether the gateway serves traffic.
    async fn readiness(&self) -> Readiness;

    /// `GET /v1/accounts`: every configured account, in config order.
    async fn accounts(&self) -> Result<Vec<AccountView>, ApiError>;

    /// `GET /v1/accounts/{id}`.
    async fn account(&self, id: &AccountId) -> Result<AccountView, ApiError>;

    /// `GET /v1/accounts/{id}/resources`: the account's transport resources
    /// (`running: false` for a configured account the gateway does not run).
    async fn resources(&self, id: &AccountId) -> Result<AccountResources, ApiError>;

    /// `POST /v1/accounts/{id}/probe`: pings the account's connection (a round trip
    /// WhatsApp must answer) and reports the round-trip time or why it failed.
    async fn probe(&self, id: &AccountId) -> Result<ProbeResult, ApiError>;

    /// `POST /v1/accounts/{id}/login`: starts linking (or returns the login already in
    /// progress). `ApiError::Conflict` with code `already_linked` when linked and not `force`.
    async fn login_start(
        &self,
        id: &AccountId,
        login: LoginStart,
    ) -> Result<LoginChallenge, ApiError>;

    /// `GET /v1/accounts/{id}/login`: the login's progress. The handler adds `qrPng`.
    async fn login_status(&self, id: &AccountId) -> Result<LoginStatus, ApiError>;

    /// `POST /v1/accounts/{id}/login/passkey`: continues a passkey link with an
    /// authenticator's assertion (validated JSON, passed on unchanged); returns the login's
    /// progress. `ApiError::Conflict` with code `no_passkey_step` when none is waiting.
    async fn login_passkey(
        &self,
        id: &AccountId,
        assertion_json: String,
    ) -> Result<LoginStatus, ApiError>;

    /// `POST /v1/accounts/{id}/login/passkey/confirm`: the operator saw the phone show
    /// the login's `passkeyCode`; finishes the link. `ApiError::Conflict` with code
    /// `no_passkey_step` when no confirmation is waiting.
    async fn login_passkey_confirm(&self, id: &AccountId) -> Result<LoginStatus, ApiError>;

    /// `POST /v1/accounts/{id}/logout`: unlinks the account and deletes its session.
    async fn logout(&self, id: &AccountId) -> Result<LogoutResponse, ApiError>;

    /// `POST /v1/accounts/{id}/messages`: text and/or media through the outbound pipeline
    /// (prefix, chunking, media plan, pacing). Succeeds only with server-confirmed ids.
    async fn send(&self, id: &AccountId, message: SendMessage) -> Result<SendResponse, ApiError>;

    /// `POST /v1/accounts/{id}/reactions` (gated by `actions.reactions`).
    async fn react(&self, id: &AccountId, reaction: Reaction) -> Result<SentId, ApiError>;

    /// `POST /v1/accounts/{id}/polls` (gated by `actions.polls`).
    async fn poll(&self, id: &AccountId, poll: Poll) -> Result<SentId, ApiError>;

    /// `POST /v1/accounts/{id}/read`: read receipts.
    async fn mark_read(&self, id: &AccountId, read: MarkRead) -> Result<(), ApiError>;

    /// `POST /v1/accounts/{id}/presence`: typing / recording indicators.
    async fn presence(
        &self,
        id: &AccountId,
        chat: Jid,
        state: ChatPresence,
    ) -> Result<(), ApiError>;

    /// `GET /v1/pairing/whatsapp`: pending pairing requests of every account.
    async fn pairing_list(&self) -> Result<Vec<PairingRequestView>, ApiError>;

    /// `POST /v1/pairing/whatsapp/approve`: allows the sender who got `code`.
    async fn pairing_approve(
        &self,
        code: &str,
        account: Option<&AccountId>,
    ) -> Result<PairingDecision, ApiError>;

    /// `POST /v1/pairing/whatsapp/reject`: drops the request.
    async fn pairing_reject(
        &self,
        code: &str,
        account: Option<&AccountId>,
    ) -> Result<PairingDecision, ApiError>;

    /// `POST /v1/access/explain`: runs the access engine on a described message against
    /// the live config, store state and linked identity (`None` = the default account).
    async fn access_explain(
        &self,
        account: Option<&AccountId>,
        input: wagw_access::ExplainInput,
    ) -> Result<ExplainView, ApiError>;

    /// `GET /v1/allow/whatsapp`: the allow-store of one account, or of every account.
    async fn allow_list(
        &self,
        account: Option<&AccountId>,
    ) -> Result<Vec<AllowEntryView>, ApiError>;

    /// `POST /v1/allow/whatsapp`: adds a sender (`None` = the default account).
    async fn allow_add(
        &self,
        account: Option<&AccountId>,
        entry: wagw_access::AllowEntry,
    ) -> Result<AllowChange, ApiError>;

    /// `DELETE /v1/allow/whatsapp/{entry}`: removes a sender (`None` = the default account).
    async fn allow_remove(
        &self,
        account: Option<&AccountId>,
        entry: wagw_access::AllowEntry,
    ) -> Result<AllowChange, ApiError>;

    /// `GET /v1/deliveries`: webhook deliveries in `state`, at most `limit`.
    async fn deliveries_list(
        &self,
        state: wagw_agents::DeliveryState,
        limit: usize,
    ) -> Result<Vec<DeliveryView>, ApiError>;

    /// `POST /v1/deliveries/{id}/replay`: a dead delivery back in the queue, same id.
    async fn delivery_replay(&self, id: &str) -> Result<DeliveryView, ApiError>;

    /// `GET /v1/media/{id}`: a saved inbound media file. `id` is already checked to be a
    /// plain file name (letters, digits, `.`, `-`, `_`; no `..`).
    async fn media_file(&self, id: &str) -> Result<MediaFile, ApiError>;

    /// Events with `seq > after`, oldest first, at most `limit` (the durable, bounded log).
    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<EventRecord>, ApiError>;

    /// A live feed of events appended from now on.
    fn subscribe_events(&self) -> broadcast::Receiver<EventRecord>;

    /// `POST /v1/reload` (and SIGHUP): re-reads the config and applies it without
    /// dropping connections. A config with problems is refused with `ApiError::Invalid`.
    async fn reload(&self) -> Result<ReloadResponse, ApiError>;

    /// `GET /metrics`: Prometheus text exposition (format 0.0.4).
    async fn metrics_text(&self) -> String;

    /// Not a route: the daemon calls it once on SIGTERM/SIGINT after the HTTP server
    /// stopped accepting. Finish in-flight turns, flush and close, all by `by`.
    async fn shutdown(&self, by: tokio::time::Instant) -> Result<(), ApiError>;

    /// `GET /v1/cloud/{account}/webhook` (no bearer token): Meta's webhook verification for
    /// a Cloud API account. The challenge to echo, or `ApiError::Forbidden` when the mode or
    /// verify token is wrong; `ApiError::NotFound` for an account that is not a cloud one.
    async fn cloud_verify(
        &self,
        account: &AccountId,
        mode: Option<&str>,
        verify_token: Option<&str>,
        challenge: Option<&str>,
    ) -> Result<String, ApiError> {
        let _ = (mode, verify_token, challenge);
        Err(not_cloud(account))
    }

    /// `POST /v1/cloud/{account}/webhook` (no bearer token): a webhook from Meta, the raw
    /// body and its `X-Hub-Signature-256`. `Ok` only once its messages are durably stored;
    /// `ApiError::Unauthorized` for a bad signature (nothing processed),
    /// `ApiError::Unavailable` when Meta should retry.
    async fn cloud_webhook(
        &self,
        account: &AccountId,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<(), ApiError> {
        let _ = (signature, body);
        Err(not_cloud(account))
    }

    /// `POST /v1/sim/inbound` (`--sim` only): a simulated person writes to an account.
    async fn sim_inbound(&self, message: SimMessage) -> Result<SimInjected, ApiError> {
        let _ = message;
        Err(sim_off())
    }

    /// `GET /v1/sim/outbox/{account}` (`--sim` only): what the account sent, as JSON.
    async fn sim_outbox(&self, account: &AccountId) -> Result<Vec<serde_json::Value>, ApiError> {
        let _ = account;
        Err(sim_off())
    }

    /// `POST /v1/sim/scan` (`--sim` only): a simulated phone scans the account's QR.
    async fn sim_scan(
        &self,
        scan: super::sim_scan::SimScan,
    ) -> Result<super::sim_scan::SimScanned, ApiError> {
        let _ = scan;
        Err(sim_off())
    }

    /// `POST /v1/sim/faults` (`--sim` only): the simulated WhatsApp misbehaves for an account.
    async fn sim_fault(
        &self,
        order: super::sim_fault::SimFaultOrder,
    ) -> Result<super::sim_fault::SimFaultApplied, ApiError> {
        let _ = order;
        Err(sim_off())
    }
}

/// The answer for a webhook addressed to an account that is not a running cloud account.
pub fn not_cloud(account: &AccountId) -> ApiError {
    ApiError::NotFound {
        code: "not_a_cloud_account",
        message: format!(
            "no running Cloud API account {account}: the webhook URL must name an account with \
             transport: \"cloud\""
        ),
    }
}

fn sim_off() -> ApiError {
    ApiError::NotFound {
        code: "sim_disabled",
        message: "the simulator is not running: start the gateway with `wagw gateway --sim`"
            .to_owned(),
    }
}

/// A validated login request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginStart {
    /// QR or pair code.
    pub method: LoginMethod,
    /// The phone number (pair code only).
    pub phone: Option<Phone>,
    /// Relink even when linked.
    pub force: bool,
}

/// What a login start returns.
#[allow(dead_code)] // built by GatewayApi implementations
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginChallenge {
    /// A QR payload to show.
    Qr {
        /// The payload (the handler renders it as PNG).
        qr: String,
        /// Seconds until it rotates or expires.
        expires_in: u64,
    },
    /// A pair code to type on the phone.
    Code {
        /// The code (`ABCD-EFGH`).
        code: String,
        /// Seconds until it expires.
        expires_in: u64,
    },
}

/// Where a media item of a send comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaInput {
    /// An http(s) URL.
    Url(String),
    /// A file on the gateway host.
    Path(PathBuf),
    /// Bytes sent inline (decoded from base64).
    Bytes(Vec<u8>),
}

/// One validated media item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendMedia {
    /// The source.
    pub source: MediaInput,
    /// Declared MIME type.
    pub mime: Option<String>,
    /// File name.
    pub file_name: Option<String>,
    /// Caption.
    pub caption: Option<String>,
}

/// A validated send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendMessage {
    /// The destination chat.
    pub to: Jid,
    /// Text (non-empty when present).
    pub text: Option<String>,
    /// Media, in order.
    pub media: Vec<SendMedia>,
    /// MP4 as looping GIF.
    pub gif_playback: bool,
    /// Quote this message.
    pub reply_to: Option<MessageId>,
    /// Mentioned users.
    pub mentions: Vec<Jid>,
    /// An approved template to send first (Cloud API accounts).
    pub template: Option<wagw_core::Template>,
}

/// A validated reaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    /// The chat.
    pub chat: Jid,
    /// The message.
    pub message_id: MessageId,
    /// The emoji; empty removes this account's reaction.
    pub emoji: String,
    /// In groups: the message's author.
    pub participant: Option<Jid>,
    /// The message is this account's own.
    pub from_me: bool,
}

/// A validated poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poll {
    /// The chat.
    pub to: Jid,
    /// The question (non-empty).
    pub question: String,
    /// 2–12 distinct, trimmed options.
    pub options: Vec<String>,
    /// How many a voter may pick (0 = any).
    pub selectable_count: u32,
}

/// Validated read receipts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkRead {
    /// The chat.
    pub chat: Jid,
    /// The messages (at least one).
    pub message_ids: Vec<MessageId>,
    /// In groups: their author.
    pub participant: Option<Jid>,
}

/// A saved media file to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFile {
    /// Where it is on disk.
    pub path: PathBuf,
    /// Its MIME type.
    pub mime: String,
}

/// A validated simulated inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimMessage {
    /// The receiving account (None = the default account).
    pub account: Option<AccountId>,
    /// The sender.
    pub from: Phone,
    /// The sender's name.
    pub name: Option<String>,
    /// The group, for a group message.
    pub group: Option<Jid>,
    /// The text.
    pub text: Option<String>,
    /// The quoted message.
    pub quote: Option<MessageId>,
    /// Mentions.
    pub mentions: Vec<Jid>,
}
