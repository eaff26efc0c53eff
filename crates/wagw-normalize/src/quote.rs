//! Quoted replies: the `[Replying to …]` block and the `replyTo*` fields.

use wagw_core::{JidKind, QuotedMessage};

use crate::extract::extract_body;

/// Shown as the quoted body when WhatsApp did not include the quoted content.
pub const QUOTE_UNAVAILABLE: &str = "<quoted message unavailable>";

/// Shown as the quoted sender when nobody is known.
pub const UNKNOWN_SENDER: &str = "unknown sender";

/// What a message replies to, as the agent sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyContext {
    /// The quoted message's id (stanza id); empty when WhatsApp gave none.
    pub id: String,
    /// The quoted text, or its placeholder.
    pub body: String,
    /// The quoted sender: E.164 when known, else the LID or raw JID; `None` when unknown.
    pub sender: Option<String>,
}

impl ReplyContext {
    /// Describes a quoted message.
    pub fn describe(quoted: &QuotedMessage) -> ReplyContext {
        let body = match quoted.content.as_deref() {
            Some(content) => {
                let b = extract_body(content);
                if b.is_empty() {
                    QUOTE_UNAVAILABLE.to_string()
                } else {
                    b.into_owned()
                }
            }
            None => QUOTE_UNAVAILABLE.to_string(),
        };
        ReplyContext {
            id: quoted.stanza_id.as_str().trim().to_string(),
            body,
            sender: quoted_sender(quoted),
        }
    }

    /// Appends the block
    /// `[Replying to <sender> id:<id>]\n<body>\n[/Replying]` (` id:…` omitted without an id).
    pub fn write_block(&self, out: &mut String) {
        out.push_str("[Replying to ");
        out.push_str(self.sender.as_deref().unwrap_or(UNKNOWN_SENDER));
        if !self.id.is_empty() {
            out.push_str(" id:");
            out.push_str(&self.id);
        }
        out.push_str("]\n");
        out.push_str(&self.body);
        out.push_str("\n[/Replying]");
    }
}

/// E.164 when the transport resolved the phone, or the participant is a phone JID; else the
/// LID; else the raw participant JID.
fn quoted_sender(quoted: &QuotedMessage) -> Option<String> {
    if let Some(phone) = quoted.sender.as_ref().and_then(|s| s.phone.as_ref()) {
        return Some(phone.to_string());
    }
    if let Some(participant) = &quoted.participant {
        if let Some(phone) = participant.to_phone() {
            return Some(phone.to_string());
        }
        if participant.kind() == JidKind::Lid {
            return Some(participant.without_device().to_string());
        }
    }
    if let Some(lid) = quoted.sender.as_ref().and_then(|s| s.lid.as_ref()) {
        return Some(lid.to_string());
    }
    quoted.participant.as_ref().map(|p| p.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use wagw_core::{Content, Jid, Lid, MessageId, Phone, Sender};

    #[test]
    fn block_and_sender_forms() {
        let mut q = QuotedMessage {
            stanza_id: MessageId::new("ABC123"),
            participant: Some(Jid::parse("15551234567:7@s.whatsapp.net").unwrap()),
            sender: None,
            content: Some(Box::new(Content::text("original"))),
        };
        let ctx = ReplyContext::describe(&q);
        assert_eq!(ctx.sender.as_deref(), Some("+15551234567"));
        let mut s = String::new();
        ctx.write_block(&mut s);
        assert_eq!(
            s,
            "[Replying to +15551234567 id:ABC123]\noriginal\n[/Replying]"
        );

        q.participant = Some(Jid::parse("99887766:3@lid").unwrap());
        assert_eq!(
            ReplyContext::describe(&q).sender.as_deref(),
            Some("99887766@lid")
        );
        q.sender = Some(Sender::both(
            Phone::parse("+447700900123").unwrap(),
            Lid::parse("99887766@lid").unwrap(),
        ));
        assert_eq!(
            ReplyContext::describe(&q).sender.as_deref(),
            Some("+447700900123")
        );

        q.sender = None;
        q.participant = None;
        q.stanza_id = MessageId::new("");
        q.content = None;
        let ctx = ReplyContext::describe(&q);
        let mut s = String::new();
        ctx.write_block(&mut s);
        assert_eq!(
            s,
            "[Replying to unknown sender]\n<quoted message unavailable>\n[/Replying]"
        );
    }
}
