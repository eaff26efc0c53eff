//! The supervisor's vocabulary: its [`State`]s, the [`Input`]s it reacts to, the [`Action`]s
//! it asks the runtime to perform, and the [`Transition`] records it leaves behind.
//!
//! All times are Unix milliseconds (`i64`), passed in by the caller.

use std::fmt;

use serde::{Deserialize, Serialize};
use wagw_core::{CloseReason, SocketEvent};

use crate::classify::StopReason;
use crate::notice::{Notice, format_duration_ms, format_utc};
use crate::policy::EffectivePolicy;

/// Where an account's connection stands.
///
/// ```text
/// idle ─start(no creds)─▶ unlinked ─link requested─▶ linking ─paired─┐
///  └─start(linked)─▶ connecting ◀────────────────────────────────────┘
///                      │   ▲ ▲
///                      │   │ └──── closed 515 (first failure) ─────────┐
///            connected │   └─timer── backoff ◀── closed (retryable) ───┤
///                      ▼                ▲                              │
///                  connected ─silent─▶ probing ─failed / timed out─────┘
///                      ▲────answered / traffic───┘
/// 401 / 440 / 405 / linking failed / requested ─▶ stopped
/// temporary ban ─▶ banned ─expiry─▶ connecting
/// maxAttempts failures in a row ─▶ degraded
/// stop / disconnect requested (any state) ─▶ stopped
/// ```
///
/// `docs/reconnect.md` lists every edge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "phase",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum State {
    /// Not started yet.
    #[default]
    Idle,
    /// Started, but the account has no credentials: waiting for a link request.
    Unlinked,
    /// A linking connection is open; QR or pair codes are being shown.
    Linking,
    /// A connect attempt is under way.
    Connecting {
        /// Failures in a row before this attempt (0 on a fresh start).
        attempt: u32,
        /// When the attempt is abandoned if it neither opened nor closed.
        deadline_ms: i64,
    },
    /// The connection is up.
    Connected {
        /// When it came up.
        since_ms: i64,
        /// Last inbound traffic or answered probe; silence is measured from here.
        last_activity_ms: i64,
        /// Failures in a row before it came up; reset once it stays up `heartbeatSeconds`.
        attempt: u32,
    },
    /// The connection was silent for `idleProbeAfterMs`; a probe is checking it is alive.
    Probing {
        /// When the connection came up.
        since_ms: i64,
        /// Failures in a row before it came up (reset rules as in `Connected`).
        attempt: u32,
        /// The last activity before the silence.
        idle_since_ms: i64,
        /// When an unanswered probe means a dead link.
        deadline_ms: i64,
    },
    /// Waiting before the next connect attempt.
    Backoff {
        /// Failures in a row so far (this is retry number `attempt`).
        attempt: u32,
        /// When to connect again.
        until_ms: i64,
    },
    /// Waiting out a temporary ban.
    Banned {
        /// WhatsApp's ban code.
        code: u16,
        /// When to connect again.
        until_ms: i64,
        /// Failures in a row before the ban (a ban is not counted as one).
        attempt: u32,
    },
    /// Not connecting until an explicit start or link request.
    Stopped {
        /// Why.
        reason: StopReason,
    },
    /// `maxAttempts` failures in a row: not connecting until an explicit start or link request.
    Degraded {
        /// Failures in a row.
        attempts: u32,
    },
}

/// A [`State`] without its data, for labels, metrics and matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// [`State::Idle`].
    Idle,
    /// [`State::Unlinked`].
    Unlinked,
    /// [`State::Linking`].
    Linking,
    /// [`State::Connecting`].
    Connecting,
    /// [`State::Connected`].
    Connected,
    /// [`State::Probing`].
    Probing,
    /// [`State::Backoff`].
    Backoff,
    /// [`State::Banned`].
    Banned,
    /// [`State::Stopped`].
    Stopped,
    /// [`State::Degraded`].
    Degraded,
}

