//! One client connection: the handshake, the encrypted node stream, the automatic answers
//! a real server gives (IQ results, message acks, the offline marker), and the handle a
//! test drives.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tracing::debug;
use whatsapp_rust::async_channel;
use whatsapp_rust::buffa::Message as _;
use whatsapp_rust::transport::TransportEvent;
use whatsapp_rust::wacore::framing::{FrameDecoder, encode_frame};
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::consts::WA_CONN_HEADER;
use whatsapp_rust::wacore_binary::marshal::unmarshal_ref;
use whatsapp_rust::wacore_binary::{Node, marshal, util::unpack_bytes};
use whatsapp_rust::waproto::whatsapp as wa;

use crate::FakeError;
use crate::inbox::Envelope;
use crate::link::LinkAnswer;
use crate::noise::{HelloState, Keys, finish_xx, respond_hello};
use crate::server::{LoginOutcome, State, eof};

/// Whether the client came to link (registration) or to log in as a linked device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnKind {
    /// An unlinked device: the server sends pairing refs.
    Registration,
    /// A linked device logging in.
    Login {
        /// The phone number user part.
        user: u64,
        /// The device number.
        device: u32,
    },
}

enum Ctl {
    Send(Node),
    Close,
}

/// A test's handle on one accepted connection.
pub struct FakeConnection {
    state: Arc<State>,
    kind: ConnKind,
    ik: bool,
    ctl: mpsc::UnboundedSender<Ctl>,
    stanzas: mpsc::UnboundedReceiver<Node>,
    pub(crate) pairing: Arc<crate::pairing::Pairing>,
    pub(crate) qr_link: Arc<crate::link::QrLink>,
}

impl std::fmt::Debug for FakeConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeConnection")
            .field("kind", &self.kind)
            .field("ik", &self.ik)
            .finish()
    }
}

fn now_secs() -> u64 {
    whatsapp_rust::wacore::time::now_secs_u64()
}

impl FakeConnection {
    pub(crate) fn state(&self) -> &Arc<State> {
        &self.state
    }

    pub(crate) fn qr_link(&self) -> &crate::link::QrLink {
        &self.qr_link
    }

    /// Registration or login.
    pub fn kind(&self) -> &ConnKind {
        &self.kind
    }

    /// True when the client used Noise IK (it had this server's certificate cached).
    pub fn used_ik(&self) -> bool {
        self.ik
    }

    /// Sends a node to the client.
    pub fn send_node(&self, node: Node) {
        let _ = self.ctl.send(Ctl::Send(node));
    }

    /// Ends the stream from the server side (the client sees EOF).
    pub fn close(&self) {
        let _ = self.ctl.send(Ctl::Close);
    }

    /// `<stream:error code=..>`.
    pub fn stream_error(&self, code: u16) {
        self.send_node(
            NodeBuilder::new("stream:error")
                .attr("code", code.to_string())
                .build(),
        );
    }

    /// `<stream:error><conflict type="replaced"/></stream:error>`: another client took over.
    pub fn conflict_replaced(&self) {
        self.send_node(
            NodeBuilder::new("stream:error")
                .children([NodeBuilder::new("conflict")
                    .attr("type", "replaced")
                    .build()])
                .build(),
        );
    }

    /// A plaintext newsletter message to the client; returns its id.
    pub fn send_newsletter_text(&self, newsletter: &str, text: &str) -> String {
        let id = format!("NL{}", now_secs() % 1_000_000_000);
        let body = wa::Message {
            conversation: Some(text.to_string()),
            ..Default::default()
        }
        .encode_to_vec();
        self.send_node(
            NodeBuilder::new("message")
                .attr("from", newsletter)
                .attr("id", id.clone())
                .attr("server_id", "101")
                .attr("t", now_secs().to_string())
                .attr("type", "text")
                .children([NodeBuilder::new("plaintext").bytes(body).build()])
                .build(),
        );
        id
    }

    /// An end-to-end encrypted text from the phone number `from_phone` (digits, e.g.
    /// `"15550001111"`; the contact's device 0) to this connection's account; returns the
    /// message id. See [`FakeConnection::send_dm`].
    pub async fn send_dm_text(&self, from_phone: &str, text: &str) -> Result<String, FakeError> {
        let message = wa::Message {
            conversation: Some(text.to_string()),
            ..Default::default()
        };
        self.send_dm(from_phone, &message).await
    }

