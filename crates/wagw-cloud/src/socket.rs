//! [`CloudSocket`]: the [`WaSocket`] of a Cloud API number.
//!
//! A "connection" here is the account being live: `connect` checks the credentials with
//! Meta (reading the number's display phone), emits `Connected` and an empty
//! `OfflineSyncCompleted` (Meta keeps no backlog for us: it retries webhooks instead), and
//! from then on webhooks handed to [`CloudSocket::receive_webhook`] become events on that
//! stream. Sends go straight to the Graph API.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;
use wagw_core::{
    ChatPresence, CloseReason, GroupMetadata, InboundAck, Jid, Lid, MediaKind, MediaRef, MessageId,
    MessageKey, OutboundMessage, OwnIdentity, Phone, SendReceipt, SocketError, SocketEvent,
    SocketEvents, UploadedMedia, WaSocket,
};

use crate::config::CloudConfig;
use crate::error::{GraphError, WebhookError};
use crate::graph::{CallError, Graph};
use crate::outbound;
use crate::webhook;
use wagw_core::Template;

/// Events a live account can hold before a webhook is refused (Meta then retries).
const EVENT_BUFFER: usize = 1024;
/// Committed message ids remembered to answer Meta's retries at once.
const SEEN_CAP: usize = 4096;

/// Why a webhook was accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookReceipt {
    /// Messages handed to the gateway and committed by it.
    pub committed: usize,
    /// Messages this transport had committed before (Meta's retries), answered at once.
    pub duplicates: usize,
    /// Status updates turned into receipts.
    pub receipts: usize,
}

struct Conn {
    tx: mpsc::Sender<SocketEvent>,
}

/// Ids of committed messages, oldest forgotten first.
#[derive(Default)]
struct Seen {
    order: VecDeque<MessageId>,
    set: HashSet<MessageId>,
}

impl Seen {
    fn contains(&self, id: &MessageId) -> bool {
        self.set.contains(id)
    }

