//! The durable webhook outbox: one record per delivery in a store tree (`wagw_store::Tree`), with ordered
//! index keys per state so the worker finds what is due and the CLI lists what is dead.
//!
//! Key layout (one tree, handed in by the gateway, which owns the database):
//! - `r<id>` → the [`DeliveryRecord`] as JSON
//! - `p<due ms, 8 bytes BE><id>` → pending, ordered by when the next attempt is due
//! - `x<dead at ms><id>` → dead-lettered, ordered by when
//! - `k<delivered at ms><id>` → delivered recently (the newest `keep_delivered` are kept)
//!
//! Every state change rewrites the record and moves its index key in one store transaction,
//! and is flushed before the call returns, so a crash never loses an accepted delivery and
//! never leaves a record without its index.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::error::AgentsError;
use crate::handoff::{Completion, CompletionRoute, DeliveryOutcome, DeliveryWaiter};
use crate::reply::AgentReply;
use crate::turn::{DeliveryId, TurnPayload};

/// How many delivered records are kept for `wagw deliveries list --state delivered`.
pub const DEFAULT_KEEP_DELIVERED: usize = 1000;

const RECORD: u8 = b'r';
const PENDING: u8 = b'p';
const DEAD: u8 = b'x';
const DELIVERED: u8 = b'k';

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its (next) attempt.
    Pending,
    /// The agent answered 2xx.
    Delivered,
    /// Gave up: a permanent error or `maxAttempts` reached. `wagw deliveries replay` retries.
    Dead,
}

impl DeliveryState {
    /// `pending`, `delivered` or `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }

    fn index_prefix(self) -> u8 {
        match self {
            DeliveryState::Pending => PENDING,
            DeliveryState::Delivered => DELIVERED,
            DeliveryState::Dead => DEAD,
        }
    }
}

impl std::fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DeliveryState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pending" => Ok(DeliveryState::Pending),
            "delivered" => Ok(DeliveryState::Delivered),
            "dead" => Ok(DeliveryState::Dead),
            other => Err(format!(
                "unknown delivery state {other:?}: use pending, delivered or dead"
            )),
        }
    }
}

/// One delivery as stored (and as `wagw deliveries list` shows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    /// The stable id (`X-Wagw-Delivery`).
    pub id: DeliveryId,
    /// The webhook agent it is for.
    pub agent_id: String,
    /// The account the turn arrived on.
    pub account_id: String,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts made so far (reset by a replay).
    pub attempts: u32,
    /// When it was enqueued, Unix ms.
    pub created_at_ms: u64,
    /// When the next attempt is due (pending only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at_ms: Option<u64>,
    /// When the last attempt was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at_ms: Option<u64>,
    /// When it was delivered or dead-lettered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at_ms: Option<u64>,
    /// The last HTTP status received, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<u16>,
    /// The last failure (or, when delivered, a problem with the replies), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// How many times an operator replayed it.
    #[serde(default)]
    pub replays: u32,
    /// The agent's replies, stored with the delivery's completion, so a crash before they
    /// reach WhatsApp does not lose them (sent after the restart).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replies: Vec<AgentReply>,
    /// When the replies were sent (or given up on, see `last_error`); `None` while they
    /// still have to go out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replies_sent_at_ms: Option<u64>,
    /// The WhatsApp message ids the replies went out as.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reply_ids: Vec<String>,
    /// The turn JSON, exactly as POSTed on every attempt.
    pub body: String,
}

impl DeliveryRecord {
    /// True when the agent's replies are stored but not yet sent.
    pub fn replies_unsent(&self) -> bool {
        self.state == DeliveryState::Delivered
            && !self.replies.is_empty()
            && self.replies_sent_at_ms.is_none()
    }

    fn index_key(&self) -> Vec<u8> {
        let at = match self.state {
            DeliveryState::Pending => self.next_attempt_at_ms.unwrap_or(0),
            DeliveryState::Delivered | DeliveryState::Dead => self.finished_at_ms.unwrap_or(0),
        };
        index_key(self.state.index_prefix(), at, &self.id)
    }

