//! The durable, bounded event log behind `GET /v1/events`: inbound turns (for `events`
//! agents) and status changes, with ids that only grow, so a client reconnecting with
//! `Last-Event-ID` gets exactly what it missed.
//!
//! Key layout in its store tree (`wagw_store::Tree`): `e<id, 8 bytes BE>` → [`Event`] JSON; `m` → the next id
//! (kept even when every event is trimmed, so ids are never reused).

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{Mutex, broadcast};

use crate::backoff::{Clock, SystemClock};
use crate::error::AgentsError;
use crate::sse::sse_frame;

/// Default number of events kept.
pub const DEFAULT_EVENT_CAPACITY: usize = 10_000;
/// How many live events a slow subscriber may fall behind before it re-reads the log.
const BROADCAST_CAPACITY: usize = 1024;
/// Events read from the store per batch while a cursor catches up.
const CATCH_UP_BATCH: usize = 256;
const EVENT: u8 = b'e';
const NEXT_ID: &[u8] = b"m";

/// One logged event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Its id: 1, 2, 3, … never reused.
    pub id: u64,
    /// What happened (`turn`, `status`, …): the SSE `event:` name.
    pub kind: String,
    /// When it was appended, Unix ms.
    pub at_ms: u64,
    /// The payload (a turn, a status object, …): the SSE `data:`.
    pub data: Value,
}

impl Event {
    /// The event as one SSE frame: `id: <id>`, `event: <kind>`, `data: <data as JSON>`.
    pub fn to_sse(&self) -> String {
        sse_frame(Some(self.id), Some(&self.kind), &self.data.to_string())
    }
}

/// A page of [`EventLog::read_after`].
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    /// Events with ids after the one asked for, oldest first.
    pub events: Vec<Event>,
    /// How many events after the asked-for id were trimmed before they could be read
    /// (the client was away longer than the log's capacity covers).
    pub missed: u64,
}

/// What an [`EventCursor`] yields.
#[derive(Debug, Clone, PartialEq)]
pub enum CursorItem {
    /// The next event.
    Event(Event),
    /// `count` events were trimmed before this client could read them; the stream resumes
    /// after `resume_after`.
    Missed {
        /// How many were lost.
        count: u64,
        /// The last lost id (use it as the SSE `id:` of the notice).
        resume_after: u64,
    },
}

impl CursorItem {
    /// The item as an SSE frame (`event: missed` with `{"count": n}` for a gap).
    pub fn to_sse(&self) -> String {
        match self {
            CursorItem::Event(e) => e.to_sse(),
            CursorItem::Missed {
                count,
                resume_after,
            } => sse_frame(
                Some(*resume_after),
                Some("missed"),
                &serde_json::json!({ "count": count }).to_string(),
            ),
        }
    }
}

struct Inner {
    tree: wagw_store::Tree,
    capacity: usize,
    clock: Arc<dyn Clock>,
    tx: broadcast::Sender<Event>,
    /// Serializes appends: an id is assigned, stored, flushed and broadcast before the
    /// next, so subscribers see ids in order and a crash never reuses one they saw.
    append: Mutex<()>,
}

/// The event log. Cheap to clone; clones share the tree and the subscribers.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), wagw_agents::AgentsError> {
/// use wagw_agents::EventLog;
/// let db = wagw_store::Db::temporary()?;
/// let log = EventLog::open(db.open_tree("events")?, 100)?;
/// let id = log.append("status", &serde_json::json!({"account": "work", "state": "connected"})).await?;
/// let page = log.read_after(id - 1, 10)?;
/// assert_eq!(page.events[0].kind, "status");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct EventLog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("capacity", &self.inner.capacity)
            .finish_non_exhaustive()
    }
}

fn event_key(id: u64) -> [u8; 9] {
    let mut key = [EVENT; 9];
    key[1..].copy_from_slice(&id.to_be_bytes());
    key
}

fn id_of(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.get(1..9)?.try_into().ok()?))
}

impl EventLog {
    /// Opens the log in `tree`, keeping at most `capacity` events (at least 1).
    pub fn open(tree: wagw_store::Tree, capacity: usize) -> Result<Self, AgentsError> {
        Self::open_with_clock(tree, capacity, Arc::new(SystemClock))
    }

    /// Like [`EventLog::open`] with an injected clock for `atMs`.
    pub fn open_with_clock(
        tree: wagw_store::Tree,
        capacity: usize,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AgentsError> {
        let (tx, _) = broadcast::channel(BROADCAST_CAPACITY);
        let log = EventLog {
            inner: Arc::new(Inner {
                tree,
                capacity: capacity.max(1),
                clock,
                tx,
                append: Mutex::new(()),
            }),
        };
        // Validate the stored counter now rather than on the first append.
        log.next_id()?;
        Ok(log)
    }

    /// The id the next event will get.
    fn next_id(&self) -> Result<u64, AgentsError> {
        if let Some(bytes) = self.inner.tree.get(NEXT_ID)? {
            let raw: [u8; 8] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| AgentsError::Corrupt {
                    what: "event log counter",
                    key: "m".into(),
                    source: serde::de::Error::custom("not 8 bytes"),
                })?;
            return Ok(u64::from_be_bytes(raw));
        }
        // No counter yet: one past the newest stored event (or 1 for an empty log).
        let newest = self
            .inner
            .tree
            .scan_prefix([EVENT])
            .next_back()
            .transpose()?;
        Ok(newest.and_then(|(k, _)| id_of(&k)).map_or(1, |id| id + 1))
    }

