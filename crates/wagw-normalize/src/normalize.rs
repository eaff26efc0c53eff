//! The [`Normalizer`]: one accepted message plus its context in, one [`InboundTurn`] out.

use std::collections::HashMap;

use wagw_core::{AccountId, Content, GroupMetadata, InboundMessage, OwnIdentity};

use crate::envelope::write_header;
use crate::error::NormalizeError;
use crate::extract::extract_body;
use crate::history::{CURRENT_HEADER, GroupHistory, HISTORY_HEADER, HistoryEntry};
use crate::mention::{MentionOutcome, MentionPatterns, detect_mention};
use crate::quote::ReplyContext;
use crate::sender::{
    SenderIds, group_members, jid_string, phone_string, push_one_line, sender_label,
};
use crate::session::{Peer, session_key};
use crate::settings::{AccountSettings, DEFAULT_MESSAGE_PREFIX, NormalizeSettings};
use crate::turn::{ChatType, InboundTurn, TurnLocation, TurnMedia};

/// What the caller knows around one message.
#[derive(Debug, Clone, Copy)]
pub struct TurnContext<'a> {
    /// The receiving account's identity (its phone and LID, for mentions and `to`).
    pub own: &'a OwnIdentity,
    /// The agent the message is routed to.
    pub agent_id: &'a str,
    /// The group's metadata, when known (groups only).
    pub group: Option<&'a GroupMetadata>,
    /// Pending group history to inject above the message (groups only; oldest first).
    pub history: &'a [HistoryEntry],
    /// The time of the previous message in this turn's session, for the elapsed part of the
    /// envelope (see [`crate::SessionClock`]).
    pub previous_timestamp_ms: Option<i64>,
    /// The caller's gating decision (e.g. an owner command bypassing the mention gate). When
    /// `None`, groups run [`Normalizer::detect_mention`] and DMs report `false`.
    pub was_mentioned: Option<bool>,
    /// The sender is an owner of the account (the caller's access decision).
    pub sender_is_owner: bool,
    /// The sender may run commands (the reference's `CommandAuthorized`).
    pub command_authorized: bool,
}

impl<'a> TurnContext<'a> {
    /// A context with no group metadata, no history, no previous message and no gating
    /// decision.
    pub fn new(own: &'a OwnIdentity, agent_id: &'a str) -> TurnContext<'a> {
        TurnContext {
            own,
            agent_id,
            group: None,
            history: &[],
            previous_timestamp_ms: None,
            was_mentioned: None,
            sender_is_owner: false,
            command_authorized: false,
        }
    }

    /// Whether the sender is an owner and may run commands, as the access decision found.
    pub fn with_authorization(mut self, owner: bool, command_authorized: bool) -> Self {
        self.sender_is_owner = owner;
        self.command_authorized = command_authorized;
        self
    }

    /// With group metadata.
    pub fn with_group(mut self, group: &'a GroupMetadata) -> TurnContext<'a> {
        self.group = Some(group);
        self
    }

    /// With pending group history.
    pub fn with_history(mut self, history: &'a [HistoryEntry]) -> TurnContext<'a> {
        self.history = history;
        self
    }

    /// With the previous message time of the session.
    pub fn with_previous(mut self, previous_timestamp_ms: Option<i64>) -> TurnContext<'a> {
        self.previous_timestamp_ms = previous_timestamp_ms;
        self
    }

    /// With the caller's mention decision.
    pub fn with_mentioned(mut self, was_mentioned: bool) -> TurnContext<'a> {
        self.was_mentioned = Some(was_mentioned);
        self
    }
}

/// Builds inbound turns. Construct once from settings (mention patterns derived from agent
/// identities are compiled here), then call it for every message; it holds no mutable state.
#[derive(Debug, Clone)]
pub struct Normalizer {
    settings: NormalizeSettings,
    /// Per agent (lowercase id): prefix and patterns, resolved once.
    agents: HashMap<String, ResolvedAgent>,
}

#[derive(Debug, Clone, Default)]
struct ResolvedAgent {
    /// `[<identity.name>]`.
    prefix: Option<String>,
    /// `groupChat.mentionPatterns` as configured.
    configured: Option<MentionPatterns>,
    /// Derived from the identity, used when nothing is configured.
    derived: Option<MentionPatterns>,
}

