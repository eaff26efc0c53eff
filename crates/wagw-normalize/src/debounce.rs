//! Inbound debounce (`debounceMs`): a burst of short texts from one sender becomes one turn.
//!
//! A pure state machine with explicit time. Consecutive plain text messages from one sender in
//! one chat, each arriving within `debounceMs` of the previous, are merged into one message
//! whose text is their non-empty texts joined by `\n` (the last message's id, time and context
//! are kept, mentions are unioned). Media, locations, contacts, replies (quotes) and commands
//! are never held back: they first release the sender's pending burst, then pass alone.
//! A window of 0 turns debouncing off.
//!
//! Run it after access control and before normalization: the merged message is normalized as
//! one turn.

use std::collections::HashMap;

use wagw_core::{Content, InboundMessage};

/// The most messages one burst holds; the burst is released when it fills so that a sender
/// who never pauses still gets answers.
pub const DEFAULT_MAX_BURST: usize = 32;

#[derive(Debug)]
struct Burst {
    earlier: Vec<InboundMessage>,
    last: InboundMessage,
    deadline_ms: i64,
}

impl Burst {
    fn len(&self) -> usize {
        self.earlier.len() + 1
    }

    fn release(self) -> InboundMessage {
        merge(self.earlier, self.last)
    }
}

/// The debounce state machine. Feed it with [`Debouncer::push`], ask it for expired bursts
/// with [`Debouncer::due`] (at [`Debouncer::next_deadline`] or on any tick).
///
/// ```
/// use wagw_core::*;
/// use wagw_normalize::Debouncer;
/// let text = |id: &str, t: &str, at: i64| InboundMessage {
///     id: MessageId::new(id), account: AccountId::default_account(),
///     chat: Jid::parse("15551234567@s.whatsapp.net").unwrap(),
///     sender: Sender::phone(Phone::parse("+15551234567").unwrap()), sender_jid: None,
///     push_name: None, timestamp_ms: at, from_me: false, offline: false,
///     content: Content::text(t), context: ContextInfo::default() };
/// let mut d = Debouncer::new(1_000);
/// assert!(d.push(text("1", "hi", 0), 0).is_empty());
/// assert!(d.push(text("2", "are you there?", 400), 400).is_empty());
/// assert!(d.due(1_399).is_empty());
/// let out = d.due(1_400);
/// assert_eq!(out.len(), 1);
/// assert_eq!(out[0].content, Content::text("hi\nare you there?"));
/// ```
#[derive(Debug)]
pub struct Debouncer {
    window_ms: i64,
    max_burst: usize,
    bursts: HashMap<String, Burst>,
}

impl Debouncer {
    /// A debouncer with the given window; 0 disables it (every push returns its message).
    pub fn new(window_ms: u64) -> Debouncer {
        Debouncer {
            window_ms: i64::try_from(window_ms).unwrap_or(i64::MAX),
            max_burst: DEFAULT_MAX_BURST,
            bursts: HashMap::new(),
        }
    }

    /// Changes the largest burst (at least 1).
    pub fn with_max_burst(mut self, max_burst: usize) -> Debouncer {
        self.max_burst = max_burst.max(1);
        self
    }

    /// The window in milliseconds.
    pub fn window_ms(&self) -> u64 {
        u64::try_from(self.window_ms).unwrap_or(0)
    }

    /// The burst key of a message: account, chat and sender.
    pub fn key(message: &InboundMessage) -> String {
        let sender = match (
            &message.sender.phone,
            &message.sender.lid,
            &message.sender_jid,
        ) {
            (Some(p), _, _) => p.to_string(),
            (None, Some(l), _) => l.to_string(),
            (None, None, Some(j)) => j.without_device().to_string(),
            (None, None, None) => message.push_name.clone().unwrap_or_default(),
        };
        format!(
            "{}:{}:{}",
            message.account,
            message.chat.without_device(),
            sender
        )
    }