    /// An end-to-end encrypted 1:1 message from the contact `from_phone`, as WhatsApp
    /// delivers it: `<message from="<phone>@s.whatsapp.net" type="text"><enc v="2"
    /// type="pkmsg|msg">`, Signal-encrypted by the contact's own session with the account
    /// (built from the key bundle the client uploaded; waits up to 10 s for that upload).
    /// The sender's push name (`notify`) is `Contact <phone>`. The server keeps the message
    /// until the client acknowledges it and redelivers it, `offline`, on the account's next
    /// login connection otherwise.
    pub async fn send_dm(
        &self,
        from_phone: &str,
        message: &wa::Message,
    ) -> Result<String, FakeError> {
        let ConnKind::Login { user, device } = self.kind else {
            return Err(FakeError::NotLoggedIn);
        };
        let sealed = self
            .state
            .peers
            .seal(from_phone, user, device, message, Duration::from_secs(10))
            .await?;
        let n = self.state.next_message.fetch_add(1, Ordering::SeqCst);
        let envelope = Envelope {
            id: format!("3EB0{n:016X}"),
            from: format!("{from_phone}@s.whatsapp.net"),
            t: now_secs(),
            notify: Some(format!("Contact {from_phone}")),
            enc_type: sealed.enc_type,
            ciphertext: sealed.ciphertext,
        };
        let id = envelope.id.clone();
        self.send_node(envelope.node(false));
        self.state.inbox.delivered(envelope);
        Ok(id)
    }

    /// Opens a 1:1 `<message>` this connection's account sent to a fake phone (the way
    /// the phone would): the recipient's phone number and the decrypted message. `None`
    /// for anything else. Each ciphertext opens once, like a real recipient's.
    pub async fn read_dm(&self, node: &Node) -> Option<(String, wa::Message)> {
        let ConnKind::Login { user, device } = self.kind else {
            return None;
        };
        self.state.peers.open(node, user, device).await
    }

    /// The next stanza the client sent, waiting up to `timeout`.
    pub async fn recv(&mut self, timeout: Duration) -> Option<Node> {
        tokio::time::timeout(timeout, self.stanzas.recv())
            .await
            .ok()
            .flatten()
    }

    /// The first stanza the client sends that matches `pred`, skipping others, waiting up
    /// to `timeout` in all.
    pub async fn wait_for(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Node) -> bool,
    ) -> Option<Node> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let n = self.recv(left).await?;
            if pred(&n) {
                return Some(n);
            }
        }
    }
}

/// The attribute `key` of `node`, as a string.
pub fn attr(node: &Node, key: &str) -> Option<String> {
    node.attrs().optional_string(key).map(|s| s.to_string())
}

/// How long the offline marker trails a redelivered backlog. The client decrypts messages
/// on per-chat worker tasks but handles `<ib>` inline, and its drain finisher can take the
/// processing permit before a worker that has not started yet
/// (whatsapp-rust 0.7 `handlers/message.rs` chat lanes vs `handlers/ib.rs` `offline`):
/// a marker right behind the messages could end the drain before they joined it. WhatsApp
/// streams a backlog well ahead of its marker; the pause stands in for that.
const OFFLINE_MARKER_DELAY: Duration = Duration::from_millis(300);

/// `<ib><offline count=N/>`: the end of the login's offline queue.
fn offline_marker(count: usize) -> Node {
    NodeBuilder::new("ib")
        .children([NodeBuilder::new("offline")
            .attr("count", count.to_string())
            .build()])
        .build()
}

/// Ends the offline queue after the passive IQ (whose answer carried the redeliveries):
/// the marker at once for an empty queue, a moment after a backlog otherwise.
fn end_offline_queue(state: &State, node: &Node, ctl: &mpsc::WeakUnboundedSender<Ctl>) {
    if node.tag.as_ref() != "iq" || attr(node, "xmlns").as_deref() != Some("passive") {
        return;
    }
    let Some(ctl) = ctl.upgrade() else {
        return;
    };
    let count = state.inbox.unacknowledged().len();
    if count == 0 {
        let _ = ctl.send(Ctl::Send(offline_marker(0)));
        return;
    }
    tokio::spawn(async move {
        tokio::time::sleep(OFFLINE_MARKER_DELAY).await;
        let _ = ctl.send(Ctl::Send(offline_marker(count)));
    });
}

struct Wire {
    keys: Keys,
    read_counter: u32,
    write_counter: u32,
    to_client: async_channel::Sender<TransportEvent>,
}

