//! Properties of the backoff and the supervisor, over generated policies, draws and input
//! sequences.

use proptest::prelude::*;
use wagw_core::CloseReason;
use wagw_reconnect::{
    Action, EffectivePolicy, Input, Phase, PinnedRandom, ReconnectPolicy, SequenceRandom, State,
    StopReason, step,
};

fn any_settings() -> impl Strategy<Value = ReconnectPolicy> {
    (
        (
            0u64..200_000,
            0u64..2_000_000,
            -5.0f64..20.0,
            -1.0f64..2.0,
            0u32..20,
        ),
        (0u64..600, 0u64..4_000_000, 0u64..100_000, 0u64..200_000),
    )
        .prop_map(
            |((initial_ms, max_ms, factor, jitter, max_attempts), (hb, idle, probe, connect))| {
                ReconnectPolicy {
                    initial_ms,
                    max_ms,
                    factor,
                    jitter,
                    max_attempts,
                    heartbeat_seconds: hb,
                    idle_probe_after_ms: idle,
                    probe_timeout_ms: probe,
                    connect_timeout_ms: connect,
                    ban_default_wait_ms: connect * 10,
                }
            },
        )
}

fn any_close_reason() -> impl Strategy<Value = CloseReason> {
    let detail = "[a-z ]{0,12}";
    prop_oneof![
        detail.prop_map(|detail| CloseReason::LoggedOut { detail }),
        detail.prop_map(|detail| CloseReason::SessionConflict { detail }),
        (400u16..500, proptest::option::of(any::<i64>())).prop_map(|(code, expires_at_ms)| {
            CloseReason::TemporaryBan {
                code,
                expires_at_ms,
            }
        }),
        Just(CloseReason::ClientOutdated),
        detail.prop_map(|detail| CloseReason::LinkingFailed { detail }),
        (prop_oneof![Just(515u16), Just(503), any::<u16>()], detail)
            .prop_map(|(code, detail)| CloseReason::StreamError { code, detail }),
        detail.prop_map(|detail| CloseReason::ConnectFailed { detail }),
        detail.prop_map(|detail| CloseReason::Network { detail }),
        Just(CloseReason::Requested),
    ]
}

fn any_input() -> impl Strategy<Value = Input> {
    prop_oneof![
        any::<bool>().prop_map(|linked| Input::Start { linked }),
        Just(Input::LinkRequested),
        Just(Input::Paired),
        Just(Input::Connected),
        any_close_reason().prop_map(|reason| Input::Closed { reason }),
        Just(Input::TimerFired),
        Just(Input::StopRequested),
        Just(Input::DisconnectRequested),
        Just(Input::InboundSeen),
        any::<bool>().prop_map(|alive| Input::ProbeResult { alive }),
        Just(Input::HeartbeatTick),
    ]
}

fn any_stop_reason() -> impl Strategy<Value = StopReason> {
    prop_oneof![
        Just(StopReason::LoggedOut),
        Just(StopReason::SessionConflict),
        Just(StopReason::ClientOutdated),
        "[a-z]{0,8}".prop_map(|detail| StopReason::LinkingFailed { detail }),
        Just(StopReason::Requested),
        Just(StopReason::StopRequested),
        Just(StopReason::DisconnectRequested),
    ]
}

