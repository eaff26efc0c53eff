//! [`SimSocket`]: one account of the network, seen through the [`WaSocket`] seam exactly as
//! the gateway sees the real transport.

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;
use wagw_core::{
    AccountId, ChatPresence, CloseReason, GroupMetadata, Jid, Lid, MediaKind, MediaRef, MessageId,
    MessageKey, OutboundMessage, OwnIdentity, Phone, SendReceipt, SocketError, SocketEvent,
    SocketEvents, UploadedMedia, WaSocket,
};

use crate::network::SimNetwork;
use crate::outbox::{SimPresence, SimReadMark};
use crate::state::{AccountState, Conn, Linking, NetState, Phase};

/// One simulated account as a [`WaSocket`]. Cheap to clone; clones drive the same account.
///
/// Semantics (shared with the real transport, checked by [`crate::contract`]):
/// - `connect` returns a fresh event stream per connection; a linked account gets
///   `Connected`, its offline backlog (`offline: true`), then `OfflineSyncCompleted`
///   (always, count possibly 0); an unlinked one gets QR codes (see [`crate::SimConfig`]).
/// - Every connection's last event is exactly one `Closed`; nothing reconnects on its own.
/// - Operations fail with `NotConnected` without a connection and `NotLinked` while the
///   connection is still linking.
#[derive(Debug, Clone)]
pub struct SimSocket {
    net: SimNetwork,
    id: AccountId,
}

impl SimSocket {
    pub(crate) fn new(net: SimNetwork, id: AccountId) -> SimSocket {
        SimSocket { net, id }
    }

    /// The account id.
    pub fn id(&self) -> &AccountId {
        &self.id
    }

    /// The network the account lives in.
    pub fn network(&self) -> &SimNetwork {
        &self.net
    }

    /// The own JID (phone JID of the linked phone), if linked.
    pub fn jid(&self) -> Option<Jid> {
        self.own_identity().map(|i| i.phone.to_jid())
    }

    /// Runs `f` on the account with a live (linked, up) connection.
    fn with_up<R>(
        &self,
        f: impl FnOnce(&mut NetState) -> Result<R, SocketError>,
    ) -> Result<R, SocketError> {
        let mut st = self.net.lock();
        check_up(&st, &self.id)?;
        f(&mut st)
    }
}

/// `NotConnected` without a connection, `NotLinked` while linking.
pub(crate) fn check_up(st: &NetState, id: &AccountId) -> Result<u64, SocketError> {
    let acct = st.accounts.get(id).ok_or(SocketError::NotConnected)?;
    match &acct.conn {
        None => Err(SocketError::NotConnected),
        Some(c) if c.is_up() => Ok(c.id),
        Some(_) => Err(SocketError::NotLinked),
    }
}

/// Opens a connection's channels: an unbounded queue filled under the lock, forwarded in
/// order into the bounded `SocketEvents` the gateway reads; the forwarder stops after
/// `Closed`, so the stream ends right after it.
fn open_channel(buffer: usize) -> (mpsc::UnboundedSender<SocketEvent>, SocketEvents) {
    let (utx, mut urx) = mpsc::unbounded_channel::<SocketEvent>();
    let (tx, rx) = mpsc::channel(buffer.max(1));
    tokio::spawn(async move {
        while let Some(ev) = urx.recv().await {
            let last = matches!(ev, SocketEvent::Closed(_));
            if tx.send(ev).await.is_err() || last {
                break;
            }
        }
    });
    (utx, rx)
}

fn account_mut<'a>(
    st: &'a mut NetState,
    id: &AccountId,
) -> Result<&'a mut AccountState, SocketError> {
    st.accounts
        .get_mut(id)
        .ok_or_else(|| SocketError::Other(format!("simulated account {id} was never created")))
}

