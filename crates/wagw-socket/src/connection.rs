//! One connection's plumbing: the ordered event queue, the close-reason bookkeeping, the
//! server-ack tracker, the transport wrapper that notices connect failures, and the
//! durability hook that holds WhatsApp's ack until the gateway commits.
//!
//! Every event (from the library's event bus and from the durability hook) goes through one
//! FIFO, so the gateway sees them in the order they happened. The last event is always one
//! `Closed`, computed by [`CloseState::reason`] from what the connection saw.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tracing::{debug, info, warn};
use wagw_core::{AccountId, CloseReason, InboundAck, OwnIdentity, SocketEvent};
use whatsapp_rust::transport::{Transport, TransportEvent, TransportFactory};
use whatsapp_rust::wacore::types::events::{Event, EventHandler};
use whatsapp_rust::{Client, InboundDurabilityHook, async_channel};

use crate::groups::GroupCache;
use crate::{inbound, login, polls, receipts};

/// State shared by everything serving one connection.
pub(crate) struct ConnShared {
    pub account: AccountId,
    pub tx: mpsc::UnboundedSender<SocketEvent>,
    pub close: Mutex<CloseState>,
    pub acks: AckTracker,
    pub client: std::sync::OnceLock<Weak<Client>>,
    pub commit_timeout: Duration,
    pub identity: Arc<std::sync::RwLock<Option<OwnIdentity>>>,
    pub groups: Arc<GroupCache>,
    pub undecryptable: Arc<AtomicU64>,
    pub store: Arc<crate::store::AccountStore>,
    /// A passkey link waits at the verification stage for the operator's confirmation.
    pub passkey_confirmation_pending: AtomicBool,
    /// `Connected` was emitted. Its lock also orders emits, so nothing overtakes it.
    pub connected_sent: Mutex<bool>,
}

/// Events that belong to a logged-in session: the gateway must see `Connected` first.
fn is_session_event(event: &SocketEvent) -> bool {
    matches!(
        event,
        SocketEvent::OfflineSyncCompleted { .. }
            | SocketEvent::Message { .. }
            | SocketEvent::Receipt(_)
            | SocketEvent::Undecryptable { .. }
            | SocketEvent::GroupUpdate { .. }
            | SocketEvent::ContactChanged { .. }
    )
}

impl ConnShared {
    /// Queues an event for the gateway (no-op once the gateway stopped listening).
    ///
    /// The library announces `Connected` only after its critical app-state sync, which
    /// follows the offline backlog. The contract wants `Connected` first, so the first
    /// session event of a logged-in connection announces it.
    pub fn emit(&self, event: SocketEvent) {
        let mut sent = self
            .connected_sent
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if !*sent && is_session_event(&event) {
            self.announce_connected(&mut sent);
        }
        debug!(target: "wagw::socket", account = %self.account, event = event.label(), "socket event");
        let _ = self.tx.send(event);
    }

    /// Emits `Connected` once per connection, when the client knows who it is (the
    /// library's `Connected`, or the first session event, whichever comes first).
    pub fn connected(&self) {
        let mut sent = self
            .connected_sent
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if *sent {
            debug!(target: "wagw::socket", account = %self.account, "critical sync done");
            return;
        }
        self.announce_connected(&mut sent);
    }

    fn announce_connected(&self, sent: &mut bool) {
        let identity = self.client().and_then(|c| login::identity_of_client(&c));
        let Some(identity) = identity else {
            warn!(target: "wagw::socket", account = %self.account,
                "logged in but the device has no phone identity");
            return;
        };
        *sent = true;
        self.with_close(|c| c.logged_in = true);
        *self.identity.write().unwrap_or_else(|p| p.into_inner()) = Some(identity.clone());
        info!(target: "wagw::socket", account = %self.account, "connected to WhatsApp");
        debug!(target: "wagw::socket", account = %self.account, event = "connected", "socket event");
        let _ = self.tx.send(SocketEvent::Connected { identity });
    }

    /// The client, while it exists.
    pub fn client(&self) -> Option<Arc<Client>> {
        self.client.get().and_then(Weak::upgrade)
    }

    fn with_close(&self, f: impl FnOnce(&mut CloseState)) {
        let mut g = self.close.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g);
    }

    /// Records the terminal reason (the first one wins: it is the cause, later ones echo).
    pub fn set_terminal(&self, reason: CloseReason) {
        self.with_close(|c| {
            if c.terminal.is_none() {
                c.terminal = Some(reason);
            }
        });
    }
}

/// What a connection saw that decides its close reason.
#[derive(Debug, Default)]
pub(crate) struct CloseState {
    /// `disconnect`/`logout` was called.
    pub requested: bool,
    /// An event that ends the session for a stated reason.
    pub terminal: Option<CloseReason>,
    /// The code of a `<stream:error>` the server sent.
    pub stream_error: Option<(u16, String)>,
    /// An established connection dropped (the library's `Disconnected`).
    pub disconnected: Option<String>,
    /// Creating the transport failed.
    pub transport_error: Option<String>,
    /// The transport delivered a close before the session ended.
    pub transport_closed: Option<String>,
    /// The transport was created at least once.
    pub transport_created: bool,
    /// `Connected` was seen.
    pub logged_in: bool,
}