    /// The turn, decoded (e.g. into `wagw_normalize::InboundTurn`).
    pub fn turn<T: serde::de::DeserializeOwned>(&self) -> Result<T, AgentsError> {
        serde_json::from_str(&self.body).map_err(|source| AgentsError::Corrupt {
            what: "delivery body",
            key: self.id.to_string(),
            source,
        })
    }
}

fn record_key(id: &DeliveryId) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + id.as_str().len());
    key.push(RECORD);
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

fn index_key(prefix: u8, at_ms: u64, id: &DeliveryId) -> Vec<u8> {
    let mut key = Vec::with_capacity(9 + id.as_str().len());
    key.push(prefix);
    key.extend_from_slice(&at_ms.to_be_bytes());
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

/// The id inside an index key.
fn id_of_index(key: &[u8]) -> Option<DeliveryId> {
    let id = std::str::from_utf8(key.get(9..)?).ok()?;
    DeliveryId::new(id).ok()
}

fn due_of_index(key: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = key.get(1..9)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

fn decode(key: &[u8], bytes: &[u8]) -> Result<DeliveryRecord, AgentsError> {
    serde_json::from_slice(bytes).map_err(|source| AgentsError::Corrupt {
        what: "delivery",
        key: String::from_utf8_lossy(key).into_owned(),
        source,
    })
}

fn encode(record: &DeliveryRecord) -> Result<Vec<u8>, AgentsError> {
    serde_json::to_vec(record).map_err(|source| AgentsError::Encode {
        what: "a delivery record",
        source,
    })
}

/// The result of [`Outbox::enqueue`].
#[derive(Debug)]
pub struct Enqueued {
    /// The delivery id.
    pub id: DeliveryId,
    /// False when the id was already in the outbox (nothing new was stored).
    pub is_new: bool,
    /// Waits for the outcome.
    pub waiter: DeliveryWaiter,
}

/// Counts per state (for metrics and `wagw doctor`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxCounts {
    /// Waiting for an attempt.
    pub pending: usize,
    /// Dead-lettered.
    pub dead: usize,
    /// Delivered and still kept.
    pub delivered: usize,
}

struct Inner {
    tree: wagw_store::Tree,
    notify: Notify,
    waiters: Mutex<HashMap<DeliveryId, oneshot::Sender<Completion>>>,
    /// Where outcomes nobody waits for go (set by the worker).
    completions: CompletionRoute,
    keep_delivered: usize,
}

/// The durable outbox. Cheap to clone; clones share the tree and the waiters.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), wagw_agents::AgentsError> {
/// use wagw_agents::{DeliveryId, DeliveryState, Outbox, TurnPayload};
/// let db = wagw_store::Db::temporary()?;
/// let outbox = Outbox::new(db.open_tree("outbox")?);
/// let turn = TurnPayload::new(DeliveryId::new("d1")?, "work", &serde_json::json!({"body": "hi"}))?;
/// let first = outbox.enqueue("support", &turn, 1_000).await?;
/// let again = outbox.enqueue("support", &turn, 2_000).await?;
/// assert!(first.is_new && !again.is_new);
/// assert_eq!(outbox.list(DeliveryState::Pending, 10)?.len(), 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("tree", &self.inner.tree.name())
            .field("keep_delivered", &self.inner.keep_delivered)
            .finish()
    }
}

impl Outbox {
    /// An outbox over `tree` (the gateway's `outbox` tree). Pending deliveries already in it
    /// resume when a worker runs, with their ids unchanged.
    pub fn new(tree: wagw_store::Tree) -> Self {
        Self::with_keep_delivered(tree, DEFAULT_KEEP_DELIVERED)
    }

    /// Like [`Outbox::new`], keeping the newest `keep` delivered records.
    pub fn with_keep_delivered(tree: wagw_store::Tree, keep: usize) -> Self {
        Outbox {
            inner: Arc::new(Inner {
                tree,
                notify: Notify::new(),
                waiters: Mutex::new(HashMap::new()),
                completions: CompletionRoute::default(),
                keep_delivered: keep,
            }),
        }
    }

