//! Wall-clock time for the runtime, injectable so tests and the simulator can pin it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Tells the current time in Unix milliseconds.
pub trait Clock: Send + Sync + 'static {
    /// Now, Unix milliseconds.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// Wall-clock time that advances with tokio's clock: the wall time at creation plus the
/// tokio time elapsed since. Timers (tokio) and timestamps (this clock) then agree, also
/// under tokio's paused test time. The gateway's default; create it inside the runtime.
#[derive(Debug, Clone, Copy)]
pub struct RuntimeClock {
    base_ms: i64,
    start: tokio::time::Instant,
}

impl RuntimeClock {
    /// Anchors the clock at the current wall time.
    pub fn new() -> RuntimeClock {
        RuntimeClock {
            base_ms: SystemClock.now_ms(),
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for RuntimeClock {
    fn default() -> Self {
        RuntimeClock::new()
    }
}

impl Clock for RuntimeClock {
    fn now_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.start.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.base_ms.saturating_add(elapsed)
    }
}

/// A clock from a closure, e.g. the simulator's: `clock_fn(move || sim_clock.now_ms())`.
pub fn clock_fn(f: impl Fn() -> i64 + Send + Sync + 'static) -> std::sync::Arc<dyn Clock> {
    struct FnClock<F>(F);
    impl<F: Fn() -> i64 + Send + Sync + 'static> Clock for FnClock<F> {
        fn now_ms(&self) -> i64 {
            (self.0)()
        }
    }
    std::sync::Arc::new(FnClock(f))
}
