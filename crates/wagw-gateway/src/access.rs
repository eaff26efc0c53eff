//! The access step of the pipeline: ask `wagw-access`'s engine, then act on its decision —
//! send the pairing reply for a challenge, count and log a drop (recording unanswered group
//! messages into the pending history), execute owner commands such as `/activation`.

use wagw_access::{
    AccessRequest, Command, Decision, DropReason, FollowUp, SelfIdentity, decide, parse_command,
};
use wagw_core::{Activation, InboundMessage, OutboundMessage, OwnIdentity};
use wagw_normalize::{MentionOutcome, Normalizer};

use crate::account::Account;
use crate::settings::AccountSettings;
use crate::store::GatewayEvent;

/// A message the engine allowed, with what the rest of the pipeline needs to know.
#[derive(Debug, Clone)]
pub(crate) struct Admitted {
    /// Send a read receipt (policy and `sendReadReceipts`, not self-chat).
    pub mark_read: bool,
    /// The account's own "message yourself" chat in self-chat mode.
    pub is_self_chat: bool,
    /// Addressed to the bot (mention, reply to the bot, owner command bypass).
    pub was_mentioned: bool,
    /// The group's activation resolves to `always`.
    pub activation_always: bool,
    /// The sender is an owner of the account.
    pub sender_is_owner: bool,
    /// The sender may run commands (the reference's `CommandAuthorized`).
    pub command_authorized: bool,
}

