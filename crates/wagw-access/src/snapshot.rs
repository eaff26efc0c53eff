//! The store state a decision reads: one account's allow-store entries, pending pairing
//! requests, group activations and the LID↔phone mapping.

use std::collections::HashMap;

use wagw_core::{Activation, Jid, Sender};

use crate::allow::{AllowList, LidMap};

/// A pairing request as the engine sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingPairing {
    /// Who asked.
    pub sender: Sender,
    /// When the code was issued (ms since the epoch); it expires `ttl` later.
    pub created_at_ms: i64,
    /// The owner rejected it: the sender gets no new code until it expires.
    pub rejected: bool,
}

impl PendingPairing {
    /// True while the request is inside its TTL at `now_ms`.
    pub fn is_live(&self, now_ms: i64, ttl_ms: i64) -> bool {
        now_ms < self.created_at_ms.saturating_add(ttl_ms)
    }
}

/// One account's store state, read once and shared by many decisions. Build it with
/// [`crate::AccessStore::snapshot`], or by hand in tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowSnapshot {
    /// Senders approved by pairing or `wagw allow add`.
    pub allowed: AllowList,
    /// Pairing requests (pending and rejected; expired ones are ignored by the engine).
    pub pairing: Vec<PendingPairing>,
    /// Stored `/activation` per group, keyed by canonical group JID (see
    /// [`AllowSnapshot::set_activation`]).
    pub activations: HashMap<String, Activation>,
    /// The LID↔phone mapping known to the transport.
    pub lid_map: LidMap,
}

impl AllowSnapshot {
    /// An empty snapshot: nothing approved, nothing pending.
    pub fn new() -> AllowSnapshot {
        AllowSnapshot::default()
    }

    /// Records a group's activation.
    pub fn set_activation(&mut self, group: &Jid, activation: Activation) {
        self.activations
            .insert(group.without_device().to_string(), activation);
    }

    /// The stored activation of a group.
    pub fn activation(&self, group: &Jid) -> Option<Activation> {
        if self.activations.is_empty() {
            return None;
        }
        self.activations
            .get(&group.without_device().to_string())
            .copied()
    }

    /// The live request of `sender` (same phone or same LID), if any.
    pub fn pairing_for(
        &self,
        sender: &Sender,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Option<&PendingPairing> {
        self.pairing.iter().find(|p| {
            p.is_live(now_ms, ttl_ms)
                && (matches!((&p.sender.phone, &sender.phone), (Some(a), Some(b)) if a == b)
                    || matches!((&p.sender.lid, &sender.lid), (Some(a), Some(b)) if a == b))
        })
    }

    /// Live, not rejected requests: what counts against `maxPending`.
    pub fn pending_count(&self, now_ms: i64, ttl_ms: i64) -> usize {
        self.pairing
            .iter()
            .filter(|p| !p.rejected && p.is_live(now_ms, ttl_ms))
            .count()
    }
}
