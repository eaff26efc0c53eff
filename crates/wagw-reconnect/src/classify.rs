//! Close-reason classification: what a [`CloseReason`] means for the next connection.
//!
//! The reference retried every close except 401, so two gateways on one account fought over
//! the session forever (440, #25591). Here each reason has one [`Disposition`]:
//!
//! | reason | disposition |
//! |---|---|
//! | `LoggedOut` (401) | stop; discard credentials; tell the operator to relink |
//! | `SessionConflict` (440) | stop; another client holds the session |
//! | `TemporaryBan` (402/403) | wait until its expiry (or `banDefaultWaitMs`), then retry |
//! | `ClientOutdated` (405) | stop; update wagw |
//! | `LinkingFailed` | stop until linking is requested again |
//! | `Requested` | stop (someone closed it on purpose) |
//! | `StreamError` 515 | restart required: reconnect at once the first time |
//! | anything else | retry with backoff |

use std::fmt;

use serde::{Deserialize, Serialize};
use wagw_core::CloseReason;

use crate::notice::Notice;
use crate::policy::EffectivePolicy;

/// The stream error code WhatsApp uses for "restart required" (notably right after pairing).
pub const RESTART_REQUIRED_CODE: u16 = 515;

/// Why the supervisor stopped an account. Stopped accounts stay stopped until an explicit
/// start or link request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum StopReason {
    /// WhatsApp logged this device out (401); credentials were discarded, relink needed.
    LoggedOut,
    /// Another client holds the session (440).
    SessionConflict,
    /// This client is too old (405); update wagw.
    ClientOutdated,
    /// Linking did not complete.
    LinkingFailed {
        /// What happened.
        detail: String,
    },
    /// The connection was closed by a disconnect or logout made outside the supervisor.
    Requested,
    /// The supervisor was asked to stop (gateway shutdown, account disabled).
    StopRequested,
    /// The operator asked to disconnect the account (the link is kept).
    DisconnectRequested,
}

impl StopReason {
    /// A stable snake_case label for logs, metrics and status.
    pub fn label(&self) -> &'static str {
        match self {
            StopReason::LoggedOut => "logged_out",
            StopReason::SessionConflict => "session_conflict",
            StopReason::ClientOutdated => "client_outdated",
            StopReason::LinkingFailed { .. } => "linking_failed",
            StopReason::Requested => "requested",
            StopReason::StopRequested => "stop_requested",
            StopReason::DisconnectRequested => "disconnect_requested",
        }
    }

    /// What to tell the operator, if anything (requested stops need no explanation).
    pub fn notice(&self) -> Option<Notice> {
        match self {
            StopReason::LoggedOut => Some(Notice::LoggedOut),
            StopReason::SessionConflict => Some(Notice::SessionConflict),
            StopReason::ClientOutdated => Some(Notice::ClientOutdated),
            StopReason::LinkingFailed { detail } => Some(Notice::LinkingFailed {
                detail: detail.clone(),
            }),
            StopReason::Requested | StopReason::StopRequested | StopReason::DisconnectRequested => {
                None
            }
        }
    }

    /// True when the account's protocol state must be deleted: after a 401 the credentials
    /// are dead, and keeping them would make the next start fail the same way.
    pub fn discards_credentials(&self) -> bool {
        matches!(self, StopReason::LoggedOut)
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::LoggedOut => f.write_str("logged out (401); relink needed"),
            StopReason::SessionConflict => {
                f.write_str("session conflict (440): another client holds the session")
            }
            StopReason::ClientOutdated => f.write_str("client outdated (405); update wagw"),
            StopReason::LinkingFailed { detail } => write!(f, "linking failed: {detail}"),
            StopReason::Requested => f.write_str("connection closed on request"),
            StopReason::StopRequested => f.write_str("stopped on request"),
            StopReason::DisconnectRequested => f.write_str("disconnected on request"),
        }
    }
}

/// What a close means for the next connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum Disposition {
    /// Do not reconnect until asked.
    Stop {
        /// Why.
        reason: StopReason,
    },
    /// Wait out a temporary ban, then connect again.
    WaitForBan {
        /// WhatsApp's ban code.
        code: u16,
        /// When to connect again, Unix ms.
        until_ms: i64,
        /// True when WhatsApp gave the expiry; false when wagw's default wait applies.
        expiry_known: bool,
    },
    /// WhatsApp asked for a restart (515): reconnect at once if this is the first failure in
    /// a row, otherwise treat it like [`Disposition::Retry`].
    RestartRequired,
    /// Reconnect after the backoff delay.
    Retry,
}

