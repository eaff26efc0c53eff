//! Routing messages to accounts, durable inbound (acks, redelivery, offline backlog).
//!
//! A message any phone sends is stored once and then queued for every linked account whose
//! phone takes part in the chat. An account's queue holds a message until the gateway
//! commits its [`InboundAck`] on the connection it was delivered on; a message whose ack was
//! dropped (or that was in flight when the connection closed) is delivered again, with
//! `offline: true`, right after the next `Connected`.

use tokio::sync::oneshot;
use wagw_core::{
    AccountId, Content, ContextInfo, InboundAck, InboundMessage, Jid, MessageId, QuotedMessage,
    SocketEvent,
};

use crate::network::SimNetwork;
use crate::state::{NetState, Pending, StoredMessage, Target};

/// One delivered message whose ack the network waits for.
#[derive(Debug)]
pub(crate) struct AckWatch {
    account: AccountId,
    seq: u64,
    conn: u64,
    rx: oneshot::Receiver<()>,
}

/// A message to store and route.
#[derive(Debug, Clone)]
pub(crate) struct Post {
    pub id: MessageId,
    pub from: usize,
    pub to: Target,
    pub content: Content,
    pub quote: Option<MessageId>,
    pub mentions: Vec<Jid>,
    pub forwarded: bool,
    pub timestamp_ms: i64,
    /// The account that sent it (it does not receive its own message back).
    pub sent_by: Option<AccountId>,
}

impl NetState {
    /// Stores a message and queues it for every account that takes part in its chat.
    pub fn post(&mut self, post: Post) -> Vec<AckWatch> {
        self.messages.insert(
            post.id.clone(),
            StoredMessage {
                from: post.from,
                to: post.to,
                content: post.content.clone(),
            },
        );
        let members = self.participants(post.from, post.to);
        let mut watches = Vec::new();
        for account in self.accounts_of(&members) {
            if post.sent_by.as_ref() == Some(&account) {
                continue;
            }
            if let Some(msg) = self.inbound_for(&account, &post) {
                watches.extend(self.enqueue_inbound(&account, msg));
            }
        }
        watches
    }

    /// The message as `account` receives it.
    fn inbound_for(&self, account: &AccountId, post: &Post) -> Option<InboundMessage> {
        let viewer = self.accounts.get(account)?.owner?;
        let author = self.peers.get(post.from)?;
        let quoted = post.quote.as_ref().map(|qid| self.quoted(qid));
        Some(InboundMessage {
            id: post.id.clone(),
            account: account.clone(),
            chat: self.chat_for(viewer, post.from, post.to)?,
            sender: author.sender(),
            sender_jid: self.author_jid(post.from, post.to),
            push_name: author.name.clone(),
            timestamp_ms: post.timestamp_ms,
            from_me: post.from == viewer,
            offline: false,
            content: self.view_content(viewer, &post.content),
            context: ContextInfo {
                quoted,
                mentioned: post.mentions.clone(),
                forwarded: post.forwarded,
            },
        })
    }

    /// The quote context for a message id (just the id when the message is unknown).
    fn quoted(&self, id: &MessageId) -> QuotedMessage {
        match self.messages.get(id) {
            Some(m) => QuotedMessage {
                stanza_id: id.clone(),
                participant: self.author_jid(m.from, m.to),
                sender: self.peers.get(m.from).map(|p| p.sender()),
                content: Some(Box::new(m.content.clone())),
            },
            None => QuotedMessage {
                stanza_id: id.clone(),
                participant: None,
                sender: None,
                content: None,
            },
        }
    }

    /// Content with message keys re-expressed from the viewer's side (`from_me`, chat).
    fn view_content(&self, viewer: usize, content: &Content) -> Content {
        match content {
            Content::Reaction { target, emoji } => Content::Reaction {
                target: self
                    .key_for(viewer, &target.id)
                    .unwrap_or_else(|| target.clone()),
                emoji: emoji.clone(),
            },
            Content::PollVote { poll, selected } => Content::PollVote {
                poll: self
                    .key_for(viewer, &poll.id)
                    .unwrap_or_else(|| poll.clone()),
                selected: selected.clone(),
            },
            other => other.clone(),
        }
    }

