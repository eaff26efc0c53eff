//! Faults on demand: what the simulated server does wrong, when a test asks it to.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use wagw_core::{CloseReason, SocketError};

/// How the next sends fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SendFailure {
    /// The connection broke mid-send ([`SocketError::Interrupted`]); transient.
    Interrupted,
    /// No server ack within `ms` ([`SocketError::Timeout`], after waiting that long); the
    /// message was not stored.
    Timeout {
        /// How long the send waits before failing.
        ms: u64,
    },
    /// Like `Timeout`, but the server did store and deliver the message: the gateway is told
    /// it failed although the recipient got it (the outbox entry has `confirmed: false`).
    TimeoutDelivered {
        /// How long the send waits before failing.
        ms: u64,
    },
    /// The server refused it ([`SocketError::Rejected`]); permanent.
    Rejected {
        /// The protocol code.
        code: u16,
        /// The reason text.
        detail: String,
    },
}

impl SendFailure {
    /// A transient failure (interrupted connection).
    pub fn transient() -> SendFailure {
        SendFailure::Interrupted
    }

    /// A permanent failure (406 not-acceptable).
    pub fn permanent() -> SendFailure {
        SendFailure::Rejected {
            code: 406,
            detail: "not-acceptable".into(),
        }
    }

    /// The error `send` returns.
    pub fn to_error(&self) -> SocketError {
        match self {
            SendFailure::Interrupted => {
                SocketError::Interrupted("connection reset while sending".into())
            }
            SendFailure::Timeout { ms } | SendFailure::TimeoutDelivered { ms } => {
                SocketError::Timeout(Duration::from_millis(*ms))
            }
            SendFailure::Rejected { code, detail } => SocketError::Rejected {
                code: *code,
                detail: detail.clone(),
            },
        }
    }

    /// How long `send` waits before failing.
    pub(crate) fn wait(&self) -> Duration {
        match self {
            SendFailure::Timeout { ms } | SendFailure::TimeoutDelivered { ms } => {
                Duration::from_millis(*ms)
            }
            _ => Duration::ZERO,
        }
    }
}

/// A fault to apply to one account, in serde form for the daemon's HTTP API. The
/// `SimNetwork` methods of the same names do the same.
///
/// ```
/// let f: wagw_sim::SimFault =
///     serde_json::from_str(r#"{"kind":"temporaryBan","durationMs":3600000}"#).unwrap();
/// assert_eq!(f, wagw_sim::SimFault::TemporaryBan { duration_ms: 3_600_000 });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum SimFault {
    /// Drop the connection (`Closed(Network)`); the link survives.
    Disconnect,
    /// Close the stream with a protocol code (503, 515, ...): `Closed(StreamError)`.
    StreamError {
        /// The code.
        code: u16,
    },
    /// The phone removed this device (401): `Closed(LoggedOut)`, and the account is unlinked.
    LoggedOut,
    /// Another client took the session (440): `Closed(SessionConflict)`.
    SessionConflict,
    /// Ban the account (403) for `duration_ms`: closes now, and every connect until expiry
    /// closes again with `TemporaryBan`.
    TemporaryBan {
        /// How long the ban lasts, simulated milliseconds.
        duration_ms: u64,
    },
    /// This client is too old (405): closes now, and every connect closes with
    /// `ClientOutdated` until `clearClientOutdated`.
    ClientOutdated,
    /// Lift `clientOutdated`.
    ClearClientOutdated,
    /// The next `count` connects close at once with `reason` (no `Connected`).
    FailConnects {
        /// How many connects.
        count: u32,
        /// The close reason each gets.
        reason: CloseReason,
    },
    /// The next `count` sends fail with `failure`.
    FailSends {
        /// How many sends.
        count: u32,
        /// How they fail.
        failure: SendFailure,
    },
    /// Every send waits this long for its ack (0 = no delay).
    SendDelay {
        /// Milliseconds.
        ms: u64,
    },
    /// The next inbound message is delivered twice (as WhatsApp does after reconnects).
    DuplicateNextInbound,
    /// The next pair-code request fails (`PairCodeError`, 429).
    FailPairCode {
        /// What WhatsApp says.
        detail: String,
    },
    /// Linking asks for a passkey after the scan (or stops asking).
    RequirePasskey {
        /// Whether a passkey is required.
        required: bool,
    },
    /// After an accepted passkey assertion, linking waits for the operator to confirm a
    /// verification code (`PasskeyConfirmation`, then `WaSocket::confirm_passkey`), as
    /// WhatsApp does when the phone cannot prove continuity by itself.
    RequirePasskeyConfirmation {
        /// Whether the confirmation stage is required.
        required: bool,
    },
    /// The QR code on screen expires now: the next one is shown at once (or, after the
    /// last, linking ends with `QrCodesExhausted`), as if its lifetime had passed. Refused
    /// when the account is not linking.
    ExpireQr,
    /// The link goes silently dead (half-open TCP): pings and sends time out after
    /// `SimConfig::ack_timeout`, inbound stops arriving (it queues for the next connection).
    /// No `Closed` comes until the gateway gives up and reconnects.
    DeadLink,
    /// Clear every pending fault of the account (bans and outdated client included).
    Clear,
}