/// Classifies a close at `now_ms` (Unix ms).
///
/// A ban whose expiry has already passed is an ordinary [`Disposition::Retry`]: waiting
/// for a past instant would reconnect at once with no backoff at all.
///
/// ```
/// use wagw_core::CloseReason;
/// use wagw_reconnect::{classify, Disposition, EffectivePolicy, StopReason};
/// let policy = EffectivePolicy::default();
/// let conflict = CloseReason::SessionConflict { detail: "replaced".into() };
/// assert_eq!(
///     classify(&conflict, 0, &policy),
///     Disposition::Stop { reason: StopReason::SessionConflict }
/// );
/// let reset = CloseReason::Network { detail: "reset".into() };
/// assert_eq!(classify(&reset, 0, &policy), Disposition::Retry);
/// ```
pub fn classify(reason: &CloseReason, now_ms: i64, policy: &EffectivePolicy) -> Disposition {
    let stop = |reason| Disposition::Stop { reason };
    match reason {
        CloseReason::LoggedOut { .. } => stop(StopReason::LoggedOut),
        CloseReason::SessionConflict { .. } => stop(StopReason::SessionConflict),
        CloseReason::ClientOutdated => stop(StopReason::ClientOutdated),
        CloseReason::LinkingFailed { detail } => stop(StopReason::LinkingFailed {
            detail: detail.clone(),
        }),
        CloseReason::Requested => stop(StopReason::Requested),
        CloseReason::TemporaryBan {
            code,
            expires_at_ms: Some(until),
        } if *until > now_ms => Disposition::WaitForBan {
            code: *code,
            until_ms: *until,
            expiry_known: true,
        },
        CloseReason::TemporaryBan {
            expires_at_ms: Some(_),
            ..
        } => Disposition::Retry,
        CloseReason::TemporaryBan {
            code,
            expires_at_ms: None,
        } => Disposition::WaitForBan {
            code: *code,
            until_ms: now_ms.saturating_add(policy.ban_default_wait_ms()),
            expiry_known: false,
        },
        CloseReason::StreamError { code, .. } if *code == RESTART_REQUIRED_CODE => {
            Disposition::RestartRequired
        }
        CloseReason::StreamError { .. }
        | CloseReason::ConnectFailed { .. }
        | CloseReason::Network { .. } => Disposition::Retry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(reason: CloseReason) -> Disposition {
        classify(&reason, 1_000, &EffectivePolicy::default())
    }

    #[test]
    fn every_close_reason_has_its_disposition() {
        let s = |reason| Disposition::Stop { reason };
        let detail = || "x".to_string();
        let table = [
            (
                CloseReason::LoggedOut { detail: detail() },
                s(StopReason::LoggedOut),
            ),
            (
                CloseReason::SessionConflict { detail: detail() },
                s(StopReason::SessionConflict),
            ),
            (CloseReason::ClientOutdated, s(StopReason::ClientOutdated)),
            (
                CloseReason::LinkingFailed { detail: detail() },
                s(StopReason::LinkingFailed { detail: detail() }),
            ),
            (CloseReason::Requested, s(StopReason::Requested)),
            (
                CloseReason::TemporaryBan {
                    code: 403,
                    expires_at_ms: Some(9_000),
                },
                Disposition::WaitForBan {
                    code: 403,
                    until_ms: 9_000,
                    expiry_known: true,
                },
            ),
            (
                CloseReason::TemporaryBan {
                    code: 402,
                    expires_at_ms: None,
                },
                Disposition::WaitForBan {
                    code: 402,
                    until_ms: 1_000 + 3_600_000,
                    expiry_known: false,
                },
            ),
            (
                CloseReason::TemporaryBan {
                    code: 403,
                    expires_at_ms: Some(1_000),
                },
                Disposition::Retry,
            ),
            (
                CloseReason::StreamError {
                    code: 515,
                    detail: detail(),
                },
                Disposition::RestartRequired,
            ),
            (
                CloseReason::StreamError {
                    code: 503,
                    detail: detail(),
                },
                Disposition::Retry,
            ),
            (
                CloseReason::ConnectFailed { detail: detail() },
                Disposition::Retry,
            ),
            (
                CloseReason::Network { detail: detail() },
                Disposition::Retry,
            ),
        ];
        for (reason, want) in table {
            assert_eq!(d(reason.clone()), want, "{reason:?}");
        }
    }

    #[test]
    fn only_logged_out_discards_credentials() {
        let all = [
            StopReason::LoggedOut,
            StopReason::SessionConflict,
            StopReason::ClientOutdated,
            StopReason::LinkingFailed { detail: "x".into() },
            StopReason::Requested,
            StopReason::StopRequested,
            StopReason::DisconnectRequested,
        ];
        let discarding: Vec<&str> = all
            .iter()
            .filter(|r| r.discards_credentials())
            .map(StopReason::label)
            .collect();
        assert_eq!(discarding, ["logged_out"]);
        let silent: Vec<&str> = all
            .iter()
            .filter(|r| r.notice().is_none())
            .map(StopReason::label)
            .collect();
        assert_eq!(
            silent,
            ["requested", "stop_requested", "disconnect_requested"]
        );
    }
}
