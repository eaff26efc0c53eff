//! # wagw-reconnect — when and how an account's WhatsApp connection comes back
//!
//! Three pieces, all pure:
//! - **Backoff** ([`ReconnectPolicy`] → [`EffectivePolicy`]): `delay = min(maxMs, base +
//!   base·jitter·rand)` with `base = initialMs·factor^(attempt−1)`, defaults
//!   2000 / 30000 / 1.8 / 0.25 / 12 attempts, clamped by a constructor that reports each
//!   clamp.
//! - **Close-reason classification** ([`classify()`]): 401 stops and discards the dead
//!   credentials, 440 stops (another client holds the session — no retry loop), 405 stops,
//!   a temporary ban waits until its expiry, linking failures stop until asked, everything
//!   else retries with backoff.
//! - **The supervisor** ([`step`], or [`Supervisor`] which owns the state): states as an
//!   enum, one `match` over (state, input) returning the next state and the [`Action`]s the
//!   runtime performs. Every state change is a serializable [`Transition`] to log with
//!   [`log_transition`] (target `wagw::reconnect`) and show in status. An idle connection is
//!   probed, not dropped.
//!
//! ```
//! use wagw_core::{AccountId, CloseReason};
//! use wagw_reconnect::{Action, EffectivePolicy, Input, Notice, PinnedRandom, State, Supervisor};
//!
//! let mut sup = Supervisor::new(EffectivePolicy::default());
//! let mut rng = PinnedRandom(0.0); // the runtime passes a seeded SplitMix64
//! sup.handle(Input::Start { linked: true }, 0, &mut rng);
//! sup.handle(Input::Connected, 1_000, &mut rng);
//!
//! // The phone removed the linked device: stop, discard credentials, tell the operator.
//! let closed = Input::Closed { reason: CloseReason::LoggedOut { detail: "401".into() } };
//! let actions = sup.handle(closed, 2_000, &mut rng);
//! assert!(matches!(sup.state(), State::Stopped { .. }));
//! assert!(actions.contains(&Action::DiscardCredentials));
//! let work = AccountId::parse("work")?;
//! assert!(Notice::LoggedOut.message(&work).contains("wagw channels login --account work"));
//! # Ok::<(), wagw_core::IdentityError>(())
//! ```
//!
//! ## Driving it (the runtime's side)
//! Feed [`Input::from_socket_event`] for each event of the *current* connection, `TimerFired`
//! when the one pending timer fires, `HeartbeatTick` every `heartbeatSeconds`, and operator
//! commands as `Start` / `LinkRequested` / `StopRequested` / `DisconnectRequested`. Perform
//! the returned actions in order. Pass the wall clock as Unix ms.
//!
//! ## What it must not depend on
//! No sockets, no clocks, no timers, no async runtime, no global state, no RNG crate, and no
//! wagw crate other than `wagw-core`. Time, randomness and settings are arguments, so every
//! behaviour here is reproducible in a unit test.

pub mod classify;
pub mod error;
pub mod events;
pub mod machine;
pub mod notice;
pub mod policy;
pub mod random;
pub mod state;
pub mod supervisor;

pub use classify::{Disposition, RESTART_REQUIRED_CODE, StopReason, classify};
pub use error::ReconnectError;
pub use events::{TARGET, TransitionHistory, log_notice, log_transition};
pub use machine::step;
pub use notice::{Notice, Severity, format_duration_ms, format_utc, relink_command};
pub use policy::{
    Clamp, DEFAULT_BAN_WAIT_MS, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_FACTOR,
    DEFAULT_HEARTBEAT_SECONDS, DEFAULT_IDLE_PROBE_AFTER_MS, DEFAULT_INITIAL_MS, DEFAULT_JITTER,
    DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_MS, DEFAULT_PROBE_TIMEOUT_MS, EffectivePolicy, FACTOR_RANGE,
    JITTER_RANGE, MIN_BAN_WAIT_MS, MIN_CONNECT_TIMEOUT_MS, MIN_IDLE_PROBE_AFTER_MS, MIN_INITIAL_MS,
    MIN_PROBE_TIMEOUT_MS, ReconnectPolicy,
};
pub use random::{FnRandom, PinnedRandom, RandomUnit, SequenceRandom, SplitMix64};
pub use state::{Action, Cause, Input, Phase, State, Transition};
pub use supervisor::Supervisor;
