//! Pacing: spacing an account's sends so WhatsApp does not take it for a bulk sender.
//!
//! Three limits, all configurable under `channels.whatsapp.pacing` ([`PacingSettings`]):
//! - a per-account token bucket (default 20 messages a minute, bursts of 5), run as GCRA so
//!   the state is one timestamp;
//! - a minimum interval between two messages to the same chat (default 1 s);
//! - a daily cap on first messages to chats this account has never talked to (default 50 a
//!   UTC day) — the pattern WhatsApp's spam detection weighs most.
//!
//! Nothing is ever dropped: [`PacingState::reserve`] books the earliest slot that satisfies
//! every limit and returns when to send; the caller waits until then (see [`Pacer`]).
//! Reservations are handed out in call order, so sends leave in the order they were queued.
//! The owner's self-chat bypasses pacing entirely.

mod pacer;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use wagw_core::Jid;

pub use pacer::{Clock, Pacer, SystemClock};

const DAY_MS: i64 = 86_400_000;

/// `channels.whatsapp.pacing`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PacingSettings {
    /// Turn pacing off entirely (default on).
    pub enabled: bool,
    /// Sustained messages per minute per account (default 20).
    pub messages_per_minute: u32,
    /// Messages that may go back to back before the rate applies (default 5).
    pub burst: u32,
    /// Minimum milliseconds between two messages to the same chat (default 1000).
    pub per_chat_min_interval_ms: u64,
    /// First messages to new chats per UTC day (default 50; 0 = no cap).
    pub new_chats_per_day: u32,
    /// Show "typing…" in the chat while a send waits for its slot (default true).
    pub typing_indicator: bool,
}

impl Default for PacingSettings {
    fn default() -> Self {
        PacingSettings {
            enabled: true,
            messages_per_minute: 20,
            burst: 5,
            per_chat_min_interval_ms: 1000,
            new_chats_per_day: 50,
            typing_indicator: true,
        }
    }
}

/// Why a send had to wait (the binding limit; several may hold at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// The account's token bucket was empty.
    AccountRate,
    /// The chat got a message less than the minimum interval ago.
    ChatInterval,
    /// Today's allowance of first messages to new chats is used up.
    NewChatCap,
}

/// A booked send slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    /// When the send may go, Unix milliseconds.
    pub send_at_ms: i64,
    /// What held it back (empty when it may go now).
    pub reasons: Vec<WaitReason>,
    /// True when this is the first message to the chat.
    pub new_chat: bool,
}

impl Reservation {
    /// Milliseconds to wait from `now_ms`.
    pub fn wait_ms(&self, now_ms: i64) -> u64 {
        u64::try_from(self.send_at_ms - now_ms).unwrap_or(0)
    }
}

/// The pacing state of one account. Pure: time comes in as an argument.
#[derive(Debug, Clone, Default)]
pub struct PacingState {
    /// GCRA theoretical arrival time of the next message, Unix ms.
    tat_ms: i64,
    /// Last booked send per chat.
    last_send: HashMap<Jid, i64>,
    /// Chats this account has talked to (seeded by the gateway from inbound traffic).
    known: HashSet<Jid>,
    /// New-chat sends booked per UTC day index.
    new_per_day: BTreeMap<i64, DayBook>,
}

/// New-chat bookings of one UTC day.
#[derive(Debug, Clone, Copy, Default)]
struct DayBook {
    count: u32,
    /// Next free slot for sends deferred to this day.
    next_deferred_ms: i64,
}

impl PacingState {
    /// A fresh state.
    pub fn new() -> PacingState {
        PacingState::default()
    }

    /// Marks a chat as known (it wrote to us, or we talked before): no longer a "new chat".
    pub fn mark_known(&mut self, chat: &Jid) {
        self.known.insert(chat.clone());
    }

    /// True when the chat is known.
    pub fn is_known(&self, chat: &Jid) -> bool {
        self.known.contains(chat)
    }