    /// Queues a message for an account and delivers it now if the account is live.
    pub fn enqueue_inbound(
        &mut self,
        account: &AccountId,
        message: InboundMessage,
    ) -> Vec<AckWatch> {
        let seq = self.next_seq();
        let Some(acct) = self.accounts.get_mut(account) else {
            return Vec::new();
        };
        acct.pending.push(Pending {
            seq,
            message,
            delivered_on: None,
        });
        let Some(conn) = acct.up() else {
            tracing::debug!(target: "wagw::sim", account = %account, seq, "queued for the next connection");
            return Vec::new();
        };
        let conn_id = conn.id;
        let times = if std::mem::take(&mut acct.faults.duplicate_next) {
            2
        } else {
            1
        };
        let mut watches = Vec::new();
        for _ in 0..times {
            if let Some(w) = deliver(
                acct_conn_events(acct),
                account,
                conn_id,
                acct.pending.last_mut(),
                false,
            ) {
                watches.push(w);
            }
        }
        watches
    }

    /// Starts a live connection: `Connected`, then the backlog (offline), then
    /// `OfflineSyncCompleted`.
    pub fn go_live(&mut self, account: &AccountId) -> Vec<AckWatch> {
        let Some(acct) = self.accounts.get(account) else {
            return Vec::new();
        };
        let identity = acct.owner.and_then(|o| self.identity_of(o));
        let Some(acct) = self.accounts.get_mut(account) else {
            return Vec::new();
        };
        let (Some(conn), Some(identity)) = (acct.up(), identity) else {
            return Vec::new();
        };
        let conn_id = conn.id;
        conn.emit(SocketEvent::Connected { identity });
        let events = acct_conn_events(acct);
        let mut watches = Vec::new();
        for p in acct.pending.iter_mut() {
            if let Some(w) = deliver(events.clone(), account, conn_id, Some(p), true) {
                watches.push(w);
            }
        }
        let count = u32::try_from(acct.pending.len()).unwrap_or(u32::MAX);
        if let Some(conn) = acct.up() {
            conn.emit(SocketEvent::OfflineSyncCompleted { count });
        }
        tracing::debug!(target: "wagw::sim", account = %account, conn = conn_id, backlog = count, "connected");
        watches
    }

    /// Records the gateway's answer for one delivered message.
    fn on_ack(&mut self, account: &AccountId, seq: u64, conn: u64, committed: bool) {
        let Some(acct) = self.accounts.get_mut(account) else {
            return;
        };
        let live = acct.up().map(|c| c.id) == Some(conn);
        if committed && live {
            acct.pending.retain(|p| p.seq != seq);
        } else {
            tracing::debug!(target: "wagw::sim", account = %account, seq, committed, live,
                "inbound not acknowledged; it will be redelivered on the next connection");
        }
    }
}

/// The event sender of the account's live connection.
fn acct_conn_events(
    acct: &crate::state::AccountState,
) -> Option<tokio::sync::mpsc::UnboundedSender<SocketEvent>> {
    acct.up().map(|c| c.events.clone())
}

/// Emits one `Message` event for a pending entry and returns the watch for its ack.
fn deliver(
    events: Option<tokio::sync::mpsc::UnboundedSender<SocketEvent>>,
    account: &AccountId,
    conn: u64,
    pending: Option<&mut Pending>,
    offline: bool,
) -> Option<AckWatch> {
    let events = events?;
    let pending = pending?;
    let (ack, rx) = InboundAck::pair();
    let mut message = pending.message.clone();
    message.offline = offline;
    pending.delivered_on = Some(conn);
    events
        .send(SocketEvent::Message {
            message: Box::new(message),
            ack,
        })
        .ok()?;
    Some(AckWatch {
        account: account.clone(),
        seq: pending.seq,
        conn,
        rx,
    })
}

impl SimNetwork {
    /// Waits (in background tasks) for the gateway to commit or drop each ack.
    pub(crate) fn watch_acks(&self, watches: Vec<AckWatch>) {
        for w in watches {
            let net = self.clone();
            tokio::spawn(async move {
                let committed = w.rx.await.is_ok();
                net.lock().on_ack(&w.account, w.seq, w.conn, committed);
            });
        }
    }
}