    fn waiters(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<DeliveryId, oneshot::Sender<Completion>>> {
        // A panic elsewhere while holding the lock leaves a usable map.
        self.inner
            .waiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a delivery of `turn` to webhook agent `agent_id`, due at once, and flushes it
    /// to disk before returning. Enqueueing an id that is already present stores nothing
    /// (`is_new: false`): the waiter then follows the existing delivery, or resolves at
    /// once with [`DeliveryOutcome::Duplicate`] / `Dead` if it already finished.
    pub async fn enqueue(
        &self,
        agent_id: &str,
        turn: &TurnPayload,
        now_ms: u64,
    ) -> Result<Enqueued, AgentsError> {
        let record = DeliveryRecord {
            id: turn.delivery_id.clone(),
            agent_id: agent_id.to_owned(),
            account_id: turn.account_id.clone(),
            state: DeliveryState::Pending,
            attempts: 0,
            created_at_ms: now_ms,
            next_attempt_at_ms: Some(now_ms),
            last_attempt_at_ms: None,
            finished_at_ms: None,
            last_status: None,
            last_error: None,
            replays: 0,
            replies: Vec::new(),
            replies_sent_at_ms: None,
            reply_ids: Vec::new(),
            body: turn.json.clone(),
        };
        let rkey = record_key(&record.id);
        let value = encode(&record)?;
        let ikey = record.index_key();
        // Register the waiter before the record is visible, so a fast worker cannot finish
        // the delivery before anyone listens.
        let (tx, rx) = oneshot::channel();
        self.waiters().insert(record.id.clone(), tx);
        let existing = self.inner.tree.transaction(|t| {
            if let Some(old) = t.get(&rkey)? {
                return Ok(Some(old));
            }
            t.insert(rkey.as_slice(), value.as_slice())?;
            t.insert(ikey.as_slice(), [])?;
            Ok::<_, AgentsError>(None)
        });
        let existing = match existing {
            Ok(existing) => existing,
            Err(e) => {
                self.waiters().remove(&record.id);
                return Err(e);
            }
        };
        let waiter = DeliveryWaiter::new(rx, self.inner.completions.clone());
        match existing {
            None => {
                self.inner.tree.flush_async().await?;
                tracing::debug!(target: "wagw::agents", delivery = %record.id, agent = agent_id, "delivery enqueued");
                self.inner.notify.notify_one();
                Ok(Enqueued {
                    id: record.id,
                    is_new: true,
                    waiter,
                })
            }
            Some(old) => {
                let old = decode(&rkey, &old)?;
                let finished = match old.state {
                    DeliveryState::Pending => None,
                    DeliveryState::Delivered => Some(DeliveryOutcome::Duplicate),
                    DeliveryState::Dead => Some(DeliveryOutcome::Dead {
                        error: old.last_error.clone().unwrap_or_default(),
                    }),
                };
                if let Some(outcome) = finished
                    && let Some(tx) = self.waiters().remove(&old.id)
                {
                    // A duplicate's outcome carries no replies: nothing to route if unread.
                    let _ = tx.send(Completion {
                        record: old.clone(),
                        outcome,
                    });
                }
                tracing::debug!(target: "wagw::agents", delivery = %old.id, state = %old.state, "duplicate enqueue ignored");
                Ok(Enqueued {
                    id: old.id,
                    is_new: false,
                    waiter,
                })
            }
        }
    }

    /// The delivery with this id, if it is still stored.
    pub fn get(&self, id: &DeliveryId) -> Result<Option<DeliveryRecord>, AgentsError> {
        let key = record_key(id);
        match self.inner.tree.get(&key)? {
            Some(bytes) => Ok(Some(decode(&key, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Up to `limit` deliveries in `state`: pending by due time (soonest first); dead and
    /// delivered newest first.
    pub fn list(
        &self,
        state: DeliveryState,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, AgentsError> {
        let prefix = [state.index_prefix()];
        let iter = self.inner.tree.scan_prefix(prefix);
        let keys: Box<dyn Iterator<Item = wagw_store::Result<wagw_store::Entry>>> = match state {
            DeliveryState::Pending => Box::new(iter),
            DeliveryState::Dead | DeliveryState::Delivered => Box::new(iter.rev()),
        };
        let mut out = Vec::new();
        for entry in keys {
            if out.len() >= limit {
                break;
            }
            let (key, _) = entry?;
            if let Some(id) = id_of_index(&key)
                && let Some(record) = self.get(&id)?
            {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// How many deliveries are in each state.
    pub fn counts(&self) -> Result<OutboxCounts, AgentsError> {
        let count = |p: u8| -> Result<usize, AgentsError> {
            let mut n = 0;
            for entry in self.inner.tree.scan_prefix([p]) {
                entry?;
                n += 1;
            }
            Ok(n)
        };
        Ok(OutboxCounts {
            pending: count(PENDING)?,
            dead: count(DEAD)?,
            delivered: count(DELIVERED)?,
        })
    }

    /// Puts a dead delivery back in the queue, due at once, with its id, body and agent
    /// unchanged and its attempt count reset. Its outcome arrives as a [`Completion`].
    pub async fn replay(
        &self,
        id: &DeliveryId,
        now_ms: u64,
    ) -> Result<DeliveryRecord, AgentsError> {
        let rkey = record_key(id);
        let record = self.inner.tree.transaction(|t| {
            let Some(bytes) = t.get(&rkey)? else {
                return Err(AgentsError::DeliveryNotFound { id: id.to_string() });
            };
            let mut record = decode(&rkey, &bytes)?;
            if record.state != DeliveryState::Dead {
                return Err(AgentsError::NotDead {
                    id: id.to_string(),
                    state: record.state,
                });
            }
            t.remove(record.index_key())?;
            record.state = DeliveryState::Pending;
            record.attempts = 0;
            record.replays += 1;
            record.next_attempt_at_ms = Some(now_ms);
            record.finished_at_ms = None;
            let value = encode(&record)?;
            t.insert(rkey.as_slice(), value)?;
            t.insert(record.index_key(), [])?;
            Ok(record)
        })?;
        self.inner.tree.flush_async().await?;
        tracing::info!(target: "wagw::agents", delivery = %id, agent = %record.agent_id, "dead delivery replayed");
        self.inner.notify.notify_one();
        Ok(record)
    }

    /// Pending deliveries due at `now_ms`, soonest first, skipping `exclude` (in flight).
    pub(crate) fn due(
        &self,
        now_ms: u64,
        exclude: &HashSet<DeliveryId>,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, AgentsError> {
        let mut out = Vec::new();
        for entry in self.inner.tree.scan_prefix([PENDING]) {
            if out.len() >= limit {
                break;
            }
            let (key, _) = entry?;
            if due_of_index(&key).is_none_or(|due| due > now_ms) {
                break;
            }
            let Some(id) = id_of_index(&key) else {
                continue;
            };
            if exclude.contains(&id) {
                continue;
            }
            if let Some(record) = self.get(&id)? {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// When the soonest pending delivery not in `exclude` is due.
    pub(crate) fn next_due(
        &self,
        exclude: &HashSet<DeliveryId>,
    ) -> Result<Option<u64>, AgentsError> {
        for entry in self.inner.tree.scan_prefix([PENDING]) {
            let (key, _) = entry?;
            match id_of_index(&key) {
                Some(id) if exclude.contains(&id) => continue,
                _ => return Ok(due_of_index(&key)),
            }
        }
        Ok(None)
    }

    /// Agents with deliveries waiting for a retry (pending after at least one failed
    /// attempt): the ones the worker is waiting to see recover.
    pub(crate) fn agents_retrying(&self) -> Result<HashSet<String>, AgentsError> {
        let mut out = HashSet::new();
        for entry in self.inner.tree.scan_prefix([PENDING]) {
            let (key, _) = entry?;
            if let Some(id) = id_of_index(&key)
                && let Some(record) = self.get(&id)?
                && record.attempts > 0
            {
                out.insert(record.agent_id);
            }
        }
        Ok(out)
    }

    /// Makes `agent`'s deliveries that wait in backoff due at `now_ms` (the agent answered
    /// again, so waiting out the backoff only delays recovery). The worker's concurrency
    /// still paces them. Deliveries in `exclude` (in flight) are left alone: their attempt
    /// rewrites them. Returns how many were moved.
    pub(crate) async fn hurry(
        &self,
        agent: &str,
        now_ms: u64,
        exclude: &HashSet<DeliveryId>,
    ) -> Result<usize, AgentsError> {
        let mut moved = Vec::new();
        for entry in self.inner.tree.scan_prefix([PENDING]) {
            let (key, _) = entry?;
            if due_of_index(&key).is_none_or(|due| due <= now_ms) {
                continue;
            }
            let Some(id) = id_of_index(&key) else {
                continue;
            };
            if exclude.contains(&id) {
                continue;
            }
            if let Some(record) = self.get(&id)?
                && record.agent_id == agent
                && record.state == DeliveryState::Pending
            {
                let mut after = record.clone();
                after.next_attempt_at_ms = Some(now_ms);
                moved.push((record, after));
            }
        }
        if moved.is_empty() {
            return Ok(0);
        }
        let writes = moved
            .iter()
            .map(|(before, after)| {
                Ok((
                    before.index_key(),
                    after.index_key(),
                    record_key(&after.id),
                    encode(after)?,
                ))
            })
            .collect::<Result<Vec<_>, AgentsError>>()?;
        self.inner.tree.transaction(|t| {
            for (old_index, new_index, rkey, value) in &writes {
                t.remove(old_index.as_slice())?;
                t.insert(rkey.as_slice(), value.as_slice())?;
                t.insert(new_index.as_slice(), [])?;
            }
            Ok::<_, AgentsError>(())
        })?;
        self.inner.tree.flush_async().await?;
        self.inner.notify.notify_one();
        Ok(moved.len())
    }

    /// Records that a delivered turn's replies went out (`ids`, their WhatsApp message
    /// ids) and what of them could not be sent (`failures`, shown as `last_error`), so they
    /// are not sent again after a restart. Returns false when there is no such delivered
    /// record (not a webhook turn, or trimmed).
    pub async fn replies_sent(
        &self,
        id: &DeliveryId,
        ids: &[String],
        failures: &[String],
        now_ms: u64,
    ) -> Result<bool, AgentsError> {
        let Some(before) = self.get(id)? else {
            return Ok(false);
        };
        if before.state != DeliveryState::Delivered {
            return Ok(false);
        }
        let mut after = before.clone();
        after.replies_sent_at_ms = Some(now_ms);
        after.reply_ids.extend(ids.iter().cloned());
        if !failures.is_empty() {
            let note = format!("replies not sent: {}", failures.join("; "));
            after.last_error = Some(match before.last_error.as_deref() {
                Some(earlier) if !earlier.is_empty() => format!("{earlier}; {note}"),
                _ => note,
            });
        }
        self.update(&before, &after).await?;
        Ok(true)
    }

    /// Delivered turns whose replies are stored but were never sent (the process stopped in
    /// between), oldest first.
    pub fn unsent_replies(&self) -> Result<Vec<DeliveryRecord>, AgentsError> {
        let mut out = Vec::new();
        for entry in self.inner.tree.scan_prefix([DELIVERED]) {
            let (key, _) = entry?;
            if let Some(id) = id_of_index(&key)
                && let Some(record) = self.get(&id)?
                && record.replies_unsent()
            {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// Rewrites a pending record after an attempt (to its new state), moving its index key.
    pub(crate) async fn update(
        &self,
        before: &DeliveryRecord,
        after: &DeliveryRecord,
    ) -> Result<(), AgentsError> {
        let rkey = record_key(&after.id);
        let value = encode(after)?;
        let (old_index, new_index) = (before.index_key(), after.index_key());
        self.inner.tree.transaction(|t| {
            t.remove(old_index.as_slice())?;
            t.insert(rkey.as_slice(), value.as_slice())?;
            t.insert(new_index.as_slice(), [])?;
            Ok::<_, AgentsError>(())
        })?;
        if after.state == DeliveryState::Delivered {
            self.trim_delivered()?;
        }
        self.inner.tree.flush_async().await?;
        Ok(())
    }

    /// Drops the oldest delivered records beyond `keep_delivered`.
    fn trim_delivered(&self) -> Result<(), AgentsError> {
        let total = self.inner.tree.scan_prefix([DELIVERED]).count();
        let excess = total.saturating_sub(self.inner.keep_delivered);
        if excess == 0 {
            return Ok(());
        }
        let mut batch = wagw_store::Batch::default();
        let mut dropped = 0;
        for entry in self.inner.tree.scan_prefix([DELIVERED]) {
            if dropped >= excess {
                break;
            }
            let (key, _) = entry?;
            if let Some(id) = id_of_index(&key) {
                // Replies still to send are kept until they went out.
                if self.get(&id)?.is_some_and(|r| r.replies_unsent()) {
                    continue;
                }
                batch.remove(record_key(&id));
            }
            batch.remove(key);
            dropped += 1;
        }
        self.inner.tree.apply_batch(batch)?;
        Ok(())
    }

    /// Hands a finished delivery's outcome to its waiter if one is listening; otherwise
    /// returns it as a [`Completion`] for the completion channel.
    pub(crate) fn hand_off(
        &self,
        record: DeliveryRecord,
        outcome: DeliveryOutcome,
    ) -> Option<Completion> {
        let waiter = self.waiters().remove(&record.id);
        match waiter {
            Some(tx) => tx.send(Completion { record, outcome }).err(),
            None => Some(Completion { record, outcome }),
        }
    }

    /// Routes outcomes nobody waits for (including those a waiter dropped unread) to `tx`.
    pub(crate) fn route_completions(&self, tx: mpsc::UnboundedSender<Completion>) {
        *self
            .inner
            .completions
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(tx);
    }

    /// Wakes the worker (something was enqueued or replayed).
    pub(crate) async fn notified(&self) {
        self.inner.notify.notified().await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::handoff::Waited;
    use std::time::Duration;

    fn outbox(keep: usize) -> Outbox {
        let db = wagw_store::Db::temporary().unwrap();
        Outbox::with_keep_delivered(db.open_tree("outbox").unwrap(), keep)
    }

    fn turn(id: &str) -> TurnPayload {
        TurnPayload::new(
            DeliveryId::new(id).unwrap(),
            "acc",
            &serde_json::json!({"body": id}),
        )
        .unwrap()
    }

    fn finish(mut r: DeliveryRecord, state: DeliveryState, at: u64) -> DeliveryRecord {
        r.state = state;
        r.attempts += 1;
        r.finished_at_ms = Some(at);
        r.next_attempt_at_ms = None;
        r
    }

    #[tokio::test]
    async fn due_order_and_exclusion() {
        let o = outbox(10);
        for (i, id) in ["c", "a", "b"].iter().enumerate() {
            o.enqueue("w", &turn(id), 100 + i as u64).await.unwrap();
        }
        let none = HashSet::new();
        let due: Vec<String> = o
            .due(101, &none, 10)
            .unwrap()
            .into_iter()
            .map(|r| r.id.to_string())
            .collect();
        assert_eq!(due, ["c", "a"]);
        let skip: HashSet<_> = [DeliveryId::new("c").unwrap()].into();
        assert_eq!(o.due(1000, &skip, 1).unwrap()[0].id.as_str(), "a");
        assert_eq!(o.next_due(&skip).unwrap(), Some(101));
        assert_eq!(o.next_due(&none).unwrap(), Some(100));
    }

    #[tokio::test]
    async fn transitions_move_the_index_and_trim_delivered() {
        let o = outbox(2);
        for id in ["a", "b", "c", "d"] {
            o.enqueue("w", &turn(id), 0).await.unwrap();
        }
        for (i, id) in ["a", "b", "c"].iter().enumerate() {
            let before = o.get(&DeliveryId::new(*id).unwrap()).unwrap().unwrap();
            o.update(
                &before,
                &finish(before.clone(), DeliveryState::Delivered, 10 + i as u64),
            )
            .await
            .unwrap();
        }
        let before = o.get(&DeliveryId::new("d").unwrap()).unwrap().unwrap();
        o.update(&before, &finish(before.clone(), DeliveryState::Dead, 50))
            .await
            .unwrap();
        assert_eq!(
            o.counts().unwrap(),
            OutboxCounts {
                pending: 0,
                dead: 1,
                delivered: 2
            }
        );
        let delivered: Vec<String> = o
            .list(DeliveryState::Delivered, 10)
            .unwrap()
            .into_iter()
            .map(|r| r.id.to_string())
            .collect();
        assert_eq!(delivered, ["c", "b"], "newest first, oldest trimmed");
        assert!(o.get(&DeliveryId::new("a").unwrap()).unwrap().is_none());
        // A finished id enqueued again stores nothing and resolves as a duplicate at once.
        let again = o.enqueue("w", &turn("b"), 99).await.unwrap();
        assert!(!again.is_new);
        assert_eq!(
            again.waiter.wait(Duration::from_secs(1)).await,
            Waited::Done(DeliveryOutcome::Duplicate)
        );
    }

    #[tokio::test]
    async fn replay_only_dead() {
        let o = outbox(10);
        o.enqueue("w", &turn("a"), 0).await.unwrap();
        let id = DeliveryId::new("a").unwrap();
        assert!(matches!(
            o.replay(&id, 5).await,
            Err(AgentsError::NotDead {
                state: DeliveryState::Pending,
                ..
            })
        ));
        assert!(matches!(
            o.replay(&DeliveryId::new("zz").unwrap(), 5).await,
            Err(AgentsError::DeliveryNotFound { .. })
        ));
        let before = o.get(&id).unwrap().unwrap();
        let mut dead = finish(before.clone(), DeliveryState::Dead, 7);
        dead.last_error = Some("HTTP 500".into());
        o.update(&before, &dead).await.unwrap();
        let replayed = o.replay(&id, 9).await.unwrap();
        assert_eq!(
            (replayed.state, replayed.attempts, replayed.replays),
            (DeliveryState::Pending, 0, 1)
        );
        assert_eq!(replayed.body, before.body);
        assert_eq!(o.due(9, &HashSet::new(), 10).unwrap().len(), 1);
        assert_eq!(o.counts().unwrap().dead, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn waiter_deadline_and_late_outcome_on_paused_time() {
        let o = outbox(10);
        let e = o.enqueue("w", &turn("a"), 0).await.unwrap();
        let rec = o.get(&e.id).unwrap().unwrap();
        let started = tokio::time::Instant::now();
        let o2 = o.clone();
        // The outcome lands 10 virtual seconds in, inside a 30 s deadline.
        let finisher = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            o2.hand_off(rec, DeliveryOutcome::Duplicate)
        });
        assert_eq!(
            e.waiter.wait(Duration::from_secs(30)).await,
            Waited::Done(DeliveryOutcome::Duplicate)
        );
        assert_eq!(started.elapsed(), Duration::from_secs(10));
        assert!(finisher.await.unwrap().is_none(), "the waiter took it");
        // Past the deadline the waiter reports Pending and the outcome becomes a completion.
        let e = o.enqueue("w", &turn("b"), 0).await.unwrap();
        assert_eq!(
            e.waiter.wait(Duration::from_secs(30)).await,
            Waited::Pending
        );
        let rec = o.get(&DeliveryId::new("b").unwrap()).unwrap().unwrap();
        assert!(o.hand_off(rec, DeliveryOutcome::Duplicate).is_some());
    }

    #[tokio::test]
    async fn hand_off_goes_to_exactly_one_place() {
        let o = outbox(10);
        let e = o.enqueue("w", &turn("a"), 0).await.unwrap();
        let rec = o.get(&e.id).unwrap().unwrap();
        // The waiter gave up: the outcome must come back as a completion.
        assert_eq!(
            e.waiter.wait(Duration::from_millis(1)).await,
            Waited::Pending
        );
        let c = o
            .hand_off(rec.clone(), DeliveryOutcome::Duplicate)
            .expect("completion");
        assert_eq!(c.record.id, rec.id);
        // A live waiter takes it instead.
        let e = o.enqueue("w", &turn("b"), 0).await.unwrap();
        let rec = o.get(&e.id).unwrap().unwrap();
        assert!(
            o.hand_off(rec, DeliveryOutcome::Dead { error: "x".into() })
                .is_none()
        );
        assert!(matches!(
            e.waiter.wait(Duration::from_secs(1)).await,
            Waited::Done(DeliveryOutcome::Dead { .. })
        ));
    }

    #[tokio::test]
    async fn stored_replies_stay_until_marked_sent_and_are_never_trimmed_before() {
        let o = outbox(1);
        let mut unsent = Vec::new();
        for id in ["r1", "r2", "r3"] {
            let e = o.enqueue("w", &turn(id), 0).await.unwrap();
            let before = o.get(&e.id).unwrap().unwrap();
            let mut after = finish(before.clone(), DeliveryState::Delivered, 10);
            if id != "r3" {
                after.replies = vec![crate::AgentReply {
                    text: Some(format!("answer {id}")),
                    ..Default::default()
                }];
                unsent.push(e.id.clone());
            }
            o.update(&before, &after).await.unwrap();
        }
        // keep_delivered is 1, yet the two with unsent replies are kept.
        let waiting: Vec<DeliveryId> = o
            .unsent_replies()
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(waiting, unsent);
        assert!(
            o.replies_sent(&unsent[0], &["M1".into()], &[], 20)
                .await
                .unwrap()
        );
        let r1 = o.get(&unsent[0]).unwrap();
        // Sent, so now trimmable: it may be gone already, and is never listed as unsent.
        if let Some(r1) = r1 {
            assert_eq!(
                (r1.replies_sent_at_ms, r1.reply_ids),
                (Some(20), vec!["M1".to_owned()])
            );
        }
        let waiting: Vec<DeliveryId> = o
            .unsent_replies()
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(waiting, vec![unsent[1].clone()]);
        // Failures are noted; a pending delivery is not marked.
        assert!(
            o.replies_sent(&unsent[1], &[], &["media[0]: refused".into()], 30)
                .await
                .unwrap()
        );
        let r2 = o.get(&unsent[1]).unwrap().unwrap();
        assert_eq!(
            r2.last_error.as_deref(),
            Some("replies not sent: media[0]: refused")
        );
        let pending = o.enqueue("w", &turn("p"), 0).await.unwrap();
        assert!(!o.replies_sent(&pending.id, &[], &[], 40).await.unwrap());
    }

    #[tokio::test]
    async fn an_outcome_a_dropped_waiter_did_not_read_reaches_the_completions() {
        let o = outbox(10);
        let (tx, mut completions) = mpsc::unbounded_channel();
        o.route_completions(tx);
        let e = o.enqueue("w", &turn("c"), 0).await.unwrap();
        let rec = o.get(&e.id).unwrap().unwrap();
        let replies = vec![crate::AgentReply {
            text: Some("the answer".into()),
            ..Default::default()
        }];
        let outcome = DeliveryOutcome::Delivered {
            status: 200,
            replies,
        };
        // The outcome lands in the waiter, whose caller then stops waiting without reading.
        assert!(o.hand_off(rec.clone(), outcome.clone()).is_none());
        drop(e);
        let c = completions.try_recv().expect("routed to the completions");
        assert_eq!((c.record.id, c.outcome), (rec.id, outcome));
        assert!(completions.try_recv().is_err(), "exactly once");
    }
}