    /// Books the earliest slot for a message to `chat` requested at `now_ms`.
    ///
    /// ```
    /// use wagw_core::Jid;
    /// use wagw_outbound::pacing::{PacingSettings, PacingState};
    /// let s = PacingSettings::default();
    /// let mut st = PacingState::new();
    /// let chat = Jid::parse("15551234567@s.whatsapp.net").unwrap();
    /// st.mark_known(&chat);
    /// assert_eq!(st.reserve(&s, &chat, false, 0).send_at_ms, 0);
    /// // Same chat again at once: the 1 s chat interval applies.
    /// assert_eq!(st.reserve(&s, &chat, false, 0).send_at_ms, 1000);
    /// ```
    pub fn reserve(
        &mut self,
        settings: &PacingSettings,
        chat: &Jid,
        is_self_chat: bool,
        now_ms: i64,
    ) -> Reservation {
        if !settings.enabled || is_self_chat {
            return Reservation {
                send_at_ms: now_ms,
                reasons: Vec::new(),
                new_chat: false,
            };
        }
        let interval = 60_000 / i64::from(settings.messages_per_minute.max(1));
        let tolerance = interval * i64::from(settings.burst.max(1) - 1);
        let mut reasons = Vec::new();
        let mut at = now_ms;

        let rate_at = self.tat_ms - tolerance;
        if rate_at > at {
            at = rate_at;
            reasons.push(WaitReason::AccountRate);
        }
        if let Some(&last) = self.last_send.get(chat) {
            let chat_at =
                last + i64::try_from(settings.per_chat_min_interval_ms).unwrap_or(i64::MAX / 4);
            if chat_at > at {
                at = chat_at;
                reasons.push(WaitReason::ChatInterval);
            }
        }
        let new_chat = !self.known.contains(chat);
        let mut deferred = false;
        if new_chat && settings.new_chats_per_day > 0 {
            let mut day = at.div_euclid(DAY_MS);
            while self.new_per_day.get(&day).map_or(0, |d| d.count) >= settings.new_chats_per_day {
                day += 1;
            }
            let entry = self.new_per_day.entry(day).or_default();
            let day_start = day * DAY_MS;
            if day_start > at {
                // Deferred to a later day: those sends queue among themselves, one interval
                // apart, and do not hold today's traffic back.
                at = day_start.max(entry.next_deferred_ms);
                entry.next_deferred_ms = at + interval;
                reasons.push(WaitReason::NewChatCap);
                deferred = true;
            }
            entry.count += 1;
            // Days before today no longer matter.
            let today = now_ms.div_euclid(DAY_MS);
            self.new_per_day.retain(|&d, _| d >= today);
        }

        if !deferred {
            self.tat_ms = self.tat_ms.max(at) + interval;
        }
        self.last_send.insert(chat.clone(), at);
        self.known.insert(chat.clone());
        // Chats whose interval has passed need no entry; keeps the map small.
        if self.last_send.len() > 4096 {
            let horizon = now_ms - i64::try_from(settings.per_chat_min_interval_ms).unwrap_or(0);
            self.last_send.retain(|_, &mut t| t > horizon);
        }
        Reservation {
            send_at_ms: at,
            reasons,
            new_chat,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn jid(n: u64) -> Jid {
        Jid::parse(&format!("1555{n:07}@s.whatsapp.net")).unwrap()
    }

    #[test]
    fn burst_then_rate() {
        let s = PacingSettings {
            per_chat_min_interval_ms: 0,
            new_chats_per_day: 0,
            ..PacingSettings::default()
        };
        let mut st = PacingState::new();
        let times: Vec<i64> = (0..8)
            .map(|i| st.reserve(&s, &jid(i), false, 0).send_at_ms)
            .collect();
        // 5 at once, then one every 3 s (20/min).
        assert_eq!(times, [0, 0, 0, 0, 0, 3000, 6000, 9000]);
        // After a quiet minute the bucket is full again.
        let later: Vec<i64> = (0..6)
            .map(|i| st.reserve(&s, &jid(i), false, 120_000).send_at_ms)
            .collect();
        assert_eq!(
            later,
            [120_000, 120_000, 120_000, 120_000, 120_000, 123_000]
        );
    }

    #[test]
    fn per_chat_interval_and_reasons() {
        let s = PacingSettings {
            new_chats_per_day: 0,
            ..PacingSettings::default()
        };
        let mut st = PacingState::new();
        let c = jid(1);
        assert_eq!(st.reserve(&s, &c, false, 0).reasons, []);
        let r = st.reserve(&s, &c, false, 200);
        assert_eq!(
            (r.send_at_ms, r.reasons.clone()),
            (1000, vec![WaitReason::ChatInterval])
        );
        assert_eq!(r.wait_ms(200), 800);
    }

    #[test]
    fn new_chat_daily_cap_defers_to_next_day() {
        let s = PacingSettings {
            messages_per_minute: 60_000,
            burst: 100,
            new_chats_per_day: 2,
            ..PacingSettings::default()
        };
        let mut st = PacingState::new();
        let now = 5 * DAY_MS + 1000;
        assert!(st.reserve(&s, &jid(1), false, now).new_chat);
        assert_eq!(st.reserve(&s, &jid(2), false, now).send_at_ms, now);
        let r = st.reserve(&s, &jid(3), false, now);
        assert_eq!(
            (r.send_at_ms, r.reasons.clone()),
            (6 * DAY_MS, vec![WaitReason::NewChatCap])
        );
        // Known chats are not held back; chat 1 is known now.
        let r = st.reserve(&s, &jid(1), false, now + 5000);
        assert_eq!((r.send_at_ms, r.new_chat), (now + 5000, false));
        // The fourth new chat goes on day 6 too (cap 2 per day).
        assert_eq!(
            st.reserve(&s, &jid(4), false, now).send_at_ms,
            6 * DAY_MS + 1
        );
        assert_eq!(st.reserve(&s, &jid(5), false, now).send_at_ms, 7 * DAY_MS);
    }

    #[test]
    fn settings_from_config_json() {
        let s: PacingSettings =
            serde_json::from_str(r#"{"messagesPerMinute": 10, "typingIndicator": false}"#).unwrap();
        assert_eq!(s.messages_per_minute, 10);
        assert!(!s.typing_indicator);
        assert_eq!(
            (s.burst, s.per_chat_min_interval_ms, s.new_chats_per_day),
            (5, 1000, 50)
        );
        let m: crate::MediaSettings =
            serde_json::from_str(r#"{"localRoots": ["/srv/media"], "allowPrivateNetworks": true}"#)
                .unwrap();
        assert!(m.allow_private_networks);
        assert_eq!(m.local_roots, [std::path::PathBuf::from("/srv/media")]);
        assert_eq!(
            (
                m.max_download_mb,
                m.fetch_timeout_ms,
                m.image_limits.max_side
            ),
            (100, 30_000, 16_384)
        );
    }

    #[test]
    fn self_chat_and_disabled_bypass() {
        let s = PacingSettings::default();
        let mut st = PacingState::new();
        for _ in 0..20 {
            assert_eq!(st.reserve(&s, &jid(9), true, 0).send_at_ms, 0);
        }
        let off = PacingSettings {
            enabled: false,
            ..PacingSettings::default()
        };
        for _ in 0..20 {
            assert_eq!(st.reserve(&off, &jid(8), false, 0).send_at_ms, 0);
        }
    }
}
