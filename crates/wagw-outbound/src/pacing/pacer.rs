//! The async side of pacing: book a slot, show "typing…" while waiting, sleep until it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use wagw_core::{ChatPresence, Jid, WaSocket};

use super::{PacingSettings, PacingState, Reservation};

/// Wall-clock milliseconds, injectable for tests.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, Unix milliseconds.
    fn now_ms(&self) -> i64;
}

/// Wall-clock time anchored once, then advanced by tokio's monotonic clock: immune to wall
/// clock jumps, and it follows `tokio::time::pause` in tests.
#[derive(Debug)]
pub struct SystemClock {
    anchor_ms: i64,
    anchor: tokio::time::Instant,
}

impl SystemClock {
    /// Anchors at the current wall-clock time.
    pub fn new() -> SystemClock {
        let anchor_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        SystemClock {
            anchor_ms,
            anchor: tokio::time::Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.anchor.elapsed().as_millis()).unwrap_or(i64::MAX / 2);
        self.anchor_ms + elapsed
    }
}

/// One account's pacer. Cheap to share (`Arc` inside); every send of the account goes
/// through [`Pacer::wait_turn`].
#[derive(Debug, Clone)]
pub struct Pacer {
    settings: PacingSettings,
    state: Arc<Mutex<PacingState>>,
    clock: Arc<dyn Clock>,
}

impl Pacer {
    /// A pacer on the system clock.
    pub fn new(settings: PacingSettings) -> Pacer {
        Pacer::with_clock(settings, Arc::new(SystemClock::new()))
    }

    /// A pacer on a given clock.
    pub fn with_clock(settings: PacingSettings, clock: Arc<dyn Clock>) -> Pacer {
        Pacer {
            settings,
            state: Arc::new(Mutex::new(PacingState::new())),
            clock,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &PacingSettings {
        &self.settings
    }

    /// Marks a chat as known (call on inbound messages): replies to it are not "new chats".
    pub fn mark_known(&self, chat: &Jid) {
        self.lock().mark_known(chat);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PacingState> {
        // A panic while holding the lock leaves a consistent state (every write is a plain
        // assignment), so a poisoned lock is safe to reuse.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Books a slot now (without waiting), for callers that schedule on their own.
    pub fn reserve(&self, chat: &Jid, is_self_chat: bool) -> Reservation {
        let now = self.clock.now_ms();
        self.lock().reserve(&self.settings, chat, is_self_chat, now)
    }

    /// Waits until a message to `chat` may be sent. While waiting, shows "typing…" in the chat
    /// when `typingIndicator` is on (presence errors are only logged). Never drops the send.
    pub async fn wait_turn(
        &self,
        socket: &dyn WaSocket,
        chat: &Jid,
        is_self_chat: bool,
    ) -> Reservation {
        let now = self.clock.now_ms();
        let reservation = self.lock().reserve(&self.settings, chat, is_self_chat, now);
        let wait = reservation.wait_ms(now);
        if wait > 0 {
            tracing::debug!(
                target: "wagw::outbound",
                chat = %chat,
                wait_ms = wait,
                reasons = ?reservation.reasons,
                "pacing: send waits for its slot"
            );
            if self.settings.typing_indicator
                && let Err(e) = socket
                    .send_chat_presence(chat, ChatPresence::Composing)
                    .await
            {
                tracing::debug!(target: "wagw::outbound", error = %e, "typing presence failed");
            }
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        reservation
    }
}