impl Normalizer {
    /// Prepares a normalizer.
    pub fn new(settings: NormalizeSettings) -> Result<Normalizer, NormalizeError> {
        let mut agents = HashMap::new();
        for (id, agent) in &settings.agents {
            let name = agent
                .name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty());
            let derived = if agent.mention_patterns.is_none() {
                Some(MentionPatterns::from_identity(
                    name,
                    agent.emoji.as_deref(),
                )?)
                .filter(|p| !p.is_empty())
            } else {
                None
            };
            agents.insert(
                id.trim().to_lowercase(),
                ResolvedAgent {
                    prefix: name.map(|n| format!("[{n}]")),
                    configured: agent.mention_patterns.clone(),
                    derived,
                },
            );
        }
        Ok(Normalizer { settings, agents })
    }

    /// The settings it was built from.
    pub fn settings(&self) -> &NormalizeSettings {
        &self.settings
    }

    fn agent(&self, agent_id: &str) -> Option<&ResolvedAgent> {
        if agent_id
            .bytes()
            .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
        {
            self.agents.get(agent_id)
        } else {
            self.agents.get(agent_id.trim().to_lowercase().as_str())
        }
    }

    /// The mention patterns for an agent: its own `groupChat.mentionPatterns`, else
    /// `messages.groupChat.mentionPatterns`, else patterns derived from its identity.
    pub fn mention_patterns(&self, agent_id: &str) -> Option<&MentionPatterns> {
        let agent = self.agent(agent_id);
        agent
            .and_then(|a| a.configured.as_ref())
            .or(self.settings.group_mention_patterns.as_ref())
            .or_else(|| agent.and_then(|a| a.derived.as_ref()))
    }

    /// The inbound prefix for an account and agent (see [`AccountSettings::message_prefix`]).
    pub fn message_prefix<'s>(&'s self, account: &'s AccountSettings, agent_id: &str) -> &'s str {
        if let Some(prefix) = &account.message_prefix {
            return prefix;
        }
        if let Some(prefix) = &self.settings.legacy_message_prefix {
            return prefix;
        }
        if account.has_allow_from() {
            return "";
        }
        self.agent(agent_id)
            .and_then(|a| a.prefix.as_deref())
            .unwrap_or(DEFAULT_MESSAGE_PREFIX)
    }

    /// Self-chat mode of the message's account.
    pub fn is_self_chat(&self, account: &AccountId, own: &OwnIdentity) -> bool {
        self.settings.account(account).is_self_chat(&own.phone)
    }

    /// Whether a (group) message addresses the bot, with the agent's patterns and the
    /// account's self-chat mode.
    pub fn detect_mention(
        &self,
        message: &InboundMessage,
        own: &OwnIdentity,
        agent_id: &str,
    ) -> MentionOutcome {
        let outcome = detect_mention(
            message,
            own,
            self.mention_patterns(agent_id),
            self.is_self_chat(&message.account, own),
        );
        tracing::debug!(
            target: "wagw::inbound",
            account = %message.account,
            chat = %message.chat,
            message_id = %message.id,
            agent = agent_id,
            mention = outcome.as_str(),
            "mention detection"
        );
        outcome
    }

    /// The pending-history key of a group message (`whatsapp:<accountId>:group:<jid>`).
    pub fn history_key(&self, message: &InboundMessage) -> String {
        GroupHistory::key(&message.account, &message.chat)
    }

    /// The group history limit of the message's account (0 = disabled).
    pub fn history_limit(&self, account: &AccountId) -> usize {
        self.settings.account(account).history_limit
    }

    /// The session key of a message routed to `agent_id`.
    pub fn session_key(&self, message: &InboundMessage, agent_id: &str) -> String {
        let ids = SenderIds::of(message);
        self.session_key_for(message, agent_id, &ids)
    }

    fn session_key_for(&self, message: &InboundMessage, agent_id: &str, ids: &SenderIds) -> String {
        if self.settings.global_session {
            // The reference's `session.scope: "global"`: one session for everything.
            return "global".to_string();
        }
        let linked = if self.settings.identity_links.is_empty() {
            None
        } else {
            ids.phone
                .as_deref()
                .map(crate::sender::phone_string)
                .and_then(|p| self.settings.identity_links.get(&p))
                .or_else(|| {
                    ids.lid
                        .as_ref()
                        .and_then(|l| self.settings.identity_links.get(l))
                })
        };
        let peer = if message.chat.is_group() {
            Peer::Group(&message.chat)
        } else {
            Peer::Dm(linked.map_or(ids.from.as_str(), String::as_str))
        };
        session_key(
            self.settings.dm_scope,
            &self.settings.main_key,
            agent_id,
            &message.account,
            peer,
        )
    }

    /// The pending-history entry for a group message the bot did not answer.
    pub fn history_entry(&self, message: &InboundMessage) -> Result<HistoryEntry, NormalizeError> {
        let body = extract_body(&message.content);
        if body.is_empty() {
            return Err(empty(message));
        }
        let ids = SenderIds::of(message);
        let mut entry = HistoryEntry {
            message_id: message.id.clone(),
            timestamp_ms: message.timestamp_ms,
            sender: message.sender.clone(),
            sender_name: message.push_name.clone(),
            sender_label: sender_label(message.push_name.as_deref(), &ids),
            body: body.into_owned(),
            line: String::new(),
        };
        let chat_id = jid_string(&message.chat);
        let mut line =
            String::with_capacity(64 + chat_id.len() + entry.sender_label.len() + entry.body.len());
        self.write_history_line(&mut line, &chat_id, &entry);
        entry.line = line;
        Ok(entry)
    }

    /// `[WhatsApp <groupJid> <timestamp>] <label>: <body>\n[message_id: <id>]`.
    fn write_history_line(&self, out: &mut String, chat_id: &str, entry: &HistoryEntry) {
        write_header(
            out,
            &self.settings.envelope,
            chat_id,
            entry.timestamp_ms,
            None,
        );
        push_one_line(out, &entry.sender_label);
        out.push_str(": ");
        out.push_str(&entry.body);
        out.push_str("\n[message_id: ");
        out.push_str(entry.message_id.as_str());
        out.push(']');
    }

    /// Builds the turn for one message.
    ///
    /// Errors only with [`NormalizeError::EmptyMessage`] (nothing to show: skip the message).
    pub fn normalize(
        &self,
        message: &InboundMessage,
        ctx: &TurnContext<'_>,
    ) -> Result<InboundTurn, NormalizeError> {
        let account = self.settings.account(&message.account);
        let is_group = message.chat.is_group();
        let raw = extract_body(&message.content);
        if raw.is_empty() {
            return Err(empty(message));
        }
        let ids = SenderIds::of(message);
        let reply = message.context.quoted.as_ref().map(ReplyContext::describe);
        let prefix = self.message_prefix(account, ctx.agent_id);
        let sender_name = message
            .push_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());

        let settings = &self.settings.envelope;
        let history = if is_group { ctx.history } else { &[] };
        let mut body = String::with_capacity(
            64 + raw.len()
                + prefix.len()
                + history.len() * 96
                + reply.as_ref().map_or(0, |r| r.body.len() + 48),
        );
        let chat_id = jid_string(&message.chat);
        if !history.is_empty() {
            body.push_str(HISTORY_HEADER);
            body.push('\n');
            for entry in history {
                if entry.line.is_empty() {
                    self.write_history_line(&mut body, &chat_id, entry);
                } else {
                    body.push_str(&entry.line);
                }
                body.push('\n');
            }
            body.push('\n');
            body.push_str(CURRENT_HEADER);
            body.push('\n');
        }
        let envelope_from = if is_group { &chat_id } else { &ids.from };
        write_header(
            &mut body,
            settings,
            envelope_from,
            message.timestamp_ms,
            ctx.previous_timestamp_ms,
        );
        if is_group {
            push_one_line(&mut body, &sender_label(sender_name, &ids));
            body.push_str(": ");
        }
        if !prefix.is_empty() {
            body.push_str(prefix);
            body.push(' ');
        }
        body.push_str(&raw);
        if let Some(reply) = &reply {
            body.push_str("\n\n");
            reply.write_block(&mut body);
        }
        if is_group {
            body.push_str("\n[message_id: ");
            body.push_str(message.id.as_str());
            body.push(']');
        }

        let was_mentioned = match ctx.was_mentioned {
            Some(decided) => decided,
            None if is_group => self
                .detect_mention(message, ctx.own, ctx.agent_id)
                .was_mentioned(),
            None => false,
        };
        let (media, location) = match &message.content {
            Content::Media(m) => (Some(TurnMedia::from_media(m)), None),
            Content::Location(l) => (None, Some(TurnLocation::from_location(l, false))),
            Content::LiveLocation(l) => (None, Some(TurnLocation::from_location(l, true))),
            _ => (None, None),
        };
        let group = ctx.group.filter(|_| is_group);
        let session_key = self.session_key_for(message, ctx.agent_id, &ids);
        let dm_history_limit = if is_group {
            None
        } else {
            account.dm_history_limit_for(ids.phone.as_deref())
        };
        let (reply_to_id, reply_to_body, reply_to_sender) = match reply {
            Some(r) => (
                Some(r.id).filter(|id| !id.is_empty()),
                Some(r.body),
                r.sender,
            ),
            None => (None, None, None),
        };

        Ok(InboundTurn {
            body,
            raw_body: raw.into_owned(),
            chat_type: if is_group {
                ChatType::Group
            } else {
                ChatType::Dm
            },
            chat_id,
            sender_e164: ids.phone.as_deref().map(phone_string),
            sender_lid: ids.lid.clone(),
            sender_jid: ids.jid.clone(),
            from: ids.from,
            sender_name: sender_name.map(str::to_string),
            to: phone_string(&ctx.own.phone),
            account_id: message.account.as_str().to_string(),
            agent_id: ctx.agent_id.to_string(),
            message_id: message.id.as_str().to_string(),
            timestamp: message.timestamp_ms,
            from_me: message.from_me,
            forwarded: message.context.forwarded,
            was_mentioned,
            reply_to_id,
            reply_to_body,
            reply_to_sender,
            media,
            location,
            session_key,
            group_subject: group
                .map(|g| g.subject.trim())
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            group_members: group.map(|g| group_members(g, message, history)),
            history_count: history.len(),
            dm_history_limit,
            sender_is_owner: ctx.sender_is_owner,
            command_authorized: ctx.command_authorized,
            session_reset: false,
            kind: crate::turn::TurnKind::Message,
            heartbeat_model: None,
        })
    }
}

