//! Making transitions visible: tracing events under `wagw::reconnect`, and a bounded history
//! for status.
//!
//! Levels: a transition into `connected`, `connecting`, `linking` or `probing` is `info`;
//! into `backoff` or `banned` is `warn`; into `stopped` is `warn` when requested and `error`
//! otherwise; into `degraded` is `error`. Close details are protocol text (never message
//! bodies), so they are safe at any level.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use wagw_core::AccountId;

use crate::classify::StopReason;
use crate::notice::{Notice, Severity};
use crate::state::{Cause, State, Transition};

/// The tracing target of every event this crate's helpers emit.
pub const TARGET: &str = "wagw::reconnect";

/// Emits one tracing event for `transition` under [`TARGET`], with structured fields
/// `account`, `from`, `to`, `cause`, `attempt`, `until_ms`, `close_code`, `close_reason`
/// (absent fields are empty) and a short message.
///
/// ```
/// use wagw_core::AccountId;
/// use wagw_reconnect::{log_transition, Action, EffectivePolicy, Input, PinnedRandom, State, step};
/// let (_, actions) = step(&EffectivePolicy::default(), State::Idle,
///     Input::Start { linked: true }, 0, &mut PinnedRandom(0.0));
/// for action in &actions {
///     if let Action::Record(t) = action {
///         log_transition(&AccountId::default_account(), t);
///     }
/// }
/// ```
pub fn log_transition(account: &AccountId, transition: &Transition) {
    let from = transition.from.phase().label();
    let to = transition.to.phase().label();
    let cause = transition.cause.label();
    let attempt = transition.to.attempts();
    let until_ms = transition.to.deadline_ms();
    let (close_code, close_reason) = match &transition.cause {
        Cause::Closed { reason } => (reason.code(), Some(reason.to_string())),
        _ => (None, None),
    };
    macro_rules! emit {
        ($level:ident) => {
            tracing::$level!(
                target: "wagw::reconnect",
                account = %account,
                from,
                to,
                cause = %cause,
                attempt,
                until_ms,
                close_code,
                close_reason = close_reason.as_deref(),
                "whatsapp connection {from} -> {to} ({cause})"
            )
        };
    }
    match &transition.to {
        State::Degraded { .. } => emit!(error),
        State::Stopped {
            reason:
                StopReason::Requested | StopReason::StopRequested | StopReason::DisconnectRequested,
        } => emit!(info),
        State::Stopped { .. } => emit!(error),
        State::Backoff { .. } | State::Banned { .. } => emit!(warn),
        State::Idle
        | State::Unlinked
        | State::Linking
        | State::Connecting { .. }
        | State::Connected { .. }
        | State::Probing { .. } => emit!(info),
    }
}

/// Emits `notice` under [`TARGET`] at its [`Severity`], with fields `account`, `notice` (its
/// label) and the operator message as the event message.
pub fn log_notice(account: &AccountId, notice: &Notice) {
    let message = notice.message(account);
    let label = notice.label();
    match notice.severity() {
        Severity::Warn => {
            tracing::warn!(target: "wagw::reconnect", account = %account, notice = label, "{message}")
        }
        Severity::Error => {
            tracing::error!(target: "wagw::reconnect", account = %account, notice = label, "{message}")
        }
    }
}

/// The most recent transitions of one account, oldest first, bounded so a flapping link
/// cannot grow memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransitionHistory {
    capacity: usize,
    entries: VecDeque<Transition>,
}

impl Default for TransitionHistory {
    fn default() -> Self {
        TransitionHistory::with_capacity(TransitionHistory::DEFAULT_CAPACITY)
    }
}

impl TransitionHistory {
    /// How many transitions a default history keeps.
    pub const DEFAULT_CAPACITY: usize = 32;

    /// A history keeping the last `capacity` transitions (at least one).
    pub fn with_capacity(capacity: usize) -> TransitionHistory {
        let capacity = capacity.max(1);
        TransitionHistory {
            capacity,
            entries: VecDeque::with_capacity(capacity),
        }
    }

    /// Adds a transition, dropping the oldest when full.
    pub fn push(&mut self, transition: Transition) {
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(transition);
    }

    /// The transitions, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Transition> + ExactSizeIterator {
        self.entries.iter()
    }

    /// The latest transition.
    pub fn last(&self) -> Option<&Transition> {
        self.entries.back()
    }

    /// How many transitions are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(at_ms: i64) -> Transition {
        Transition {
            at_ms,
            from: State::Idle,
            to: State::Unlinked,
            cause: Cause::Started,
        }
    }

    #[test]
    fn history_is_bounded_and_ordered() {
        let mut h = TransitionHistory::with_capacity(3);
        assert!(h.is_empty());
        for at in 0..5 {
            h.push(t(at));
        }
        let ats: Vec<i64> = h.iter().map(|t| t.at_ms).collect();
        assert_eq!(ats, [2, 3, 4]);
        assert_eq!(h.last().map(|t| t.at_ms), Some(4));
        assert_eq!(h.len(), 3);
        assert_eq!(TransitionHistory::with_capacity(0).capacity, 1);
    }
}
