//! wagw-cloud's tests, against the fake Graph server on loopback: the `WaSocket` contract,
//! webhooks (verification, signatures, every inbound type, receipts, retries) and sends
//! (media, templates, Graph errors, rate limits).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod contract;
mod send;
mod webhook;

use std::time::Duration;

use wagw_cloud::CloudSocket;
use wagw_cloud::fake::FakeGraph;
use wagw_core::{AccountId, InboundAck, InboundMessage, SocketEvent, SocketEvents, WaSocket};

/// A connected socket on the fake's first number, with its events read through the start.
pub async fn live(graph: &FakeGraph) -> (CloudSocket, SocketEvents) {
    let socket = CloudSocket::new(graph.config(AccountId::default_account())).unwrap();
    let mut rx = socket.connect().await.unwrap();
    assert!(matches!(
        rx.recv().await,
        Some(SocketEvent::Connected { .. })
    ));
    assert!(matches!(
        rx.recv().await,
        Some(SocketEvent::OfflineSyncCompleted { count: 0 })
    ));
    (socket, rx)
}

/// The next event, within five seconds.
pub async fn next(rx: &mut SocketEvents) -> SocketEvent {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("no event within 5 s")
        .expect("the stream ended")
}

/// The next message event.
pub async fn next_message(rx: &mut SocketEvents) -> (Box<InboundMessage>, InboundAck) {
    loop {
        if let SocketEvent::Message { message, ack } = next(rx).await {
            return (message, ack);
        }
    }
}

/// True when no event arrives within 200 ms.
pub async fn quiet(rx: &mut SocketEvents) -> bool {
    tokio::time::timeout(Duration::from_millis(200), rx.recv())
        .await
        .is_err()
}