impl Phase {
    /// A stable snake_case label.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Unlinked => "unlinked",
            Phase::Linking => "linking",
            Phase::Connecting => "connecting",
            Phase::Connected => "connected",
            Phase::Probing => "probing",
            Phase::Backoff => "backoff",
            Phase::Banned => "banned",
            Phase::Stopped => "stopped",
            Phase::Degraded => "degraded",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl State {
    /// The phase of this state.
    pub fn phase(&self) -> Phase {
        match self {
            State::Idle => Phase::Idle,
            State::Unlinked => Phase::Unlinked,
            State::Linking => Phase::Linking,
            State::Connecting { .. } => Phase::Connecting,
            State::Connected { .. } => Phase::Connected,
            State::Probing { .. } => Phase::Probing,
            State::Backoff { .. } => Phase::Backoff,
            State::Banned { .. } => Phase::Banned,
            State::Stopped { .. } => Phase::Stopped,
            State::Degraded { .. } => Phase::Degraded,
        }
    }

    /// The instant this state's timer fires, if it has one. At most one timer is pending
    /// per account: the runtime keeps the latest [`Action::ScheduleTimer`].
    pub fn deadline_ms(&self) -> Option<i64> {
        match self {
            State::Connecting { deadline_ms, .. } | State::Probing { deadline_ms, .. } => {
                Some(*deadline_ms)
            }
            State::Backoff { until_ms, .. } | State::Banned { until_ms, .. } => Some(*until_ms),
            State::Idle
            | State::Unlinked
            | State::Linking
            | State::Connected { .. }
            | State::Stopped { .. }
            | State::Degraded { .. } => None,
        }
    }

    /// True when a socket connection is open or opening (so leaving needs a disconnect).
    pub fn has_connection(&self) -> bool {
        matches!(
            self,
            State::Linking
                | State::Connecting { .. }
                | State::Connected { .. }
                | State::Probing { .. }
        )
    }

    /// True when messages can flow (connected, possibly being probed).
    pub fn is_connected(&self) -> bool {
        matches!(self, State::Connected { .. } | State::Probing { .. })
    }

    /// Failures in a row, as status shows it (`reconnectAttempts`).
    pub fn attempts(&self) -> u32 {
        match self {
            State::Connecting { attempt, .. }
            | State::Connected { attempt, .. }
            | State::Probing { attempt, .. }
            | State::Backoff { attempt, .. }
            | State::Banned { attempt, .. } => *attempt,
            State::Degraded { attempts } => *attempts,
            State::Idle | State::Unlinked | State::Linking | State::Stopped { .. } => 0,
        }
    }

    /// One line for `channels status`, e.g. `disconnected; retry 3/12 in 6.48s`.
    ///
    /// ```
    /// use wagw_reconnect::{EffectivePolicy, State};
    /// let s = State::Backoff { attempt: 3, until_ms: 16_480 };
    /// assert_eq!(
    ///     s.describe(10_000, &EffectivePolicy::default()),
    ///     "disconnected; retry 3/12 in 6.48s"
    /// );
    /// ```
    pub fn describe(&self, now_ms: i64, policy: &EffectivePolicy) -> String {
        let max = policy.max_attempts_label();
        match self {
            State::Idle => "not started".to_string(),
            State::Unlinked => "not linked".to_string(),
            State::Linking => "linking: waiting for the QR scan or pair code".to_string(),
            State::Connecting { attempt: 0, .. } => "connecting".to_string(),
            State::Connecting { attempt, .. } => format!("connecting (retry {attempt}/{max})"),
            State::Connected { .. } => "connected".to_string(),
            State::Probing { idle_since_ms, .. } => format!(
                "connected; silent since {}, probing the link",
                format_utc(*idle_since_ms)
            ),
            State::Backoff { attempt, until_ms } => format!(
                "disconnected; retry {attempt}/{max} in {}",
                format_duration_ms(u64::try_from(until_ms.saturating_sub(now_ms)).unwrap_or(0))
            ),
            State::Banned { code, until_ms, .. } => format!(
                "temporarily banned (code {code}); reconnecting at {}",
                format_utc(*until_ms)
            ),
            State::Stopped { reason } => format!("stopped: {reason}"),
            State::Degraded { attempts } => {
                format!("degraded: gave up after {attempts} failed attempts in a row")
            }
        }
    }
}

/// Something the supervisor reacts to. The runtime feeds these from the socket's events
/// ([`Input::from_socket_event`]), its timer, its heartbeat ticker and operator commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum Input {
    /// Begin supervising. `linked` says whether the account has credentials.
    Start {
        /// True when the account's auth dir holds a linked device.
        linked: bool,
    },
    /// The operator asked to link the account (`wagw channels login`). The runtime sends it
    /// once the device is unlinked (a forced relink logs out first).
    LinkRequested,
    /// Linking succeeded ([`SocketEvent::Paired`]); the same connection goes on to open.
    Paired,
    /// The connection is up ([`SocketEvent::Connected`]).
    Connected,
    /// The current connection ended ([`SocketEvent::Closed`]).
    Closed {
        /// Why.
        reason: CloseReason,
    },
    /// The timer from the latest [`Action::ScheduleTimer`] fired.
    TimerFired,
    /// Stop supervising (gateway shutdown, account disabled).
    StopRequested,
    /// The operator asked to disconnect the account, keeping its link.
    DisconnectRequested,
    /// Inbound traffic arrived on the current connection (any message, receipt, update).
    InboundSeen,
    /// The answer to an [`Action::Probe`].
    ProbeResult {
        /// True when the link answered.
        alive: bool,
    },
    /// The periodic heartbeat (every `heartbeatSeconds`): resets the failure counter of a
    /// connection that stayed up, and starts the idle probe.
    HeartbeatTick,
}

