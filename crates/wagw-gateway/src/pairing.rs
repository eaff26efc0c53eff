//! Pairing and allow-store operations of a running gateway (what `wagw pairing ...` asks
//! the daemon to do): they go through `wagw-access`'s store on the gateway's database and
//! refresh the accounts' cached view, so an approval takes effect on the next message.

use wagw_access::{AccessStore, Approved, PairingRequest, PairingSettings};
use wagw_core::AccountId;

use crate::error::GatewayError;
use crate::gateway::Gateway;

impl Gateway {
    /// The access store (pairing requests, allow entries, group activation). Writes made
    /// through it directly take effect once [`Gateway::refresh_access`] is called.
    pub fn access_store(&self) -> &AccessStore {
        &self.inner.shared.access
    }

    /// Forgets every account's cached access view (after writing the store directly).
    pub fn refresh_access(&self) {
        for account in self.inner.accounts() {
            account.invalidate_access();
        }
    }

    fn pairing_settings(&self, account: &AccountId) -> Result<PairingSettings, GatewayError> {
        self.settings()
            .account(account)
            .map(|a| a.access.pairing.clone())
            .ok_or_else(|| GatewayError::UnknownAccount(account.clone()))
    }

    /// Pending (live) pairing requests of `account`, oldest first.
    pub fn pairing_pending(
        &self,
        account: &AccountId,
    ) -> Result<Vec<PairingRequest>, GatewayError> {
        let settings = self.pairing_settings(account)?;
        let now = self.inner.shared.clock.now_ms();
        Ok(self
            .inner
            .shared
            .access
            .list_pending(account, &settings, now)?)
    }

    /// Approves the sender who received `code`: they move to the allow-store (flushed
    /// before this returns) and their next message reaches the agent.
    pub fn approve_pairing(
        &self,
        account: &AccountId,
        code: &str,
    ) -> Result<Approved, GatewayError> {
        let settings = self.pairing_settings(account)?;
        let now = self.inner.shared.clock.now_ms();
        let approved = self
            .inner
            .shared
            .access
            .approve(account, code, &settings, now)?;
        self.refresh_access();
        Ok(approved)
    }

    /// Rejects the request behind `code` (the sender gets no further codes until it expires).
    pub fn reject_pairing(
        &self,
        account: &AccountId,
        code: &str,
    ) -> Result<PairingRequest, GatewayError> {
        let settings = self.pairing_settings(account)?;
        let now = self.inner.shared.clock.now_ms();
        let rejected = self
            .inner
            .shared
            .access
            .reject(account, code, &settings, now)?;
        self.refresh_access();
        Ok(rejected)
    }
}
