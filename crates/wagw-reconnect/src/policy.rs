//! The reconnect settings (`web.reconnect.*`, `web.heartbeatSeconds`) and the backoff formula.
//!
//! [`ReconnectPolicy`] is what a user writes: plain public fields, documented defaults.
//! [`EffectivePolicy`] is what the supervisor runs on: the same values after the clamps, built
//! only by a constructor that reports every value it had to change ([`Clamp`]). Keeping the two
//! apart means no code path can compute a backoff from an unclamped factor or jitter.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ReconnectError;
use crate::random::RandomUnit;

/// Default `web.reconnect.initialMs`: the first retry waits about 2 s.
pub const DEFAULT_INITIAL_MS: u64 = 2_000;
/// Default `web.reconnect.maxMs`: no retry waits longer than 30 s.
pub const DEFAULT_MAX_MS: u64 = 30_000;
/// Default `web.reconnect.factor`: each retry waits 1.8× the previous base.
pub const DEFAULT_FACTOR: f64 = 1.8;
/// Default `web.reconnect.jitter`: up to +25 % on top of the base, so accounts spread out.
pub const DEFAULT_JITTER: f64 = 0.25;
/// Default `web.reconnect.maxAttempts`: give up (Degraded) after 12 failures in a row.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 12;
/// Default `web.heartbeatSeconds`: a connection that stayed up this long resets the counter.
pub const DEFAULT_HEARTBEAT_SECONDS: u64 = 60;
/// Default `web.reconnect.idleProbeAfterMs`: probe a link silent for 30 minutes.
pub const DEFAULT_IDLE_PROBE_AFTER_MS: u64 = 30 * 60 * 1_000;
/// Default `web.reconnect.probeTimeoutMs`: a probe unanswered after 30 s means a dead link.
pub const DEFAULT_PROBE_TIMEOUT_MS: u64 = 30_000;
/// Default `web.reconnect.connectTimeoutMs`: a connect attempt that neither opens nor closes
/// within 60 s is abandoned and counted as a failure.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 60_000;
/// Default `web.reconnect.banDefaultWaitMs`: how long to wait out a temporary ban whose
/// expiry WhatsApp did not say (1 hour).
pub const DEFAULT_BAN_WAIT_MS: u64 = 60 * 60 * 1_000;

/// Lower bound of `initialMs` (the reference's clamp).
pub const MIN_INITIAL_MS: u64 = 250;
/// Bounds of `factor` (the reference's clamp).
pub const FACTOR_RANGE: (f64, f64) = (1.1, 10.0);
/// Bounds of `jitter` (the reference's clamp).
pub const JITTER_RANGE: (f64, f64) = (0.0, 1.0);
/// Lower bound of a non-zero `idleProbeAfterMs`: probing more often than once a minute
/// would itself look like the idle-watchdog storms of the reference (§22).
pub const MIN_IDLE_PROBE_AFTER_MS: u64 = 60_000;
/// Lower bound of `probeTimeoutMs`.
pub const MIN_PROBE_TIMEOUT_MS: u64 = 1_000;
/// Lower bound of `connectTimeoutMs`: a real handshake plus version fetch takes seconds.
pub const MIN_CONNECT_TIMEOUT_MS: u64 = 5_000;
/// Lower bound of `banDefaultWaitMs`: reconnecting into a ban can lengthen it.
pub const MIN_BAN_WAIT_MS: u64 = 60_000;

