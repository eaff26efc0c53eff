//! The inbound pipeline's worker side, per message, in the reference's order (after the
//! reader has dropped status/broadcast chats, own echoes and duplicates):
//! route → access decision (pairing challenge, owner commands) → ack reaction → read
//! receipt → media → normalize → agent → replies.

use std::sync::Arc;

use wagw_core::{
    Content, GroupMetadata, InboundMessage, Jid, MessageId, OutboundContent, OutboundMessage,
    OwnIdentity,
};
use wagw_normalize::{HistoryEntry, Normalizer, TurnContext};

use crate::account::Account;
use crate::ack::ack_emoji;
use crate::media::{self, MediaOutcome};
use crate::routing;
use crate::settings::AccountSettings;

/// How long the first reply waits for the ack reaction to be sent, so the reaction arrives
/// first; a reaction slower than this (a stalled connection) no longer holds the reply.
const ACK_BEFORE_REPLY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl Account {
    /// Runs the pipeline for one message. Never fails: every outcome is logged and counted.
    pub(crate) async fn process(&self, message: InboundMessage) {
        let Some(own) = self.identity() else {
            // Messages only flow on a linked connection; this is a transport bug.
            self.drop_message(&message, "not_linked");
            return;
        };
        let settings = self.settings();
        let shared_settings = self.shared.settings();
        let normalizer = self.shared.normalizer();
        let is_group = message.chat.is_group();

        let Some(agent_id) = routing::route(
            shared_settings.config.bindings(),
            self.id(),
            Some(&own.phone),
            &message,
        )
        .map(str::to_owned) else {
            self.drop_message(&message, "no_binding");
            return;
        };

        let Some(admitted) = self
            .admit(&settings, &normalizer, &own, &agent_id, &message)
            .await
        else {
            return;
        };
        let was_mentioned = admitted.was_mentioned;
        // Started now, awaited only before the first reply: the turn does not wait for it,
        // and the reaction still reaches the chat before the reply.
        let ack_reaction = self.send_ack_reaction(
            &settings,
            &message,
            is_group,
            was_mentioned,
            admitted.activation_always,
        );
        if admitted.mark_read
            && settings.resolved.send_read_receipts
            && !self.is_self_chat(&message.chat)
        {
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

        let Some(turn) = self.build_turn(
            &normalizer,
            &message,
            &own,
            &agent_id,
            group.as_deref(),
            &admitted,
            media_outcome.as_ref(),
        ) else {
            return;
        };
        let chat = message.chat.clone();
        if !is_group && let Some(phone) = &message.sender.phone {
            // The main session's last route, for heartbeats with `target: "last"`.
            self.shared.record_last_route(
                &agent_id,
                crate::agent_heartbeat::LastRoute {
                    account: self.id().clone(),
                    to: format!("+{}", phone.digits()),
                },
            );
        }
        self.metrics().delivered();
        tracing::debug!(target: "wagw::inbound", account = %self.id(), %chat, id = %message.id,
            agent = %agent_id, "turn delivered");
        let key = crate::sink::TurnKey {
            agent_id: turn.agent_id.clone(),
            account_id: turn.account_id.clone(),
            message_id: turn.message_id.clone(),
        };
        let replies = match self.shared.sink.deliver(turn).await {
            Ok(replies) => replies,
            Err(e) => {
                self.metrics().sink_failed();
                tracing::warn!(target: "wagw::inbound", account = %self.id(), %chat,
                    id = %message.id, error = %e, "agent sink failed");
                return;
            }
        };
        if let Some(reaction) = ack_reaction
            && !replies.is_empty()
            && tokio::time::timeout(ACK_BEFORE_REPLY_WAIT, reaction)
                .await
                .is_err()
        {
            tracing::warn!(target: "wagw::inbound", account = %self.id(), %chat,
                "ack reaction still pending; sending the reply without waiting longer");
        }
        if replies.is_empty() {
            return;
        }
        let mut outcome = crate::sink::RepliesOutcome::default();
        for reply in replies {
            self.send_reply(&chat, reply, admitted.is_self_chat, &mut outcome)
                .await;
        }
        self.shared.sink.replies_sent(&key, &outcome).await;
    }

    /// Normalizes the message into a turn, injecting (and clearing) the group's pending
    /// history and the session's previous message time. `None` when there is nothing to show.
    #[allow(clippy::too_many_arguments)]
    fn build_turn(
        &self,
        normalizer: &Normalizer,
        message: &InboundMessage,
        own: &OwnIdentity,
        agent_id: &str,
        group: Option<&GroupMetadata>,
        admitted: &crate::access::Admitted,
        media_outcome: Option<&MediaOutcome>,
    ) -> Option<wagw_normalize::InboundTurn> {
        let session_key = normalizer.session_key(message, agent_id);
        let previous = {
            let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
            let previous = sessions.previous(&session_key);
            sessions.record(&session_key, message.timestamp_ms);
            previous
        };
        // Pending-only history: taken for this turn, so it is cleared even when the agent
        // answers nothing.
        let history: Vec<HistoryEntry> = if message.chat.is_group() {
            self.history
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(&normalizer.history_key(message))
        } else {
            Vec::new()
        };
        let mut ctx = TurnContext::new(own, agent_id)
            .with_history(&history)
            .with_previous(previous)
            .with_mentioned(admitted.was_mentioned)
            .with_authorization(admitted.sender_is_owner, admitted.command_authorized);
        if let Some(group) = group {
            ctx = ctx.with_group(group);
        }
        let mut turn = match normalizer.normalize(message, &ctx) {
            Ok(turn) => turn,
            Err(e) => {
                self.drop_message(message, "empty");
                tracing::debug!(target: "wagw::inbound", account = %self.id(), error = %e, "nothing to deliver");
                return None;
            }
        };
        // `session.idleMinutes`: a long silence starts the session afresh.
        if let (Some(minutes), Some(previous)) = (
            self.shared.settings().config.session().idle_minutes,
            previous,
        ) {
            let idle_ms = i64::try_from(minutes.saturating_mul(60_000)).unwrap_or(i64::MAX);
            turn.session_reset = message.timestamp_ms.saturating_sub(previous) > idle_ms;
        }
        match media_outcome {
            Some(MediaOutcome::Saved { path, size }) => {
                if let Some(media) = turn.media.as_mut() {
                    media.path = Some(path.to_string_lossy().into_owned());
                    media.size = Some(*size);
                }
            }
            Some(other) => {
                if let Some(note) = other.note() {
                    turn.body.push('\n');
                    turn.body.push_str(&note);
                }
            }
            None => {}
        }
        Some(turn)
    }

    /// Records a group message the bot will not answer into the group's pending history.
    pub(crate) fn remember_for_history(&self, normalizer: &Normalizer, message: &InboundMessage) {
        let limit = normalizer.history_limit(self.id());
        if limit == 0 {
            return;
        }
        if let Ok(entry) = normalizer.history_entry(message) {
            self.history
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .record(&normalizer.history_key(message), entry, limit);
        }
    }

    /// True when `chat` is the account's own "message yourself" chat.
    pub(crate) fn is_self_chat(&self, chat: &Jid) -> bool {
        match (self.identity(), chat.to_phone()) {
            (Some(me), Some(peer)) => me.phone == peer,
            _ => false,
        }
    }

    /// Reacts with the ack emoji when due, in its own task (failures logged only); the
    /// handle lets the replies wait for it.
    fn send_ack_reaction(
        &self,
        settings: &AccountSettings,
        message: &InboundMessage,
        is_group: bool,
        was_mentioned: bool,
        activation_always: bool,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let emoji = ack_emoji(
            &settings.resolved.ack_reaction,
            is_group,
            was_mentioned,
            activation_always,
        )?;
        let socket = self.shared.registry.get(self.id()).ok()?;
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
        Some(tokio::spawn(async move {
            if let Err(e) = socket.send(reaction).await {
                tracing::warn!(target: "wagw::inbound", %account, error = %e, "failed to send ack reaction");
            }
        }))
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
        let cap = u64::from(settings.resolved.media_max_mb).saturating_mul(1024 * 1024);
        let outcome =
            media::fetch_and_save(self.socket().as_ref(), message, media, &dir, cap).await;
        if let MediaOutcome::TooLarge { .. } | MediaOutcome::Failed(_) = &outcome {
            tracing::warn!(target: "wagw::inbound", account = %self.id(), id = %message.id,
                outcome = ?outcome, "inbound media not saved");
        }
        Some(outcome)
    }
}