    /// The newest event's id (0 when nothing was ever appended).
    pub fn last_id(&self) -> Result<u64, AgentsError> {
        Ok(self.next_id()?.saturating_sub(1))
    }

    /// Appends an event, flushes it, trims the oldest beyond capacity, and broadcasts it to
    /// subscribers. Returns its id.
    pub async fn append(&self, kind: &str, data: &impl Serialize) -> Result<u64, AgentsError> {
        let data = serde_json::to_value(data).map_err(|source| AgentsError::Encode {
            what: "an event",
            source,
        })?;
        let _guard = self.inner.append.lock().await;
        let id = self.next_id()?;
        let event = Event {
            id,
            kind: kind.to_owned(),
            at_ms: self.inner.clock.now_ms(),
            data,
        };
        let bytes = serde_json::to_vec(&event).map_err(|source| AgentsError::Encode {
            what: "an event",
            source,
        })?;
        let mut batch = wagw_store::Batch::default();
        batch.insert(event_key(id), bytes);
        batch.insert(NEXT_ID, (id + 1).to_be_bytes());
        // Ids are contiguous from the oldest kept one, so the count is newest − oldest + 1.
        let oldest = self
            .inner
            .tree
            .scan_prefix([EVENT])
            .next()
            .transpose()?
            .and_then(|(k, _)| id_of(&k))
            .unwrap_or(id);
        let kept = id - oldest + 1;
        let capacity = self.inner.capacity as u64;
        if kept > capacity {
            for old in oldest..oldest + (kept - capacity) {
                batch.remove(event_key(old));
            }
        }
        self.inner.tree.apply_batch(batch)?;
        self.inner.tree.flush_async().await?;
        // No subscribers is fine.
        let _ = self.inner.tx.send(event);
        Ok(id)
    }

    /// Up to `limit` events with ids greater than `last_id`, oldest first, and how many
    /// after `last_id` were already trimmed.
    pub fn read_after(&self, last_id: u64, limit: usize) -> Result<EventPage, AgentsError> {
        let mut events = Vec::new();
        let mut first_seen: Option<u64> = None;
        for entry in self
            .inner
            .tree
            .range(event_key(last_id.saturating_add(1))..event_key(u64::MAX))
        {
            let (key, bytes) = entry?;
            let Some(id) = id_of(&key) else { continue };
            first_seen.get_or_insert(id);
            if events.len() >= limit {
                break;
            }
            let event: Event =
                serde_json::from_slice(&bytes).map_err(|source| AgentsError::Corrupt {
                    what: "event",
                    key: id.to_string(),
                    source,
                })?;
            events.push(event);
        }
        let first_available = match first_seen {
            Some(id) => id,
            None => self.next_id()?,
        };
        let missed = first_available.saturating_sub(last_id.saturating_add(1));
        Ok(EventPage { events, missed })
    }

    /// Live events from now on (for fan-out). Prefer [`EventLog::cursor`], which also
    /// replays what a reconnecting client missed and survives falling behind.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.tx.subscribe()
    }

    /// A cursor for one SSE client: after `last_event_id` (its `Last-Event-ID`), or from
    /// now on when `None`. An id beyond the newest starts from now.
    pub fn cursor(&self, last_event_id: Option<u64>) -> Result<EventCursor, AgentsError> {
        // Subscribe before reading the log: anything appended from here on is in `rx`,
        // anything before is in the store; ids dedupe the overlap.
        let rx = self.subscribe();
        let newest = self.last_id()?;
        let last = last_event_id.map_or(newest, |id| id.min(newest));
        Ok(EventCursor {
            log: self.clone(),
            rx,
            last,
            backlog: VecDeque::new(),
            catching_up: true,
        })
    }
}

/// Yields a client's events in id order without gaps or repeats: first what it missed
/// (from the store), then live ones; if it falls behind the live channel it re-reads the
/// store; if the store already trimmed some, it says so once with [`CursorItem::Missed`].
#[derive(Debug)]
pub struct EventCursor {
    log: EventLog,
    rx: broadcast::Receiver<Event>,
    last: u64,
    backlog: VecDeque<Event>,
    catching_up: bool,
}

impl EventCursor {
    /// The id of the last item yielded (what the client would send as `Last-Event-ID`).
    pub fn last_id(&self) -> u64 {
        self.last
    }

    /// The next item; waits for a live event when caught up.
    pub async fn next(&mut self) -> Result<CursorItem, AgentsError> {
        loop {
            if let Some(event) = self.backlog.pop_front() {
                if event.id <= self.last {
                    continue;
                }
                self.last = event.id;
                return Ok(CursorItem::Event(event));
            }
            if self.catching_up {
                let page = self.log.read_after(self.last, CATCH_UP_BATCH)?;
                if page.missed > 0 {
                    self.last += page.missed;
                    return Ok(CursorItem::Missed {
                        count: page.missed,
                        resume_after: self.last,
                    });
                }
                if page.events.is_empty() {
                    self.catching_up = false;
                } else {
                    self.backlog.extend(page.events);
                }
                continue;
            }
            match self.rx.recv().await {
                Ok(event) if event.id <= self.last => {}
                Ok(event) if event.id == self.last + 1 => {
                    self.last = event.id;
                    return Ok(CursorItem::Event(event));
                }
                // A gap (fell behind, or raced a catch-up): the store has the rest.
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => self.catching_up = true,
                // The log owns the sender and the cursor owns the log: never closed.
                Err(broadcast::error::RecvError::Closed) => self.catching_up = true,
            }
        }
    }
}
