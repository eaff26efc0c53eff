//! The account supervisor: one pure function from (state, input, now, randomness) to
//! (next state, actions), in the style of rustls' state machines — every path is an arm of
//! the one `match` in `decide`.
//!
//! Two rules hold for every step, applied in [`step`] rather than repeated in each arm:
//! a step that changes state starts its actions with [`Action::Record`], and a step that
//! leaves a state with a pending timer for one without emits [`Action::CancelTimer`] — that
//! is how a stop request cancels a pending backoff at once.

use crate::classify::{Disposition, StopReason, classify};
use crate::notice::Notice;
use crate::policy::{EffectivePolicy, ms_to_i64};
use crate::random::RandomUnit;
use crate::state::{Action, Cause, Input, State, Transition};

/// Advances the supervisor by one input.
///
/// `now_ms` is the caller's clock (Unix ms); `rng` draws the backoff jitter. Inputs that mean
/// nothing in a state (a stale timer, the close of a connection already given up) leave it
/// unchanged with no actions. This function never panics.
///
/// ```
/// use wagw_core::CloseReason;
/// use wagw_reconnect::{step, Action, EffectivePolicy, Input, PinnedRandom, State};
/// let policy = EffectivePolicy::default();
/// let mut rng = PinnedRandom(0.0);
/// let (s, _) = step(&policy, State::Idle, Input::Start { linked: true }, 0, &mut rng);
/// let (s, _) = step(&policy, s, Input::Connected, 1_000, &mut rng);
/// let drop = Input::Closed { reason: CloseReason::Network { detail: "reset".into() } };
/// let (s, actions) = step(&policy, s, drop, 5_000, &mut rng);
/// assert_eq!(s, State::Backoff { attempt: 1, until_ms: 7_000 });
/// assert_eq!(actions.last(), Some(&Action::ScheduleTimer { at_ms: 7_000 }));
/// ```
pub fn step<R: RandomUnit + ?Sized>(
    policy: &EffectivePolicy,
    state: State,
    input: Input,
    now_ms: i64,
    rng: &mut R,
) -> (State, Vec<Action>) {
    let from = state.clone();
    match decide(policy, state, input, now_ms, rng) {
        Next::Stay(state) => (state, Vec::new()),
        Next::Move { to, cause, actions } => {
            let cancel_timer = from.deadline_ms().is_some() && to.deadline_ms().is_none();
            let mut out = Vec::with_capacity(actions.len() + 2);
            out.push(Action::Record(Transition {
                at_ms: now_ms,
                from,
                to: to.clone(),
                cause,
            }));
            if cancel_timer {
                out.push(Action::CancelTimer);
            }
            out.extend(actions);
            (to, out)
        }
    }
}

/// The outcome of one input, before the common rules of [`step`] are applied.
enum Next {
    /// No transition (the state may carry updated bookkeeping, e.g. last activity).
    Stay(State),
    /// A transition with its cause and the arm's own actions.
    Move {
        to: State,
        cause: Cause,
        actions: Vec<Action>,
    },
}

