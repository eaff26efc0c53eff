//! What the engine is asked about: one inbound message, reduced to the facts that decide it.

use wagw_core::{AccountId, InboundMessage, Jid, Lid, OwnIdentity, Phone, Sender};

use crate::command::Command;

/// The linked account's own identity, when known (it is unknown before the first connect,
/// e.g. for `wagw access explain` on a fresh install).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelfIdentity {
    /// The account's phone number.
    pub phone: Option<Phone>,
    /// The account's LID.
    pub lid: Option<Lid>,
}

impl SelfIdentity {
    /// True when `sender` is this account (same phone or same LID).
    pub fn is(&self, sender: &Sender) -> bool {
        matches!((&self.phone, &sender.phone), (Some(a), Some(b)) if a == b)
            || matches!((&self.lid, &sender.lid), (Some(a), Some(b)) if a == b)
    }
}

impl From<&OwnIdentity> for SelfIdentity {
    fn from(o: &OwnIdentity) -> Self {
        SelfIdentity {
            phone: Some(o.phone.clone()),
            lid: o.lid.clone(),
        }
    }
}

/// One inbound message as access control sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRequest {
    /// The account that received it (must equal the policy's account).
    pub account: AccountId,
    /// The chat: a user or LID JID for a DM, a group JID, or a status/broadcast JID.
    pub chat: Jid,
    /// Who sent it: for a DM the peer, for a group the participant. Fill in both phone and
    /// LID when the LID↔phone mapping is known; the snapshot's mapping is consulted for the
    /// missing half.
    pub sender: Sender,
    /// Sent by the linked account itself (from the phone or another linked device).
    pub from_me: bool,
    /// The account's own identity.
    pub own: SelfIdentity,
    /// The message's timestamp (ms since the epoch).
    pub timestamp_ms: i64,
    /// When this connection came up (ms since the epoch); older messages are catch-up.
    pub connected_at_ms: i64,
    /// The bot was mentioned (by JID, LID, name pattern or number).
    pub mentioned: bool,
    /// The message replies to one of the bot's messages.
    pub reply_to_bot: bool,
    /// A command parsed from the text with [`crate::parse_command`], if any.
    pub command: Option<Command>,
}

impl AccessRequest {
    /// A DM from `sender` in its own chat, timestamped `now_ms` on a connection that came
    /// up at `now_ms`, with nothing else set. Handy in tests and for `access explain`.
    pub fn dm(account: AccountId, sender: Sender, now_ms: i64) -> AccessRequest {
        let chat = sender.jid().unwrap_or_else(|| Jid::user("0"));
        AccessRequest {
            account,
            chat,
            sender,
            from_me: false,
            own: SelfIdentity::default(),
            timestamp_ms: now_ms,
            connected_at_ms: now_ms,
            mentioned: false,
            reply_to_bot: false,
            command: None,
        }
    }

    /// Builds a request from a normalized inbound message. Mention detection and command
    /// parsing need the agent's mention patterns, so the caller passes their results.
    ///
    /// The engine judges a DM by its peer. For the account's own DM (`from_me`) the
    /// transport names the author — this account — as `sender`, which would read as the
    /// self-chat and answer the owner's private conversations; so the peer is taken from
    /// the chat instead.
    pub fn from_inbound(
        msg: &InboundMessage,
        own: SelfIdentity,
        connected_at_ms: i64,
        mentioned: bool,
        reply_to_bot: bool,
        command: Option<Command>,
    ) -> AccessRequest {
        let sender = match Sender::from_jid(&msg.chat) {
            Some(peer) if msg.from_me && !msg.chat.is_group() => peer,
            _ => msg.sender.clone(),
        };
        AccessRequest {
            account: msg.account.clone(),
            chat: msg.chat.clone(),
            sender,
            from_me: msg.from_me,
            own,
            timestamp_ms: msg.timestamp_ms,
            connected_at_ms,
            mentioned,
            reply_to_bot,
            command,
        }
    }

    /// True for a group chat.
    pub fn is_group(&self) -> bool {
        self.chat.is_group()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use wagw_core::{Content, ContextInfo, MessageId};

    fn message(chat: &str, sender: &str, from_me: bool) -> InboundMessage {
        InboundMessage {
            id: MessageId::new("M1"),
            account: AccountId::default_account(),
            chat: Jid::parse(chat).unwrap(),
            sender: Sender::phone(Phone::parse(sender).unwrap()),
            sender_jid: None,
            push_name: None,
            timestamp_ms: 0,
            from_me,
            offline: false,
            content: Content::text("hi"),
            context: ContextInfo::default(),
        }
    }

    fn sender_of(msg: &InboundMessage) -> Sender {
        AccessRequest::from_inbound(msg, SelfIdentity::default(), 0, false, false, None).sender
    }

    #[test]
    fn own_dm_is_judged_by_its_peer() {
        let msg = message("15550001111@s.whatsapp.net", "+15550009999", true);
        assert_eq!(
            sender_of(&msg),
            Sender::phone(Phone::parse("+15550001111").unwrap())
        );
    }

    #[test]
    fn inbound_dm_and_own_group_message_keep_their_author() {
        let dm = message("15550001111@s.whatsapp.net", "+15550001111", false);
        assert_eq!(sender_of(&dm), dm.sender);
        let group = message("120363012345678901@g.us", "+15550009999", true);
        assert_eq!(sender_of(&group), group.sender);
    }
}
