//! Plain counters and gauges, per account, that the daemon exports.
//!
//! Counters only grow; gauges (queue depth, state) are set. Reading takes a
//! [`MetricsSnapshot`], a serde value with stable snake_case names.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// One account's counters and gauges. Updated lock-free on the hot path, except the
/// by-reason maps (a short, uncontended lock).
#[derive(Debug, Default)]
pub struct AccountMetrics {
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    turns_delivered: AtomicU64,
    pairing_challenges: AtomicU64,
    send_failures: AtomicU64,
    sink_failures: AtomicU64,
    queue_depth: AtomicI64,
    in_flight: AtomicI64,
    last_inbound_ms: AtomicI64,
    last_outbound_ms: AtomicI64,
    reconnect_attempts: AtomicU32,
    drops: Mutex<BTreeMap<String, u64>>,
    reconnects: Mutex<BTreeMap<String, u64>>,
    state: Mutex<String>,
}

/// A point-in-time copy of one account's metrics.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    /// Inbound messages read from the transport.
    pub messages_in: u64,
    /// Messages the transport confirmed sent.
    pub messages_out: u64,
    /// Turns handed to the agent sink.
    pub turns_delivered: u64,
    /// Pairing codes sent to unknown senders.
    pub pairing_challenges: u64,
    /// Sends that failed for good.
    pub send_failures: u64,
    /// Turns the agent sink failed to handle.
    pub sink_failures: u64,
    /// Messages waiting in the inbox.
    pub queue_depth: i64,
    /// Turns being processed right now.
    pub in_flight: i64,
    /// Unix ms of the last inbound message (0 = none yet).
    pub last_inbound_ms: i64,
    /// Unix ms of the last send WhatsApp confirmed (0 = none yet).
    #[serde(default)]
    pub last_outbound_ms: i64,
    /// Failed connection attempts in a row since the last stable connection (the
    /// supervisor's streak; 0 while a connection has stayed up a heartbeat interval).
    #[serde(default)]
    pub reconnect_attempts: u32,
    /// Dropped inbound messages by reason (`status_broadcast`, `duplicate`, `not_in_allowlist`, ...).
    pub drops: BTreeMap<String, u64>,
    /// Connection closes the gateway recovered from by itself — after a backoff wait, at
    /// once (515 restart) or after a ban's expiry — by close reason label.
    pub reconnects: BTreeMap<String, u64>,
    /// The supervisor state label (`connecting`, `connected`, `backoff`, `stopped`, ...).
    pub state: String,
}

fn bump(map: &Mutex<BTreeMap<String, u64>>, reason: &str) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    match map.get_mut(reason) {
        Some(n) => *n += 1,
        None => {
            map.insert(reason.to_owned(), 1);
        }
    }
}

impl AccountMetrics {
    /// Counts an inbound message at `now_ms`.
    pub fn inbound(&self, now_ms: i64) {
        self.messages_in.fetch_add(1, Ordering::Relaxed);
        self.last_inbound_ms.store(now_ms, Ordering::Relaxed);
    }

    /// Counts a send WhatsApp confirmed at `now_ms`.
    pub fn sent(&self, now_ms: i64) {
        self.messages_out.fetch_add(1, Ordering::Relaxed);
        self.last_outbound_ms.store(now_ms, Ordering::Relaxed);
    }

    /// Sets the supervisor's count of failed attempts in a row.
    pub fn set_reconnect_attempts(&self, attempts: u32) {
        self.reconnect_attempts.store(attempts, Ordering::Relaxed);
    }

    /// Counts a turn handed to the agent.
    pub fn delivered(&self) {
        self.turns_delivered.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a pairing challenge.
    pub fn pairing_challenge(&self) {
        self.pairing_challenges.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a failed send.
    pub fn send_failed(&self) {
        self.send_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an agent sink failure.
    pub fn sink_failed(&self) {
        self.sink_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a dropped inbound message.
    pub fn dropped(&self, reason: &str) {
        bump(&self.drops, reason);
    }

    /// Counts a reconnect caused by `reason`.
    pub fn reconnect(&self, reason: &str) {
        bump(&self.reconnects, reason);
    }

    /// Sets the supervisor state label.
    pub fn set_state(&self, state: &str) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.clear();
        s.push_str(state);
    }

    /// Adjusts the inbox queue depth gauge.
    pub(crate) fn queue_delta(&self, delta: i64) {
        self.queue_depth.fetch_add(delta, Ordering::Relaxed);
    }

    /// Adjusts the in-flight gauge.
    pub(crate) fn in_flight_delta(&self, delta: i64) {
        self.in_flight.fetch_add(delta, Ordering::Relaxed);
    }

    /// Unix ms of the last inbound message, 0 when none.
    pub fn last_inbound_ms(&self) -> i64 {
        self.last_inbound_ms.load(Ordering::Relaxed)
    }

    /// Messages waiting in the inbox.
    pub fn queue_depth(&self) -> i64 {
        self.queue_depth.load(Ordering::Relaxed)
    }

    /// A copy of every value.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            messages_in: self.messages_in.load(Ordering::Relaxed),
            messages_out: self.messages_out.load(Ordering::Relaxed),
            turns_delivered: self.turns_delivered.load(Ordering::Relaxed),
            pairing_challenges: self.pairing_challenges.load(Ordering::Relaxed),
            send_failures: self.send_failures.load(Ordering::Relaxed),
            sink_failures: self.sink_failures.load(Ordering::Relaxed),
            queue_depth: self.queue_depth.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            last_inbound_ms: self.last_inbound_ms.load(Ordering::Relaxed),
            last_outbound_ms: self.last_outbound_ms.load(Ordering::Relaxed),
            reconnect_attempts: self.reconnect_attempts.load(Ordering::Relaxed),
            drops: self.drops.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            reconnects: self
                .reconnects
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            state: self.state.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_snapshots() {
        let m = AccountMetrics::default();
        m.inbound(42);
        m.inbound(43);
        m.dropped("duplicate");
        m.dropped("duplicate");
        m.dropped("not_in_allowlist");
        m.reconnect("network");
        m.set_state("connected");
        m.queue_delta(3);
        m.queue_delta(-1);
        m.sent(50);
        m.sent(51);
        m.set_reconnect_attempts(4);
        m.set_reconnect_attempts(2);
        let s = m.snapshot();
        assert_eq!(s.messages_out, 2);
        assert_eq!(s.last_outbound_ms, 51);
        assert_eq!(s.reconnect_attempts, 2);
        assert_eq!(s.messages_in, 2);
        assert_eq!(s.last_inbound_ms, 43);
        assert_eq!(s.drops["duplicate"], 2);
        assert_eq!(s.drops["not_in_allowlist"], 1);
        assert_eq!(s.reconnects["network"], 1);
        assert_eq!(s.state, "connected");
        assert_eq!(s.queue_depth, 2);
    }
}