impl Account {
    /// Decides whether `message` reaches the agent. `None` when it does not (the reason is
    /// counted, logged, and any follow-up — pairing reply, command answer — is done).
    pub(crate) async fn admit(
        &self,
        settings: &AccountSettings,
        normalizer: &Normalizer,
        own: &OwnIdentity,
        agent_id: &str,
        message: &InboundMessage,
    ) -> Option<Admitted> {
        if let (Some(lid), Some(phone)) = (&message.sender.lid, &message.sender.phone) {
            self.learn_lid(lid, phone);
        }
        let is_group = message.chat.is_group();
        let mention = if is_group {
            normalizer.detect_mention(message, own, agent_id)
        } else {
            MentionOutcome::NotMentioned
        };
        let me = SelfIdentity::from(own);
        let me_for_args = me.clone();
        let text = message.content.text_or_caption().unwrap_or_default();
        let command = parse_command(text, &me, &[]);
        let request = AccessRequest::from_inbound(
            message,
            me,
            self.connected_at_ms(),
            mention.was_mentioned() && mention != MentionOutcome::ReplyToBot,
            mention == MentionOutcome::ReplyToBot,
            command.clone(),
        );
        let now = self.shared.clock.now_ms();
        let snapshot = match self.access_snapshot() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(target: "wagw::access", account = %self.id(), error = %e,
                    "access store unavailable; message left for redelivery");
                self.drop_message(message, "access_store_error");
                return None;
            }
        };
        let decision = decide(&request, &settings.access, &snapshot, now);
        tracing::debug!(target: "wagw::access", account = %self.id(), chat = %message.chat,
            id = %message.id, decision = decision.kind(), reason = decision.reason(),
            rule = %settings.access.rule_path(decision.rule(), is_group.then(|| message.chat.to_string()).as_deref()),
            "access decision");
        match decision {
            Decision::Allow {
                mark_read,
                is_self_chat,
                is_owner,
                activation,
                ..
            } => {
                if is_owner && let Some(Command::Activation(mode)) = &command {
                    self.run_activation(message, *mode, activation, now).await;
                    return None;
                }
                if let Some(Command::Control(name)) = &command
                    && name == "config"
                    && let Some(handler) = self.shared.config_commands.clone()
                {
                    self.run_config_command(handler.as_ref(), message, &me_for_args, is_owner)
                        .await;
                    return None;
                }
                let use_access_groups = self.shared.settings().config.commands().use_access_groups;
                Some(Admitted {
                    mark_read: mark_read && !is_self_chat,
                    is_self_chat,
                    was_mentioned: mention.was_mentioned() || (is_owner && command.is_some()),
                    activation_always: activation == Some(Activation::Always),
                    sender_is_owner: is_owner,
                    command_authorized: wagw_access::command_authorized(
                        &request,
                        &settings.access,
                        &snapshot,
                        use_access_groups,
                    ),
                })
            }
            Decision::Challenge { .. } => {
                self.challenge(settings, &decision, &request, message, now)
                    .await;
                None
            }
            Decision::Drop { reason, .. } => {
                if is_group
                    && matches!(
                        reason,
                        DropReason::MentionRequired | DropReason::ActivationNotOwner
                    )
                {
                    // Context for the next turn the bot does answer in this group.
                    self.remember_for_history(normalizer, message);
                }
                if reason == DropReason::PairingCapReached {
                    let _ = self.shared.access.follow_up(
                        &decision,
                        &request,
                        &settings.access,
                        message.push_name.as_deref(),
                        now,
                    );
                }
                self.drop_message(message, reason.as_str());
                None
            }
        }
    }

    /// Issues a pairing code and sends the pairing reply (once per pending request).
    async fn challenge(
        &self,
        settings: &AccountSettings,
        decision: &Decision,
        request: &AccessRequest,
        message: &InboundMessage,
        now: i64,
    ) {
        let follow_up = self.shared.access.follow_up(
            decision,
            request,
            &settings.access,
            message.push_name.as_deref(),
            now,
        );
        self.invalidate_access();
        match follow_up {
            Ok(FollowUp::SendPairingReply { chat, text, code }) => {
                self.metrics().pairing_challenge();
                self.record(GatewayEvent::PairingChallenge {
                    account: self.id().clone(),
                    sender: message.sender.to_string(),
                    code,
                });
                if let Err(e) = self.send_message(OutboundMessage::text(chat, text)).await {
                    tracing::warn!(target: "wagw::access", account = %self.id(), error = %e,
                        "pairing reply not sent");
                }
            }
            Ok(FollowUp::Nothing) => self.drop_message(message, "pairing_pending"),
            Err(e) => {
                tracing::error!(target: "wagw::access", account = %self.id(), error = %e,
                    "cannot issue a pairing code");
                self.drop_message(message, "access_store_error");
            }
        }
    }

    /// Hands `/config` to the host and sends its answer. An unauthorized sender gets no
    /// answer and the agent does not see the command either, as in the reference.
    async fn run_config_command(
        &self,
        handler: &dyn crate::commands::ConfigCommands,
        message: &InboundMessage,
        me: &SelfIdentity,
        owner: bool,
    ) {
        let text = message.content.text_or_caption().unwrap_or_default();
        let body = wagw_access::strip_command_mentions(text, me, &[]);
        let Some(args) = crate::commands::config_args(&body) else {
            return;
        };
        let request = crate::commands::ConfigCommandRequest {
            account: self.id().clone(),
            chat: message.chat.clone(),
            sender: message.sender.to_string(),
            owner,
            args: args.to_owned(),
        };
        match handler.run(request).await {
            Some(answer) => {
                tracing::debug!(target: "wagw::access", account = %self.id(), id = %message.id, "config command answered");
                if let Err(e) = self
                    .send_message(OutboundMessage::text(message.chat.clone(), answer))
                    .await
                {
                    tracing::warn!(target: "wagw::access", account = %self.id(), error = %e,
                        "command answer not sent");
                }
            }
            None => self.drop_message(message, "command_not_authorized"),
        }
    }

    /// Executes `/activation [mention|always]` from the owner and answers it in the chat.
    async fn run_activation(
        &self,
        message: &InboundMessage,
        mode: Option<Activation>,
        current: Option<Activation>,
        now: i64,
    ) {
        let answer = if !message.chat.is_group() {
            "Activation applies to groups: send /activation mention|always in the group.".to_owned()
        } else {
            match mode {
                Some(mode) => {
                    match self
                        .shared
                        .access
                        .set_activation(self.id(), &message.chat, mode, now)
                    {
                        Ok(()) => {
                            self.invalidate_access();
                            tracing::info!(target: "wagw::access", account = %self.id(),
                            group = %message.chat, activation = ?mode, "group activation set");
                            format!("Group activation set to {}.", activation_name(mode))
                        }
                        Err(e) => format!("Could not set the activation: {e}"),
                    }
                }
                None => format!(
                    "Group activation: {}. Use /activation mention|always.",
                    activation_name(current.unwrap_or_default())
                ),
            }
        };
        tracing::debug!(target: "wagw::access", account = %self.id(), id = %message.id, "owner command executed");
        if let Err(e) = self
            .send_message(OutboundMessage::text(message.chat.clone(), answer))
            .await
        {
            tracing::warn!(target: "wagw::access", account = %self.id(), error = %e,
                "command answer not sent");
        }
    }
}

fn activation_name(a: Activation) -> &'static str {
    match a {
        Activation::Mention => "mention",
        Activation::Always => "always",
    }
}
