//! The stores, on the gateway's database (`wagw-store`): pairing requests, the allow-store and group
//! activation, one tree each, keyed by account.
//!
//! Every write is flushed to disk before the call returns, so an approval that returned is
//! never lost to a crash. Read-modify-write sequences run under one in-process lock (only
//! the gateway process opens the database).

mod pairing;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wagw_core::{AccountId, Activation, Jid, JidKind, Lid};

use crate::AccessError;
use crate::allow::{AllowEntry, AllowList};
use crate::snapshot::{AllowSnapshot, PendingPairing};

pub use pairing::{
    ALPHABET, Approved, CODE_LEN, ChallengeOutcome, FollowUp, PairingRequest, PairingStatus,
    generate_code,
};

/// Tree of pairing requests: `<account>\0<CODE>` → [`PairingRequest`] (JSON).
pub const PAIRING_TREE: &str = "pairing";
/// Tree of approved senders: `<account>\0<+E164 or lid>` → [`AllowRecord`] (JSON).
pub const ALLOW_TREE: &str = "allow";
/// Tree of group activations: `<account>\0<group JID>` → [`ActivationRecord`] (JSON).
pub const ACTIVATION_TREE: &str = "activation";

/// How an allow-store entry got there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllowSource {
    /// Approved pairing request.
    Pairing,
    /// `wagw allow add` (or the API).
    Manual,
}

/// One allow-store entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowRecord {
    /// The sender: a phone number or a LID (never `"*"`).
    pub entry: AllowEntry,
    /// The sender's LID when `entry` is their phone number (approved by pairing): it admits
    /// the same person when WhatsApp shows only the LID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lid: Option<Lid>,
    /// When it was added (ms since the epoch).
    pub added_at_ms: i64,
    /// How.
    pub source: AllowSource,
    /// The sender's push name at pairing time, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One stored group activation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivationRecord {
    /// The group.
    pub group: Jid,
    /// Its activation.
    pub activation: Activation,
    /// When it was set (ms since the epoch).
    pub set_at_ms: i64,
}

/// The access stores of one gateway. Cheap to share behind an `Arc`.
///
/// ```
/// use wagw_access::{AccessStore, AllowEntry};
/// use wagw_core::AccountId;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let db = wagw_store::Db::temporary()?;
/// let store = AccessStore::open(&db)?;
/// let acct = AccountId::default();
/// store.add_allowed(&acct, AllowEntry::parse("+15551234567")?, None, 0)?;
/// assert_eq!(store.list_allowed(&acct)?.len(), 1);
/// # Ok(()) }
/// ```
pub struct AccessStore {
    pairing: wagw_store::Tree,
    allow: wagw_store::Tree,
    activation: wagw_store::Tree,
    lock: Mutex<()>,
    cap_reached: Mutex<HashMap<AccountId, u64>>,
}

impl std::fmt::Debug for AccessStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessStore").finish_non_exhaustive()
    }
}

fn key(account: &AccountId, rest: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(account.as_str().len() + 1 + rest.len());
    k.extend_from_slice(account.as_str().as_bytes());
    k.push(0);
    k.extend_from_slice(rest.as_bytes());
    k
}

fn prefix(account: &AccountId) -> Vec<u8> {
    key(account, "")
}

fn decode<T: DeserializeOwned>(tree: &'static str, k: &[u8], v: &[u8]) -> Result<T, AccessError> {
    serde_json::from_slice(v).map_err(|e| AccessError::Corrupt {
        tree,
        key: String::from_utf8_lossy(k).replace('\0', "/"),
        reason: e.to_string(),
    })
}

fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    // Serializing these plain records cannot fail (no maps with non-string keys).
    serde_json::to_vec(v).unwrap_or_default()
}

impl AccessStore {
    /// Opens (creating if needed) the `pairing`, `allow` and `activation` trees in `db`.
    pub fn open(db: &wagw_store::Db) -> Result<AccessStore, AccessError> {
        Ok(AccessStore {
            pairing: db.open_tree(PAIRING_TREE)?,
            allow: db.open_tree(ALLOW_TREE)?,
            activation: db.open_tree(ACTIVATION_TREE)?,
            lock: Mutex::new(()),
            cap_reached: Mutex::new(HashMap::new()),
        })
    }

    fn guard(&self) -> MutexGuard<'_, ()> {
        // A panic while holding the lock leaves no partial state (each store write is
        // atomic), so a poisoned lock is safe to reuse.
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn flush(&self) -> Result<(), AccessError> {
        // One flush (a commit) covers every tree of the database.
        self.pairing.flush()?;
        Ok(())
    }

    /// The store state the engine needs for `account`. The LID mapping is left empty: the
    /// transport knows it, the caller fills [`AllowSnapshot::lid_map`].
    pub fn snapshot(&self, account: &AccountId) -> Result<AllowSnapshot, AccessError> {
        let mut snap = AllowSnapshot::new();
        snap.allowed = self
            .list_allowed(account)?
            .into_iter()
            .flat_map(|r| std::iter::once(r.entry).chain(r.lid.map(AllowEntry::Lid)))
            .collect::<AllowList>();
        snap.pairing = self
            .scan_pairing(account)?
            .into_iter()
            .map(|r| PendingPairing {
                sender: r.sender,
                created_at_ms: r.created_at_ms,
                rejected: r.status == PairingStatus::Rejected,
            })
            .collect();
        for r in self.list_activations(account)? {
            snap.set_activation(&r.group, r.activation);
        }
        Ok(snap)
    }