impl Wire {
    async fn send(&mut self, node: &Node) -> bool {
        let Ok(plain) = marshal(node) else {
            return false;
        };
        let Ok(ct) = self
            .keys
            .write
            .encrypt_with_counter(self.write_counter, &plain)
        else {
            return false;
        };
        self.write_counter += 1;
        let Ok(frame) = encode_frame(&ct, None) else {
            return false;
        };
        self.to_client
            .send(TransportEvent::DataReceived(Bytes::from(frame)))
            .await
            .is_ok()
    }

    fn open(&mut self, frame: bytes::BytesMut) -> Option<Node> {
        let mut buf = frame;
        self.keys
            .read
            .decrypt_in_place_with_counter(self.read_counter, &mut buf)
            .ok()?;
        self.read_counter += 1;
        let data = unpack_bytes(buf).ok()?;
        unmarshal_ref(&data).ok().map(|n| n.to_owned())
    }
}

/// Reads frames from the client until one is complete.
async fn next_frame(
    rx: &mut mpsc::UnboundedReceiver<Bytes>,
    dec: &mut FrameDecoder,
    first: &mut bool,
) -> Option<bytes::BytesMut> {
    loop {
        if let Some(f) = dec.decode_frame() {
            return Some(f);
        }
        let chunk = rx.recv().await?;
        let data: &[u8] = if *first && chunk.starts_with(&WA_CONN_HEADER) {
            &chunk[WA_CONN_HEADER.len()..]
        } else {
            &chunk
        };
        *first = false;
        dec.feed(data);
    }
}

/// Serves one connection until either side closes it.
pub(crate) async fn serve(
    state: Arc<State>,
    mut from_client: mpsc::UnboundedReceiver<Bytes>,
    to_client: async_channel::Sender<TransportEvent>,
) {
    let mut dec = FrameDecoder::new();
    let mut first = true;
    let Some(hello) = next_frame(&mut from_client, &mut dec, &mut first).await else {
        return;
    };
    let Ok((server_hello, st)) = respond_hello(&state.id, &hello) else {
        debug!("fake server: bad client hello");
        return;
    };
    let Ok(frame) = encode_frame(&server_hello, None) else {
        return;
    };
    if to_client
        .send(TransportEvent::DataReceived(Bytes::from(frame)))
        .await
        .is_err()
    {
        return;
    }
    let hs = match st {
        HelloState::Done(hs) => hs,
        HelloState::AwaitFinish { noise, server_eph } => {
            let Some(finish) = next_frame(&mut from_client, &mut dec, &mut first).await else {
                return;
            };
            match finish_xx(noise, &server_eph, &finish) {
                Ok(hs) => hs,
                Err(e) => {
                    debug!("fake server: handshake failed: {e}");
                    return;
                }
            }
        }
    };
    let kind = match hs.client_payload.username {
        Some(user) => ConnKind::Login {
            user,
            device: hs.client_payload.device.unwrap_or(0),
        },
        None => ConnKind::Registration,
    };
    let mut wire = Wire {
        keys: hs.keys,
        read_counter: 0,
        write_counter: 0,
        to_client: to_client.clone(),
    };
    let (ctl_tx, mut ctl_rx) = mpsc::unbounded_channel();
    // Weak: dropping the test's handle must still end the connection.
    let ctl_self = ctl_tx.downgrade();
    let (stanza_tx, stanza_rx) = mpsc::unbounded_channel();
    let pairing = Arc::new(crate::pairing::Pairing::default());
    let qr_link = Arc::new(crate::link::QrLink::default());
    let config = state.config();
    let refs: Vec<String> = match &kind {
        ConnKind::Registration => {
            let n = state.registrations.fetch_add(1, Ordering::SeqCst) + 1;
            config
                .qr_refs
                .iter()
                .map(|r| {
                    if n == 1 {
                        r.clone()
                    } else {
                        format!("{r}.{n}")
                    }
                })
                .collect()
        }
        ConnKind::Login { .. } => Vec::new(),
    };
    qr_link.issued(refs.clone());
    state.accept(FakeConnection {
        state: state.clone(),
        kind: kind.clone(),
        ik: hs.ik,
        ctl: ctl_tx,
        stanzas: stanza_rx,
        pairing: pairing.clone(),
        qr_link: qr_link.clone(),
    });

    match &kind {
        ConnKind::Registration => {
            let refs = refs
                .into_iter()
                .map(|r| NodeBuilder::new("ref").bytes(r.into_bytes()).build());
            let iq = NodeBuilder::new("iq")
                .attr("type", "set")
                .attr("id", "pair-1")
                .attr("from", "s.whatsapp.net")
                .attr("xmlns", "md")
                .children([NodeBuilder::new("pair-device").children(refs).build()])
                .build();
            if !wire.send(&iq).await {
                return;
            }
        }
        ConnKind::Login { .. } => match &config.login {
            LoginOutcome::Success => {
                let success = NodeBuilder::new("success")
                    .attr("lid", format!("{}@lid", config.lid))
                    .attr("t", now_secs().to_string())
                    .build();
                if !wire.send(&success).await {
                    return;
                }
            }
            LoginOutcome::Failure {
                reason,
                code,
                expire_secs,
            } => {
                let mut b = NodeBuilder::new("failure").attr("reason", reason.to_string());
                if let Some(c) = code {
                    b = b.attr("code", c.to_string());
                }
                if let Some(e) = expire_secs {
                    b = b.attr("expire", e.to_string());
                }
                let _ = wire.send(&b.build()).await;
                // WhatsApp closes the stream after a failure.
                let _ = to_client.send(eof()).await;
                return;
            }
        },
    }

    loop {
        tokio::select! {
            frame = next_frame(&mut from_client, &mut dec, &mut first) => {
                let Some(frame) = frame else { break };
                let Some(node) = wire.open(frame) else {
                    debug!("fake server: undecodable frame");
                    break;
                };
                let auto_ack = state.config().auto_ack_messages;
                state.inbox.acknowledge(&node);
                // Linking queries (`xmlns="md"`) first: see pairing.rs.
                let replies = match pairing.answer(&node) {
                    Some(reply) => vec![reply],
                    None => auto_replies(&state, &kind, &node, auto_ack).await,
                };
                for reply in replies {
                    if !wire.send(&reply).await {
                        return;
                    }
                }
                end_offline_queue(&state, &node, &ctl_self);
                let link = qr_link.answer(&node);
                let _ = stanza_tx.send(node);
                match link {
                    Some(LinkAnswer::Signed(device)) => {
                        // Linked: WhatsApp ends the registration stream with 515 (restart
                        // required) and the companion logs in as the new device.
                        state.linked(device);
                        let _ = wire.send(&NodeBuilder::new("stream:error").attr("code", "515").build()).await;
                        let _ = to_client.send(eof()).await;
                        break;
                    }
                    Some(LinkAnswer::Refused(why)) => {
                        debug!("fake server: the client refused the pair-success: {why}");
                    }
                    None => {}
                }
            }
            ctl = ctl_rx.recv() => match ctl {
                Some(Ctl::Send(node)) => {
                    if !wire.send(&node).await {
                        break;
                    }
                }
                Some(Ctl::Close) | None => {
                    let _ = to_client.send(eof()).await;
                    break;
                }
            }
        }
    }
}

