//! wagw-sim's integration tests: one binary, one module per capability. Every test runs
//! under paused tokio time, so none sleeps for real.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod contract;
mod faults;
mod groups;
mod login;
mod media;
mod traffic;

use std::time::Duration;

use wagw_core::{InboundAck, InboundMessage, SocketEvent, SocketEvents, WaSocket};
use wagw_sim::SimSocket;

/// Connects a linked account and reads through `Connected` and `OfflineSyncCompleted`.
pub async fn live(account: &SimSocket) -> SocketEvents {
    let mut rx = account.connect().await.unwrap();
    match rx.recv().await {
        Some(SocketEvent::Connected { .. }) => {}
        other => panic!("expected Connected, got {other:?}"),
    }
    loop {
        match rx.recv().await {
            Some(SocketEvent::OfflineSyncCompleted { .. }) => return rx,
            Some(SocketEvent::Message { .. }) => {}
            other => panic!("expected the offline sync, got {other:?}"),
        }
    }
}

/// The next event, failing after ten minutes of (paused) time.
pub async fn next(rx: &mut SocketEvents) -> SocketEvent {
    tokio::time::timeout(Duration::from_secs(600), rx.recv())
        .await
        .expect("no event within 600 s")
        .expect("event stream ended")
}

/// The next `Message`, skipping receipts and notifications.
pub async fn next_message(rx: &mut SocketEvents) -> (InboundMessage, InboundAck) {
    loop {
        match next(rx).await {
            SocketEvent::Message { message, ack } => return (*message, ack),
            SocketEvent::Closed(r) => panic!("closed while waiting for a message: {r}"),
            _ => {}
        }
    }
}

/// Every event already queued (lets background tasks run first).
pub async fn drain(rx: &mut SocketEvents) -> Vec<SocketEvent> {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push(e);
    }
    out
}
