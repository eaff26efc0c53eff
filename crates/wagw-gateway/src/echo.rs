//! Echo suppression: the ids of messages this gateway sent, so its own sends, mirrored back
//! by WhatsApp as `fromMe` inbound messages, are never ingested as turns (the reference's
//! personal-number echo loops, §22.3). Matching by server-confirmed id, not by text, so a
//! person who types the same words as the bot is still heard.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use wagw_core::MessageId;

/// A bounded FIFO set of sent message ids.
#[derive(Debug)]
pub(crate) struct SentIds {
    inner: Mutex<(VecDeque<MessageId>, HashSet<MessageId>)>,
    capacity: usize,
}

impl SentIds {
    /// A set remembering the last `capacity` ids.
    pub(crate) fn new(capacity: usize) -> SentIds {
        SentIds {
            inner: Mutex::new((VecDeque::new(), HashSet::new())),
            capacity: capacity.max(1),
        }
    }

    /// Remembers `id`.
    pub(crate) fn remember(&self, id: MessageId) {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (order, set) = &mut *guard;
        if set.insert(id.clone()) {
            order.push_back(id);
            while order.len() > self.capacity {
                if let Some(old) = order.pop_front() {
                    set.remove(&old);
                }
            }
        }
    }

    /// True when `id` was sent by this gateway.
    pub(crate) fn contains(&self, id: &MessageId) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_fifo() {
        let ids = SentIds::new(2);
        ids.remember(MessageId::new("a"));
        ids.remember(MessageId::new("b"));
        ids.remember(MessageId::new("c"));
        assert!(!ids.contains(&MessageId::new("a")));
        assert!(ids.contains(&MessageId::new("b")));
        assert!(ids.contains(&MessageId::new("c")));
    }
}
