//! [`Supervisor`]: the supervisor with its state, policy and recent transitions held in one
//! value — the convenient form for a runtime driving one account. The decisions all live in
//! [`step`]; this only stores what it returns.

use crate::events::TransitionHistory;
use crate::machine::step;
use crate::policy::EffectivePolicy;
use crate::random::RandomUnit;
use crate::state::{Action, Input, State};

/// A supervisor that owns its state, policy and recent transitions — the convenient form for
/// a runtime that drives one account.
///
/// ```
/// use wagw_reconnect::{Action, EffectivePolicy, Input, Phase, SplitMix64, Supervisor};
/// let mut sup = Supervisor::new(EffectivePolicy::default());
/// let mut rng = SplitMix64::new(7);
/// let actions = sup.handle(Input::Start { linked: true }, 0, &mut rng);
/// assert!(actions.contains(&Action::Connect));
/// assert_eq!(sup.state().phase(), Phase::Connecting);
/// assert_eq!(sup.history().len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Supervisor {
    policy: EffectivePolicy,
    state: State,
    history: TransitionHistory,
}

impl Supervisor {
    /// A supervisor in [`State::Idle`], keeping the last
    /// [`TransitionHistory::DEFAULT_CAPACITY`] transitions.
    pub fn new(policy: EffectivePolicy) -> Supervisor {
        Supervisor::with_state(policy, State::Idle)
    }

    /// A supervisor resuming from `state` (e.g. restored from a snapshot).
    pub fn with_state(policy: EffectivePolicy, state: State) -> Supervisor {
        Supervisor {
            policy,
            state,
            history: TransitionHistory::default(),
        }
    }

