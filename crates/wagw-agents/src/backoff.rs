//! When to try a webhook delivery again: exponential backoff with jitter, `Retry-After`,
//! and the injected clock and randomness that make both testable.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest `Retry-After` honoured; a receiver asking for more is retried after this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Exponential backoff with "equal jitter": attempt `n` (1-based, the attempt that just
/// failed) waits `base·(1 − jitter·r)` with `base = min(maxMs, initialMs·factor^(n−1))` and
/// `r` uniform in `[0, 1)`. Jitter spreads retries of many deliveries so a receiver coming
/// back is not hit by all of them at once; keeping half the base keeps the growth.
///
/// The defaults (2 s, ×3, 10 min cap, jitter 0.5) spread 8 attempts over about 20 minutes.
///
/// ```
/// use std::time::Duration;
/// use wagw_agents::{Backoff, PinnedRandom};
/// let b = Backoff::default();
/// assert_eq!(b.delay(1, &mut PinnedRandom(0.0)), Duration::from_secs(2));
/// assert_eq!(b.delay(3, &mut PinnedRandom(0.0)), Duration::from_secs(18));
/// assert_eq!(b.delay(3, &mut PinnedRandom(0.5)), Duration::from_millis(13_500));
/// assert_eq!(b.delay(30, &mut PinnedRandom(0.0)), Duration::from_secs(600));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay after the first failed attempt, before jitter.
    pub initial_ms: u64,
    /// Upper bound of the delay, before jitter.
    pub max_ms: u64,
    /// Growth per attempt (≥ 1).
    pub factor: f64,
    /// Fraction of the delay that is random, in `[0, 1]`.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial_ms: 2_000,
            max_ms: 600_000,
            factor: 3.0,
            jitter: 0.5,
        }
    }
}

impl Backoff {
    /// The wait after failed attempt `attempt` (1-based). Out-of-range settings and draws
    /// are clamped, never trusted.
    pub fn delay(&self, attempt: u32, rng: &mut dyn RandomUnit) -> Duration {
        let factor = if self.factor.is_finite() {
            self.factor.max(1.0)
        } else {
            1.0
        };
        let exponent = attempt.saturating_sub(1).min(64) as i32;
        let max = self.max_ms as f64;
        let base = (self.initial_ms as f64 * factor.powi(exponent)).min(max);
        let jitter = if self.jitter.is_finite() {
            self.jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let draw = rng.next_unit();
        let draw = if draw.is_finite() {
            draw.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let ms = base * (1.0 - jitter * draw);
        Duration::from_millis(ms.max(0.0).round() as u64)
    }
}

/// A source of uniform draws in `[0, 1)`.
pub trait RandomUnit: Send {
    /// The next draw.
    fn next_unit(&mut self) -> f64;
}

/// Always the same draw (tests; or a jitter-free runtime).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PinnedRandom(pub f64);

impl RandomUnit for PinnedRandom {
    fn next_unit(&mut self) -> f64 {
        self.0
    }
}

/// A small seeded generator (SplitMix64), enough to spread retries; not for cryptography.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// Seeded with `seed` (same seed, same draws).
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// Seeded from the wall clock and the process id.
    pub fn from_entropy() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        SplitMix64(nanos ^ (u64::from(std::process::id()) << 32))
    }
}

impl RandomUnit for SplitMix64 {
    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The wall clock as Unix milliseconds, injected so tests can pin it.
pub trait Clock: Send + Sync {
    /// Now, in Unix milliseconds.
    fn now_ms(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP date (IMF-fixdate, e.g.
/// `Wed, 21 Oct 2015 07:28:00 GMT`), relative to `now_ms`. Capped at [`MAX_RETRY_AFTER`];
/// a date in the past gives zero; anything unparseable gives `None` (use the backoff).
///
/// ```
/// use std::time::Duration;
/// use wagw_agents::parse_retry_after;
/// assert_eq!(parse_retry_after("120", 0), Some(Duration::from_secs(120)));
/// let now = 1_445_412_470_000; // 2015-10-21 07:27:50 UTC
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(10)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now_ms: u64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let at_ms = parse_http_date(value)?.checked_mul(1000)?;
    Some(Duration::from_millis(at_ms.saturating_sub(now_ms)).min(MAX_RETRY_AFTER))
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to Unix seconds.
fn parse_http_date(s: &str) -> Option<u64> {
    let (_weekday, rest) = s.split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u64 = day.parse().ok()?;
    let month = match *month {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = year.parse().ok()?;
    let hms: Vec<u64> = time
        .split(':')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [h, m, sec] = hms.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day) || *h > 23 || *m > 59 || *sec > 60 || year < 1970 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm), months March-based.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + (*h as i64) * 3600 + (*m as i64) * 60 + *sec as i64;
    u64::try_from(secs).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn default_schedule_spans_about_twenty_minutes() {
        let b = Backoff::default();
        let waits: Vec<u64> = (1..8)
            .map(|n| b.delay(n, &mut PinnedRandom(0.0)).as_secs())
            .collect();
        assert_eq!(waits, [2, 6, 18, 54, 162, 486, 600]);
        let total: u64 = waits.iter().sum();
        assert!((1200..1400).contains(&total), "{total}");
    }

    #[test]
    fn jitter_stays_within_half_the_base() {
        let b = Backoff::default();
        let mut rng = SplitMix64::new(7);
        for attempt in 1..10 {
            let full = b.delay(attempt, &mut PinnedRandom(0.0));
            for _ in 0..100 {
                let d = b.delay(attempt, &mut rng);
                assert!(
                    d <= full && d >= full / 2,
                    "attempt {attempt}: {d:?} vs {full:?}"
                );
            }
        }
    }

    #[test]
    fn hostile_settings_and_draws_are_clamped() {
        let b = Backoff {
            initial_ms: 100,
            max_ms: 1000,
            factor: f64::NAN,
            jitter: 7.0,
        };
        assert_eq!(
            b.delay(5, &mut PinnedRandom(0.0)),
            Duration::from_millis(100)
        );
        // Jitter clamps to 1, so a draw of 1 removes the whole delay...
        assert_eq!(b.delay(5, &mut PinnedRandom(1.0)), Duration::ZERO);
        // ...and a non-finite draw counts as 0.
        assert_eq!(
            b.delay(5, &mut PinnedRandom(f64::INFINITY)),
            Duration::from_millis(100)
        );
        assert_eq!(
            b.delay(u32::MAX, &mut PinnedRandom(-3.0)),
            Duration::from_millis(100)
        );
    }

    #[test]
    fn splitmix_draws_are_in_unit_range_and_reproducible() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        for _ in 0..1000 {
            let x = a.next_unit();
            assert!((0.0..1.0).contains(&x));
            assert_eq!(x.to_bits(), b.next_unit().to_bits());
        }
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after(" 3 ", 0), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("999999", 0), Some(MAX_RETRY_AFTER));
        // 1994-11-06T08:49:37Z = 784111777
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT"),
            Some(1_709_164_800)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 900_000_000_000),
            Some(Duration::ZERO)
        );
        for bad in [
            "",
            "-1",
            "1.5",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(bad, 0), None, "{bad:?}");
        }
    }
}
