//! Debounce (`debounceMs`): consecutive text messages from one sender in one chat within
//! the window become one turn. The merging rules are `wagw-normalize`'s [`Debouncer`] (pure,
//! time passed in); this module parks the held messages' acks, drives the window's timer,
//! and hands ready turns back to the chat's worker so per-chat order holds.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Weak};
use std::time::Duration;

use wagw_core::{InboundAck, InboundMessage, MessageId};
use wagw_normalize::{Debouncer, DedupeKey};

use crate::account::{Account, Pending};

/// A held message's acknowledgement, committed once the turn it joined is handled.
pub(crate) struct Parked {
    id: MessageId,
    pub(crate) ack: InboundAck,
    pub(crate) key: DedupeKey,
}

/// One account's debounce state.
pub(crate) struct DebounceState {
    window_ms: u64,
    debouncer: Debouncer,
    parked: HashMap<String, VecDeque<Parked>>,
}

impl DebounceState {
    fn new(window_ms: u64) -> DebounceState {
        DebounceState {
            window_ms,
            debouncer: Debouncer::new(window_ms),
            parked: HashMap::new(),
        }
    }

    /// The parked acks of the originals that `ready` stands for: those of its key up to and
    /// including `ready`'s own id (a merged turn carries the last message's id).
    fn take_parked(&mut self, ready: &InboundMessage) -> Vec<Parked> {
        let key = Debouncer::key(ready);
        let mut out = Vec::new();
        if let Some(queue) = self.parked.get_mut(&key) {
            while let Some(parked) = queue.pop_front() {
                let last = parked.id == ready.id;
                out.push(parked);
                if last {
                    break;
                }
            }
            if queue.is_empty() {
                self.parked.remove(&key);
            }
        }
        out
    }

    fn with_parked(&mut self, ready: Vec<InboundMessage>) -> Vec<(InboundMessage, Vec<Parked>)> {
        ready
            .into_iter()
            .map(|m| {
                let parked = self.take_parked(&m);
                (m, parked)
            })
            .collect()
    }
}

impl Account {
    /// Offers an arrived message to the debouncer; returns what is ready to process now
    /// (with the acks it covers). With `debounceMs` 0 the message is ready at once.
    pub(crate) fn debounce(
        &self,
        message: InboundMessage,
        ack: InboundAck,
        key: DedupeKey,
    ) -> Vec<(InboundMessage, Vec<Parked>)> {
        let window = self.settings().resolved.debounce_ms;
        let mut guard = self.debounce.lock().unwrap_or_else(|p| p.into_inner());
        if window == 0 && guard.is_none() {
            let parked = Parked {
                id: message.id.clone(),
                ack,
                key,
            };
            return vec![(message, vec![parked])];
        }
        let mut ready = Vec::new();
        // The window changed on reload: release what is held, start over.
        if guard.as_ref().is_some_and(|s| s.window_ms != window)
            && let Some(mut old) = guard.take()
        {
            let held = old.debouncer.flush_all();
            ready.extend(old.with_parked(held));
        }
        if window == 0 {
            ready.push((
                message.clone(),
                vec![Parked {
                    id: message.id,
                    ack,
                    key,
                }],
            ));
            return ready;
        }
        let state = guard.get_or_insert_with(|| DebounceState::new(window));
        state
            .parked
            .entry(Debouncer::key(&message))
            .or_default()
            .push_back(Parked {
                id: message.id.clone(),
                ack,
                key,
            });
        let now = self.shared.clock.now_ms();
        let out = state.debouncer.push(message, now);
        ready.extend(state.with_parked(out));
        drop(guard);
        self.debounce_wake.notify_one();
        ready
    }

    /// Everything the debouncer holds, released now (shutdown).
    pub(crate) fn debounce_flush_all(&self) -> Vec<(InboundMessage, Vec<Parked>)> {
        let mut guard = self.debounce.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_mut() {
            Some(state) => {
                let held = state.debouncer.flush_all();
                state.with_parked(held)
            }
            None => Vec::new(),
        }
    }

    fn debounce_due(&self) -> (Vec<(InboundMessage, Vec<Parked>)>, Option<i64>) {
        let mut guard = self.debounce.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_mut() {
            Some(state) => {
                let due = state.debouncer.due(self.shared.clock.now_ms());
                let ready = state.with_parked(due);
                (ready, state.debouncer.next_deadline())
            }
            None => (Vec::new(), None),
        }
    }

    /// Hands ready turns to their chats' workers.
    pub(crate) async fn dispatch_ready(&self, ready: Vec<(InboundMessage, Vec<Parked>)>) {
        for (message, parked) in ready {
            self.enqueue(Pending::Ready {
                message: Box::new(message),
                parked,
            })
            .await;
        }
    }
}

/// The debounce timer of one account: wakes at the earliest window end and releases the
/// bursts that are due. Ends when the account is dropped (or aborted at shutdown).
pub(crate) async fn run_timer(account: Weak<Account>) {
    loop {
        let Some(strong) = account.upgrade() else {
            return;
        };
        let (ready, next) = strong.debounce_due();
        if !ready.is_empty() {
            strong.dispatch_ready(ready).await;
            continue;
        }
        let wake = Arc::clone(&strong.debounce_wake);
        let wait = next.map(|at| {
            let ms = at - strong.shared.clock.now_ms();
            Duration::from_millis(u64::try_from(ms).unwrap_or(0))
        });
        // Do not keep the account alive while waiting.
        drop(strong);
        match wait {
            Some(wait) => {
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = wake.notified() => {}
                }
            }
            None => wake.notified().await,
        }
    }
}