/// The reconnect settings as a user writes them.
///
/// Field names serialize in camelCase so a `web.reconnect` block deserializes directly
/// (missing fields take the defaults). `heartbeat_seconds` is `web.heartbeatSeconds` in the
/// config file; the `idleProbeAfterMs`, `probeTimeoutMs`, `connectTimeoutMs` and
/// `banDefaultWaitMs` keys are wagw additions to `web.reconnect`.
///
/// Turn it into an [`EffectivePolicy`] before use:
///
/// ```
/// use wagw_reconnect::{EffectivePolicy, ReconnectPolicy};
/// let settings = ReconnectPolicy { initial_ms: 100, ..ReconnectPolicy::default() };
/// let (policy, clamps) = EffectivePolicy::new(settings);
/// assert_eq!(policy.settings().initial_ms, 250);
/// assert_eq!(clamps[0].key, "web.reconnect.initialMs");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReconnectPolicy {
    /// Base delay of the first retry, ms (`web.reconnect.initialMs`, default 2000, ≥ 250).
    pub initial_ms: u64,
    /// Cap on any delay, ms (`web.reconnect.maxMs`, default 30000, ≥ `initialMs`).
    pub max_ms: u64,
    /// Growth per attempt (`web.reconnect.factor`, default 1.8, within 1.1..=10).
    pub factor: f64,
    /// Random extra as a fraction of the base (`web.reconnect.jitter`, default 0.25, 0..=1).
    pub jitter: f64,
    /// Failures in a row before giving up (`web.reconnect.maxAttempts`, default 12;
    /// 0 = never give up).
    pub max_attempts: u32,
    /// Seconds a connection must stay up to reset the failure counter
    /// (`web.heartbeatSeconds`, default 60, ≥ 1).
    pub heartbeat_seconds: u64,
    /// Silence on a connection, ms, after which the link is probed
    /// (`web.reconnect.idleProbeAfterMs`, default 30 min; 0 = never probe; else ≥ 60000).
    pub idle_probe_after_ms: u64,
    /// How long a probe may take before the link counts as dead, ms
    /// (`web.reconnect.probeTimeoutMs`, default 30000, ≥ 1000).
    pub probe_timeout_ms: u64,
    /// How long a connect attempt may take, ms (`web.reconnect.connectTimeoutMs`,
    /// default 60000, ≥ 5000).
    pub connect_timeout_ms: u64,
    /// Wait for a temporary ban without a known expiry, ms
    /// (`web.reconnect.banDefaultWaitMs`, default 1 hour, ≥ 60000).
    pub ban_default_wait_ms: u64,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial_ms: DEFAULT_INITIAL_MS,
            max_ms: DEFAULT_MAX_MS,
            factor: DEFAULT_FACTOR,
            jitter: DEFAULT_JITTER,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            heartbeat_seconds: DEFAULT_HEARTBEAT_SECONDS,
            idle_probe_after_ms: DEFAULT_IDLE_PROBE_AFTER_MS,
            probe_timeout_ms: DEFAULT_PROBE_TIMEOUT_MS,
            connect_timeout_ms: DEFAULT_CONNECT_TIMEOUT_MS,
            ban_default_wait_ms: DEFAULT_BAN_WAIT_MS,
        }
    }
}

/// One setting the clamps changed: which key, what was given, what is used, and the rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Clamp {
    /// The config key, e.g. `web.reconnect.factor`.
    pub key: &'static str,
    /// The value given (NaN when the given value was not a number).
    pub given: f64,
    /// The value now in effect.
    pub used: f64,
    /// The rule the given value broke, e.g. `within 1.1..=10`.
    pub rule: &'static str,
}

impl fmt::Display for Clamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} = {} must be {}; using {}",
            self.key, self.given, self.rule, self.used
        )
    }
}

/// A [`ReconnectPolicy`] whose values passed the clamps; the only policy the supervisor takes.
///
/// ```
/// use wagw_reconnect::EffectivePolicy;
/// let policy = EffectivePolicy::default();
/// // With no jitter drawn, attempts 1..=6 wait 2000, 3600, 6480, 11664, 20995, 30000 ms.
/// let delays: Vec<u64> = (1..=6).map(|n| policy.delay_ms(n, 0.0)).collect();
/// assert_eq!(delays, [2000, 3600, 6480, 11664, 20995, 30000]);
/// ```
// Derived Default is the unclamped defaults, which pass every clamp (tested).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EffectivePolicy {
    settings: ReconnectPolicy,
}

