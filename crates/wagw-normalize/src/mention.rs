//! Mention detection: did a group message address the bot?
//!
//! In order: WhatsApp's mention list (the bot's phone or LID, device suffixes stripped — the
//! reference compared JIDs with their `:device` still on, its bug Q5); an explicit mention of
//! someone else ends the search except for a reply to the bot; then the configured
//! `mentionPatterns`; then the bot's own number written in the text; finally a reply to one of
//! the bot's messages. In self-chat mode the mention list is ignored (the owner mentioning
//! themselves would otherwise ping the bot).

use std::borrow::Cow;

use regex::{RegexSet, RegexSetBuilder};
use wagw_core::{Content, InboundMessage, Jid, JidKind, OwnIdentity};

use crate::error::NormalizeError;

/// A compiled, case-insensitive set of mention patterns. Compile once at config load; matching
/// is a single pass over the text.
///
/// ```
/// use wagw_normalize::MentionPatterns;
/// let p = MentionPatterns::compile(["\\bclawd\\b", "@bot"])?;
/// assert!(p.is_match("hey CLAWD, status?"));
/// assert!(!p.is_match("clawdbot"));
/// assert!(MentionPatterns::compile(["(unclosed"]).is_err());
/// # Ok::<(), wagw_normalize::NormalizeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct MentionPatterns {
    set: RegexSet,
}

impl Default for MentionPatterns {
    fn default() -> Self {
        MentionPatterns {
            set: RegexSet::empty(),
        }
    }
}

impl MentionPatterns {
    /// Compiles patterns case-insensitively. An invalid pattern is an error naming it (never
    /// silently dropped). A backspace character (what JSON's `"\b"` decodes to) is read as the
    /// word boundary `\b` the author meant.
    pub fn compile<I, S>(patterns: I) -> Result<MentionPatterns, NormalizeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let sources: Vec<String> = patterns
            .into_iter()
            .map(|p| p.as_ref().replace('\u{8}', "\\b"))
            .filter(|p| !p.trim().is_empty())
            .collect();
        let build = |pats: &[String]| {
            RegexSetBuilder::new(pats)
                .case_insensitive(true)
                .size_limit(1 << 22)
                .build()
        };
        match build(&sources) {
            Ok(set) => Ok(MentionPatterns { set }),
            Err(_) => {
                // Find the culprit so the error names it.
                for p in &sources {
                    if let Err(e) = build(std::slice::from_ref(p)) {
                        return Err(NormalizeError::InvalidMentionPattern {
                            pattern: p.clone(),
                            reason: e.to_string().lines().last().unwrap_or("").trim().into(),
                        });
                    }
                }
                Err(NormalizeError::InvalidMentionPattern {
                    pattern: sources.join(" | "),
                    reason: "the patterns together exceed the size limit".into(),
                })
            }
        }
    }

    /// Wraps an already compiled set (the caller chose its flags).
    pub fn from_regex_set(set: RegexSet) -> MentionPatterns {
        MentionPatterns { set }
    }

    /// The patterns' sources.
    pub fn patterns(&self) -> &[String] {
        self.set.patterns()
    }

    /// True when no pattern is configured.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// True when any pattern matches `text` after invisible formatting characters (zero-width
    /// spaces, bidi marks) are removed.
    pub fn is_match(&self, text: &str) -> bool {
        !self.set.is_empty() && self.set.is_match(&strip_invisible(text))
    }

    /// The patterns the reference derives from an agent's identity when none are configured:
    /// its name as a word (`\b@?Name\s+Words\b`) and its emoji.
    pub fn from_identity(
        name: Option<&str>,
        emoji: Option<&str>,
    ) -> Result<MentionPatterns, NormalizeError> {
        let mut patterns = Vec::new();
        if let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) {
            let words: Vec<String> = name.split_whitespace().map(regex::escape).collect();
            patterns.push(format!(r"\b@?{}\b", words.join(r"\s+")));
        }
        if let Some(emoji) = emoji.map(str::trim).filter(|e| !e.is_empty()) {
            patterns.push(regex::escape(emoji));
        }
        MentionPatterns::compile(patterns)
    }
}

/// Removes U+200B–U+200F, U+202A–U+202E and U+2060–U+206F, borrowing when there are none.
fn strip_invisible(text: &str) -> Cow<'_, str> {
    let invisible = |c: char| matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}');
    // All of these encode as E2 80 xx / E2 81 xx: a byte scan finds candidates cheaply.
    if !text.as_bytes().contains(&0xE2) || !text.chars().any(invisible) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().filter(|c| !invisible(*c)).collect())
}

/// Why a message counts (or does not count) as addressed to the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MentionOutcome {
    /// Nothing addressed the bot.
    NotMentioned,
    /// WhatsApp's mention list named others but not the bot, so the patterns were not tried.
    MentionedSomeoneElse,
    /// WhatsApp's mention list holds the bot's phone or LID.
    MentionList,
    /// A configured (or identity-derived) mention pattern matched.
    Pattern,
    /// The bot's own number appears in the text.
    OwnNumber,
    /// The message replies to one of the bot's messages (an implicit mention).
    ReplyToBot,
}

