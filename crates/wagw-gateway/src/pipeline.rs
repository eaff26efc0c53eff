//! The inbound pipeline's worker side, per message, in the reference's order (after the
//! reader has dropped status/broadcast chats, own echoes and duplicates):
//! access decision → read receipt → turn → agent → replies.

use wagw_core::{InboundMessage, Jid};

use crate::account::Account;
use crate::sink::Reply;
use crate::turn::InboundTurn;

impl Account {
    /// Runs the pipeline for one message. Never fails: every outcome is logged and counted.
    pub(crate) async fn process(&self, message: InboundMessage) {
        let settings = self.settings();
        let self_chat = self.is_self_chat(&message.chat);

        // Read receipt: fire and forget, never blocking the turn.
        if settings.send_read_receipts && !self_chat {
            let socket = self.socket().clone();
            let chat = message.chat.clone();
            let participant = if chat.is_group() {
                message.sender_jid.clone().or_else(|| message.sender.jid())
            } else {
                None
            };
            let id = message.id.clone();
            let account = self.id().clone();
            tokio::spawn(async move {
                if let Err(e) = socket.mark_read(&chat, participant.as_ref(), &[id]).await {
                    tracing::debug!(target: "wagw::inbound", %account, error = %e, "read receipt failed");
                }
            });
        }

        let raw_body = message
            .content
            .text_or_caption()
            .unwrap_or_default()
            .to_owned();
        let turn = InboundTurn {
            body: raw_body.clone(),
            raw_body,
            account_id: self.id().clone(),
            agent_id: "main".to_owned(),
            message,
        };
        let chat = turn.message.chat.clone();
        let message_id = turn.message.id.clone();
        self.metrics().delivered();
        let replies = match self.shared.sink.deliver(turn).await {
            Ok(replies) => replies,
            Err(e) => {
                self.metrics().sink_failed();
                tracing::warn!(target: "wagw::inbound", account = %self.id(), %chat,
                    id = %message_id, error = %e, "agent sink failed");
                return;
            }
        };
        for reply in replies {
            self.send_reply(&chat, reply).await;
        }
    }

    /// True when `chat` is the account's own "message yourself" chat.
    pub(crate) fn is_self_chat(&self, chat: &Jid) -> bool {
        match (self.identity(), chat.to_phone()) {
            (Some(me), Some(peer)) => me.phone == peer,
            _ => false,
        }
    }

    /// Sends one agent reply to `chat`.
    pub(crate) async fn send_reply(&self, chat: &Jid, reply: Reply) {
        if let Some(text) = reply.text.filter(|t| !t.trim().is_empty()) {
            let message = wagw_core::OutboundMessage::text(chat.clone(), text);
            if let Err(e) = self.send_message(message).await {
                tracing::warn!(target: "wagw::outbound", account = %self.id(), %chat,
                    error = %e, "reply not sent");
            }
        }
        if !reply.media.is_empty() {
            tracing::warn!(target: "wagw::outbound", account = %self.id(), %chat,
                count = reply.media.len(), "media replies are not sent yet by this build");
        }
    }
}
