//! Applying faults to accounts: the [`SimFault`] entry point and one method per fault.

use std::time::Duration;

use wagw_core::CloseReason;

use crate::error::SimError;
use crate::faults::{SendFailure, SimFault};
use crate::network::{AsAccountId, SimNetwork};
use crate::state::Phase;

impl SimNetwork {
    /// Applies a fault to an account (the daemon's HTTP entry point).
    pub fn apply_fault(
        &self,
        account: &(impl AsAccountId + ?Sized),
        fault: SimFault,
    ) -> Result<(), SimError> {
        let now = self.now_ms();
        let id = account.account_id();
        let mut st = self.lock();
        let acct = st.account_mut(id)?;
        tracing::debug!(target: "wagw::sim", account = %id, fault = ?fault, "fault");
        match fault {
            SimFault::Disconnect => acct.close(CloseReason::Network {
                detail: "connection reset by peer".into(),
            }),
            SimFault::StreamError { code } => acct.close(CloseReason::StreamError {
                code,
                detail: format!("stream:error code={code}"),
            }),
            SimFault::LoggedOut => {
                acct.owner = None;
                acct.pending.clear();
                acct.close(CloseReason::LoggedOut {
                    detail: "this device was removed from the phone (401)".into(),
                });
            }
            SimFault::SessionConflict => acct.close(CloseReason::SessionConflict {
                detail: "replaced by another client".into(),
            }),
            SimFault::TemporaryBan { duration_ms } => {
                let until = now.saturating_add(i64::try_from(duration_ms).unwrap_or(i64::MAX / 2));
                acct.faults.banned_until_ms = Some(until);
                acct.close(CloseReason::TemporaryBan {
                    code: 403,
                    expires_at_ms: Some(until),
                });
            }
            SimFault::ClientOutdated => {
                acct.faults.outdated = true;
                acct.close(CloseReason::ClientOutdated);
            }
            SimFault::ClearClientOutdated => acct.faults.outdated = false,
            SimFault::FailConnects { count, reason } => {
                acct.faults
                    .fail_connects
                    .extend(std::iter::repeat_n(reason, count as usize));
            }
            SimFault::FailSends { count, failure } => {
                acct.faults
                    .fail_sends
                    .extend(std::iter::repeat_n(failure, count as usize));
            }
            SimFault::SendDelay { ms } => acct.faults.send_delay = Duration::from_millis(ms),
            SimFault::DuplicateNextInbound => acct.faults.duplicate_next = true,
            SimFault::FailPairCode { detail } => acct.faults.fail_pair_code = Some(detail),
            SimFault::RequirePasskey { required } => acct.faults.require_passkey = required,
            SimFault::RequirePasskeyConfirmation { required } => {
                acct.faults.require_passkey_confirmation = required
            }
            SimFault::ExpireQr => {
                let linking = acct.conn.as_mut().and_then(|c| match &mut c.phase {
                    Phase::Linking(l)
                        if l.qr_shown && l.passkey.is_none() && l.passkey_confirm.is_none() =>
                    {
                        Some(l)
                    }
                    _ => None,
                });
                let Some(linking) = linking else {
                    return Err(SimError::NotLinking(id.clone()));
                };
                // A stored permit: a QR loop between two codes still sees it.
                linking.expire_qr.notify_one();
            }
            SimFault::DeadLink => acct.faults.dead_link = acct.conn.is_some(),
            SimFault::Clear => acct.faults = Default::default(),
        }
        Ok(())
    }

    fn fault(&self, account: &(impl AsAccountId + ?Sized), fault: SimFault) {
        if let Err(e) = self.apply_fault(account, fault) {
            panic!("SimNetwork fault: {e}");
        }
    }

    /// Drops the connection (transient): `Closed(Network)`; the link survives.
    ///
    /// The fault methods panic on an account id the network does not know (a test bug);
    /// [`apply_fault`](Self::apply_fault) returns the error instead.
    pub fn disconnect(&self, account: &(impl AsAccountId + ?Sized)) {
        self.fault(account, SimFault::Disconnect);
    }

    /// Closes the stream with a protocol code (503, 515, ...).
    pub fn stream_error(&self, account: &(impl AsAccountId + ?Sized), code: u16) {
        self.fault(account, SimFault::StreamError { code });
    }

    /// The phone removes the device (401): `Closed(LoggedOut)` and the account is unlinked.
    pub fn log_out(&self, account: &(impl AsAccountId + ?Sized)) {
        self.fault(account, SimFault::LoggedOut);
    }

    /// Another client takes the session (440).
    pub fn session_conflict(&self, account: &(impl AsAccountId + ?Sized)) {
        self.fault(account, SimFault::SessionConflict);
    }

    /// Bans the account (403) for `duration` of simulated time.
    pub fn temporary_ban(&self, account: &(impl AsAccountId + ?Sized), duration: Duration) {
        let duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        self.fault(account, SimFault::TemporaryBan { duration_ms });
    }

    /// Declares the client outdated (405) until [`clear_faults`](Self::clear_faults).
    pub fn client_outdated(&self, account: &(impl AsAccountId + ?Sized)) {
        self.fault(account, SimFault::ClientOutdated);
    }

    /// The next `count` connects close at once with `reason`.
    pub fn fail_next_connects(
        &self,
        account: &(impl AsAccountId + ?Sized),
        count: u32,
        reason: CloseReason,
    ) {
        self.fault(account, SimFault::FailConnects { count, reason });
    }

    /// The next `count` sends fail with `failure`.
    pub fn fail_next_sends(
        &self,
        account: &(impl AsAccountId + ?Sized),
        count: u32,
        failure: SendFailure,
    ) {
        self.fault(account, SimFault::FailSends { count, failure });
    }

    /// Every send waits `delay` for its ack.
    pub fn set_send_delay(&self, account: &(impl AsAccountId + ?Sized), delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.fault(account, SimFault::SendDelay { ms });
    }

    /// The next inbound message is delivered twice.
    pub fn duplicate_next_inbound(&self, account: &(impl AsAccountId + ?Sized)) {
        self.fault(account, SimFault::DuplicateNextInbound);
    }

    /// The next pair-code request fails with `detail` (429).
    pub fn fail_next_pair_code(&self, account: &(impl AsAccountId + ?Sized), detail: &str) {
        self.fault(
            account,
            SimFault::FailPairCode {
                detail: detail.to_string(),
            },
        );
    }

    /// Linking asks for a passkey after the scan.
    pub fn require_passkey(&self, account: &(impl AsAccountId + ?Sized), required: bool) {
        self.fault(account, SimFault::RequirePasskey { required });
    }

    /// An accepted passkey assertion is followed by a verification code to confirm
    /// (`PasskeyConfirmation`) before linking completes.
    pub fn require_passkey_confirmation(
        &self,
        account: &(impl AsAccountId + ?Sized),
        required: bool,
    ) {
        self.fault(account, SimFault::RequirePasskeyConfirmation { required });
    }

    /// Makes the current connection silently dead: pings and sends time out, inbound
    /// queues for the next connection, and no `Closed` comes until the gateway reconnects.
    pub fn dead_link(&self, account: &(impl AsAccountId + ?Sized)) {
        self.fault(account, SimFault::DeadLink);
    }

    /// Clears every pending fault (bans and outdated client included).
    pub fn clear_faults(&self, account: &(impl AsAccountId + ?Sized)) {
        self.fault(account, SimFault::Clear);
    }
}
