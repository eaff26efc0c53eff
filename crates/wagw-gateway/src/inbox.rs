//! The inbox: messages processed in order per chat and concurrently across chats.
//!
//! Each chat with pending work has at most one worker task; it drains that chat's queue in
//! arrival order and exits when the queue is empty. Workers share one bounded pool (a
//! semaphore), so a burst across thousands of chats runs at most `max_concurrent` turns at
//! once, and a busy chat yields its worker slot every [`FAIR_SHARE`] items so others get a
//! turn. The number of queued messages per account is bounded too: when the inbox is full,
//! [`Inbox::push`] waits, which stops reading the socket, which makes the transport hold
//! (and not acknowledge) further messages — backpressure instead of unbounded memory.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
#[cfg(test)]
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::metrics::AccountMetrics;

/// Items a worker processes before it lets other chats have its pool slot.
pub(crate) const FAIR_SHARE: usize = 32;

/// A boxed future for the handler.
pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Processes one item.
pub(crate) type Handler<T> = Arc<dyn Fn(T) -> HandlerFuture + Send + Sync>;

type Queue<T> = VecDeque<(T, OwnedSemaphorePermit)>;

/// One account's inbox, keyed by chat.
pub(crate) struct Inbox<K, T> {
    queues: Mutex<HashMap<K, Queue<T>>>,
    slots: Arc<Semaphore>,
    capacity: u32,
    workers: Arc<Semaphore>,
    handler: Handler<T>,
    metrics: Arc<AccountMetrics>,
    cancel: watch::Receiver<bool>,
}

impl<K, T> Inbox<K, T>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    T: Send + 'static,
{
    /// An inbox holding at most `capacity` queued items, running on the shared `workers`
    /// pool. Setting `cancel` to true makes workers abandon what they have not finished.
    pub(crate) fn new(
        capacity: u32,
        workers: Arc<Semaphore>,
        handler: Handler<T>,
        metrics: Arc<AccountMetrics>,
        cancel: watch::Receiver<bool>,
    ) -> Arc<Self> {
        let capacity = capacity.max(1);
        Arc::new(Inbox {
            queues: Mutex::new(HashMap::new()),
            slots: Arc::new(Semaphore::new(capacity as usize)),
            capacity,
            workers,
            handler,
            metrics,
            cancel,
        })
    }

    /// Queues `item` for `chat`, waiting while the inbox is full.
    pub(crate) async fn push(self: &Arc<Self>, chat: K, item: T) {
        let Ok(permit) = self.slots.clone().acquire_owned().await else {
            return; // The semaphore is never closed.
        };
        self.metrics.queue_delta(1);
        let start = {
            let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
            match queues.get_mut(&chat) {
                Some(queue) => {
                    queue.push_back((item, permit));
                    None
                }
                None => {
                    queues.insert(chat.clone(), VecDeque::new());
                    Some((item, permit))
                }
            }
        };
        if let Some(first) = start {
            let inbox = Arc::clone(self);
            tokio::spawn(async move { inbox.run_chat(chat, first).await });
        }
    }

    /// Takes the next item of `chat`, or retires the chat's worker when there is none.
    fn next(&self, chat: &K) -> Option<(T, OwnedSemaphorePermit)> {
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        let queue = queues.get_mut(chat)?;
        match queue.pop_front() {
            Some(item) => Some(item),
            None => {
                queues.remove(chat);
                None
            }
        }
    }

