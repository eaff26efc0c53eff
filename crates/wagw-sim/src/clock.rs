//! The simulated clock: message timestamps derive from tokio's clock, so tests running under
//! `#[tokio::test(start_paused = true)]` control both the timers and the timestamps.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The default start of simulated time: 2023-11-14T22:13:20Z, Unix milliseconds. Fixed, so
/// that runs never depend on the wall clock.
pub const DEFAULT_START_MS: i64 = 1_700_000_000_000;

/// The network's clock. `now_ms()` is `start + (tokio now − creation) + skew`: it moves with
/// tokio time (paused or not) and can be set or skewed without waiting.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// let clock = wagw_sim::SimClock::new(1_000_000);
/// clock.skew(Duration::from_secs(5));
/// assert!(clock.now_ms() >= 1_005_000);
/// clock.set_ms(42_000);
/// assert!(clock.now_ms() >= 42_000 && clock.now_ms() < 43_000);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SimClock {
    inner: Arc<Mutex<ClockInner>>,
}

#[derive(Debug)]
struct ClockInner {
    start_ms: i64,
    base: Instant,
    skew_ms: i64,
}

impl SimClock {
    /// A clock reading `start_ms` now. Create it inside the runtime whose time it follows
    /// (tokio's paused clock is per runtime).
    pub fn new(start_ms: i64) -> SimClock {
        SimClock {
            inner: Arc::new(Mutex::new(ClockInner {
                start_ms,
                base: Instant::now(),
                skew_ms: 0,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current simulated time, Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        let c = self.lock();
        let elapsed = i64::try_from(c.base.elapsed().as_millis()).unwrap_or(i64::MAX / 2);
        c.start_ms.saturating_add(elapsed).saturating_add(c.skew_ms)
    }

    /// Makes `now_ms()` read `ms` from now on (timers are not affected).
    pub fn set_ms(&self, ms: i64) {
        let now = self.now_ms();
        let mut c = self.lock();
        c.skew_ms = c.skew_ms.saturating_add(ms.saturating_sub(now));
    }

    /// Moves timestamps forward by `by` without waiting (timers are not affected).
    pub fn skew(&self, by: Duration) {
        let mut c = self.lock();
        c.skew_ms = c
            .skew_ms
            .saturating_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 2));
    }

    /// Lets `by` pass: sleeps on tokio's clock, so under paused time it returns at once after
    /// firing every timer due in between (QR rotations, send delays, receipts), in order.
    pub async fn advance(&self, by: Duration) {
        tokio::time::sleep(by).await;
    }
}

impl Default for SimClock {
    fn default() -> Self {
        SimClock::new(DEFAULT_START_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_paused_tokio_time() {
        let clock = SimClock::new(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance(Duration::from_secs(60)).await;
        assert_eq!(clock.now_ms(), 61_000);
        clock.skew(Duration::from_millis(500));
        assert_eq!(clock.now_ms(), 61_500);
        clock.set_ms(5);
        assert_eq!(clock.now_ms(), 5);
        clock.advance(Duration::from_millis(10)).await;
        assert_eq!(clock.now_ms(), 15);
    }
}