/// The largest value `RandomUnit` draws are clamped to: just below 1.
const UNIT_MAX: f64 = 1.0 - f64::EPSILON;

impl EffectivePolicy {
    /// Applies the clamps and reports each value it changed, so the caller can log them
    /// (a typo like `factor: 18` should be visible, not silently tamed).
    pub fn new(settings: ReconnectPolicy) -> (EffectivePolicy, Vec<Clamp>) {
        let mut s = settings;
        let mut clamps = Vec::new();
        let mut note = |key, given: f64, used: f64, rule| {
            clamps.push(Clamp {
                key,
                given,
                used,
                rule,
            })
        };

        if s.initial_ms < MIN_INITIAL_MS {
            note(
                "web.reconnect.initialMs",
                s.initial_ms as f64,
                MIN_INITIAL_MS as f64,
                "at least 250",
            );
            s.initial_ms = MIN_INITIAL_MS;
        }
        if s.max_ms < s.initial_ms {
            note(
                "web.reconnect.maxMs",
                s.max_ms as f64,
                s.initial_ms as f64,
                "at least initialMs",
            );
            s.max_ms = s.initial_ms;
        }
        let factor = clamp_f64(s.factor, FACTOR_RANGE, DEFAULT_FACTOR);
        if factor != s.factor {
            note("web.reconnect.factor", s.factor, factor, "within 1.1..=10");
            s.factor = factor;
        }
        let jitter = clamp_f64(s.jitter, JITTER_RANGE, DEFAULT_JITTER);
        if jitter != s.jitter {
            note("web.reconnect.jitter", s.jitter, jitter, "within 0..=1");
            s.jitter = jitter;
        }
        if s.heartbeat_seconds == 0 {
            note("web.heartbeatSeconds", 0.0, 1.0, "at least 1");
            s.heartbeat_seconds = 1;
        }
        if s.idle_probe_after_ms != 0 && s.idle_probe_after_ms < MIN_IDLE_PROBE_AFTER_MS {
            note(
                "web.reconnect.idleProbeAfterMs",
                s.idle_probe_after_ms as f64,
                MIN_IDLE_PROBE_AFTER_MS as f64,
                "0 (never probe) or at least 60000",
            );
            s.idle_probe_after_ms = MIN_IDLE_PROBE_AFTER_MS;
        }
        if s.probe_timeout_ms < MIN_PROBE_TIMEOUT_MS {
            note(
                "web.reconnect.probeTimeoutMs",
                s.probe_timeout_ms as f64,
                MIN_PROBE_TIMEOUT_MS as f64,
                "at least 1000",
            );
            s.probe_timeout_ms = MIN_PROBE_TIMEOUT_MS;
        }
        if s.connect_timeout_ms < MIN_CONNECT_TIMEOUT_MS {
            note(
                "web.reconnect.connectTimeoutMs",
                s.connect_timeout_ms as f64,
                MIN_CONNECT_TIMEOUT_MS as f64,
                "at least 5000",
            );
            s.connect_timeout_ms = MIN_CONNECT_TIMEOUT_MS;
        }
        if s.ban_default_wait_ms < MIN_BAN_WAIT_MS {
            note(
                "web.reconnect.banDefaultWaitMs",
                s.ban_default_wait_ms as f64,
                MIN_BAN_WAIT_MS as f64,
                "at least 60000",
            );
            s.ban_default_wait_ms = MIN_BAN_WAIT_MS;
        }
        (EffectivePolicy { settings: s }, clamps)
    }

    /// Like [`new`](EffectivePolicy::new), but refuses settings that would need clamping —
    /// for a config check that should fail rather than adjust.
    pub fn strict(settings: ReconnectPolicy) -> Result<EffectivePolicy, ReconnectError> {
        let (policy, clamps) = EffectivePolicy::new(settings);
        if clamps.is_empty() {
            Ok(policy)
        } else {
            Err(ReconnectError::OutOfRange { clamps })
        }
    }

    /// The settings in effect (after the clamps).
    pub fn settings(&self) -> &ReconnectPolicy {
        &self.settings
    }

