//! The seam to WhatsApp: the [`WaSocket`] trait and the [`SocketEvent`]s it emits.
//!
//! Two implementations exist: `wagw-socket` (the real protocol, via whatsapp-rust) and
//! `wagw-sim` (an in-process simulated network). Everything above the transport — the
//! gateway runtime, the daemon — speaks only these types, so the protocol library can be
//! replaced without touching them.
//!
//! ## Life of a connection
//! [`WaSocket::connect`] starts one connection attempt and returns a [`SocketEvents`]
//! receiver. Events arrive in order. The last event of every connection is exactly one
//! [`SocketEvent::Closed`] carrying a [`CloseReason`]; after it the receiver ends. The
//! owner (the gateway's supervisor, driven by `wagw-reconnect`) decides whether and when to
//! call `connect` again: transports never reconnect on their own.
//!
//! ## Durable inbound
//! Each [`SocketEvent::Message`] carries an [`InboundAck`]. The transport tells WhatsApp the
//! message was received only once the gateway calls [`InboundAck::commit`] (after persisting
//! it). Dropping the ack without committing means "not handled": WhatsApp redelivers it
//! after the next reconnect, so a crash never loses a message.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

use crate::identity::{Jid, Lid, Phone};
use crate::message::{
    ChatPresence, GroupMetadata, InboundMessage, MediaKind, MediaRef, MessageId, MessageKey,
    OutboundMessage, Receipt, SendReceipt, UploadedMedia,
};

/// The identity this account is linked as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnIdentity {
    /// The account's phone number.
    pub phone: Phone,
    /// The account's LID, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lid: Option<Lid>,
    /// The push name the account shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_name: Option<String>,
}

/// Why a connection ended. Every connection's last event is `Closed` with one of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CloseReason {
    /// The phone removed this linked device, or WhatsApp invalidated it (401). Relink needed.
    LoggedOut {
        /// The protocol's reason text.
        detail: String,
    },
    /// Another client took over this session (440 / "conflict replaced").
    SessionConflict {
        /// The protocol's reason text.
        detail: String,
    },
    /// WhatsApp temporarily banned the account (402/403 with an expiry).
    TemporaryBan {
        /// The protocol's ban code.
        code: u16,
        /// When the ban ends, Unix milliseconds, if WhatsApp said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at_ms: Option<i64>,
    },
    /// This client's protocol version is too old (405).
    ClientOutdated,
    /// Linking did not complete: QR codes ran out, or pairing failed.
    LinkingFailed {
        /// What happened.
        detail: String,
    },
    /// The server closed the stream with a code not covered above (503, 515, ...).
    StreamError {
        /// The protocol's code.
        code: u16,
        /// The protocol's reason text.
        detail: String,
    },
    /// The connection could not be established (DNS, TLS, handshake, connect failure).
    ConnectFailed {
        /// What happened.
        detail: String,
    },
    /// The connection dropped (EOF, reset, keepalive timeout).
    Network {
        /// What happened.
        detail: String,
    },
    /// [`WaSocket::disconnect`] or [`WaSocket::logout`] was called.
    Requested,
}