    /// Feeds one input; returns the actions to perform in order. Transitions are also kept
    /// in [`history`](Supervisor::history).
    pub fn handle<R: RandomUnit + ?Sized>(
        &mut self,
        input: Input,
        now_ms: i64,
        rng: &mut R,
    ) -> Vec<Action> {
        let state = std::mem::take(&mut self.state);
        let (next, actions) = step(&self.policy, state, input, now_ms, rng);
        self.state = next;
        for action in &actions {
            if let Action::Record(t) = action {
                self.history.push(t.clone());
            }
        }
        actions
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The policy in effect.
    pub fn policy(&self) -> &EffectivePolicy {
        &self.policy
    }

    /// Replaces the policy (a config reload). It applies from the next input: a pending
    /// backoff keeps its deadline, the next failure uses the new delays and limits.
    pub fn set_policy(&mut self, policy: EffectivePolicy) {
        self.policy = policy;
    }

    /// The most recent transitions, oldest first.
    pub fn history(&self) -> &TransitionHistory {
        &self.history
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use wagw_core::CloseReason;

    use super::*;
    use crate::policy::ReconnectPolicy;
    use crate::random::PinnedRandom;
    use crate::state::Transition;

    fn network() -> Input {
        Input::Closed {
            reason: CloseReason::Network {
                detail: "reset".into(),
            },
        }
    }

    fn policy(f: impl FnOnce(&mut ReconnectPolicy)) -> EffectivePolicy {
        let mut s = ReconnectPolicy::default();
        f(&mut s);
        EffectivePolicy::new(s).0
    }

    /// Drives `sup` through connect failures until it stops backing off; returns the delays.
    fn fail_until_rest(sup: &mut Supervisor, mut now: i64) -> Vec<i64> {
        let mut rng = PinnedRandom(0.0);
        let mut delays = Vec::new();
        let _ = sup.handle(Input::Start { linked: true }, now, &mut rng);
        loop {
            let _ = sup.handle(network(), now, &mut rng);
            match sup.state().clone() {
                State::Backoff { until_ms, .. } => {
                    delays.push(until_ms - now);
                    now = until_ms;
                    let _ = sup.handle(Input::TimerFired, now, &mut rng);
                }
                _ => return delays,
            }
        }
    }

    #[test]
    fn a_storm_backs_off_then_degrades_after_max_attempts() {
        let mut sup = Supervisor::new(EffectivePolicy::default());
        let delays = fail_until_rest(&mut sup, 0);
        // 12 failures: 11 backoffs, the 12th degrades (the reference's attempts ≥ maxAttempts).
        assert_eq!(
            delays,
            [
                2000, 3600, 6480, 11664, 20995, 30000, 30000, 30000, 30000, 30000, 30000
            ]
        );
        assert_eq!(sup.state(), &State::Degraded { attempts: 12 });
        // Degraded is at rest: timers and closes change nothing...
        let mut rng = PinnedRandom(0.0);
        assert!(sup.handle(Input::TimerFired, 1 << 40, &mut rng).is_empty());
        assert!(sup.handle(network(), 1 << 40, &mut rng).is_empty());
        // ...until an explicit start, which begins a fresh streak.
        let actions = sup.handle(Input::Start { linked: true }, 1 << 40, &mut rng);
        assert!(actions.contains(&Action::Connect));
        assert_eq!(sup.state().attempts(), 0);
    }

    #[test]
    fn unlimited_attempts_never_degrade() {
        let mut sup = Supervisor::new(policy(|s| s.max_attempts = 0));
        let mut rng = PinnedRandom(0.5);
        let mut now = 0;
        let _ = sup.handle(Input::Start { linked: true }, now, &mut rng);
        for n in 1..=200u32 {
            let _ = sup.handle(network(), now, &mut rng);
            let State::Backoff { attempt, until_ms } = sup.state().clone() else {
                panic!("not backing off at failure {n}: {:?}", sup.state());
            };
            assert_eq!(attempt, n);
            assert!(until_ms - now <= 30_000);
            now = until_ms;
            let _ = sup.handle(Input::TimerFired, now, &mut rng);
        }
    }

    #[test]
    fn a_silent_link_is_probed_once_not_every_tick() {
        let p = EffectivePolicy::default();
        let mut rng = PinnedRandom(0.0);
        let mut sup = Supervisor::new(p);
        let _ = sup.handle(Input::Start { linked: true }, 0, &mut rng);
        let _ = sup.handle(Input::Connected, 0, &mut rng);
        let mut probes = 0;
        // Six hours of silence, a tick a minute, every probe answered.
        for minute in 1..=360i64 {
            let now = minute * 60_000;
            for a in sup.handle(Input::HeartbeatTick, now, &mut rng) {
                if a == Action::Probe {
                    probes += 1;
                    let back = sup.handle(Input::ProbeResult { alive: true }, now + 500, &mut rng);
                    assert_eq!(
                        back[0].summary(),
                        "transition probing->connected probe_answered"
                    );
                }
            }
            assert!(
                sup.state().is_connected(),
                "minute {minute}: {:?}",
                sup.state()
            );
        }
        // One probe per 30 silent minutes, never a reconnect.
        assert_eq!(probes, 11);
    }

    #[test]
    fn a_reloaded_policy_applies_to_the_next_failure() {
        let mut sup = Supervisor::new(EffectivePolicy::default());
        let mut rng = PinnedRandom(0.0);
        let _ = sup.handle(Input::Start { linked: true }, 0, &mut rng);
        sup.set_policy(policy(|s| s.initial_ms = 5_000));
        let _ = sup.handle(network(), 100, &mut rng);
        assert_eq!(
            sup.state(),
            &State::Backoff {
                attempt: 1,
                until_ms: 5_100
            }
        );
        assert_eq!(sup.policy().settings().initial_ms, 5_000);
    }

    #[test]
    fn history_keeps_recorded_transitions() {
        let mut sup = Supervisor::new(EffectivePolicy::default());
        let mut rng = PinnedRandom(0.0);
        let _ = sup.handle(Input::Start { linked: true }, 0, &mut rng);
        let _ = sup.handle(Input::Connected, 10, &mut rng);
        let _ = sup.handle(Input::InboundSeen, 20, &mut rng);
        let _ = sup.handle(Input::StopRequested, 30, &mut rng);
        let summaries: Vec<String> = sup.history().iter().map(Transition::summary).collect();
        assert_eq!(
            summaries,
            [
                "idle->connecting started",
                "connecting->connected connected",
                "connected->stopped stop_requested"
            ]
        );
        assert_eq!(sup.policy(), &EffectivePolicy::default());
    }
}