    /// Takes one message at `now_ms`; returns the messages ready to handle now, in order
    /// (possibly none while a burst is open).
    pub fn push(&mut self, message: InboundMessage, now_ms: i64) -> Vec<InboundMessage> {
        if self.window_ms == 0 {
            return vec![message];
        }
        let key = Debouncer::key(&message);
        if !is_debounceable(&message) {
            let mut out = Vec::with_capacity(2);
            if let Some(burst) = self.bursts.remove(&key) {
                out.push(burst.release());
            }
            out.push(message);
            return out;
        }
        let deadline_ms = now_ms.saturating_add(self.window_ms);
        let full = match self.bursts.get_mut(&key) {
            Some(burst) => {
                let previous = std::mem::replace(&mut burst.last, message);
                burst.earlier.push(previous);
                burst.deadline_ms = deadline_ms;
                burst.len() >= self.max_burst
            }
            None => {
                let burst = Burst {
                    earlier: Vec::new(),
                    last: message,
                    deadline_ms,
                };
                let full = burst.len() >= self.max_burst;
                self.bursts.insert(key.clone(), burst);
                full
            }
        };
        if full && let Some(burst) = self.bursts.remove(&key) {
            return vec![burst.release()];
        }
        Vec::new()
    }

    /// Releases every burst whose window has passed at `now_ms`, oldest deadline first.
    pub fn due(&mut self, now_ms: i64) -> Vec<InboundMessage> {
        let mut ready: Vec<(i64, String)> = self
            .bursts
            .iter()
            .filter(|(_, b)| b.deadline_ms <= now_ms)
            .map(|(k, b)| (b.deadline_ms, k.clone()))
            .collect();
        ready.sort();
        ready
            .into_iter()
            .filter_map(|(_, k)| self.bursts.remove(&k))
            .map(Burst::release)
            .collect()
    }

    /// When the next burst expires, if any is open.
    pub fn next_deadline(&self) -> Option<i64> {
        self.bursts.values().map(|b| b.deadline_ms).min()
    }

    /// Releases every open burst now (shutdown).
    pub fn flush_all(&mut self) -> Vec<InboundMessage> {
        self.due(i64::MAX)
    }

    /// How many bursts are open.
    pub fn open_bursts(&self) -> usize {
        self.bursts.len()
    }
}

/// True when a message may be held back and merged: plain text, no quote, not a command.
pub fn is_debounceable(message: &InboundMessage) -> bool {
    match &message.content {
        Content::Text { text } => message.context.quoted.is_none() && !is_command(text),
        _ => false,
    }
}

/// True when a text is a slash command (`/new`, `/status`, `/activation always`, ...).
pub fn is_command(text: &str) -> bool {
    let t = text.trim_start();
    t.strip_prefix('/')
        .and_then(|rest| rest.chars().next())
        .is_some_and(|c| c.is_ascii_alphabetic())
}