impl CloseReason {
    /// The protocol code most associated with this reason, for logs and metrics.
    pub fn code(&self) -> Option<u16> {
        match self {
            CloseReason::LoggedOut { .. } => Some(401),
            CloseReason::SessionConflict { .. } => Some(440),
            CloseReason::TemporaryBan { code, .. } => Some(*code),
            CloseReason::ClientOutdated => Some(405),
            CloseReason::StreamError { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// A stable snake_case label for metrics and JSON.
    pub fn label(&self) -> &'static str {
        match self {
            CloseReason::LoggedOut { .. } => "logged_out",
            CloseReason::SessionConflict { .. } => "session_conflict",
            CloseReason::TemporaryBan { .. } => "temporary_ban",
            CloseReason::ClientOutdated => "client_outdated",
            CloseReason::LinkingFailed { .. } => "linking_failed",
            CloseReason::StreamError { .. } => "stream_error",
            CloseReason::ConnectFailed { .. } => "connect_failed",
            CloseReason::Network { .. } => "network",
            CloseReason::Requested => "requested",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::LoggedOut { detail } => write!(f, "logged out (401): {detail}"),
            CloseReason::SessionConflict { detail } => {
                write!(
                    f,
                    "session conflict (440): another client holds the session: {detail}"
                )
            }
            CloseReason::TemporaryBan {
                code,
                expires_at_ms,
            } => match expires_at_ms {
                Some(t) => write!(f, "temporary ban ({code}) until {t} ms"),
                None => write!(f, "temporary ban ({code})"),
            },
            CloseReason::ClientOutdated => f.write_str("client outdated (405)"),
            CloseReason::LinkingFailed { detail } => write!(f, "linking failed: {detail}"),
            CloseReason::StreamError { code, detail } => {
                write!(f, "stream error {code}: {detail}")
            }
            CloseReason::ConnectFailed { detail } => write!(f, "connect failed: {detail}"),
            CloseReason::Network { detail } => write!(f, "connection lost: {detail}"),
            CloseReason::Requested => f.write_str("closed on request"),
        }
    }
}

/// A handle that acknowledges one inbound message to WhatsApp once the gateway committed it.
///
/// Dropping it without [`commit`](InboundAck::commit) leaves the message unacknowledged, so
/// WhatsApp redelivers it later.
#[derive(Debug)]
pub struct InboundAck {
    tx: Option<oneshot::Sender<()>>,
}

impl InboundAck {
    /// A pair: the ack for the gateway, and the receiver the transport waits on. The receiver
    /// yields `Ok(())` on commit and an error when the ack was dropped uncommitted.
    pub fn pair() -> (InboundAck, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        (InboundAck { tx: Some(tx) }, rx)
    }

    /// An ack that nothing waits for (for transports without durable inbound, and tests).
    pub fn detached() -> InboundAck {
        InboundAck { tx: None }
    }

    /// Tells the transport the message is safely stored; it may now ack it to WhatsApp.
    pub fn commit(mut self) {
        if let Some(tx) = self.tx.take() {
            // The transport may have gone away (connection closed); then WhatsApp redelivers,
            // which dedupe absorbs.
            let _ = tx.send(());
        }
    }
}

/// Something that happened on a connection, in the order it happened.
#[derive(Debug)]
pub enum SocketEvent {
    /// A QR code to show; scan it in WhatsApp → Linked devices. Valid for `expires_in`.
    QrCode {
        /// The string to encode as a QR code.
        code: String,
        /// How long this code is valid.
        expires_in: Duration,
    },
    /// No more QR codes will come; linking must be restarted on request.
    QrCodesExhausted,
    /// A pair code to type on the phone (WhatsApp → Linked devices → Link with phone number).
    PairCode {
        /// The 8-character code.
        code: String,
        /// How long it is valid.
        expires_in: Duration,
    },
    /// Requesting a pair code failed (throttled, bad number, ...).
    PairCodeError {
        /// What WhatsApp said.
        detail: String,
    },
    /// WhatsApp asks for a passkey assertion to finish linking.
    PasskeyRequired {
        /// The WebAuthn request options as JSON, to hand to an authenticator.
        options_json: String,
    },
    /// The passkey assertion was accepted and WhatsApp shows a verification code on the
    /// phone: when it matches `code`, confirm with [`WaSocket::confirm_passkey`].
    PasskeyConfirmation {
        /// The code the phone shows, to compare.
        code: String,
        /// How long the code is valid.
        expires_in: Duration,
    },
    /// A passkey step failed.
    PasskeyError {
        /// What went wrong.
        detail: String,
    },
    /// Linking succeeded: this device is now linked as `identity`.
    Paired {
        /// Who the account is.
        identity: OwnIdentity,
    },
    /// The connection is up and messages flow.
    Connected {
        /// Who the account is.
        identity: OwnIdentity,
    },
    /// The server has handed over the offline backlog. Judge each message by its own
    /// `offline` flag, not by its position relative to this event: the real transport
    /// decrypts per chat in parallel, so a late backlog message can still follow it.
    OfflineSyncCompleted {
        /// How many messages the backlog held.
        count: u32,
    },
    /// A message, with the ack to commit once it is stored.
    Message {
        /// The message.
        message: Box<InboundMessage>,
        /// Commit after persisting.
        ack: InboundAck,
    },
    /// A receipt for something this account sent.
    Receipt(Receipt),
    /// A message that could not be decrypted (counted and logged by the gateway).
    Undecryptable {
        /// The chat.
        chat: Jid,
        /// The sender.
        sender: Option<Jid>,
        /// The message id.
        id: MessageId,
    },
    /// A group's metadata changed (invalidate caches).
    GroupUpdate {
        /// The group.
        group: Jid,
    },
    /// A contact's phone or LID changed (update LID↔phone knowledge).
    ContactChanged {
        /// The contact's LID, when known.
        lid: Option<Lid>,
        /// The old phone number, when known.
        old_phone: Option<Phone>,
        /// The new phone number, when known.
        new_phone: Option<Phone>,
    },
    /// The connection ended; this is always the last event of a connection.
    Closed(CloseReason),
}

impl SocketEvent {
    /// A stable snake_case name, for logs.
    pub fn label(&self) -> &'static str {
        match self {
            SocketEvent::QrCode { .. } => "qr_code",
            SocketEvent::QrCodesExhausted => "qr_codes_exhausted",
            SocketEvent::PairCode { .. } => "pair_code",
            SocketEvent::PairCodeError { .. } => "pair_code_error",
            SocketEvent::PasskeyRequired { .. } => "passkey_required",
            SocketEvent::PasskeyConfirmation { .. } => "passkey_confirmation",
            SocketEvent::PasskeyError { .. } => "passkey_error",
            SocketEvent::Paired { .. } => "paired",
            SocketEvent::Connected { .. } => "connected",
            SocketEvent::OfflineSyncCompleted { .. } => "offline_sync_completed",
            SocketEvent::Message { .. } => "message",
            SocketEvent::Receipt(_) => "receipt",
            SocketEvent::Undecryptable { .. } => "undecryptable",
            SocketEvent::GroupUpdate { .. } => "group_update",
            SocketEvent::ContactChanged { .. } => "contact_changed",
            SocketEvent::Closed(_) => "closed",
        }
    }
}

/// The ordered stream of one connection's events. Ends after [`SocketEvent::Closed`].
pub type SocketEvents = mpsc::Receiver<SocketEvent>;

/// Why a socket operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SocketError {
    /// No live connection (not connected yet, or closed).
    #[error("not connected to WhatsApp")]
    NotConnected,
    /// The account is not linked; link it first.
    #[error("account is not linked to a WhatsApp number")]
    NotLinked,
    /// The operation needs an unlinked device (e.g. a pair code on a linked one).
    #[error("account is already linked")]
    AlreadyLinked,
    /// The server did not answer in time; whether it happened is unknown.
    #[error("timed out waiting for WhatsApp after {0:?}")]
    Timeout(Duration),
    /// The connection broke during the operation (closed, reset); safe to retry.
    #[error("connection interrupted: {0}")]
    Interrupted(String),
    /// WhatsApp refused the operation.
    #[error("WhatsApp rejected the request ({code}): {detail}")]
    Rejected {
        /// The protocol's error code.
        code: u16,
        /// Its text.
        detail: String,
    },
    /// The media is gone from WhatsApp's servers; ask for a re-upload.
    #[error("media expired on WhatsApp's servers")]
    MediaExpired,
    /// The request was malformed (the message says which part).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The target does not exist (unknown group, number not on WhatsApp).
    #[error("not found: {0}")]
    NotFound(String),
    /// This transport cannot do that.
    #[error("not supported by this transport: {0}")]
    Unsupported(&'static str),
    /// Anything else, with the transport's description.
    #[error("{0}")]
    Other(String),
}

impl SocketError {
    /// True for failures worth retrying as is: interrupted connections and time-outs.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SocketError::Interrupted(_) | SocketError::Timeout(_) | SocketError::NotConnected
        )
    }
}