    fn insert(&mut self, id: MessageId) {
        if self.set.insert(id.clone()) {
            self.order.push_back(id);
            while self.order.len() > SEEN_CAP {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

struct Inner {
    graph: Graph,
    identity: Mutex<Option<OwnIdentity>>,
    conn: Mutex<Option<Conn>>,
    seen: Mutex<Seen>,
    last_send_ms: AtomicI64,
}

/// One WhatsApp Business Cloud API number as a [`WaSocket`]. Cheap to clone (one shared
/// state): the daemon keeps a clone to hand it webhooks.
#[derive(Clone)]
pub struct CloudSocket {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CloudSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudSocket")
            .field("config", self.config())
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CloudSocket {
    /// A socket for `config`; nothing is sent until [`WaSocket::connect`] or
    /// [`CloudSocket::identify`].
    pub fn new(config: CloudConfig) -> Result<CloudSocket, SocketError> {
        Ok(CloudSocket {
            inner: Arc::new(Inner {
                graph: Graph::new(config)?,
                identity: Mutex::new(None),
                conn: Mutex::new(None),
                seen: Mutex::new(Seen::default()),
                last_send_ms: AtomicI64::new(0),
            }),
        })
    }

    /// The account's settings.
    pub fn config(&self) -> &CloudConfig {
        self.inner.graph.config()
    }

    fn graph(&self) -> &Graph {
        &self.inner.graph
    }

    fn connected(&self) -> Result<(), SocketError> {
        if lock(&self.inner.conn).is_some() {
            Ok(())
        } else {
            Err(SocketError::NotConnected)
        }
    }

    /// Reads the number's display phone and name from Meta and remembers them as
    /// [`WaSocket::own_identity`]. A refused token gives the message that says how to fix it.
    pub async fn identify(&self) -> Result<OwnIdentity, SocketError> {
        let path = format!(
            "{}?fields=display_phone_number,verified_name",
            self.config().phone_number_id
        );
        let v = self
            .graph()
            .get(&path)
            .await
            .map_err(|e| e.to_socket_error())?;
        let display = v
            .get("display_phone_number")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                SocketError::Other(format!(
                    "Meta's answer for phone number id {} has no display_phone_number",
                    self.config().phone_number_id
                ))
            })?;
        let phone = Phone::parse(display).map_err(|e| {
            SocketError::Other(format!("Meta's display_phone_number {display:?}: {e}"))
        })?;
        let identity = OwnIdentity {
            phone,
            lid: None,
            push_name: v
                .get("verified_name")
                .and_then(Value::as_str)
                .map(str::to_string),
        };
        *lock(&self.inner.identity) = Some(identity.clone());
        Ok(identity)
    }

    /// Answers Meta's webhook verification (`GET …/webhook?hub.mode=subscribe&…`).
    pub fn verify_subscription(
        &self,
        mode: Option<&str>,
        token: Option<&str>,
        challenge: Option<&str>,
    ) -> Result<String, WebhookError> {
        let expected = self.config().verify_token.as_ref().map(|s| s.expose());
        webhook::verify_subscription(expected, mode, token, challenge)
    }

    /// Handles one webhook `POST`: checks the signature over the raw `body` (when an app
    /// secret is configured), turns its messages into events on the live connection and
    /// waits until the gateway has committed every one. `Ok` means "answer 200"; an error
    /// names the status to answer ([`WebhookError::status`]), and nothing was processed
    /// for a signature error. Messages committed before (Meta retrying) are answered at
    /// once without going to the gateway again.
    pub async fn receive_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<WebhookReceipt, WebhookError> {
        let config = self.config();
        if let Some(secret) = &config.app_secret {
            webhook::verify_signature(secret.expose(), signature, body)?;
        }
        let parsed = webhook::parse(body, &config.account, &config.phone_number_id)?;
        let mut receipt = WebhookReceipt {
            receipts: parsed.receipts.len(),
            ..WebhookReceipt::default()
        };
        let mut waiting = Vec::new();
        {
            let conn = lock(&self.inner.conn);
            let conn = conn.as_ref().ok_or(WebhookError::NotConnected)?;
            let seen = lock(&self.inner.seen);
            for r in parsed.receipts {
                // Receipts are informational: a full buffer drops them rather than make
                // Meta resend the messages of the same webhook.
                let _ = conn.tx.try_send(SocketEvent::Receipt(r));
            }
            for m in parsed.messages {
                if seen.contains(&m.id) {
                    receipt.duplicates += 1;
                    tracing::debug!(target: "wagw::cloud", account = %config.account,
                        id = %m.id, "webhook retry of a committed message");
                    continue;
                }
                let (ack, rx) = InboundAck::pair();
                let id = m.id.clone();
                conn.tx
                    .try_send(SocketEvent::Message {
                        message: Box::new(m),
                        ack,
                    })
                    .map_err(|_| {
                        WebhookError::NotCommitted("the account's inbound queue is full".into())
                    })?;
                waiting.push((id, rx));
            }
        }
        let deadline = tokio::time::Instant::now() + config.commit_timeout;
        for (id, rx) in waiting {
            match tokio::time::timeout_at(deadline, rx).await {
                Ok(Ok(())) => {
                    lock(&self.inner.seen).insert(id);
                    receipt.committed += 1;
                }
                Ok(Err(_)) => {
                    return Err(WebhookError::NotCommitted(format!(
                        "message {id} was not stored"
                    )));
                }
                Err(_) => {
                    return Err(WebhookError::NotCommitted(format!(
                        "message {id} was not stored within {:?}",
                        config.commit_timeout
                    )));
                }
            }
        }
        Ok(receipt)
    }

    async fn post_message(&self, body: &Value) -> Result<SendReceipt, SocketError> {
        self.connected()?;
        let path = format!("{}/messages", self.config().phone_number_id);
        let v = self
            .graph()
            .post(&path, body)
            .await
            .map_err(|e| self.logged(e))?;
        let id = v
            .get("messages")
            .and_then(|m| m.get(0))
            .and_then(|m| m.get("id"))
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                // Without an id Meta did not confirm the send: not sent.
                SocketError::Other("Meta's answer to a send carries no message id".into())
            })?;
        // Timestamps of consecutive sends never go backwards, even if the clock does.
        let ts = now_ms();
        let prev = self.inner.last_send_ms.fetch_max(ts, Ordering::Relaxed);
        Ok(SendReceipt {
            id: MessageId::new(id),
            timestamp_ms: ts.max(prev),
        })
    }

    /// Logs a failed call (without the token) and converts it.
    fn logged(&self, e: CallError) -> SocketError {
        let err = e.to_socket_error();
        tracing::warn!(target: "wagw::cloud", account = %self.config().account, error = %err,
            "Graph API call failed");
        err
    }

    /// Sends an approved template: what may be sent when the customer has not written in
    /// the last 24 hours.
    pub async fn send_template(
        &self,
        chat: &Jid,
        template: &Template,
    ) -> Result<SendReceipt, SocketError> {
        let body = outbound::template_body(chat, template)?;
        self.post_message(&body).await
    }

    fn close(&self, reason: CloseReason) {
        if let Some(conn) = lock(&self.inner.conn).take() {
            // The receiver may be gone; then nobody is waiting for the close.
            let _ = conn.tx.try_send(SocketEvent::Closed(reason));
        }
    }
}

#[async_trait]
impl WaSocket for CloudSocket {
    async fn connect(&self) -> Result<SocketEvents, SocketError> {
        self.close(CloseReason::Requested);
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        match self.identify().await {
            Ok(identity) => {
                // Connected and the (empty) backlog go out before the connection is
                // published, so no webhook event can come first.
                let _ = tx.try_send(SocketEvent::Connected { identity });
                let _ = tx.try_send(SocketEvent::OfflineSyncCompleted { count: 0 });
                let previous = lock(&self.inner.conn).replace(Conn { tx });
                if let Some(p) = previous {
                    // A concurrent connect won the race; its stream ends now.
                    let _ = p.tx.try_send(SocketEvent::Closed(CloseReason::Requested));
                }
                tracing::info!(target: "wagw::cloud", account = %self.config().account,
                    "Cloud API number verified; webhooks are delivered");
            }
            Err(e) => {
                let reason = match &e {
                    SocketError::Rejected { code: 401, detail } => CloseReason::LoggedOut {
                        detail: detail.clone(),
                    },
                    SocketError::Interrupted(d) => CloseReason::ConnectFailed { detail: d.clone() },
                    other => CloseReason::ConnectFailed {
                        detail: other.to_string(),
                    },
                };
                let _ = tx.try_send(SocketEvent::Closed(reason));
            }
        }
        Ok(rx)
    }