    // -----------------------------------------------------------------------------------
    // Allow-store
    // -----------------------------------------------------------------------------------

    /// Every allow-store entry of `account`, in key order (phones, then LIDs).
    pub fn list_allowed(&self, account: &AccountId) -> Result<Vec<AllowRecord>, AccessError> {
        self.allow
            .scan_prefix(prefix(account))
            .map(|kv| {
                let (k, v) = kv?;
                decode(ALLOW_TREE, &k, &v)
            })
            .collect()
    }

    /// Adds a sender to the allow-store; `Ok(false)` when it was already there. `"*"` is
    /// refused: a wildcard belongs in `allowFrom`, where it is visible.
    pub fn add_allowed(
        &self,
        account: &AccountId,
        entry: AllowEntry,
        name: Option<String>,
        now_ms: i64,
    ) -> Result<bool, AccessError> {
        let record = AllowRecord {
            entry,
            lid: None,
            added_at_ms: now_ms,
            source: AllowSource::Manual,
            name,
        };
        if record.entry == AllowEntry::Any {
            return Err(AccessError::WildcardInStore);
        }
        let k = key(account, &record.entry.to_string());
        let _g = self.guard();
        if self.allow.contains_key(&k)? {
            return Ok(false);
        }
        self.allow.insert(k, encode(&record))?;
        self.flush()?;
        tracing::info!(target: "wagw::access", account = %account, entry = %record.entry, source = ?record.source, "allow-store entry added");
        Ok(true)
    }

    /// Removes a sender from the allow-store; `Ok(false)` when it was not there. Removing
    /// a LID also removes the phone entry that carries it as its alias, so the person is
    /// really gone.
    pub fn remove_allowed(
        &self,
        account: &AccountId,
        entry: &AllowEntry,
    ) -> Result<bool, AccessError> {
        let k = key(account, &entry.to_string());
        let _g = self.guard();
        let mut removed = self.allow.remove(k)?.is_some();
        if let AllowEntry::Lid(lid) = entry {
            for r in self.list_allowed(account)? {
                if r.lid.as_ref() == Some(lid) {
                    removed |= self
                        .allow
                        .remove(key(account, &r.entry.to_string()))?
                        .is_some();
                }
            }
        }
        if removed {
            self.flush()?;
            tracing::info!(target: "wagw::access", account = %account, entry = %entry, "allow-store entry removed");
        }
        Ok(removed)
    }

    // -----------------------------------------------------------------------------------
    // Group activation
    // -----------------------------------------------------------------------------------

    fn group_key(account: &AccountId, group: &Jid) -> Result<Vec<u8>, AccessError> {
        if group.kind() != JidKind::Group {
            return Err(AccessError::NotAGroup {
                input: group.to_string(),
            });
        }
        Ok(key(account, &group.without_device().to_string()))
    }

    /// Stores a group's activation (`/activation mention|always`).
    pub fn set_activation(
        &self,
        account: &AccountId,
        group: &Jid,
        activation: Activation,
        now_ms: i64,
    ) -> Result<(), AccessError> {
        let k = Self::group_key(account, group)?;
        let record = ActivationRecord {
            group: group.without_device(),
            activation,
            set_at_ms: now_ms,
        };
        let _g = self.guard();
        self.activation.insert(k, encode(&record))?;
        self.flush()?;
        tracing::info!(target: "wagw::access", account = %account, group = %group, activation = ?activation, "group activation set");
        Ok(())
    }

    /// A group's stored activation, if any.
    pub fn get_activation(
        &self,
        account: &AccountId,
        group: &Jid,
    ) -> Result<Option<Activation>, AccessError> {
        let k = Self::group_key(account, group)?;
        match self.activation.get(&k)? {
            Some(v) => Ok(Some(
                decode::<ActivationRecord>(ACTIVATION_TREE, &k, &v)?.activation,
            )),
            None => Ok(None),
        }
    }

    /// Forgets a group's activation (back to its `requireMention`); `Ok(false)` if unset.
    pub fn clear_activation(&self, account: &AccountId, group: &Jid) -> Result<bool, AccessError> {
        let k = Self::group_key(account, group)?;
        let _g = self.guard();
        let removed = self.activation.remove(k)?.is_some();
        if removed {
            self.flush()?;
        }
        Ok(removed)
    }

    /// Every stored activation of `account`.
    pub fn list_activations(
        &self,
        account: &AccountId,
    ) -> Result<Vec<ActivationRecord>, AccessError> {
        self.activation
            .scan_prefix(prefix(account))
            .map(|kv| {
                let (k, v) = kv?;
                decode(ACTIVATION_TREE, &k, &v)
            })
            .collect()
    }

    /// How many senders were turned away by the pending cap since this store was opened.
    pub fn cap_reached_count(&self, account: &AccountId) -> u64 {
        self.cap_reached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .copied()
            .unwrap_or(0)
    }
}