/// Times: mostly a realistic forward-moving clock, sometimes arbitrary (backwards jumps,
/// extremes), which the supervisor must survive too.
fn any_time_step() -> impl Strategy<Value = i64> {
    prop_oneof![
        8 => 0i64..5_000_000,
        1 => any::<i64>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// delay ∈ [min(base, max), min(max, base·(1+jitter))], rounded to whole ms.
    #[test]
    fn delays_stay_within_base_and_cap(
        settings in any_settings(),
        attempt in 0u32..200,
        unit in prop_oneof![0.0f64..1.0, any::<f64>()],
    ) {
        let (p, _) = EffectivePolicy::new(settings);
        let s = p.settings();
        let max = s.max_ms as f64;
        let base = p.base_delay_ms(attempt);
        let lo = base.min(max).round();
        let hi = (base + base * s.jitter).min(max).round();
        let d = p.delay_ms(attempt, unit) as f64;
        prop_assert!(lo <= d && d <= hi, "attempt {attempt}, unit {unit}: {lo} <= {d} <= {hi} fails");
        prop_assert!(d <= max);
        prop_assert!(d >= s.initial_ms.min(s.max_ms) as f64);
    }

    /// Delays never shrink as attempts grow (for a fixed draw).
    #[test]
    fn delays_are_monotonic_in_the_attempt(settings in any_settings(), unit in 0.0f64..1.0, attempt in 1u32..60) {
        let (p, _) = EffectivePolicy::new(settings);
        prop_assert!(p.delay_ms(attempt, unit) <= p.delay_ms(attempt + 1, unit));
    }

    /// Clamped settings always satisfy the documented bounds, and clamping is idempotent.
    #[test]
    fn clamps_hold_and_are_idempotent(settings in any_settings()) {
        let (p, _) = EffectivePolicy::new(settings);
        let s = p.settings().clone();
        prop_assert!(s.initial_ms >= 250);
        prop_assert!(s.max_ms >= s.initial_ms);
        prop_assert!((1.1..=10.0).contains(&s.factor));
        prop_assert!((0.0..=1.0).contains(&s.jitter));
        prop_assert!(s.heartbeat_seconds >= 1);
        prop_assert!(s.idle_probe_after_ms == 0 || s.idle_probe_after_ms >= 60_000);
        let (again, clamps) = EffectivePolicy::new(s);
        prop_assert!(clamps.is_empty(), "{:?}", clamps);
        prop_assert_eq!(again, p);
    }

    /// No input sequence panics, and every step keeps the supervisor's bookkeeping promises.
    #[test]
    fn no_input_sequence_panics_and_steps_are_well_formed(
        settings in any_settings(),
        draws in proptest::collection::vec(any::<f64>(), 1..4),
        inputs in proptest::collection::vec((any_time_step(), any_input()), 1..60),
    ) {
        let (p, _) = EffectivePolicy::new(settings);
        let max_attempts = p.settings().max_attempts;
        let mut rng = SequenceRandom::new(draws);
        let mut state = State::Idle;
        for (now, input) in inputs {
            let before = state.clone();
            let (after, actions) = step(&p, state, input.clone(), now, &mut rng);
            let ctx = format!("{before:?} + {input:?} @ {now} -> {after:?} {actions:?}");

            // A step either records exactly one transition first, or does nothing at all.
            match actions.first() {
                None => prop_assert_eq!(before.phase(), after.phase(), "{}", ctx),
                Some(Action::Record(t)) => {
                    prop_assert_eq!(&t.from, &before, "{}", ctx);
                    prop_assert_eq!(&t.to, &after, "{}", ctx);
                    prop_assert_eq!(t.at_ms, now, "{}", ctx);
                    prop_assert_ne!(&t.from, &t.to, "a transition must change something: {}", ctx);
                }
                Some(other) => prop_assert!(false, "first action {other:?}: {ctx}"),
            }
            let records = actions.iter().filter(|a| matches!(a, Action::Record(_))).count();
            prop_assert!(records <= 1, "{}", ctx);

            // Timers: entering a timed state schedules exactly its deadline; leaving every
            // timed state for an untimed one cancels.
            let timers: Vec<i64> = actions.iter().filter_map(|a| match a {
                Action::ScheduleTimer { at_ms } => Some(*at_ms),
                _ => None,
            }).collect();
            prop_assert!(timers.len() <= 1, "{}", ctx);
            if !actions.is_empty() {
                match after.deadline_ms() {
                    Some(d) => prop_assert_eq!(timers.first().copied(), Some(d), "{}", ctx),
                    None => prop_assert!(timers.is_empty(), "{}", ctx),
                }
                let cancels = actions.contains(&Action::CancelTimer);
                prop_assert_eq!(
                    cancels,
                    before.deadline_ms().is_some() && after.deadline_ms().is_none(),
                    "{}", ctx
                );
            }

            // Waits never end before they start; attempts respect maxAttempts.
            if let (Some(d), false) = (after.deadline_ms(), actions.is_empty()) {
                prop_assert!(d >= now, "{}", ctx);
            }
            if max_attempts > 0 {
                match &after {
                    State::Degraded { attempts } => prop_assert_eq!(*attempts, max_attempts, "{}", ctx),
                    other => prop_assert!(other.attempts() < max_attempts, "{}", ctx),
                }
            }

            // Stop and disconnect requests always land in Stopped, closing any connection.
            if matches!(input, Input::StopRequested | Input::DisconnectRequested) {
                prop_assert_eq!(after.phase(), Phase::Stopped, "{}", ctx);
                if before.has_connection() {
                    prop_assert!(actions.contains(&Action::Disconnect), "{}", ctx);
                }
            }

            // Credentials are discarded exactly when WhatsApp logged the device out.
            if actions.contains(&Action::DiscardCredentials) {
                prop_assert_eq!(&after, &State::Stopped { reason: StopReason::LoggedOut }, "{}", ctx);
            }
            state = after;
        }
    }

    /// Stopped is absorbing: only an explicit start or link request leaves it.
    #[test]
    fn stopped_is_absorbing_except_for_start_and_link(
        reason in any_stop_reason(),
        input in any_input(),
        now in any::<i64>(),
        unit in 0.0f64..1.0,
    ) {
        let stopped = State::Stopped { reason };
        let (after, actions) = step(&EffectivePolicy::default(), stopped.clone(), input.clone(), now, &mut PinnedRandom(unit));
        match input {
            Input::Start { .. } | Input::LinkRequested => {
                prop_assert_ne!(after.phase(), Phase::Stopped);
                prop_assert!(!actions.is_empty());
            }
            _ => {
                prop_assert_eq!(after, stopped);
                prop_assert!(actions.is_empty(), "{:?}", actions);
            }
        }
    }

    /// Degraded does not reconnect on its own: only start, link, stop or disconnect move it.
    #[test]
    fn degraded_waits_for_a_person(attempts in 1u32..50, input in any_input(), now in any::<i64>()) {
        let degraded = State::Degraded { attempts };
        let (after, actions) = step(&EffectivePolicy::default(), degraded.clone(), input.clone(), now, &mut PinnedRandom(0.0));
        match input {
            Input::Start { .. } | Input::LinkRequested | Input::StopRequested | Input::DisconnectRequested => {
                prop_assert_ne!(after, degraded);
            }
            _ => {
                prop_assert_eq!(after, degraded);
                prop_assert!(actions.is_empty());
            }
        }
    }

    /// A session conflict never leads to a reconnect, whatever follows — except an explicit
    /// start or link request (the reference's 440 loop, #25591).
    #[test]
    fn session_conflict_never_reconnects_by_itself(
        inputs in proptest::collection::vec((0i64..10_000_000, any_input()), 0..40),
    ) {
        let p = EffectivePolicy::default();
        let connected = State::Connected { since_ms: 0, last_activity_ms: 0, attempt: 0 };
        let conflict = Input::Closed { reason: CloseReason::SessionConflict { detail: "replaced".into() } };
        let (mut state, _) = step(&p, connected, conflict, 0, &mut PinnedRandom(0.0));
        for (now, input) in inputs {
            let explicit = matches!(input, Input::Start { .. } | Input::LinkRequested);
            let (next, actions) = step(&p, state, input, now, &mut PinnedRandom(0.0));
            if explicit {
                break;
            }
            prop_assert!(!actions.contains(&Action::Connect));
            state = next;
        }
    }
}