impl CloseState {
    /// The close reason, from the most specific evidence to the least.
    pub fn reason(&self) -> CloseReason {
        if self.requested {
            return CloseReason::Requested;
        }
        if let Some(t) = &self.terminal {
            return t.clone();
        }
        if let Some((code, detail)) = &self.stream_error {
            return CloseReason::StreamError {
                code: *code,
                detail: detail.clone(),
            };
        }
        if let Some(d) = &self.disconnected {
            return CloseReason::Network { detail: d.clone() };
        }
        if let Some(e) = &self.transport_error {
            return CloseReason::ConnectFailed { detail: e.clone() };
        }
        if !self.logged_in {
            let detail = match &self.transport_closed {
                Some(c) if self.transport_created => {
                    format!("the connection closed before login completed: {c}")
                }
                _ if self.transport_created => {
                    "the handshake or login did not complete".to_string()
                }
                _ => "no connection could be made".to_string(),
            };
            return CloseReason::ConnectFailed { detail };
        }
        CloseReason::Network {
            detail: self
                .transport_closed
                .clone()
                .unwrap_or_else(|| "the connection ended".to_string()),
        }
    }
}

/// The server's answer to one outgoing stanza.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AckResult {
    /// The nack code, when the server refused the stanza.
    pub error: Option<String>,
    /// The server's timestamp, Unix seconds.
    pub timestamp: Option<i64>,
}

/// Recent server acks by stanza id. Acks are recorded as they arrive (an ack can beat the
/// sender to its wait), bounded so a long-lived connection does not grow it.
pub(crate) struct AckTracker {
    recent: Mutex<(HashMap<String, AckResult>, VecDeque<String>)>,
    notify: Notify,
}

const ACKS_KEPT: usize = 1024;

impl AckTracker {
    pub fn new() -> AckTracker {
        AckTracker {
            recent: Mutex::new((HashMap::new(), VecDeque::new())),
            notify: Notify::new(),
        }
    }

    pub fn record(&self, id: String, result: AckResult) {
        {
            let mut g = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            let (map, order) = &mut *g;
            if map.insert(id.clone(), result).is_none() {
                order.push_back(id);
            }
            while order.len() > ACKS_KEPT {
                if let Some(old) = order.pop_front() {
                    map.remove(&old);
                }
            }
        }
        self.notify.notify_waiters();
    }

    fn take(&self, id: &str) -> Option<AckResult> {
        let mut g = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        g.0.remove(id)
    }

    /// Waits for the ack of `id`, up to `timeout`.
    pub async fn wait(&self, id: &str, timeout: Duration) -> Option<AckResult> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(r) = self.take(id) {
                return Some(r);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.take(id);
            }
        }
    }
}

/// Wraps the real transport factory to learn what the library only logs: whether a
/// transport could be created, and why it closed.
pub(crate) struct RecordingFactory {
    pub inner: Arc<dyn TransportFactory>,
    pub shared: Weak<ConnShared>,
}

#[async_trait::async_trait]
impl TransportFactory for RecordingFactory {
    async fn create_transport(
        &self,
    ) -> whatsapp_rust::anyhow::Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>)>
    {
        let result = self.inner.create_transport().await;
        if let Some(shared) = self.shared.upgrade() {
            match &result {
                Ok(_) => shared.with_close(|c| c.transport_created = true),
                Err(e) => {
                    let detail = format!("{e:#}");
                    shared.with_close(|c| c.transport_error = Some(detail));
                }
            }
        }
        let (transport, events) = result?;
        // Tee the transport's events so the close reason of the byte pipe is known.
        let (tx, rx) = async_channel::unbounded();
        let shared = self.shared.clone();
        tokio::spawn(async move {
            while let Ok(ev) = events.recv().await {
                if let TransportEvent::Disconnected(reason) = &ev
                    && let Some(s) = shared.upgrade()
                {
                    let detail = format!("{reason:?}");
                    s.with_close(|c| c.transport_closed = Some(detail));
                }
                if tx.send(ev).await.is_err() {
                    break;
                }
            }
        });
        Ok((transport, rx))
    }
}

/// Converts the library's events into [`SocketEvent`]s, inline on its dispatch path.
pub(crate) struct Forwarder {
    pub shared: Arc<ConnShared>,
}

