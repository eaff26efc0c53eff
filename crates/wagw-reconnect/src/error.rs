//! The crate's one error type.

use thiserror::Error;

use crate::policy::Clamp;

/// What went wrong in `wagw-reconnect`.
///
/// The supervisor itself never fails: every input in every state has a defined outcome. The
/// only fallible call is the strict policy check, for callers that prefer refusing a bad
/// setting to clamping it.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ReconnectError {
    /// Reconnect settings were out of range; each entry names the key, the rule and the value
    /// that would be used instead. Fix the config, or accept the clamped values with
    /// [`EffectivePolicy::new`](crate::EffectivePolicy::new).
    #[error("reconnect settings out of range: {}", list(.clamps))]
    OutOfRange {
        /// Every setting that broke its rule.
        clamps: Vec<Clamp>,
    },
}

fn list(clamps: &[Clamp]) -> String {
    clamps
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