#[async_trait]
impl WaSocket for SimSocket {
    async fn connect(&self) -> Result<SocketEvents, SocketError> {
        let now = self.net.now_ms();
        let rx = {
            let mut st = self.net.lock();
            let conn_id = st.next_conn_id();
            let buffer = st.config.event_buffer;
            let acct = account_mut(&mut st, &self.id)?;
            acct.close(CloseReason::Requested);
            acct.connections += 1;
            let (events, rx) = open_channel(buffer);
            if let Some(reason) = acct.faults.refuse_connect(now) {
                tracing::debug!(target: "wagw::sim", account = %self.id, reason = reason.label(), "connect refused");
                let _ = events.send(SocketEvent::Closed(reason));
                return Ok(rx);
            }
            if acct.owner.is_some() {
                acct.conn = Some(Conn {
                    id: conn_id,
                    events,
                    phase: Phase::Up,
                    tasks: Vec::new(),
                });
                st.go_live(&self.id);
                rx
            } else {
                let task = crate::login::spawn_qr_loop(&self.net, self.id.clone(), conn_id);
                acct.conn = Some(Conn {
                    id: conn_id,
                    events,
                    phase: Phase::Linking(Linking::default()),
                    tasks: vec![task],
                });
                tracing::debug!(target: "wagw::sim", account = %self.id, conn = conn_id, "linking");
                rx
            }
        };
        Ok(rx)
    }

    async fn disconnect(&self) {
        if let Some(acct) = self.net.lock().accounts.get_mut(&self.id) {
            acct.close(CloseReason::Requested);
        }
    }

    async fn logout(&self) -> Result<(), SocketError> {
        let mut st = self.net.lock();
        let acct = account_mut(&mut st, &self.id)?;
        if acct.owner.is_none() {
            return Err(SocketError::NotLinked);
        }
        if acct.up().is_none() {
            return Err(SocketError::NotConnected);
        }
        acct.owner = None;
        acct.pending.clear();
        acct.close(CloseReason::Requested);
        tracing::info!(target: "wagw::sim", account = %self.id, "logged out");
        Ok(())
    }

    async fn request_pair_code(&self, phone: &Phone) -> Result<String, SocketError> {
        crate::login::request_pair_code(&self.net, &self.id, phone)
    }

    async fn submit_passkey_assertion(&self, assertion_json: &str) -> Result<(), SocketError> {
        crate::login::submit_passkey(&self.net, &self.id, assertion_json)
    }

    async fn confirm_passkey(&self) -> Result<(), SocketError> {
        crate::login::confirm_passkey(&self.net, &self.id)
    }

    async fn ping(&self) -> Result<(), SocketError> {
        let dead = {
            let st = self.net.lock();
            let acct = st.accounts.get(&self.id).ok_or(SocketError::NotConnected)?;
            if acct.conn.is_none() {
                return Err(SocketError::NotConnected);
            }
            acct.faults.dead_link.then_some(st.config.ack_timeout)
        };
        match dead {
            Some(wait) => {
                tokio::time::sleep(wait).await;
                Err(SocketError::Timeout(wait))
            }
            None => Ok(()),
        }
    }

    fn own_identity(&self) -> Option<OwnIdentity> {
        let st = self.net.lock();
        st.accounts
            .get(&self.id)
            .and_then(|a| a.owner)
            .and_then(|o| st.identity_of(o))
    }

    async fn send(&self, message: OutboundMessage) -> Result<SendReceipt, SocketError> {
        crate::send::send(&self.net, &self.id, message).await
    }

    async fn upload_media(
        &self,
        data: Bytes,
        kind: MediaKind,
    ) -> Result<UploadedMedia, SocketError> {
        let now = self.net.now_ms();
        self.with_up(|st| st.upload(data, kind, now))
    }

    async fn download_media(
        &self,
        media: &MediaRef,
        kind: MediaKind,
    ) -> Result<Bytes, SocketError> {
        self.with_up(|st| st.download(media, kind))
    }

    async fn request_media_reupload(
        &self,
        message: &MessageKey,
        media: &MediaRef,
    ) -> Result<MediaRef, SocketError> {
        self.with_up(|st| {
            if !st.messages.contains_key(&message.id) {
                return Err(SocketError::NotFound(format!("message {}", message.id)));
            }
            st.reupload(media)
        })
    }