/// The per-account fault state.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pub fail_connects: Vec<CloseReason>,
    pub fail_sends: Vec<SendFailure>,
    pub send_delay: Duration,
    pub duplicate_next: bool,
    pub fail_pair_code: Option<String>,
    pub require_passkey: bool,
    pub require_passkey_confirmation: bool,
    pub banned_until_ms: Option<i64>,
    pub outdated: bool,
    /// The current connection is half-open (reset when it closes).
    pub dead_link: bool,
}

impl Faults {
    /// Why a connect must close at once (consumes a `FailConnects` slot), if it must.
    pub fn refuse_connect(&mut self, now_ms: i64) -> Option<CloseReason> {
        if let Some(until) = self.banned_until_ms {
            if now_ms < until {
                return Some(CloseReason::TemporaryBan {
                    code: 403,
                    expires_at_ms: Some(until),
                });
            }
            self.banned_until_ms = None;
        }
        if self.outdated {
            return Some(CloseReason::ClientOutdated);
        }
        if self.fail_connects.is_empty() {
            None
        } else {
            Some(self.fail_connects.remove(0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ban_expires() {
        let mut f = Faults {
            banned_until_ms: Some(100),
            ..Faults::default()
        };
        assert!(matches!(
            f.refuse_connect(50),
            Some(CloseReason::TemporaryBan {
                code: 403,
                expires_at_ms: Some(100)
            })
        ));
        assert_eq!(f.refuse_connect(100), None);
        assert_eq!(f.banned_until_ms, None);
    }

    #[test]
    fn fail_connects_are_consumed_in_order() {
        let mut f = Faults {
            fail_connects: vec![CloseReason::ClientOutdated, CloseReason::Requested],
            ..Faults::default()
        };
        assert_eq!(f.refuse_connect(0), Some(CloseReason::ClientOutdated));
        assert_eq!(f.refuse_connect(0), Some(CloseReason::Requested));
        assert_eq!(f.refuse_connect(0), None);
    }

    #[test]
    fn fault_json() -> Result<(), serde_json::Error> {
        let f = SimFault::FailSends {
            count: 2,
            failure: SendFailure::Timeout { ms: 5000 },
        };
        let v = serde_json::to_value(&f)?;
        assert_eq!(v["kind"], "failSends");
        assert_eq!(v["failure"]["kind"], "timeout");
        assert_eq!(serde_json::from_value::<SimFault>(v)?, f);
        assert_eq!(
            SendFailure::transient().to_error(),
            SocketError::Interrupted("connection reset while sending".into())
        );
        assert!(!SendFailure::permanent().to_error().is_transient());
        Ok(())
    }
}
