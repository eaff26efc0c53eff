//! The active-listener registry: which accounts have a live connection right now.
//!
//! A send looks its account up here and fails at once, with the command that fixes it,
//! when there is no live connection, instead of waiting on a socket that is not there.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use wagw_core::{AccountId, WaSocket};

use crate::error::GatewayError;

/// Live sockets by account.
#[derive(Default)]
pub struct ListenerRegistry {
    live: RwLock<HashMap<AccountId, Arc<dyn WaSocket>>>,
}

impl std::fmt::Debug for ListenerRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let live = self.live.read().unwrap_or_else(|p| p.into_inner());
        f.debug_set().entries(live.keys()).finish()
    }
}

impl ListenerRegistry {
    /// Marks `account` live with `socket` (on `Connected`).
    pub fn register(&self, account: &AccountId, socket: Arc<dyn WaSocket>) {
        self.live
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account.clone(), socket);
    }

    /// Marks `account` not live (on `Closed`).
    pub fn unregister(&self, account: &AccountId) {
        self.live
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(account);
    }

    /// The live socket of `account`, or [`GatewayError::NoActiveListener`].
    pub fn get(&self, account: &AccountId) -> Result<Arc<dyn WaSocket>, GatewayError> {
        self.live
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .cloned()
            .ok_or_else(|| GatewayError::NoActiveListener(account.clone()))
    }

    /// True when `account` has a live connection.
    pub fn is_live(&self, account: &AccountId) -> bool {
        self.live
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_listener_names_the_fix() {
        let reg = ListenerRegistry::default();
        let account = AccountId::parse("work").unwrap_or_default();
        let err = match reg.get(&account) {
            Err(e) => e.to_string(),
            Ok(_) => String::from("unexpectedly live"),
        };
        assert_eq!(
            err,
            "No active WhatsApp listener for account work. Start the gateway, then link it with: wagw channels login --account work"
        );
        assert!(!reg.is_live(&account));
    }
}