    /// `initialMs · factor^(attempt−1)`, unrounded and uncapped. Attempt 0 counts as 1.
    pub fn base_delay_ms(&self, attempt: u32) -> f64 {
        // Past ~2000 steps every factor ≥ 1.1 has long overflowed maxMs; bounding the
        // exponent keeps powi's argument in range.
        let exponent = attempt.saturating_sub(1).min(4_096) as i32;
        self.settings.initial_ms as f64 * self.settings.factor.powi(exponent)
    }

    /// The delay before retry `attempt` (1-based) given a random draw `unit` in `[0, 1)`:
    /// `min(maxMs, round(base + base·jitter·unit))`. Out-of-range draws are clamped into
    /// `[0, 1)` (NaN counts as 0).
    pub fn delay_ms(&self, attempt: u32, unit: f64) -> u64 {
        let max = self.settings.max_ms as f64;
        let base = self.base_delay_ms(attempt);
        if base >= max {
            // Also avoids inf·0 = NaN when the base overflowed and jitter is 0.
            return self.settings.max_ms;
        }
        let unit = if unit.is_nan() {
            0.0
        } else {
            unit.clamp(0.0, UNIT_MAX)
        };
        let delay = (base + base * self.settings.jitter * unit).min(max);
        delay.round() as u64
    }

    /// The delay before retry `attempt`, drawing the jitter from `rng`.
    pub fn next_delay_ms<R: RandomUnit + ?Sized>(&self, attempt: u32, rng: &mut R) -> u64 {
        self.delay_ms(attempt, rng.next_unit())
    }

    /// True when `failures` consecutive failures exhaust `maxAttempts` (never when it is 0).
    pub fn attempts_exhausted(&self, failures: u32) -> bool {
        self.settings.max_attempts > 0 && failures >= self.settings.max_attempts
    }

    /// `heartbeatSeconds` in ms: the uptime after which the failure counter resets.
    pub fn heartbeat_ms(&self) -> i64 {
        ms_to_i64(self.settings.heartbeat_seconds.saturating_mul(1_000))
    }

    /// The silence after which a connection is probed, ms; `None` when probing is off.
    pub fn idle_probe_after_ms(&self) -> Option<i64> {
        match self.settings.idle_probe_after_ms {
            0 => None,
            ms => Some(ms_to_i64(ms)),
        }
    }

    /// How long a probe may take, ms.
    pub fn probe_timeout_ms(&self) -> i64 {
        ms_to_i64(self.settings.probe_timeout_ms)
    }

    /// How long a connect attempt may take, ms.
    pub fn connect_timeout_ms(&self) -> i64 {
        ms_to_i64(self.settings.connect_timeout_ms)
    }

    /// How long to wait out a temporary ban of unknown length, ms.
    pub fn ban_default_wait_ms(&self) -> i64 {
        ms_to_i64(self.settings.ban_default_wait_ms)
    }

    /// `maxAttempts` as shown to people: the number, or `∞` when unlimited.
    pub fn max_attempts_label(&self) -> String {
        match self.settings.max_attempts {
            0 => "∞".to_string(),
            n => n.to_string(),
        }
    }
}