    async fn disconnect(&self) {
        self.close(CloseReason::Requested);
    }

    async fn logout(&self) -> Result<(), SocketError> {
        Err(SocketError::Unsupported(
            "logout: a Cloud API number is removed in Meta's dashboard; remove the account's \
             `cloud` settings to stop wagw using it",
        ))
    }

    async fn request_pair_code(&self, _phone: &Phone) -> Result<String, SocketError> {
        Err(SocketError::Unsupported(
            "pair codes: a Cloud API number is registered in Meta's dashboard, not linked as a \
             device (see docs/cloud-api.md)",
        ))
    }

    async fn submit_passkey_assertion(&self, _assertion_json: &str) -> Result<(), SocketError> {
        Err(SocketError::Unsupported(
            "passkeys: a Cloud API number is registered in Meta's dashboard, not linked as a \
             device (see docs/cloud-api.md)",
        ))
    }

    async fn confirm_passkey(&self) -> Result<(), SocketError> {
        Err(SocketError::Unsupported(
            "passkeys: a Cloud API number is registered in Meta's dashboard, not linked as a \
             device (see docs/cloud-api.md)",
        ))
    }

    async fn ping(&self) -> Result<(), SocketError> {
        self.connected()?;
        let path = format!("{}?fields=id", self.config().phone_number_id);
        self.graph()
            .get(&path)
            .await
            .map(drop)
            .map_err(|e| e.to_socket_error())
    }

    fn own_identity(&self) -> Option<OwnIdentity> {
        lock(&self.inner.identity).clone()
    }