/// What a real server answers on its own: IQ results (Signal key IQs answered by the fake
/// phones; after the passive IQ, the unacknowledged messages redelivered) and message
/// acks.
async fn auto_replies(state: &State, kind: &ConnKind, node: &Node, auto_ack: bool) -> Vec<Node> {
    let tag = node.tag.as_ref();
    let mut out = Vec::new();
    match tag {
        "iq" => {
            let ty = attr(node, "type").unwrap_or_default();
            if (ty == "get" || ty == "set")
                && let Some(id) = attr(node, "id")
            {
                let mut result = NodeBuilder::new("iq")
                    .attr("type", "result")
                    .attr("id", id)
                    .attr("from", "s.whatsapp.net");
                let own_user = match kind {
                    ConnKind::Login { user, .. } => Some(*user),
                    ConnKind::Registration => None,
                };
                // A media connection request gets the fake CDN's host and token.
                if node.get_optional_child("media_conn").is_some() {
                    result = result.children([crate::media::media_conn_node()]);
                } else if let Some(children) = state.peers.answer_iq(node, own_user).await
                    && !children.is_empty()
                {
                    result = result.children(children);
                }
                out.push(result.build());
                if attr(node, "xmlns").as_deref() == Some("passive") {
                    // The account's offline queue: every unacknowledged DM again, `offline`
                    // (the marker that ends it follows: `end_offline_queue`).
                    out.extend(state.inbox.redeliveries());
                }
            }
        }
        "message" if auto_ack => {
            if let Some(id) = attr(node, "id") {
                let mut b = NodeBuilder::new("ack")
                    .attr("class", "message")
                    .attr("id", id)
                    .attr("t", now_secs().to_string());
                if let Some(to) = attr(node, "to") {
                    b = b.attr("from", to);
                }
                out.push(b.build());
            }
        }
        _ => {}
    }
    out
}