/// Milliseconds as a signed timestamp offset, saturating (settings are u64, clocks i64).
pub(crate) fn ms_to_i64(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// Clamps into `range`; a NaN takes `default` (JS's clamp would propagate it and break the
/// formula for good).
fn clamp_f64(value: f64, range: (f64, f64), default: f64) -> f64 {
    if value.is_nan() {
        default
    } else {
        value.clamp(range.0, range.1)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::random::{PinnedRandom, SequenceRandom};

    fn policy(f: impl FnOnce(&mut ReconnectPolicy)) -> (EffectivePolicy, Vec<Clamp>) {
        let mut s = ReconnectPolicy::default();
        f(&mut s);
        EffectivePolicy::new(s)
    }

    #[test]
    fn defaults_match_the_reference_and_need_no_clamp() {
        let (p, clamps) = EffectivePolicy::new(ReconnectPolicy::default());
        assert!(clamps.is_empty(), "{clamps:?}");
        let s = p.settings();
        assert_eq!(
            (s.initial_ms, s.max_ms, s.factor, s.jitter, s.max_attempts),
            (2000, 30000, 1.8, 0.25, 12)
        );
        assert_eq!(s.heartbeat_seconds, 60);
        assert_eq!(p.heartbeat_ms(), 60_000);
        assert_eq!(p.idle_probe_after_ms(), Some(1_800_000));
        assert_eq!(p, EffectivePolicy::default());
    }

    #[test]
    fn reference_table_without_jitter() {
        let p = EffectivePolicy::default();
        let got: Vec<u64> = (1..=8).map(|n| p.delay_ms(n, 0.0)).collect();
        assert_eq!(got, [2000, 3600, 6480, 11664, 20995, 30000, 30000, 30000]);
        // Attempt 0 is treated as the first attempt, like the reference's max(attempt-1, 0).
        assert_eq!(p.delay_ms(0, 0.0), 2000);
    }

    #[test]
    fn pinned_jitter_adds_a_fraction_of_the_base() {
        let p = EffectivePolicy::default();
        // 2000 + 2000·0.25·0.5 = 2250
        assert_eq!(p.next_delay_ms(1, &mut PinnedRandom(0.5)), 2250);
        // 3600 + 3600·0.25·0.9 = 4410
        assert_eq!(p.next_delay_ms(2, &mut PinnedRandom(0.9)), 4410);
        // 20995.2 + 20995.2·0.25·0.99 = 26191.51 → 26192
        assert_eq!(p.next_delay_ms(5, &mut PinnedRandom(0.99)), 26192);
        // Attempt 6's base (37791.36) already exceeds the 30000 cap, so jitter adds nothing.
        assert_eq!(p.next_delay_ms(6, &mut PinnedRandom(0.99)), 30000);
        let mut seq = SequenceRandom::new(vec![0.0, 1.0 - 1e-9]);
        assert_eq!(p.next_delay_ms(1, &mut seq), 2000);
        assert_eq!(p.next_delay_ms(1, &mut seq), 2500);
    }

    #[test]
    fn jitter_never_exceeds_the_cap() {
        let (p, _) = policy(|s| {
            s.initial_ms = 20_000;
            s.jitter = 1.0;
        });
        // base 20000, +100 % jitter would be ~40000, capped at 30000.
        assert_eq!(p.delay_ms(1, 0.9), 30_000);
        assert_eq!(p.delay_ms(1, 0.4), 28_000);
    }

    #[test]
    fn out_of_range_draws_are_clamped() {
        let p = EffectivePolicy::default();
        assert_eq!(p.delay_ms(1, -3.0), 2000);
        assert_eq!(p.delay_ms(1, f64::NAN), 2000);
        assert_eq!(p.delay_ms(1, 7.0), 2500);
        assert_eq!(p.delay_ms(1, f64::INFINITY), 2500);
    }

    #[test]
    fn huge_attempts_saturate_at_the_cap() {
        let (p, _) = policy(|s| {
            s.factor = 10.0;
            s.jitter = 0.0;
            s.max_ms = u64::MAX;
        });
        assert_eq!(p.delay_ms(u32::MAX, 0.5), u64::MAX);
        assert_eq!(EffectivePolicy::default().delay_ms(u32::MAX, 0.5), 30_000);
    }

    #[test]
    fn clamps_are_applied_and_reported() {
        let (p, clamps) = policy(|s| {
            s.initial_ms = 10;
            s.max_ms = 100;
            s.factor = 50.0;
            s.jitter = -1.0;
            s.heartbeat_seconds = 0;
            s.idle_probe_after_ms = 5;
            s.probe_timeout_ms = 1;
            s.connect_timeout_ms = 2;
            s.ban_default_wait_ms = 3;
        });
        let s = p.settings();
        assert_eq!(s.initial_ms, 250);
        assert_eq!(s.max_ms, 250);
        assert_eq!(s.factor, 10.0);
        assert_eq!(s.jitter, 0.0);
        assert_eq!(s.heartbeat_seconds, 1);
        assert_eq!(s.idle_probe_after_ms, 60_000);
        assert_eq!(s.probe_timeout_ms, 1_000);
        assert_eq!(s.connect_timeout_ms, 5_000);
        assert_eq!(s.ban_default_wait_ms, 60_000);
        let keys: Vec<&str> = clamps.iter().map(|c| c.key).collect();
        assert_eq!(
            keys,
            [
                "web.reconnect.initialMs",
                "web.reconnect.maxMs",
                "web.reconnect.factor",
                "web.reconnect.jitter",
                "web.heartbeatSeconds",
                "web.reconnect.idleProbeAfterMs",
                "web.reconnect.probeTimeoutMs",
                "web.reconnect.connectTimeoutMs",
                "web.reconnect.banDefaultWaitMs",
            ]
        );
        assert_eq!(
            clamps[2].to_string(),
            "web.reconnect.factor = 50 must be within 1.1..=10; using 10"
        );
        // Every delay is now the clamped initial value.
        assert_eq!(p.delay_ms(1, 0.7), 250);
        assert_eq!(p.delay_ms(9, 0.7), 250);
    }

    #[test]
    fn low_factor_and_high_jitter_clamp_to_their_bounds() {
        let (p, clamps) = policy(|s| {
            s.factor = 1.0;
            s.jitter = 3.0;
        });
        assert_eq!(p.settings().factor, 1.1);
        assert_eq!(p.settings().jitter, 1.0);
        assert_eq!(clamps.len(), 2);
        // 2000·1.1 = 2200, +100 % jitter at 0.5 = 3300.
        assert_eq!(p.delay_ms(2, 0.5), 3300);
    }

    #[test]
    fn nan_settings_fall_back_to_defaults() {
        let (p, clamps) = policy(|s| {
            s.factor = f64::NAN;
            s.jitter = f64::NAN;
        });
        assert_eq!(p.settings().factor, DEFAULT_FACTOR);
        assert_eq!(p.settings().jitter, DEFAULT_JITTER);
        assert_eq!(clamps.len(), 2);
        assert!(clamps[0].given.is_nan());
    }

    #[test]
    fn idle_probe_zero_disables_probing() {
        let (p, clamps) = policy(|s| s.idle_probe_after_ms = 0);
        assert!(clamps.is_empty());
        assert_eq!(p.idle_probe_after_ms(), None);
    }

    #[test]
    fn strict_refuses_what_new_would_clamp() {
        assert!(EffectivePolicy::strict(ReconnectPolicy::default()).is_ok());
        let err = EffectivePolicy::strict(ReconnectPolicy {
            jitter: 2.0,
            ..ReconnectPolicy::default()
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("web.reconnect.jitter = 2"),
            "{err}"
        );
    }

    #[test]
    fn max_attempts_zero_is_unlimited() {
        let (p, _) = policy(|s| s.max_attempts = 0);
        assert!(!p.attempts_exhausted(u32::MAX));
        assert_eq!(p.max_attempts_label(), "∞");
        let d = EffectivePolicy::default();
        assert!(!d.attempts_exhausted(11));
        assert!(d.attempts_exhausted(12));
        assert_eq!(d.max_attempts_label(), "12");
    }

    #[test]
    fn partial_json_takes_defaults() {
        let s: ReconnectPolicy =
            serde_json::from_str(r#"{"initialMs": 500, "maxAttempts": 0}"#).unwrap();
        assert_eq!(s.initial_ms, 500);
        assert_eq!(s.max_attempts, 0);
        assert_eq!(s.max_ms, DEFAULT_MAX_MS);
        assert_eq!(s.heartbeat_seconds, DEFAULT_HEARTBEAT_SECONDS);
    }
}
