//! The inbound pipeline's worker side, per message, in the reference's order (after the
//! reader has dropped status/broadcast chats, own echoes and duplicates):
//! access decision → ack reaction → read receipt → media → turn → agent → replies.

use std::sync::Arc;

use wagw_core::{Content, InboundMessage, Jid, MessageId, OutboundContent, OutboundMessage};

use crate::account::Account;
use crate::ack::ack_emoji;
use crate::media::{self, MediaOutcome};
use crate::settings::AccountSettings;
use crate::sink::Reply;
use crate::turn::InboundTurn;

impl Account {
    /// Runs the pipeline for one message. Never fails: every outcome is logged and counted.
    pub(crate) async fn process(&self, message: InboundMessage) {
        let settings = self.settings();
        let self_chat = self.is_self_chat(&message.chat);
        let is_group = message.chat.is_group();

        self.send_ack_reaction(&settings, &message, is_group, false, false);
        if settings.send_read_receipts && !self_chat {
            self.send_read_receipt(&message);
        }
        let media_outcome = self.save_media(&settings, &message).await;
        let group = if is_group {
            let now = self.shared.clock.now_ms();
            self.groups
                .get(self.socket().as_ref(), &message.chat, now)
                .await
        } else {
            None
        };
        if let Some(group) = &group {
            tracing::trace!(target: "wagw::inbound", account = %self.id(), subject = %group.subject, "group");
        }

        let mut raw_body = message
            .content
            .text_or_caption()
            .unwrap_or_default()
            .to_owned();
        if let Some(note) = media_outcome.as_ref().and_then(MediaOutcome::note) {
            raw_body = if raw_body.is_empty() {
                note
            } else {
                format!("{raw_body}\n{note}")
            };
        }
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

    /// Reacts with the ack emoji when due: fire and forget, failures logged only.
    fn send_ack_reaction(
        &self,
        settings: &AccountSettings,
        message: &InboundMessage,
        is_group: bool,
        was_mentioned: bool,
        activation_always: bool,
    ) {
        let Some(emoji) = ack_emoji(
            &settings.ack_reaction,
            is_group,
            was_mentioned,
            activation_always,
        ) else {
            return;
        };
        let Ok(socket) = self.shared.registry.get(self.id()) else {
            return;
        };
        let reaction = OutboundMessage {
            chat: message.chat.clone(),
            content: OutboundContent::Reaction {
                // `key()` carries the group participant, as WhatsApp requires.
                target: message.key(),
                emoji: emoji.to_owned(),
            },
            quote: None,
            mentions: Vec::new(),
        };
        let account = self.id().clone();
        tokio::spawn(async move {
            if let Err(e) = socket.send(reaction).await {
                tracing::warn!(target: "wagw::inbound", %account, error = %e, "failed to send ack reaction");
            }
        });
    }

    /// Marks the message read: fire and forget, failures logged only.
    fn send_read_receipt(&self, message: &InboundMessage) {
        let socket = self.socket().clone();
        let chat = message.chat.clone();
        let participant = if chat.is_group() {
            message.sender_jid.clone().or_else(|| message.sender.jid())
        } else {
            None
        };
        let id: MessageId = message.id.clone();
        let account = self.id().clone();
        tokio::spawn(async move {
            if let Err(e) = socket.mark_read(&chat, participant.as_ref(), &[id]).await {
                tracing::debug!(target: "wagw::inbound", %account, error = %e, "read receipt failed");
            }
        });
    }

    /// Downloads and saves the message's media, if it has any.
    async fn save_media(
        &self,
        settings: &Arc<AccountSettings>,
        message: &InboundMessage,
    ) -> Option<MediaOutcome> {
        let Content::Media(media) = &message.content else {
            return None;
        };
        let dir = media::inbound_dir(&self.shared.settings().data_dir);
        let cap = settings.media_max_mb.saturating_mul(1024 * 1024);
        let outcome =
            media::fetch_and_save(self.socket().as_ref(), message, media, &dir, cap).await;
        if let MediaOutcome::TooLarge { .. } | MediaOutcome::Failed(_) = &outcome {
            tracing::warn!(target: "wagw::inbound", account = %self.id(), id = %message.id,
                outcome = ?outcome, "inbound media not saved");
        }
        Some(outcome)
    }

    /// Sends one agent reply to `chat`.
    pub(crate) async fn send_reply(&self, chat: &Jid, reply: Reply) {
        if let Some(text) = reply.text.filter(|t| !t.trim().is_empty()) {
            let message = OutboundMessage::text(chat.clone(), text);
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