impl EventHandler for Forwarder {
    fn handle_event(&self, event: Arc<Event>) {
        let s = &self.shared;
        match &*event {
            Event::Connected(_) => s.connected(),
            Event::Messages(batch) => {
                // Batches the durability hook committed were already emitted by the hook.
                if batch.hook_committed {
                    return;
                }
                for m in batch.messages.iter() {
                    let msg = inbound::convert(&s.account, &m.message, &m.info);
                    // Newsletter and PDO-recovered messages bypass the hook: the library
                    // acks them on its own path, so there is nothing to hold.
                    s.emit(SocketEvent::Message {
                        message: Box::new(msg),
                        ack: InboundAck::detached(),
                    });
                }
            }
            Event::Receipt(r) => {
                if let Some(receipt) = receipts::convert(r) {
                    s.emit(SocketEvent::Receipt(receipt));
                }
            }
            Event::ServerAck(a) => s.acks.record(
                a.id.clone(),
                AckResult {
                    error: a.error.clone(),
                    timestamp: a.timestamp.map(|t| t.timestamp()),
                },
            ),
            Event::UndecryptableMessage(u) => {
                let n = s.undecryptable.fetch_add(1, Ordering::Relaxed) + 1;
                warn!(target: "wagw::inbound", account = %s.account, id = %u.info.id,
                    unavailable = u.is_unavailable, total = n, "undecryptable message");
                if let Some(chat) = crate::ids::from_wa(&u.info.source.chat) {
                    s.emit(SocketEvent::Undecryptable {
                        chat,
                        sender: crate::ids::from_wa(&u.info.source.sender),
                        id: wagw_core::MessageId::new(u.info.id.clone()),
                    });
                }
            }
            Event::GroupUpdate(g) => {
                if let Some(group) = crate::ids::from_wa(&g.group_jid) {
                    s.groups.invalidate(&group);
                    s.emit(SocketEvent::GroupUpdate { group });
                }
            }
            Event::ContactNumberChanged(c) => {
                let phone =
                    |j: &whatsapp_rust::Jid| crate::ids::from_wa(j).and_then(|j| j.to_phone());
                s.emit(SocketEvent::ContactChanged {
                    lid: c
                        .new_lid
                        .as_ref()
                        .or(c.old_lid.as_ref())
                        .and_then(crate::ids::from_wa)
                        .and_then(|j| j.to_lid()),
                    old_phone: phone(&c.old_jid),
                    new_phone: phone(&c.new_jid),
                });
            }
            Event::OfflineSyncCompleted(o) => s.emit(SocketEvent::OfflineSyncCompleted {
                count: u32::try_from(o.count).unwrap_or(0),
            }),
            Event::Disconnected(d) => {
                let detail = format!("{:?}", d.reason);
                s.with_close(|c| c.disconnected = Some(detail));
            }
            other => {
                if let Some(reason) = login::close_reason_of(other) {
                    info!(target: "wagw::reconnect", account = %s.account, reason = %reason, "session ended by WhatsApp");
                    s.set_terminal(reason);
                }
                login::forward_login_event(s, other);
            }
        }
    }
}

/// Holds WhatsApp's ack for each decrypted message until the gateway commits it.
pub(crate) struct CommitHook {
    pub shared: Arc<ConnShared>,
}

#[async_trait::async_trait]
impl InboundDurabilityHook for CommitHook {
    async fn on_messages(
        &self,
        client: Arc<Client>,
        batch: &[whatsapp_rust::wacore::types::events::InboundMessage],
    ) -> whatsapp_rust::anyhow::Result<()> {
        let s = &self.shared;
        let mut waits = Vec::with_capacity(batch.len());
        for m in batch {
            let mut msg = inbound::convert(&s.account, &m.message, &m.info);
            polls::resolve_vote(&client, &s.store, &m.message, &m.info, &mut msg).await;
            crate::lid::complete_sender(&client, &mut msg).await;
            let (ack, rx) = InboundAck::pair();
            s.emit(SocketEvent::Message {
                message: Box::new(msg),
                ack,
            });
            waits.push(rx);
        }
        let all = async {
            for rx in waits {
                rx.await?;
            }
            Ok::<(), tokio::sync::oneshot::error::RecvError>(())
        };
        match tokio::time::timeout(s.commit_timeout, all).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(whatsapp_rust::anyhow::anyhow!(
                "the gateway dropped a message without committing it; WhatsApp will redeliver"
            )),
            Err(_) => Err(whatsapp_rust::anyhow::anyhow!(
                "the gateway did not commit within {:?}; WhatsApp will redeliver",
                s.commit_timeout
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reason_prefers_the_most_specific_evidence() {
        let mut c = CloseState::default();
        assert!(matches!(c.reason(), CloseReason::ConnectFailed { .. }));
        c.transport_created = true;
        c.logged_in = true;
        assert!(matches!(c.reason(), CloseReason::Network { .. }));
        c.disconnected = Some("StreamEnded".into());
        assert_eq!(
            c.reason(),
            CloseReason::Network {
                detail: "StreamEnded".into()
            }
        );
        c.stream_error = Some((515, "restart required".into()));
        assert_eq!(c.reason().code(), Some(515));
        c.terminal = Some(CloseReason::ClientOutdated);
        assert_eq!(c.reason(), CloseReason::ClientOutdated);
        c.requested = true;
        assert_eq!(c.reason(), CloseReason::Requested);
    }

    #[tokio::test]
    async fn acks_recorded_before_the_wait_are_found() {
        let t = AckTracker::new();
        t.record(
            "A".into(),
            AckResult {
                error: None,
                timestamp: Some(5),
            },
        );
        assert_eq!(
            t.wait("A", Duration::from_millis(10))
                .await
                .map(|r| r.timestamp),
            Some(Some(5))
        );
        assert!(t.wait("B", Duration::from_millis(10)).await.is_none());
    }
}
