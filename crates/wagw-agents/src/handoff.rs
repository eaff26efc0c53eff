//! Handing a finished delivery's outcome over exactly once: to the caller still waiting
//! for it ([`DeliveryWaiter`]), or else to the worker's completion channel ([`Completion`]).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::outbox::DeliveryRecord;
use crate::reply::AgentReply;

/// How a delivery ended, as handed to whoever waits for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The agent answered 2xx; `replies` (possibly none) go to the turn's chat.
    Delivered {
        /// The HTTP status.
        status: u16,
        /// The parsed replies.
        replies: Vec<AgentReply>,
    },
    /// Dead-lettered; `wagw deliveries replay <id>` tries again.
    Dead {
        /// Why.
        error: String,
    },
    /// The id was enqueued before and already finished; nothing was sent again.
    Duplicate,
}

/// A finished delivery nobody was waiting for (it finished after the waiter's deadline,
/// after a restart, or after a replay). The daemon sends its replies through the gateway's
/// send API to the record's turn chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The delivery as stored after it finished (its `body` is the turn).
    pub record: DeliveryRecord,
    /// How it ended.
    pub outcome: DeliveryOutcome,
}

/// What [`DeliveryWaiter::wait`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waited {
    /// Finished within the deadline; the waiter owns the outcome (it will not also appear
    /// as a [`Completion`]).
    Done(DeliveryOutcome),
    /// Still pending (retrying); its outcome will arrive as a [`Completion`].
    Pending,
}

/// Where outcomes go that no waiter took: the worker's completion channel, once it has one.
pub(crate) type CompletionRoute = Arc<Mutex<Option<mpsc::UnboundedSender<Completion>>>>;

/// Sends `completion` down `route`; false when there is no channel (or it closed).
pub(crate) fn route(route: &CompletionRoute, completion: Completion) -> bool {
    match &*route.lock().unwrap_or_else(PoisonError::into_inner) {
        Some(tx) => tx.send(completion).is_ok(),
        None => false,
    }
}

/// A handle on one enqueued delivery's outcome. Exactly one of the waiter and the worker's
/// completion channel receives each outcome, so replies are never sent twice — and never
/// lost: a waiter dropped with its outcome unread (a caller that stopped waiting, a turn
/// abandoned at shutdown) hands it to the completion channel.
#[derive(Debug)]
pub struct DeliveryWaiter {
    rx: oneshot::Receiver<Completion>,
    route: CompletionRoute,
}

impl DeliveryWaiter {
    pub(crate) fn new(rx: oneshot::Receiver<Completion>, route: CompletionRoute) -> Self {
        DeliveryWaiter { rx, route }
    }

    /// Waits up to `within` for the delivery to finish. A typical adapter waits a little
    /// longer than the webhook timeout: a healthy agent's replies come back in-line, and a
    /// retrying delivery does not hold up the chat.
    pub async fn wait(mut self, within: Duration) -> Waited {
        tokio::select! {
            res = &mut self.rx => match res {
                Ok(done) => Waited::Done(done.outcome),
                // The sender was replaced or dropped: the outcome goes to the channel.
                Err(_) => Waited::Pending,
            },
            () = tokio::time::sleep(within) => {
                // Close first so a send racing with the deadline is either seen here or
                // refused (and then routed to the completion channel), never lost.
                self.rx.close();
                match self.rx.try_recv() {
                    Ok(done) => Waited::Done(done.outcome),
                    Err(_) => Waited::Pending,
                }
            }
        }
    }
}

impl Drop for DeliveryWaiter {
    fn drop(&mut self) {
        // Close first: a send racing with the drop is then refused and routed by the worker.
        self.rx.close();
        if let Ok(unread) = self.rx.try_recv() {
            let id = unread.record.id.clone();
            if !route(&self.route, unread) {
                tracing::warn!(target: "wagw::agents", delivery = %id,
                    "a finished delivery's outcome was not read and no completion channel takes it");
            }
        }
    }
}