impl MentionOutcome {
    /// True for every outcome that addresses the bot.
    pub fn was_mentioned(self) -> bool {
        !matches!(
            self,
            MentionOutcome::NotMentioned | MentionOutcome::MentionedSomeoneElse
        )
    }

    /// A stable snake_case name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            MentionOutcome::NotMentioned => "not_mentioned",
            MentionOutcome::MentionedSomeoneElse => "mentioned_someone_else",
            MentionOutcome::MentionList => "mention_list",
            MentionOutcome::Pattern => "pattern",
            MentionOutcome::OwnNumber => "own_number",
            MentionOutcome::ReplyToBot => "reply_to_bot",
        }
    }
}

/// True when `jid` (device suffix ignored) is the bot's phone or LID.
pub fn is_own_jid(jid: &Jid, own: &OwnIdentity) -> bool {
    match jid.kind() {
        JidKind::User => jid.user_part() == own.phone.digits(),
        JidKind::Lid => own
            .lid
            .as_ref()
            .is_some_and(|lid| lid.digits() == jid.user_part()),
        _ => false,
    }
}

/// True when the message quotes one of the bot's messages.
pub fn replies_to_bot(message: &InboundMessage, own: &OwnIdentity) -> bool {
    let Some(quoted) = &message.context.quoted else {
        return false;
    };
    if let Some(sender) = &quoted.sender {
        if sender.phone.as_ref() == Some(&own.phone) {
            return true;
        }
        if sender.lid.is_some() && sender.lid == own.lid {
            return true;
        }
    }
    quoted
        .participant
        .as_ref()
        .is_some_and(|p| is_own_jid(p, own))
}

/// True when the bot's number is written in `text`: some run of phone-like characters (digits,
/// spaces, `+ - . ( )`) holds its digits. Letters break runs, so `1555 and 1234567` is not a
/// match (the reference concatenated every digit in the text and matched that).
pub fn mentions_own_number(text: &str, own_digits: &str) -> bool {
    if own_digits.is_empty() || text.len() < own_digits.len() {
        return false;
    }
    let mut run = String::new();
    let check = |run: &mut String| {
        let hit = run.len() >= own_digits.len() && run.contains(own_digits);
        run.clear();
        hit
    };
    for ch in text.chars() {
        match ch {
            '0'..='9' => run.push(ch),
            ' ' | '\u{a0}' | '-' | '.' | '(' | ')' | '+' => {}
            _ => {
                if check(&mut run) {
                    return true;
                }
            }
        }
    }
    check(&mut run)
}

/// Decides whether `message` addresses the bot (see the module docs for the order).
///
/// `patterns` are the agent's (or the channel default) mention patterns; `self_chat` is the
/// account's self-chat mode.
pub fn detect_mention(
    message: &InboundMessage,
    own: &OwnIdentity,
    patterns: Option<&MentionPatterns>,
    self_chat: bool,
) -> MentionOutcome {
    let mentioned = &message.context.mentioned;
    if !mentioned.is_empty() && !self_chat {
        if mentioned.iter().any(|j| is_own_jid(j, own)) {
            return MentionOutcome::MentionList;
        }
        return if replies_to_bot(message, own) {
            MentionOutcome::ReplyToBot
        } else {
            MentionOutcome::MentionedSomeoneElse
        };
    }
    let text = mention_text(&message.content);
    if !text.is_empty() {
        if patterns.is_some_and(|p| p.is_match(text)) {
            return MentionOutcome::Pattern;
        }
        if mentions_own_number(text, own.phone.digits()) {
            return MentionOutcome::OwnNumber;
        }
    }
    if replies_to_bot(message, own) {
        MentionOutcome::ReplyToBot
    } else {
        MentionOutcome::NotMentioned
    }
}

/// The human-written text of a message (text, caption), where mentions can appear.
fn mention_text(content: &Content) -> &str {
    content.text_or_caption().unwrap_or("")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn number_runs() {
        assert!(mentions_own_number("hey +1 (555) 123-4567!", "15551234567"));
        assert!(mentions_own_number("@15551234567", "15551234567"));
        assert!(!mentions_own_number("paid 1555 and 1234567", "15551234567"));
        assert!(!mentions_own_number("1555123456", "15551234567"));
    }

    #[test]
    fn invalid_pattern_is_named() {
        let err = MentionPatterns::compile(["ok", "(bad"]).unwrap_err();
        match err {
            NormalizeError::InvalidMentionPattern { pattern, .. } => assert_eq!(pattern, "(bad"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn backspace_becomes_word_boundary_and_invisibles_are_ignored() {
        let p = MentionPatterns::compile(["\u{8}bot\u{8}"]).unwrap();
        assert!(p.is_match("hi b\u{200b}ot"));
        assert!(!p.is_match("robots"));
        let id = MentionPatterns::from_identity(Some("Clawd Bot"), Some("🦞")).unwrap();
        assert!(id.is_match("yo @clawd   bot"));
        assert!(id.is_match("🦞 help"));
        assert!(!id.is_match("clawdbot"));
        assert!(
            MentionPatterns::from_identity(None, None)
                .unwrap()
                .is_empty()
        );
    }
}