impl Input {
    /// The input a socket event means, if any. Traffic events become
    /// [`Input::InboundSeen`]; linking prompts (QR, pair codes, passkeys) mean nothing here.
    pub fn from_socket_event(event: &SocketEvent) -> Option<Input> {
        match event {
            SocketEvent::Paired { .. } => Some(Input::Paired),
            SocketEvent::Connected { .. } => Some(Input::Connected),
            SocketEvent::Closed(reason) => Some(Input::Closed {
                reason: reason.clone(),
            }),
            SocketEvent::Message { .. }
            | SocketEvent::Receipt(_)
            | SocketEvent::Undecryptable { .. }
            | SocketEvent::GroupUpdate { .. }
            | SocketEvent::ContactChanged { .. }
            | SocketEvent::OfflineSyncCompleted { .. } => Some(Input::InboundSeen),
            SocketEvent::QrCode { .. }
            | SocketEvent::QrCodesExhausted
            | SocketEvent::PairCode { .. }
            | SocketEvent::PairCodeError { .. }
            | SocketEvent::PasskeyRequired { .. }
            | SocketEvent::PasskeyConfirmation { .. }
            | SocketEvent::PasskeyError { .. } => None,
        }
    }

    /// A stable snake_case label.
    pub fn label(&self) -> &'static str {
        match self {
            Input::Start { .. } => "start",
            Input::LinkRequested => "link_requested",
            Input::Paired => "paired",
            Input::Connected => "connected",
            Input::Closed { .. } => "closed",
            Input::TimerFired => "timer_fired",
            Input::StopRequested => "stop_requested",
            Input::DisconnectRequested => "disconnect_requested",
            Input::InboundSeen => "inbound_seen",
            Input::ProbeResult { .. } => "probe_result",
            Input::HeartbeatTick => "heartbeat_tick",
        }
    }
}

/// Something the runtime must do, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    content = "data",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum Action {
    /// Log this transition (see [`log_transition`](crate::log_transition)) and show it in
    /// status. Always the first action of a step that changed state.
    Record(Transition),
    /// Open a connection with the stored credentials (`WaSocket::connect`).
    Connect,
    /// Open a linking connection (`WaSocket::connect` on the unlinked device) and show the
    /// QR or pair codes it emits.
    StartLinking,
    /// Close the current connection (`WaSocket::disconnect`) and ignore the rest of its
    /// events; the next connection gets a fresh event stream.
    Disconnect,
    /// Delete the account's protocol state (its auth dir): the credentials are dead (401).
    DiscardCredentials,
    /// Feed [`Input::TimerFired`] at `at_ms`, replacing any pending timer.
    ScheduleTimer {
        /// When, Unix ms.
        at_ms: i64,
    },
    /// Drop the pending timer.
    CancelTimer,
    /// Check the idle link is alive (a round trip to WhatsApp) and feed
    /// [`Input::ProbeResult`]. The supervisor times it out on its own.
    Probe,
    /// Tell the operator (log at the notice's severity; show in status; alert if configured).
    Notify(Notice),
}