/// Every path of the supervisor.
fn decide<R: RandomUnit + ?Sized>(
    p: &EffectivePolicy,
    state: State,
    input: Input,
    now: i64,
    rng: &mut R,
) -> Next {
    use Input as I;
    use State as S;
    match (state, input) {
        // ── Operator requests win in every state; a stopped account stays as it is. ──
        (s @ S::Stopped { .. }, I::StopRequested | I::DisconnectRequested) => Next::Stay(s),
        (s, I::StopRequested) => stop(&s, StopReason::StopRequested, Cause::StopRequested),
        (s, I::DisconnectRequested) => stop(
            &s,
            StopReason::DisconnectRequested,
            Cause::DisconnectRequested,
        ),
        (S::Linking, I::LinkRequested) => Next::Stay(S::Linking),
        (s, I::LinkRequested) => {
            let mut actions = disconnect_if_open(&s);
            actions.push(Action::StartLinking);
            Next::Move {
                to: S::Linking,
                cause: Cause::LinkRequested,
                actions,
            }
        }

        // ── Start: only from a resting state; a running supervisor is already started. ──
        (
            S::Idle | S::Unlinked | S::Stopped { .. } | S::Degraded { .. },
            I::Start { linked: true },
        ) => connect(p, now, 0, Cause::Started),
        (S::Idle | S::Stopped { .. } | S::Degraded { .. }, I::Start { linked: false }) => {
            Next::Move {
                to: S::Unlinked,
                cause: Cause::Started,
                actions: vec![Action::Notify(Notice::NotLinked)],
            }
        }
        (s, I::Start { .. }) => Next::Stay(s),

        // ── Linking: paired means linked; the same connection goes on to open. ──
        (S::Linking, I::Paired) => {
            let deadline_ms = now.saturating_add(p.connect_timeout_ms());
            Next::Move {
                to: S::Connecting {
                    attempt: 0,
                    deadline_ms,
                },
                cause: Cause::Paired,
                actions: vec![Action::ScheduleTimer { at_ms: deadline_ms }],
            }
        }
        (S::Linking, I::Connected) => connected(now, 0),
        (S::Linking, I::Closed { reason }) => linking_closed(p, reason, now),

        // ── Connecting. ──
        (S::Connecting { attempt, .. }, I::Connected) => connected(now, attempt),
        (S::Connecting { attempt, .. }, I::Closed { reason }) => {
            closed(p, attempt, reason, now, rng)
        }
        (
            S::Connecting {
                attempt,
                deadline_ms,
            },
            I::TimerFired | I::HeartbeatTick,
        ) if now >= deadline_ms => failed(
            p,
            attempt,
            now,
            rng,
            Cause::ConnectTimedOut,
            vec![Action::Disconnect],
            Retry::AfterBackoff,
        ),

        // ── Connected: traffic keeps it fresh; silence gets a probe, not a reconnect. ──
        (
            S::Connected {
                since_ms, attempt, ..
            },
            I::InboundSeen,
        ) => Next::Stay(S::Connected {
            since_ms,
            last_activity_ms: now,
            attempt,
        }),
        (
            S::Connected {
                since_ms,
                last_activity_ms,
                attempt,
            },
            I::HeartbeatTick,
        ) if idle_for_probe(p, last_activity_ms, now) => {
            let deadline_ms = now.saturating_add(p.probe_timeout_ms());
            Next::Move {
                to: S::Probing {
                    since_ms,
                    attempt: streak(p, since_ms, attempt, now),
                    idle_since_ms: last_activity_ms,
                    deadline_ms,
                },
                cause: Cause::IdleProbe {
                    idle_ms: now.saturating_sub(last_activity_ms),
                },
                actions: vec![Action::ScheduleTimer { at_ms: deadline_ms }, Action::Probe],
            }
        }
        (
            S::Connected {
                since_ms,
                last_activity_ms,
                attempt,
            },
            I::HeartbeatTick,
        ) => Next::Stay(S::Connected {
            since_ms,
            last_activity_ms,
            attempt: streak(p, since_ms, attempt, now),
        }),
        (
            S::Connected {
                since_ms, attempt, ..
            },
            I::Closed { reason },
        ) => closed(p, streak(p, since_ms, attempt, now), reason, now, rng),

        // ── Probing: any sign of life returns to Connected; only a failed or unanswered
        //    probe (or a real close) ends the connection. ──
        (
            S::Probing {
                since_ms, attempt, ..
            },
            I::InboundSeen,
        ) => alive(since_ms, attempt, now, Cause::InboundSeen),
        (
            S::Probing {
                since_ms, attempt, ..
            },
            I::ProbeResult { alive: true },
        ) => alive(since_ms, attempt, now, Cause::ProbeAnswered),
        (
            S::Probing {
                since_ms, attempt, ..
            },
            I::ProbeResult { alive: false },
        ) => failed(
            p,
            streak(p, since_ms, attempt, now),
            now,
            rng,
            Cause::ProbeFailed,
            vec![Action::Disconnect],
            Retry::AfterBackoff,
        ),
        (
            S::Probing {
                since_ms,
                attempt,
                deadline_ms,
                ..
            },
            I::TimerFired | I::HeartbeatTick,
        ) if now >= deadline_ms => failed(
            p,
            streak(p, since_ms, attempt, now),
            now,
            rng,
            Cause::ProbeTimedOut,
            vec![Action::Disconnect],
            Retry::AfterBackoff,
        ),
        (
            S::Probing {
                since_ms, attempt, ..
            },
            I::Closed { reason },
        ) => closed(p, streak(p, since_ms, attempt, now), reason, now, rng),

        // ── Waiting: the heartbeat doubles as a backstop should a timer be lost. ──
        (S::Backoff { attempt, until_ms }, I::TimerFired | I::HeartbeatTick) if now >= until_ms => {
            connect(p, now, attempt, Cause::BackoffElapsed)
        }
        (
            S::Banned {
                attempt, until_ms, ..
            },
            I::TimerFired | I::HeartbeatTick,
        ) if now >= until_ms => connect(p, now, attempt, Cause::BanLifted),

        // ── Everything else is stale or meaningless here: a replaced timer firing early, the
        //    close of a connection already given up, a probe answer after a reconnect,
        //    traffic while disconnected, any input to a stopped or degraded account. ──
        (s, _) => Next::Stay(s),
    }
}