    async fn mark_read(
        &self,
        chat: &Jid,
        sender: Option<&Jid>,
        ids: &[MessageId],
    ) -> Result<(), SocketError> {
        let now = self.net.now_ms();
        self.with_up(|st| {
            if ids.is_empty() {
                return Err(SocketError::InvalidRequest(
                    "mark_read needs at least one id".into(),
                ));
            }
            if let Some(acct) = st.accounts.get_mut(&self.id) {
                acct.reads.push(SimReadMark {
                    account: self.id.clone(),
                    chat: chat.clone(),
                    sender: sender.cloned(),
                    ids: ids.to_vec(),
                    timestamp_ms: now,
                });
            }
            Ok(())
        })
    }

    async fn send_chat_presence(
        &self,
        chat: &Jid,
        presence: ChatPresence,
    ) -> Result<(), SocketError> {
        let now = self.net.now_ms();
        self.with_up(|st| {
            if let Some(acct) = st.accounts.get_mut(&self.id) {
                acct.presences.push(SimPresence {
                    account: self.id.clone(),
                    chat: chat.clone(),
                    presence,
                    timestamp_ms: now,
                });
            }
            Ok(())
        })
    }

    async fn group_metadata(&self, group: &Jid) -> Result<GroupMetadata, SocketError> {
        self.with_up(|st| {
            if let Some(acct) = st.accounts.get_mut(&self.id) {
                acct.metadata_queries += 1;
            }
            let g = *st
                .by_group
                .get(&group.without_device())
                .ok_or_else(|| SocketError::NotFound(format!("group {group}")))?;
            let owner = st.accounts.get(&self.id).and_then(|a| a.owner);
            let member = st
                .groups
                .get(g)
                .is_some_and(|gr| owner.is_some_and(|o| gr.members.contains(&o)));
            if !member {
                return Err(SocketError::Rejected {
                    code: 403,
                    detail: "forbidden: not a participant of the group".into(),
                });
            }
            st.group_metadata(g)
                .ok_or_else(|| SocketError::NotFound(format!("group {group}")))
        })
    }

    async fn lid_for_phone(&self, phone: &Phone) -> Result<Option<Lid>, SocketError> {
        self.with_up(|st| {
            Ok(st
                .by_phone
                .get(phone)
                .and_then(|&i| st.peers.get(i))
                .map(|p| p.lid.clone()))
        })
    }

    async fn phone_for_lid(&self, lid: &Lid) -> Result<Option<Phone>, SocketError> {
        self.with_up(|st| {
            Ok(st
                .by_lid
                .get(lid)
                .and_then(|&i| st.peers.get(i))
                .and_then(|p| p.phone.clone()))
        })
    }

    /// The simulated account's queues as they are now: `connected`, `messagesSent` (the
    /// outbox) and, in `sizes`, `pending_inbound` (not committed by the gateway yet, delivered
    /// or waiting for a connection), `unacked_inbound` (delivered, not committed), `outbox`, `read_marks`,
    /// `presences` and `connections_opened`.
    async fn resources(&self) -> Option<wagw_core::TransportResources> {
        let mut st = self.net.lock();
        let acct = st.accounts.get_mut(&self.id)?;
        // Committed acks are otherwise applied at the next delivery; apply them now so
        // the figures are current.
        acct.settle_acks(false);
        let mut r = wagw_core::TransportResources {
            connected: acct.conn.as_ref().is_some_and(|c| c.is_up()),
            messages_sent: acct.outbox.len() as u64,
            ..wagw_core::TransportResources::default()
        };
        for (name, n) in [
            ("pending_inbound", acct.pending.len()),
            ("unacked_inbound", acct.acks.len()),
            ("outbox", acct.outbox.len()),
            ("read_marks", acct.reads.len()),
            ("presences", acct.presences.len()),
        ] {
            r.sizes.insert(name.to_owned(), n as u64);
        }
        r.sizes
            .insert("connections_opened".to_owned(), acct.connections);
        Some(r)
    }
}