/// One linked-device connection to WhatsApp for one account.
///
/// Implementations: `wagw_socket::WhatsAppSocket` (real) and `wagw_sim::SimSocket`
/// (simulated). All methods take `&self` and may be called concurrently; operations other
/// than `connect` fail with [`SocketError::NotConnected`] while no connection is up.
#[async_trait]
pub trait WaSocket: Send + Sync + 'static {
    /// Starts one connection attempt (linking first if the account is not linked) and returns
    /// its ordered events. Calling it while a connection is up closes that one first.
    async fn connect(&self) -> Result<SocketEvents, SocketError>;

    /// Closes the connection, keeping the link. The event stream ends with
    /// `Closed(Requested)`.
    async fn disconnect(&self);

    /// Unlinks this device from the phone and deletes its protocol state.
    async fn logout(&self) -> Result<(), SocketError>;

    /// Requests a pair code for linking by phone number (unlinked device, connection up).
    /// The code also arrives as [`SocketEvent::PairCode`].
    async fn request_pair_code(&self, phone: &Phone) -> Result<String, SocketError>;

    /// Completes a passkey step with an authenticator's assertion (WebAuthn JSON).
    async fn submit_passkey_assertion(&self, assertion_json: &str) -> Result<(), SocketError>;

    /// Finishes a passkey link once the operator has checked that the code of
    /// [`SocketEvent::PasskeyConfirmation`] matches the one the phone shows. Transports
    /// without passkey linking report [`SocketError::Unsupported`].
    async fn confirm_passkey(&self) -> Result<(), SocketError> {
        Err(SocketError::Unsupported("passkey"))
    }

    /// A liveness round-trip the server must answer (an IQ ping on the real transport).
    /// The supervisor probes an idle link with it before deciding the link is dead.
    /// Transports that cannot ping report [`SocketError::Unsupported`], and the gateway
    /// then treats idleness as alive.
    async fn ping(&self) -> Result<(), SocketError> {
        Err(SocketError::Unsupported("ping"))
    }

    /// Who this account is linked as, if linked.
    fn own_identity(&self) -> Option<OwnIdentity>;

    /// True when the account can connect without linking first. By default: it knows its
    /// identity. A transport whose account is set up elsewhere (the Cloud API: credentials
    /// from Meta's dashboard) is always linked, and learns its identity when it connects.
    fn is_linked(&self) -> bool {
        self.own_identity().is_some()
    }

    /// Sends a message and waits for the server's ack. Only an acked send returns `Ok`.
    async fn send(&self, message: OutboundMessage) -> Result<SendReceipt, SocketError>;

    /// Uploads a blob to WhatsApp's media servers (encrypting it for `kind`).
    async fn upload_media(
        &self,
        data: Bytes,
        kind: MediaKind,
    ) -> Result<UploadedMedia, SocketError>;

    /// Downloads and decrypts an inbound media blob. Expired media gives
    /// [`SocketError::MediaExpired`]; then try [`WaSocket::request_media_reupload`].
    async fn download_media(&self, media: &MediaRef, kind: MediaKind)
    -> Result<Bytes, SocketError>;

    /// Asks the sender's phone to upload expired media again; returns the fresh reference.
    async fn request_media_reupload(
        &self,
        message: &MessageKey,
        media: &MediaRef,
    ) -> Result<MediaRef, SocketError>;

    /// Marks messages read (blue ticks). `sender` is the participant in groups.
    async fn mark_read(
        &self,
        chat: &Jid,
        sender: Option<&Jid>,
        ids: &[MessageId],
    ) -> Result<(), SocketError>;

    /// Sets this account's presence in a chat (typing, recording, paused).
    async fn send_chat_presence(
        &self,
        chat: &Jid,
        presence: ChatPresence,
    ) -> Result<(), SocketError>;

    /// Fetches a group's subject and members.
    async fn group_metadata(&self, group: &Jid) -> Result<GroupMetadata, SocketError>;

    /// The LID WhatsApp uses for a phone number, if known or resolvable.
    async fn lid_for_phone(&self, phone: &Phone) -> Result<Option<Lid>, SocketError>;

    /// The phone number behind a LID, if known.
    async fn phone_for_lid(&self, lid: &Lid) -> Result<Option<Phone>, SocketError>;

    /// What the transport holds right now (connection, traffic, caches, queues), for
    /// status and metrics. `None` when the transport cannot report (the default).
    async fn resources(&self) -> Option<crate::resources::TransportResources> {
        None
    }
}