/// Merges a burst: `last`, its text replaced by the non-empty texts of `earlier` and `last`
/// joined by `\n`, its mentions the union of all mentions. With no `earlier`, `last` is
/// returned unchanged.
pub fn merge(earlier: Vec<InboundMessage>, mut last: InboundMessage) -> InboundMessage {
    if earlier.is_empty() {
        return last;
    }
    let all = || earlier.iter().chain(std::iter::once(&last));
    let texts: Vec<&str> = all()
        .filter_map(|m| match &m.content {
            Content::Text { text } if !text.trim().is_empty() => Some(text.trim()),
            _ => None,
        })
        .collect();
    let text = texts.join("\n");
    let mut mentioned = Vec::new();
    for j in all().flat_map(|m| &m.context.mentioned) {
        if !mentioned.contains(j) {
            mentioned.push(j.clone());
        }
    }
    let forwarded = all().any(|m| m.context.forwarded);
    tracing::debug!(
        target: "wagw::inbound",
        account = %last.account,
        chat = %last.chat,
        message_id = %last.id,
        merged = earlier.len() + 1,
        "debounced burst merged"
    );
    last.content = Content::text(text);
    last.context.mentioned = mentioned;
    last.context.forwarded = forwarded;
    last
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use wagw_core::*;

    fn msg(id: &str, from: &str, content: Content) -> InboundMessage {
        InboundMessage {
            id: MessageId::new(id),
            account: AccountId::default_account(),
            chat: Jid::parse("120363012345678901@g.us").unwrap(),
            sender: Sender::phone(Phone::parse(from).unwrap()),
            sender_jid: None,
            push_name: None,
            timestamp_ms: 0,
            from_me: false,
            offline: false,
            content,
            context: ContextInfo::default(),
        }
    }

    #[test]
    fn zero_window_passes_through() {
        let mut d = Debouncer::new(0);
        assert_eq!(
            d.push(msg("1", "+15550001111", Content::text("a")), 0)
                .len(),
            1
        );
        assert_eq!(d.open_bursts(), 0);
    }

    #[test]
    fn senders_are_separate_and_window_resets() {
        let mut d = Debouncer::new(500);
        assert!(
            d.push(msg("1", "+15550001111", Content::text("a")), 0)
                .is_empty()
        );
        assert!(
            d.push(msg("2", "+15550002222", Content::text("x")), 100)
                .is_empty()
        );
        assert!(
            d.push(msg("3", "+15550001111", Content::text("b")), 450)
                .is_empty()
        );
        assert_eq!(d.next_deadline(), Some(600));
        let out = d.due(600);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].content, Content::text("x"));
        let out = d.due(950);
        assert_eq!(out[0].content, Content::text("a\nb"));
        assert_eq!(out[0].id.as_str(), "3");
    }

    #[test]
    fn media_replies_and_commands_flush_then_pass() {
        let mut d = Debouncer::new(500);
        let mut first = msg("1", "+15550001111", Content::text("hello"));
        first.context.mentioned = vec![Jid::parse("15559990000@s.whatsapp.net").unwrap()];
        assert!(d.push(first, 0).is_empty());
        assert!(
            d.push(msg("2", "+15550001111", Content::text(" ")), 1)
                .is_empty()
        );
        assert!(
            d.push(msg("3", "+15550001111", Content::text("there")), 2)
                .is_empty()
        );
        let out = d.push(
            msg(
                "4",
                "+15550001111",
                Content::Media(Media::new(MediaKind::Image)),
            ),
            3,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].content, Content::text("hello\nthere"));
        assert_eq!(out[0].context.mentioned.len(), 1);
        assert!(matches!(out[1].content, Content::Media(_)));

        assert_eq!(
            d.push(msg("5", "+15550001111", Content::text("/new")), 4)
                .len(),
            1
        );
        let mut reply = msg("6", "+15550001111", Content::text("yes"));
        reply.context.quoted = Some(QuotedMessage {
            stanza_id: MessageId::new("q"),
            participant: None,
            sender: None,
            content: None,
        });
        assert_eq!(d.push(reply, 5).len(), 1);
        assert_eq!(d.open_bursts(), 0);
    }

    #[test]
    fn full_burst_is_released() {
        let mut d = Debouncer::new(10_000).with_max_burst(3);
        assert!(
            d.push(msg("1", "+15550001111", Content::text("a")), 0)
                .is_empty()
        );
        assert!(
            d.push(msg("2", "+15550001111", Content::text("b")), 1)
                .is_empty()
        );
        let out = d.push(msg("3", "+15550001111", Content::text("c")), 2);
        assert_eq!(out[0].content, Content::text("a\nb\nc"));
        assert!(d.flush_all().is_empty());
    }

    #[test]
    fn commands() {
        assert!(is_command("/new"));
        assert!(is_command("  /activation always"));
        assert!(!is_command("/ not"));
        assert!(!is_command("a/b"));
        assert!(!is_command("//x"));
    }
}