/// How a failure continues when attempts remain.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Wait the backoff delay for this attempt.
    AfterBackoff,
    /// Reconnect at once (restart required, first failure in a row).
    Now,
}

/// Stops on request, closing the connection if one is open.
fn stop(from: &State, reason: StopReason, cause: Cause) -> Next {
    Next::Move {
        to: State::Stopped { reason },
        cause,
        actions: disconnect_if_open(from),
    }
}

fn disconnect_if_open(from: &State) -> Vec<Action> {
    if from.has_connection() {
        vec![Action::Disconnect]
    } else {
        Vec::new()
    }
}

/// Starts a connect attempt with its timeout.
fn connect(p: &EffectivePolicy, now: i64, attempt: u32, cause: Cause) -> Next {
    let deadline_ms = now.saturating_add(p.connect_timeout_ms());
    Next::Move {
        to: State::Connecting {
            attempt,
            deadline_ms,
        },
        cause,
        actions: vec![
            Action::Connect,
            Action::ScheduleTimer { at_ms: deadline_ms },
        ],
    }
}

fn connected(now: i64, attempt: u32) -> Next {
    Next::Move {
        to: State::Connected {
            since_ms: now,
            last_activity_ms: now,
            attempt,
        },
        cause: Cause::Connected,
        actions: Vec::new(),
    }
}

/// Back to Connected after proof of life; silence is measured from now.
fn alive(since_ms: i64, attempt: u32, now: i64, cause: Cause) -> Next {
    Next::Move {
        to: State::Connected {
            since_ms,
            last_activity_ms: now,
            attempt,
        },
        cause,
        actions: Vec::new(),
    }
}

/// True when the link has been silent long enough to probe (never when probing is off).
fn idle_for_probe(p: &EffectivePolicy, last_activity_ms: i64, now: i64) -> bool {
    p.idle_probe_after_ms()
        .is_some_and(|after| now.saturating_sub(last_activity_ms) >= after)
}

/// The failures in a row to carry on: none once the connection stayed up `heartbeatSeconds`.
fn streak(p: &EffectivePolicy, since_ms: i64, attempt: u32, now: i64) -> u32 {
    if now.saturating_sub(since_ms) >= p.heartbeat_ms() {
        0
    } else {
        attempt
    }
}

/// A connection (being opened, or open) closed after `streak` failures in a row.
fn closed<R: RandomUnit + ?Sized>(
    p: &EffectivePolicy,
    streak: u32,
    reason: wagw_core::CloseReason,
    now: i64,
    rng: &mut R,
) -> Next {
    match classify(&reason, now, p) {
        Disposition::Stop { reason: stop } => stopped_by_close(stop, reason),
        Disposition::WaitForBan {
            code,
            until_ms,
            expiry_known,
        } => Next::Move {
            to: State::Banned {
                code,
                until_ms,
                attempt: streak,
            },
            cause: Cause::Closed { reason },
            actions: vec![
                Action::ScheduleTimer { at_ms: until_ms },
                Action::Notify(Notice::TemporaryBan {
                    code,
                    until_ms,
                    expiry_known,
                }),
            ],
        },
        Disposition::RestartRequired if streak == 0 => failed(
            p,
            streak,
            now,
            rng,
            Cause::Closed { reason },
            Vec::new(),
            Retry::Now,
        ),
        Disposition::RestartRequired | Disposition::Retry => failed(
            p,
            streak,
            now,
            rng,
            Cause::Closed { reason },
            Vec::new(),
            Retry::AfterBackoff,
        ),
    }
}

/// A linking connection closed. Before pairing there is nothing to reconnect to: an
/// unattended retry would only print fresh QR codes nobody scans, so every close that is not
/// already a stop ends linking, and the operator runs the login command again.
fn linking_closed(p: &EffectivePolicy, reason: wagw_core::CloseReason, now: i64) -> Next {
    let stop = match classify(&reason, now, p) {
        Disposition::Stop { reason } => reason,
        Disposition::WaitForBan { .. } | Disposition::RestartRequired | Disposition::Retry => {
            StopReason::LinkingFailed {
                detail: reason.to_string(),
            }
        }
    };
    stopped_by_close(stop, reason)
}

/// Stops because of how the connection closed: discard dead credentials, tell the operator.
fn stopped_by_close(stop: StopReason, reason: wagw_core::CloseReason) -> Next {
    let mut actions = Vec::new();
    if stop.discards_credentials() {
        actions.push(Action::DiscardCredentials);
    }
    if let Some(notice) = stop.notice() {
        actions.push(Action::Notify(notice));
    }
    Next::Move {
        to: State::Stopped { reason: stop },
        cause: Cause::Closed { reason },
        actions,
    }
}

