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

use crate::state::{AccountState, NetState, Pending, StoredMessage, Target};

/// One delivered message whose ack the network waits for.
#[derive(Debug)]
pub(crate) struct AckWatch {
    pub seq: u64,
    pub rx: oneshot::Receiver<()>,
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
    pub fn post(&mut self, post: Post) {
        self.messages.insert(
            post.id.clone(),
            StoredMessage {
                from: post.from,
                to: post.to,
                content: post.content.clone(),
            },
        );
        let members = self.participants(post.from, post.to);
        for account in self.accounts_of(&members) {
            if post.sent_by.as_ref() == Some(&account) {
                continue;
            }
            if let Some(msg) = self.inbound_for(&account, &post) {
                self.enqueue_inbound(&account, msg);
            }
        }
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
    pub fn enqueue_inbound(&mut self, account: &AccountId, message: InboundMessage) {
        let seq = self.next_seq();
        let Some(acct) = self.accounts.get_mut(account) else {
            return;
        };
        acct.settle_acks(false);
        acct.pending.push(Pending {
            seq,
            message,
            delivered_on: None,
        });
        let live = acct.up().map(|c| c.id).filter(|_| !acct.faults.dead_link);
        let Some(conn_id) = live else {
            tracing::debug!(target: "wagw::sim", account = %account, seq, "queued for the next connection");
            return;
        };
        let times = if std::mem::take(&mut acct.faults.duplicate_next) {
            2
        } else {
            1
        };
        for _ in 0..times {
            deliver(acct, acct_last(acct), conn_id, false);
        }
    }

    /// Starts a live connection: `Connected`, then the backlog (offline), then
    /// `OfflineSyncCompleted`.
    pub fn go_live(&mut self, account: &AccountId) {
        let identity = self
            .accounts
            .get(account)
            .and_then(|a| a.owner)
            .and_then(|o| self.identity_of(o));
        let Some(acct) = self.accounts.get_mut(account) else {
            return;
        };
        let (Some(conn), Some(identity)) = (acct.up(), identity) else {
            return;
        };
        let conn_id = conn.id;
        conn.emit(SocketEvent::Connected { identity });
        for i in 0..acct.pending.len() {
            deliver(acct, i, conn_id, true);
        }
        let count = u32::try_from(acct.pending.len()).unwrap_or(u32::MAX);
        if let Some(conn) = acct.up() {
            conn.emit(SocketEvent::OfflineSyncCompleted { count });
        }
        tracing::debug!(target: "wagw::sim", account = %account, conn = conn_id, backlog = count, "connected");
    }
}

fn acct_last(acct: &AccountState) -> usize {
    acct.pending.len().saturating_sub(1)
}

/// Emits one `Message` event for the pending entry at `index` on the live connection and
/// keeps the receiver of its ack.
fn deliver(acct: &mut AccountState, index: usize, conn_id: u64, offline: bool) {
    let AccountState {
        conn,
        pending,
        acks,
        ..
    } = acct;
    let Some(conn) = conn.as_ref().filter(|c| c.is_up()) else {
        return;
    };
    let Some(pending) = pending.get_mut(index) else {
        return;
    };
    let (ack, rx) = InboundAck::pair();
    let mut message = pending.message.clone();
    message.offline = offline;
    pending.delivered_on = Some(conn_id);
    let seq = pending.seq;
    conn.emit(SocketEvent::Message {
        message: Box::new(message),
        ack,
    });
    acks.push(AckWatch { seq, rx });
}
