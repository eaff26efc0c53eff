//! Inbound dedupe: WhatsApp redelivers messages after reconnects; each is handled once.
//!
//! The key is account + chat + message id. [`DedupeStore`] is the seam: [`MemoryDedupe`] is the
//! in-process implementation (20 minutes, 5,000 entries by default); the runtime wraps or
//! replaces it with a persistent one so a restart does not replay what was already handled.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::fmt;

use wagw_core::{AccountId, InboundMessage, Jid, MessageId};

/// Default time a message id is remembered: 20 minutes.
pub const DEFAULT_DEDUPE_TTL_MS: i64 = 20 * 60 * 1000;

/// Default number of message ids remembered.
pub const DEFAULT_DEDUPE_CAPACITY: usize = 5000;

/// Identifies one delivery: account, chat and message id. Displays as
/// `<accountId>:<chatJid>:<messageId>` (the reference's key, and a good persistent key).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DedupeKey {
    /// The receiving account.
    pub account: AccountId,
    /// The chat (device suffix dropped).
    pub chat: Jid,
    /// The message id.
    pub id: MessageId,
}

impl DedupeKey {
    /// The key of an inbound message.
    pub fn of(message: &InboundMessage) -> DedupeKey {
        DedupeKey {
            account: message.account.clone(),
            chat: message.chat.without_device(),
            id: message.id.clone(),
        }
    }
}

impl fmt::Display for DedupeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.account, self.chat, self.id)
    }
}

/// Remembers which messages were handled. Implementations decide where that memory lives.
pub trait DedupeStore {
    /// Why the store could not answer (a persistent store's IO error; never for memory).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns `true` when `key` was seen within the TTL (a duplicate: skip it), and records
    /// it as seen at `now_ms` either way. Messages without an id should not be checked.
    fn check_and_record(&mut self, key: &DedupeKey, now_ms: i64) -> Result<bool, Self::Error>;
}

/// In-memory dedupe: a TTL map bounded in size, oldest-seen evicted first.
///
/// ```
/// use wagw_core::{AccountId, Jid, MessageId};
/// use wagw_normalize::{DedupeKey, DedupeStore, MemoryDedupe};
/// let mut seen = MemoryDedupe::default();
/// let key = DedupeKey { account: AccountId::default_account(),
///                       chat: Jid::parse("15551234567@s.whatsapp.net")?, id: MessageId::new("A1") };
/// assert!(!seen.check_and_record(&key, 0)?);        // first time
/// assert!(seen.check_and_record(&key, 60_000)?);    // redelivered a minute later
/// assert!(!seen.check_and_record(&key, 60_000 + 20 * 60_000 + 1)?); // past the TTL
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct MemoryDedupe {
    ttl_ms: i64,
    capacity: usize,
    seen: HashMap<DedupeKey, i64>,
    /// Insertion order with the time of that insertion; stale rows (refreshed keys) are
    /// skipped when popped.
    order: VecDeque<(DedupeKey, i64)>,
}

impl Default for MemoryDedupe {
    fn default() -> Self {
        MemoryDedupe::new(DEFAULT_DEDUPE_TTL_MS, DEFAULT_DEDUPE_CAPACITY)
    }
}

impl MemoryDedupe {
    /// A store remembering up to `capacity` keys (at least one) for `ttl_ms` each.
    pub fn new(ttl_ms: i64, capacity: usize) -> MemoryDedupe {
        MemoryDedupe {
            ttl_ms: ttl_ms.max(0),
            capacity: capacity.max(1),
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// The remembered keys with the time each was last seen, for a runtime that snapshots them.
    pub fn entries(&self) -> impl Iterator<Item = (&DedupeKey, i64)> {
        self.seen.iter().map(|(k, t)| (k, *t))
    }

    /// Records `key` as seen at `seen_ms` (restoring a snapshot).
    pub fn insert(&mut self, key: DedupeKey, seen_ms: i64) {
        self.order.push_back((key.clone(), seen_ms));
        self.seen.insert(key, seen_ms);
        self.trim();
    }

    /// Drops expired keys.
    pub fn prune(&mut self, now_ms: i64) {
        while let Some((key, at)) = self.order.front() {
            let current = self.seen.get(key).copied();
            if current != Some(*at) {
                self.order.pop_front();
                continue;
            }
            if now_ms.saturating_sub(*at) < self.ttl_ms {
                break;
            }
            if let Some((key, _)) = self.order.pop_front() {
                self.seen.remove(&key);
            }
        }
    }

    fn trim(&mut self) {
        while self.seen.len() > self.capacity {
            let Some((key, at)) = self.order.pop_front() else {
                break;
            };
            if self.seen.get(&key) == Some(&at) {
                self.seen.remove(&key);
            }
        }
        // Refreshes leave stale rows behind; compact when they dominate.
        if self.order.len() > self.capacity.saturating_mul(2).max(64) {
            let seen = &self.seen;
            self.order.retain(|(k, at)| seen.get(k) == Some(at));
        }
    }
}

impl DedupeStore for MemoryDedupe {
    type Error = Infallible;

    fn check_and_record(&mut self, key: &DedupeKey, now_ms: i64) -> Result<bool, Infallible> {
        self.prune(now_ms);
        let duplicate = self
            .seen
            .get(key)
            .is_some_and(|at| now_ms.saturating_sub(*at) < self.ttl_ms);
        self.insert(key.clone(), now_ms);
        if duplicate {
            tracing::debug!(target: "wagw::inbound", key = %key, "duplicate delivery skipped");
        }
        Ok(duplicate)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn key(id: &str) -> DedupeKey {
        DedupeKey {
            account: AccountId::default_account(),
            chat: Jid::parse("120363012345678901@g.us").unwrap(),
            id: MessageId::new(id),
        }
    }

    #[test]
    fn capacity_evicts_oldest_and_refresh_extends() {
        let mut d = MemoryDedupe::new(1_000, 3);
        for (i, id) in ["a", "b", "c"].iter().enumerate() {
            assert!(!d.check_and_record(&key(id), i as i64).unwrap());
        }
        // Refresh "a" so it is the newest; inserting "d" then evicts "b".
        assert!(d.check_and_record(&key("a"), 10).unwrap());
        assert!(!d.check_and_record(&key("d"), 11).unwrap());
        assert_eq!(d.len(), 3);
        assert!(d.check_and_record(&key("a"), 12).unwrap());
        assert!(!d.check_and_record(&key("b"), 13).unwrap());
        // Refresh extends: "a" last seen at 12, so at 1011 it is still a duplicate.
        assert!(d.check_and_record(&key("a"), 1011).unwrap());
        assert!(!d.check_and_record(&key("a"), 2012).unwrap());
    }

    #[test]
    fn order_stays_bounded_under_refresh_storms() {
        let mut d = MemoryDedupe::new(i64::MAX, 10);
        for t in 0..10_000 {
            d.check_and_record(&key("same"), t).unwrap();
        }
        assert_eq!(d.len(), 1);
        assert!(d.order.len() <= 64);
    }

    #[test]
    fn key_display_and_device_dropped() {
        let msg_chat = Jid::parse("15551234567:4@s.whatsapp.net").unwrap();
        let k = DedupeKey {
            account: AccountId::default_account(),
            chat: msg_chat.without_device(),
            id: MessageId::new("X"),
        };
        assert_eq!(k.to_string(), "default:15551234567@s.whatsapp.net:X");
    }
}