    fn is_linked(&self) -> bool {
        // Registered in Meta's dashboard: there is nothing to link; `connect` checks the
        // credentials and learns the number.
        true
    }

    async fn send(&self, message: OutboundMessage) -> Result<SendReceipt, SocketError> {
        self.connected()?;
        let body = outbound::message_body(&message)?;
        self.post_message(&body).await
    }

    async fn upload_media(
        &self,
        data: Bytes,
        kind: MediaKind,
    ) -> Result<UploadedMedia, SocketError> {
        self.connected()?;
        let len = data.len() as u64;
        let limit = outbound::size_limit(kind);
        if len > limit {
            return Err(SocketError::InvalidRequest(format!(
                "media too large: the {} is {:.1} MB, the Cloud API takes at most {:.1} MB",
                kind.as_str(),
                len as f64 / 1_048_576.0,
                limit as f64 / 1_048_576.0
            )));
        }
        let mime = outbound::sniff_mime(&data, kind);
        let v = self
            .graph()
            .upload(data, mime)
            .await
            .map_err(|e| self.logged(e))?;
        let id = v
            .get("id")
            .and_then(Value::as_str)
            .filter(|i| !i.is_empty())
            .ok_or_else(|| SocketError::Other("Meta's upload answer has no media id".into()))?;
        Ok(UploadedMedia {
            kind,
            reference: MediaRef {
                direct_path: id.to_string(),
                file_length: len,
                ..MediaRef::default()
            },
        })
    }

    async fn download_media(
        &self,
        media: &MediaRef,
        _kind: MediaKind,
    ) -> Result<Bytes, SocketError> {
        self.connected()?;
        if media.direct_path.is_empty() {
            return Err(SocketError::InvalidRequest(
                "the media reference has no Cloud API media id".into(),
            ));
        }
        let gone = |e: CallError| match e {
            CallError::Graph(GraphError {
                http_status: 404, ..
            }) => SocketError::MediaExpired,
            // Media ids that are unknown or past Meta's 30 days answer 400 with code 100.
            CallError::Graph(GraphError { code: 100, .. }) => SocketError::MediaExpired,
            other => self.logged(other),
        };
        let info = self.graph().get(&media.direct_path).await.map_err(gone)?;
        let url = info
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| SocketError::Other("Meta's media answer has no url".into()))?;
        self.graph().download(url).await.map_err(gone)
    }

    async fn request_media_reupload(
        &self,
        _message: &MessageKey,
        _media: &MediaRef,
    ) -> Result<MediaRef, SocketError> {
        self.connected()?;
        Err(SocketError::Unsupported(
            "media re-upload: Cloud API media stays downloadable for 30 days and cannot be \
             requested again",
        ))
    }

    async fn mark_read(
        &self,
        chat: &Jid,
        _sender: Option<&Jid>,
        ids: &[MessageId],
    ) -> Result<(), SocketError> {
        self.connected()?;
        outbound::recipient(chat)?;
        let path = format!("{}/messages", self.config().phone_number_id);
        for id in ids {
            self.graph()
                .post(&path, &outbound::read_body(id.as_str()))
                .await
                .map_err(|e| self.logged(e))?;
        }
        Ok(())
    }

    async fn send_chat_presence(
        &self,
        _chat: &Jid,
        _presence: ChatPresence,
    ) -> Result<(), SocketError> {
        self.connected()?;
        Err(SocketError::Unsupported(
            "presence: the WhatsApp Cloud API shows no typing or recording indicator",
        ))
    }

    async fn group_metadata(&self, _group: &Jid) -> Result<GroupMetadata, SocketError> {
        self.connected()?;
        Err(SocketError::Unsupported(
            "groups: the WhatsApp Cloud API sends only to individual phone numbers",
        ))
    }

    async fn lid_for_phone(&self, _phone: &Phone) -> Result<Option<Lid>, SocketError> {
        self.connected()?;
        // The Cloud API addresses everyone by phone number; there are no LIDs to learn.
        Ok(None)
    }

    async fn phone_for_lid(&self, _lid: &Lid) -> Result<Option<Phone>, SocketError> {
        self.connected()?;
        Ok(None)
    }
}
