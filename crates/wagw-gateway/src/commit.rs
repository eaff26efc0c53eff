//! Group commit: flush the store once for many handled messages, then acknowledge them.
//!
//! Each handled message's dedupe record and its [`InboundAck`] are handed here. The
//! committer writes the records of everything that queued up while the previous flush ran
//! as one batch, flushes once, then commits those acks: acknowledging is durable without
//! one disk sync (or one tree write) per message. If a flush fails, the acks are dropped uncommitted:
//! WhatsApp redelivers those messages, and nothing is lost.

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use wagw_core::InboundAck;

use crate::store::{DedupeRecord, GatewayStore};

enum Item {
    Ack(InboundAck, Option<DedupeRecord>),
    Barrier(oneshot::Sender<()>),
    Stop,
}

/// Hands acks to the committer task.
#[derive(Clone)]
pub(crate) struct Committer {
    tx: mpsc::UnboundedSender<Item>,
}

impl std::fmt::Debug for Committer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Committer")
    }
}

impl Committer {
    /// Starts the committer task on the current runtime. It ends after [`Committer::stop`]
    /// or when every [`Committer`] clone is dropped.
    pub(crate) fn spawn(store: GatewayStore) -> (Committer, JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Item>();
        let task = tokio::spawn(async move {
            let mut batch = Vec::new();
            let mut records = Vec::new();
            let mut stop = false;
            while !stop && rx.recv_many(&mut batch, 4096).await > 0 {
                records.clear();
                records.extend(batch.iter().filter_map(|item| match item {
                    Item::Ack(_, record) => *record,
                    Item::Barrier(_) | Item::Stop => None,
                }));
                let written = match store.dedupe().persist(&records) {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!(target: "wagw::store", error = %e, count = records.len(),
                            "cannot record messages as handled; leaving them for redelivery");
                        false
                    }
                };
                let flushed = written
                    && match store.flush().await {
                        Ok(()) => true,
                        Err(e) => {
                            tracing::error!(target: "wagw::store", error = %e, count = batch.len(),
                            "flush failed; leaving messages unacknowledged for redelivery");
                            false
                        }
                    };
                for item in batch.drain(..) {
                    match item {
                        Item::Ack(ack, _) if flushed => ack.commit(),
                        Item::Ack(..) => {}
                        Item::Barrier(done) => {
                            let _ = done.send(());
                        }
                        Item::Stop => stop = true,
                    }
                }
            }
        });
        (Committer { tx }, task)
    }

    /// Persists `record` (if any) and commits `ack` after the next flush.
    pub(crate) fn commit_after_flush(&self, ack: InboundAck, record: Option<DedupeRecord>) {
        // The task only ends when all senders are gone, so this cannot fail while `self`
        // lives; if it did, the ack drops uncommitted and WhatsApp redelivers.
        let _ = self.tx.send(Item::Ack(ack, record));
    }

    /// Asks the task to finish what it holds and end (await its handle to wait).
    pub(crate) fn stop(&self) {
        let _ = self.tx.send(Item::Stop);
    }

    /// Waits until everything handed over so far is flushed and committed.
    pub(crate) async fn barrier(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Item::Barrier(done)).is_ok() {
            let _ = wait.await;
        }
    }
}
