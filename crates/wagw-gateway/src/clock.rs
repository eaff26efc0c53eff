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
