//! Pending group history: the group messages the bot saw but did not answer, shown to the
//! agent on the next turn it does answer and then cleared ("pending-only" history).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use wagw_core::{AccountId, Jid, MessageId, Sender};

/// The default `historyLimit`: how many unanswered messages a group keeps.
pub const DEFAULT_HISTORY_LIMIT: usize = 50;

/// The default number of groups [`GroupHistory`] tracks before evicting the least recently
/// written one.
pub const DEFAULT_MAX_GROUPS: usize = 1000;

/// The header above the injected history.
pub const HISTORY_HEADER: &str = "[Chat messages since your last reply - for context]";

/// The header above the current message when history is injected.
pub const CURRENT_HEADER: &str = "[Current message - respond to this]";

/// One unanswered group message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The message id.
    pub message_id: MessageId,
    /// When it was sent, Unix milliseconds.
    pub timestamp_ms: i64,
    /// Who wrote it.
    pub sender: Sender,
    /// The sender's push name, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<String>,
    /// How the sender is shown: `Name (+E164)`, the name, the E.164 (or LID), or `Unknown`.
    pub sender_label: String,
    /// The message body as extracted (text, caption or placeholder), without envelope.
    pub body: String,
    /// The entry as the agent will read it, rendered once when recorded:
    /// `[WhatsApp <groupJid> <timestamp>] <label>: <body>\n[message_id: <id>]`. When empty
    /// (an entry built by hand), it is rendered at turn time from the fields above.
    #[serde(default)]
    pub line: String,
}

#[derive(Debug, Default)]
struct Buffer {
    entries: Vec<HistoryEntry>,
    last_write: u64,
}

/// Per-group buffers of unanswered messages, bounded per group (`historyLimit`) and in the
/// number of groups (least recently written evicted first).
///
/// ```
/// use wagw_core::{AccountId, Jid, MessageId, Sender};
/// use wagw_normalize::{GroupHistory, HistoryEntry};
/// let mut history = GroupHistory::new();
/// let key = GroupHistory::key(&AccountId::default_account(), &Jid::parse("123@g.us")?);
/// let entry = |id: &str| HistoryEntry {
///     message_id: MessageId::new(id), timestamp_ms: 0, sender: Sender { phone: None, lid: None },
///     sender_name: None, sender_label: "Unknown".into(), body: "hi".into(), line: String::new(),
/// };
/// history.record(&key, entry("a"), 2);
/// history.record(&key, entry("b"), 2);
/// history.record(&key, entry("c"), 2);
/// assert_eq!(history.pending(&key).len(), 2); // oldest dropped
/// history.clear(&key); // after the turn, even a silent one
/// assert!(history.pending(&key).is_empty());
/// # Ok::<(), wagw_core::IdentityError>(())
/// ```
#[derive(Debug)]
pub struct GroupHistory {
    buffers: HashMap<String, Buffer>,
    max_groups: usize,
    clock: u64,
}

impl Default for GroupHistory {
    fn default() -> Self {
        GroupHistory::new()
    }
}

impl GroupHistory {
    /// An empty history tracking up to [`DEFAULT_MAX_GROUPS`] groups.
    pub fn new() -> GroupHistory {
        GroupHistory::with_max_groups(DEFAULT_MAX_GROUPS)
    }

    /// An empty history tracking up to `max_groups` groups (at least one).
    pub fn with_max_groups(max_groups: usize) -> GroupHistory {
        GroupHistory {
            buffers: HashMap::new(),
            max_groups: max_groups.max(1),
            clock: 0,
        }
    }

    /// The history key of a group: `whatsapp:<accountId>:group:<jid>`.
    pub fn key(account: &AccountId, group: &Jid) -> String {
        format!("whatsapp:{account}:group:{}", group.without_device())
    }

    /// Appends an unanswered message, keeping at most `limit` (oldest dropped first). A limit
    /// of 0 disables history: nothing is kept and any existing buffer is dropped.
    pub fn record(&mut self, key: &str, entry: HistoryEntry, limit: usize) {
        if limit == 0 {
            self.buffers.remove(key);
            return;
        }
        self.clock += 1;
        let clock = self.clock;
        let buffer = match self.buffers.get_mut(key) {
            Some(b) => b,
            None => {
                if self.buffers.len() >= self.max_groups {
                    self.evict_oldest();
                }
                self.buffers.entry(key.to_string()).or_default()
            }
        };
        buffer.last_write = clock;
        buffer.entries.push(entry);
        if buffer.entries.len() > limit {
            let excess = buffer.entries.len() - limit;
            buffer.entries.drain(..excess);
        }
    }

    fn evict_oldest(&mut self) {
        // Only runs when a new group arrives past the cap: a linear scan is fine.
        if let Some(oldest) = self
            .buffers
            .iter()
            .min_by_key(|(_, b)| b.last_write)
            .map(|(k, _)| k.clone())
        {
            self.buffers.remove(&oldest);
        }
    }

    /// The unanswered messages of a group, oldest first.
    pub fn pending(&self, key: &str) -> &[HistoryEntry] {
        self.buffers.get(key).map_or(&[], |b| &b.entries)
    }

    /// Forgets a group's unanswered messages (call after the turn is processed, including
    /// when the agent stayed silent).
    pub fn clear(&mut self, key: &str) {
        self.buffers.remove(key);
    }

    /// Removes and returns a group's unanswered messages.
    pub fn take(&mut self, key: &str) -> Vec<HistoryEntry> {
        self.buffers
            .remove(key)
            .map(|b| b.entries)
            .unwrap_or_default()
    }

    /// How many groups have pending messages.
    pub fn groups(&self) -> usize {
        self.buffers.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn entry(id: &str) -> HistoryEntry {
        HistoryEntry {
            message_id: MessageId::new(id),
            timestamp_ms: 1,
            sender: Sender {
                phone: None,
                lid: None,
            },
            sender_name: None,
            sender_label: "Unknown".into(),
            body: id.into(),
            line: String::new(),
        }
    }

    #[test]
    fn limit_zero_disables_and_groups_are_bounded() {
        let mut h = GroupHistory::with_max_groups(2);
        h.record("a", entry("1"), 0);
        assert!(h.pending("a").is_empty());
        h.record("a", entry("1"), 5);
        h.record("b", entry("2"), 5);
        h.record("a", entry("3"), 5); // a is now the most recent
        h.record("c", entry("4"), 5); // evicts b
        assert_eq!(h.groups(), 2);
        assert!(h.pending("b").is_empty());
        assert_eq!(h.pending("a").len(), 2);
        assert_eq!(h.take("a").len(), 2);
        assert!(h.pending("a").is_empty());
    }

    #[test]
    fn key_format() {
        let key = GroupHistory::key(
            &AccountId::parse("work").unwrap(),
            &Jid::parse("120363012345678901@g.us").unwrap(),
        );
        assert_eq!(key, "whatsapp:work:group:120363012345678901@g.us");
    }
}