    async fn run_chat(self: Arc<Self>, chat: K, first: (T, OwnedSemaphorePermit)) {
        let mut cancel = self.cancel.clone();
        let mut next = Some(first);
        'pool: while next.is_some() {
            let Ok(_worker) = self.workers.clone().acquire_owned().await else {
                break;
            };
            for _ in 0..FAIR_SHARE {
                let Some((item, permit)) = next.take() else {
                    break 'pool;
                };
                self.metrics.queue_delta(-1);
                if *cancel.borrow() {
                    drop(permit);
                    next = self.next(&chat);
                    continue;
                }
                self.metrics.in_flight_delta(1);
                tokio::select! {
                    () = (self.handler)(item) => {}
                    // Abandoned mid-turn: the message's ack is dropped uncommitted, so
                    // WhatsApp redelivers it after the next connect.
                    _ = cancel.wait_for(|c| *c) => {}
                }
                self.metrics.in_flight_delta(-1);
                drop(permit);
                next = self.next(&chat);
            }
        }
        // Cancelled while waiting for a pool slot: discard the rest of this chat.
        while let Some((_, permit)) = next.take() {
            self.metrics.queue_delta(-1);
            drop(permit);
            next = self.next(&chat);
        }
    }

    /// Waits until every queued and running item is finished, up to `deadline` from now.
    /// Returns false when the deadline passed first.
    #[cfg(test)]
    pub(crate) async fn drain(&self, deadline: Duration) -> bool {
        self.drain_until(tokio::time::Instant::now() + deadline)
            .await
    }

    /// Waits until every queued and running item is finished, at the latest until `by`.
    /// Returns false when `by` passed first.
    pub(crate) async fn drain_until(&self, by: tokio::time::Instant) -> bool {
        match tokio::time::timeout_at(by, self.slots.acquire_many(self.capacity)).await {
            Ok(Ok(permits)) => {
                drop(permits);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    type Log = Arc<Mutex<Vec<(u32, u32)>>>;

    fn recording_handler(
        log: Log,
        running: Arc<AtomicUsize>,
        peak: Arc<AtomicUsize>,
    ) -> Handler<(u32, u32)> {
        Arc::new(move |item: (u32, u32)| {
            let log = log.clone();
            let running = running.clone();
            let peak = peak.clone();
            Box::pin(async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(u64::from(item.1 % 3))).await;
                log.lock().unwrap().push(item);
                running.fetch_sub(1, Ordering::SeqCst);
            })
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keeps_order_per_chat_and_bounds_concurrency() {
        let log: Log = Arc::default();
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (_cancel_tx, cancel) = watch::channel(false);
        let metrics = Arc::new(AccountMetrics::default());
        let inbox = Inbox::new(
            64,
            Arc::new(Semaphore::new(4)),
            recording_handler(log.clone(), running, peak.clone()),
            metrics.clone(),
            cancel,
        );
        for seq in 0..50u32 {
            for chat in 0..10u32 {
                inbox.push(chat, (chat, seq)).await;
            }
        }
        assert!(inbox.drain(Duration::from_secs(30)).await);
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 500);
        for chat in 0..10u32 {
            let seqs: Vec<u32> = log
                .iter()
                .filter(|(c, _)| *c == chat)
                .map(|(_, s)| *s)
                .collect();
            assert_eq!(
                seqs,
                (0..50).collect::<Vec<_>>(),
                "chat {chat} out of order"
            );
        }
        assert!(
            peak.load(Ordering::SeqCst) <= 4,
            "peak {}",
            peak.load(Ordering::SeqCst)
        );
        assert!(
            peak.load(Ordering::SeqCst) >= 2,
            "chats never ran concurrently"
        );
        assert_eq!(metrics.snapshot().queue_depth, 0);
        assert_eq!(metrics.snapshot().in_flight, 0);
    }

    #[tokio::test]
    async fn cancel_abandons_pending_work_and_drain_reports_it() {
        let started = Arc::new(AtomicUsize::new(0));
        let handler: Handler<u32> = {
            let started = started.clone();
            Arc::new(move |_| {
                let started = started.clone();
                Box::pin(async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    std::future::pending::<()>().await;
                })
            })
        };
        let (cancel_tx, cancel) = watch::channel(false);
        let inbox = Inbox::new(
            8,
            Arc::new(Semaphore::new(2)),
            handler,
            Arc::default(),
            cancel,
        );
        for i in 0..4u32 {
            inbox.push(i % 2, i).await;
        }
        assert!(!inbox.drain(Duration::from_millis(50)).await);
        cancel_tx.send(true).unwrap();
        assert!(inbox.drain(Duration::from_secs(5)).await);
        assert_eq!(
            started.load(Ordering::SeqCst),
            2,
            "only the first item of each chat ran"
        );
    }
}