fn empty(message: &InboundMessage) -> NormalizeError {
    NormalizeError::EmptyMessage {
        id: message.id.as_str().to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::settings::AgentSettings;
    use wagw_core::{ContextInfo, Jid, MessageId, Phone, Sender};

    fn own() -> OwnIdentity {
        OwnIdentity {
            phone: Phone::parse("+15550009999").unwrap(),
            lid: None,
            push_name: None,
        }
    }

    fn group_msg(id: &str, text: &str, at: i64) -> InboundMessage {
        InboundMessage {
            id: MessageId::new(id),
            account: AccountId::default_account(),
            chat: Jid::parse("120363012345678901@g.us").unwrap(),
            sender: Sender::phone(Phone::parse("+15550001111").unwrap()),
            sender_jid: None,
            push_name: Some("Bob".into()),
            timestamp_ms: at,
            from_me: false,
            offline: false,
            content: Content::text(text),
            context: ContextInfo::default(),
        }
    }

    #[test]
    fn hand_built_history_entries_render_like_recorded_ones() {
        let n = Normalizer::new(NormalizeSettings::default()).unwrap();
        let recorded = n.history_entry(&group_msg("H1", "earlier", 1_000)).unwrap();
        let mut hand = recorded.clone();
        hand.line.clear();
        let current = group_msg("M1", "now", 2_000);
        let own = own();
        let a = n
            .normalize(
                &current,
                &TurnContext::new(&own, "main").with_history(&[recorded]),
            )
            .unwrap();
        let b = n
            .normalize(
                &current,
                &TurnContext::new(&own, "main").with_history(&[hand]),
            )
            .unwrap();
        assert_eq!(a.body, b.body);
        assert!(
            a.body
                .contains("Bob (+15550001111): earlier\n[message_id: H1]\n\n")
        );
    }

    #[test]
    fn agent_lookup_is_case_insensitive_and_patterns_fall_back() {
        let mut settings = NormalizeSettings::default();
        settings.agents.insert(
            "Ops".into(),
            AgentSettings {
                name: Some("Opsy".into()),
                ..AgentSettings::default()
            },
        );
        settings.group_mention_patterns = Some(MentionPatterns::compile(["hey all"]).unwrap());
        let n = Normalizer::new(settings).unwrap();
        let account = n.settings().account(&AccountId::default_account());
        assert_eq!(n.message_prefix(account, "OPS"), "[Opsy]");
        assert_eq!(n.message_prefix(account, "other"), DEFAULT_MESSAGE_PREFIX);
        // The channel default wins over identity-derived patterns.
        assert!(n.mention_patterns("ops").unwrap().is_match("hey all"));
        assert!(!n.mention_patterns("ops").unwrap().is_match("opsy"));
    }

    #[test]
    fn invalid_identity_never_fails_and_empty_text_is_an_error() {
        let mut settings = NormalizeSettings::default();
        settings.agents.insert(
            "x".into(),
            AgentSettings {
                name: Some("a(b[c".into()),
                emoji: Some("*+?".into()),
                mention_patterns: None,
            },
        );
        let n = Normalizer::new(settings).unwrap();
        assert!(n.mention_patterns("x").unwrap().is_match("hi *+?"));
        let own = own();
        let err = n
            .normalize(&group_msg("E", " \n ", 1), &TurnContext::new(&own, "x"))
            .unwrap_err();
        assert_eq!(err.kind(), "empty_message");
        assert!(n.history_entry(&group_msg("E", "", 1)).is_err());
    }
}