impl Action {
    /// A compact one-line form, e.g. `timer 7000`, `notify logged_out`,
    /// `transition connected->backoff closed:network`.
    pub fn summary(&self) -> String {
        match self {
            Action::Record(t) => format!("transition {}", t.summary()),
            Action::Connect => "connect".to_string(),
            Action::StartLinking => "start_linking".to_string(),
            Action::Disconnect => "disconnect".to_string(),
            Action::DiscardCredentials => "discard_credentials".to_string(),
            Action::ScheduleTimer { at_ms } => format!("timer {at_ms}"),
            Action::CancelTimer => "cancel_timer".to_string(),
            Action::Probe => "probe".to_string(),
            Action::Notify(n) => format!("notify {}", n.label()),
        }
    }
}

/// Why a transition happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum Cause {
    /// [`Input::Start`].
    Started,
    /// [`Input::LinkRequested`].
    LinkRequested,
    /// [`Input::Paired`].
    Paired,
    /// [`Input::Connected`].
    Connected,
    /// [`Input::Closed`].
    Closed {
        /// Why the connection closed.
        reason: CloseReason,
    },
    /// The backoff delay elapsed.
    BackoffElapsed,
    /// The temporary ban's wait elapsed.
    BanLifted,
    /// A connect attempt neither opened nor closed within `connectTimeoutMs`.
    ConnectTimedOut,
    /// The connection was silent for `idleProbeAfterMs`.
    IdleProbe {
        /// How long it had been silent, ms.
        idle_ms: i64,
    },
    /// Inbound traffic arrived while probing: the link is alive.
    InboundSeen,
    /// The probe was answered: the link is alive.
    ProbeAnswered,
    /// The probe failed: the link is dead.
    ProbeFailed,
    /// The probe got no answer within `probeTimeoutMs`: the link is dead.
    ProbeTimedOut,
    /// [`Input::StopRequested`].
    StopRequested,
    /// [`Input::DisconnectRequested`].
    DisconnectRequested,
}

impl Cause {
    /// A stable snake_case label (`closed:<reason>` for closes).
    pub fn label(&self) -> String {
        match self {
            Cause::Closed { reason } => format!("closed:{}", reason.label()),
            other => other.simple_label().to_string(),
        }
    }

    fn simple_label(&self) -> &'static str {
        match self {
            Cause::Started => "started",
            Cause::LinkRequested => "link_requested",
            Cause::Paired => "paired",
            Cause::Connected => "connected",
            Cause::Closed { .. } => "closed",
            Cause::BackoffElapsed => "backoff_elapsed",
            Cause::BanLifted => "ban_lifted",
            Cause::ConnectTimedOut => "connect_timed_out",
            Cause::IdleProbe { .. } => "idle_probe",
            Cause::InboundSeen => "inbound_seen",
            Cause::ProbeAnswered => "probe_answered",
            Cause::ProbeFailed => "probe_failed",
            Cause::ProbeTimedOut => "probe_timed_out",
            Cause::StopRequested => "stop_requested",
            Cause::DisconnectRequested => "disconnect_requested",
        }
    }
}

/// One state change: logged under `wagw::reconnect` and kept for status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    /// When, Unix ms.
    pub at_ms: i64,
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
    /// What caused it.
    pub cause: Cause,
}

impl Transition {
    /// `from->to cause`, e.g. `connected->backoff closed:network`.
    pub fn summary(&self) -> String {
        format!(
            "{}->{} {}",
            self.from.phase(),
            self.to.phase(),
            self.cause.label()
        )
    }
}