/// One more failure after `streak` in a row: degrade, reconnect now, or back off.
fn failed<R: RandomUnit + ?Sized>(
    p: &EffectivePolicy,
    streak: u32,
    now: i64,
    rng: &mut R,
    cause: Cause,
    mut actions: Vec<Action>,
    retry: Retry,
) -> Next {
    let attempt = streak.saturating_add(1);
    if p.attempts_exhausted(attempt) {
        actions.push(Action::Notify(Notice::Degraded {
            attempts: attempt,
            max_attempts: p.settings().max_attempts,
        }));
        return Next::Move {
            to: State::Degraded { attempts: attempt },
            cause,
            actions,
        };
    }
    match retry {
        Retry::Now => {
            let deadline_ms = now.saturating_add(p.connect_timeout_ms());
            actions.extend([
                Action::Connect,
                Action::ScheduleTimer { at_ms: deadline_ms },
            ]);
            Next::Move {
                to: State::Connecting {
                    attempt,
                    deadline_ms,
                },
                cause,
                actions,
            }
        }
        Retry::AfterBackoff => {
            let until_ms = now.saturating_add(ms_to_i64(p.next_delay_ms(attempt, rng)));
            actions.push(Action::ScheduleTimer { at_ms: until_ms });
            Next::Move {
                to: State::Backoff { attempt, until_ms },
                cause,
                actions,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use wagw_core::CloseReason;

    use super::*;
    use crate::policy::ReconnectPolicy;
    use crate::random::PinnedRandom;

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

    #[test]
    fn configured_waits_are_used() {
        let p = policy(|s| {
            s.ban_default_wait_ms = 120_000;
            s.connect_timeout_ms = 10_000;
        });
        let mut rng = PinnedRandom(0.0);
        let ban = Input::Closed {
            reason: CloseReason::TemporaryBan {
                code: 403,
                expires_at_ms: None,
            },
        };
        let connecting = State::Connecting {
            attempt: 0,
            deadline_ms: 10_000,
        };
        let (s, _) = step(&p, connecting, ban, 1_000, &mut rng);
        assert_eq!(
            s,
            State::Banned {
                code: 403,
                until_ms: 121_000,
                attempt: 0
            }
        );
        let (s, actions) = step(&p, s, Input::TimerFired, 121_000, &mut rng);
        assert_eq!(
            s,
            State::Connecting {
                attempt: 0,
                deadline_ms: 131_000
            }
        );
        assert_eq!(
            actions.last(),
            Some(&Action::ScheduleTimer { at_ms: 131_000 })
        );
    }

    #[test]
    fn attempts_reset_after_a_connection_stays_up_for_the_heartbeat() {
        let p = EffectivePolicy::default();
        let mut rng = PinnedRandom(0.0);
        let connected = |attempt| State::Connected {
            since_ms: 0,
            last_activity_ms: 0,
            attempt,
        };
        // Short-lived: the streak continues (4 → 5).
        let (s, _) = step(&p, connected(4), network(), 59_999, &mut rng);
        assert_eq!(
            s,
            State::Backoff {
                attempt: 5,
                until_ms: 59_999 + 20_995
            }
        );
        // Up for heartbeatSeconds: the streak starts over.
        let (s, _) = step(&p, connected(4), network(), 60_000, &mut rng);
        assert_eq!(
            s,
            State::Backoff {
                attempt: 1,
                until_ms: 62_000
            }
        );
        // The heartbeat tick also resets it, so status shows 0 while the link is healthy.
        let (s, actions) = step(&p, connected(4), Input::HeartbeatTick, 60_000, &mut rng);
        assert_eq!(s.attempts(), 0);
        assert!(actions.is_empty());
    }

    #[test]
    fn stale_inputs_change_nothing() {
        let p = EffectivePolicy::default();
        let mut rng = PinnedRandom(0.0);
        let backoff = State::Backoff {
            attempt: 2,
            until_ms: 10_000,
        };
        for input in [
            Input::TimerFired, // early: a replaced timer
            Input::Connected,
            network(),
            Input::InboundSeen,
            Input::ProbeResult { alive: false },
            Input::Paired,
            Input::Start { linked: true },
        ] {
            let (s, actions) = step(&p, backoff.clone(), input.clone(), 9_999, &mut rng);
            assert_eq!(s, backoff, "{input:?}");
            assert!(actions.is_empty(), "{input:?}: {actions:?}");
        }
    }
}
