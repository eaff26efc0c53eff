//! The bounded, persisted event log ([`EventLog`]) of [`GatewayEvent`]s with a live feed:
//! what the daemon's resumable event stream reads (state changes, QR and pair codes,
//! pairing challenges, failed sends).

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use wagw_core::AccountId;

use crate::error::GatewayError;
use crate::store::seq_of;

/// Something that happened in the gateway, as kept in the event log and streamed to
/// subscribers (the daemon's event stream).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GatewayEvent {
    /// An account's connection state changed.
    AccountState {
        /// The account.
        account: AccountId,
        /// The new state's label (`connecting`, `connected`, `backoff`, `stopped`, ...).
        state: String,
        /// A human explanation (close reason, next retry).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A QR code to scan for linking.
    QrCode {
        /// The account.
        account: AccountId,
        /// The QR payload.
        code: String,
    },
    /// A pair code to type on the phone.
    PairCode {
        /// The account.
        account: AccountId,
        /// The code.
        code: String,
    },
    /// WhatsApp asks for a passkey assertion to finish linking.
    PasskeyRequired {
        /// The account.
        account: AccountId,
        /// The WebAuthn request options, as JSON, for an authenticator.
        options_json: String,
    },
    /// The passkey assertion was accepted; confirm once the phone shows this code.
    PasskeyConfirmation {
        /// The account.
        account: AccountId,
        /// The verification code.
        code: String,
    },
    /// A linking step failed (pair code request, passkey assertion or confirmation); the
    /// operator decides what to try next.
    LoginError {
        /// The account.
        account: AccountId,
        /// What went wrong.
        detail: String,
    },
    /// The account was linked.
    Linked {
        /// The account.
        account: AccountId,
        /// Its phone number.
        phone: String,
    },
    /// An unknown sender was sent a pairing code.
    PairingChallenge {
        /// The account.
        account: AccountId,
        /// The sender (phone or LID).
        sender: String,
        /// The code issued.
        code: String,
    },
    /// A send failed for good.
    SendFailed {
        /// The account.
        account: AccountId,
        /// The chat.
        chat: String,
        /// Why.
        error: String,
    },
    /// An agent heartbeat ran (or was due and could not run).
    Heartbeat {
        /// The agent.
        agent: String,
        /// `ok` (HEARTBEAT_OK: nothing sent), `delivered`, `silent` (target none),
        /// `no_target` or `failed`. (A heartbeat whose account is not connected stays due.)
        outcome: String,
        /// The account it ran on, when one was live.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<AccountId>,
        /// The chat the reply went to (`delivered`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
}

/// One event with its sequence number and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    /// Monotonic sequence number; resume a stream after the last one seen.
    pub seq: u64,
    /// When it was recorded, Unix milliseconds.
    pub at_ms: i64,
    /// The event.
    pub event: GatewayEvent,
}

/// A bounded, persisted log of [`GatewayEvent`]s with a live feed.
#[derive(Debug)]
pub struct EventLog {
    tree: wagw_store::Tree,
    next_seq: AtomicU64,
    capacity: u64,
    live: broadcast::Sender<StoredEvent>,
}

impl EventLog {
    pub(crate) fn open(tree: wagw_store::Tree, capacity: u64) -> Result<EventLog, GatewayError> {
        let next_seq = match tree
            .last()
            .map_err(|e| GatewayError::store("state/events", e))?
        {
            Some((key, _)) => seq_of(&key) + 1,
            None => 1,
        };
        let (live, _) = broadcast::channel(1024);
        Ok(EventLog {
            tree,
            next_seq: AtomicU64::new(next_seq),
            capacity: capacity.max(1),
            live,
        })
    }

    /// Appends an event and publishes it to live subscribers; returns its sequence number.
    pub fn append(&self, at_ms: i64, event: GatewayEvent) -> Result<u64, GatewayError> {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let stored = StoredEvent { seq, at_ms, event };
        let bytes = serde_json::to_vec(&stored)
            .map_err(|e| GatewayError::store("state/events", format!("encode: {e}")))?;
        self.tree
            .insert(seq.to_be_bytes(), bytes)
            .map_err(|e| GatewayError::store("state/events", e))?;
        // Trim in steps of a tenth of the capacity, not on every append.
        if seq > self.capacity && seq.is_multiple_of((self.capacity / 10).max(1)) {
            let keep_from = seq + 1 - self.capacity;
            let stale: Vec<Vec<u8>> = self
                .tree
                .range(..keep_from.to_be_bytes())
                .keys()
                .filter_map(Result::ok)
                .collect();
            for key in stale {
                let _ = self.tree.remove(key);
            }
        }
        // No subscriber is not an error.
        let _ = self.live.send(stored);
        Ok(seq)
    }

    /// Events with a sequence number greater than `after`, oldest first, at most `limit`.
    pub fn since(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, GatewayError> {
        let mut out = Vec::new();
        for item in self.tree.range((after + 1).to_be_bytes()..).take(limit) {
            let (_, value) = item.map_err(|e| GatewayError::store("state/events", e))?;
            let event = serde_json::from_slice(&value)
                .map_err(|e| GatewayError::store("state/events", format!("decode: {e}")))?;
            out.push(event);
        }
        Ok(out)
    }

    /// A live feed of events appended from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<StoredEvent> {
        self.live.subscribe()
    }

    /// The sequence number of the last appended event (0 when none).
    pub fn last_seq(&self) -> u64 {
        self.next_seq.load(Ordering::Relaxed).saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use crate::store::{GatewayStore, StoreOptions};

    use super::*;

    #[test]
    fn event_log_is_bounded_resumable_and_persisted() {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions {
            event_log_capacity: 20,
            ..StoreOptions::default()
        };
        let account = AccountId::default_account();
        {
            let store = GatewayStore::open_with(dir.path(), options.clone()).unwrap();
            for i in 0..100 {
                store
                    .events()
                    .append(
                        i,
                        GatewayEvent::AccountState {
                            account: account.clone(),
                            state: format!("s{i}"),
                            detail: None,
                        },
                    )
                    .unwrap();
            }
            store.flush_blocking().unwrap();
            let all = store.events().since(0, 1_000).unwrap();
            assert!(all.len() <= 22 && all.len() >= 20, "kept {}", all.len());
            assert_eq!(all.last().unwrap().seq, 100);
            let tail = store.events().since(97, 10).unwrap();
            assert_eq!(
                tail.iter().map(|e| e.seq).collect::<Vec<_>>(),
                [98, 99, 100]
            );
        }
        let store = GatewayStore::open_with(dir.path(), options).unwrap();
        assert_eq!(store.events().last_seq(), 100);
        let mut live = store.events().subscribe();
        let seq = store
            .events()
            .append(
                1,
                GatewayEvent::QrCode {
                    account,
                    code: "q".into(),
                },
            )
            .unwrap();
        assert_eq!(seq, 101);
        assert_eq!(live.try_recv().unwrap().seq, 101);
    }
}
