//! Lifecycle on the scripted double: connect, listener registry, dedupe across restarts,
//! shutdown, reload, reconnect after a transient close, stop on logout.

use std::sync::Arc;
use std::time::Duration;

use wagw_core::*;
use wagw_gateway::*;

use crate::fake::{FakeSocket, dm};

fn factory(socket: FakeSocket) -> impl TransportFactory {
    move |_: &AccountId, _: &TransportSettings| -> Result<Arc<dyn WaSocket>, SocketError> {
        Ok(Arc::new(socket.clone()))
    }
}

async fn start(dir: &std::path::Path, socket: &FakeSocket, sink: Arc<dyn AgentSink>) -> Gateway {
    Gateway::builder()
        .settings(crate::fake::open_settings(dir))
        .transport(factory(socket.clone()))
        .sink_arc(sink)
        .start()
        .await
        .unwrap()
}

fn echo() -> Arc<dyn AgentSink> {
    sink_fn(|turn| async move { Ok(vec![Reply::text(format!("echo: {}", turn.raw_body))]) })
}

#[tokio::test]
async fn answers_and_acks_after_persisting() {
    let dir = tempfile::tempdir().unwrap();
    let mut socket = FakeSocket::linked("+15550009999");
    if let Some(identity) = socket.identity.as_mut() {
        identity.lid = Some(Lid::parse("987654321@lid").unwrap());
    }
    let gw = start(dir.path(), &socket, echo()).await;
    socket.wait_connects(1).await;
    let committed = socket.deliver(dm("+15550001111", "M1", "hi")).await;
    tokio::time::timeout(Duration::from_secs(5), committed)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(socket.sent_texts(), ["echo: hi"]);
    let key = DedupeKey {
        account: AccountId::default_account(),
        chat: Phone::parse("+15550001111").unwrap().to_jid(),
        id: MessageId::new("M1"),
    };
    assert!(gw.store().dedupe().contains(&key).unwrap());
    let status = gw.status();
    assert_eq!(status[0].state, "connected");
    assert!(status[0].connected);
    assert_eq!(status[0].phone.as_deref(), Some("+15550009999"));
    assert_eq!(status[0].lid.as_deref(), Some("987654321@lid"));
    assert_eq!(status[0].metrics.messages_out, 1);
    assert!(
        status[0].metrics.last_outbound_ms >= status[0].metrics.last_inbound_ms
            && status[0].metrics.last_outbound_ms > 0,
        "the confirmed reply's time is recorded: {:?}",
        status[0].metrics
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn redelivery_after_restart_is_not_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let socket = FakeSocket::linked("+15550009999");
    let gw = start(dir.path(), &socket, echo()).await;
    socket.wait_connects(1).await;
    socket
        .deliver(dm("+15550001111", "M1", "hi"))
        .await
        .await
        .unwrap();
    gw.shutdown().await.unwrap();
    drop(gw);

    let socket2 = FakeSocket::linked("+15550009999");
    let gw = start(dir.path(), &socket2, echo()).await;
    socket2.wait_connects(1).await;
    // WhatsApp redelivers M1: acknowledged again, not answered again.
    socket2
        .deliver(dm("+15550001111", "M1", "hi"))
        .await
        .await
        .unwrap();
    assert!(socket2.sent_texts().is_empty());
    assert_eq!(
        gw.metrics()[&AccountId::default_account()].drops["duplicate"],
        1
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn status_broadcast_and_own_echo_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let socket = FakeSocket::linked("+15550009999");
    let gw = start(dir.path(), &socket, echo()).await;
    socket.wait_connects(1).await;
    let mut status = dm("+15550001111", "S1", "story");
    status.chat = Jid::parse("status@broadcast").unwrap();
    socket.deliver(status).await.await.unwrap();

    // The gateway's own reply mirrored back as fromMe with the server id: suppressed.
    socket
        .deliver(dm("+15550001111", "M1", "hi"))
        .await
        .await
        .unwrap();
    let mut mirror = dm("+15550001111", "OUT1", "echo: hi");
    mirror.from_me = true;
    socket.deliver(mirror).await.await.unwrap();
    assert_eq!(socket.sent_texts(), ["echo: hi"]);
    let drops = gw.metrics()[&AccountId::default_account()].drops.clone();
    assert_eq!(drops["status_broadcast"], 1);
    assert_eq!(drops["own_echo"], 1);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn send_without_listener_fails_fast_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::fake::open_settings(dir.path());
    settings.enabled = false;
    let socket = FakeSocket::linked("+15550009999");
    let gw = Gateway::builder()
        .settings(settings)
        .transport(factory(socket.clone()))
        .sink(NullSink)
        .start()
        .await
        .unwrap();
    assert!(
        gw.account_ids().is_empty(),
        "web.enabled=false starts no account"
    );
    let to = Phone::parse("+15550001111").unwrap().to_jid();
    let err = gw
        .send(
            &AccountId::default_account(),
            OutboundMessage::text(to, "x"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "No active WhatsApp listener for account default. Start the gateway, then link it with: wagw channels login --account default"
    );
    assert_eq!(socket.state.lock().unwrap().connects, 0);
    gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn reconnect_attempts_count_the_streak_and_reset_once_stable() {
    let dir = tempfile::tempdir().unwrap();
    let socket = FakeSocket::linked("+15550009999");
    let gw = start(dir.path(), &socket, echo()).await;
    let id = AccountId::default_account();
    let mut tx = socket.wait_connects(1).await;
    for n in 1..=2u32 {
        // Each connection drops right after it came up: one more failure in the streak.
        tx.send(SocketEvent::Closed(CloseReason::Network {
            detail: "reset".into(),
        }))
        .await
        .unwrap();
        tx = socket.wait_connects(n as usize + 1).await;
        let m = gw.metrics()[&id].clone();
        assert_eq!(m.reconnect_attempts, n, "{m:?}");
        assert_eq!(m.reconnects["network"], u64::from(n));
    }
    // Up for more than a heartbeat interval: the streak is over; the total stays.
    let heartbeat = gw.settings().heartbeat;
    for _ in 0..3 {
        tokio::time::sleep(heartbeat).await;
    }
    let m = gw.metrics()[&id].clone();
    assert_eq!(m.reconnect_attempts, 0, "{m:?}");
    assert_eq!(m.reconnects["network"], 2);
    drop(tx);
    gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn reconnects_after_transient_close_and_stops_on_logout() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("info")
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let socket = FakeSocket::linked("+15550009999");
    let gw = start(dir.path(), &socket, echo()).await;
    let tx = socket.wait_connects(1).await;
    tx.send(SocketEvent::Closed(CloseReason::Network {
        detail: "reset".into(),
    }))
    .await
    .unwrap();
    let tx = socket.wait_connects(2).await;
    let m = gw.metrics()[&AccountId::default_account()].clone();
    assert_eq!(m.reconnects["network"], 1);
    tx.send(SocketEvent::Closed(CloseReason::LoggedOut {
        detail: "401".into(),
    }))
    .await
    .unwrap();
    for _ in 0..100 {
        if gw.status()[0].state == "stopped" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let status = &gw.status()[0];
    assert_eq!(status.state, "stopped");
    assert!(!status.connected);
    assert!(
        status
            .detail
            .as_deref()
            .unwrap()
            .contains("wagw channels login --account default")
    );
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        socket.state.lock().unwrap().connects,
        2,
        "no retry after logout"
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn reload_applies_policy_live_and_restarts_on_transport_change() {
    let dir = tempfile::tempdir().unwrap();
    let socket = FakeSocket::linked("+15550009999");
    let gw = start(dir.path(), &socket, echo()).await;
    socket.wait_connects(1).await;

    let mut settings = crate::fake::open_settings(dir.path());
    settings.accounts[0].resolved.send_read_receipts = false;
    gw.reload(settings.clone()).await.unwrap();
    socket
        .deliver(dm("+15550001111", "M1", "hi"))
        .await
        .await
        .unwrap();
    assert_eq!(
        socket.state.lock().unwrap().connects,
        1,
        "policy change kept the connection"
    );
    assert!(
        socket.state.lock().unwrap().read.is_empty(),
        "read receipts now off"
    );

    settings.accounts[0].transport.auth_dir = dir.path().join("elsewhere");
    gw.reload(settings.clone()).await.unwrap();
    socket.wait_connects(2).await;
    assert_eq!(socket.state.lock().unwrap().disconnects, 1);

    settings.enabled = false;
    gw.reload(settings).await.unwrap();
    assert!(gw.account_ids().is_empty());
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_finishes_in_flight_turns() {
    let dir = tempfile::tempdir().unwrap();
    let socket = FakeSocket::linked("+15550009999");
    let slow = sink_fn(|turn| async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(vec![Reply::text(format!("done {}", turn.raw_body))])
    });
    let gw = start(dir.path(), &socket, slow).await;
    socket.wait_connects(1).await;
    let committed = socket.deliver(dm("+15550001111", "M1", "a")).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    gw.shutdown().await.unwrap();
    assert_eq!(
        socket.sent_texts(),
        ["done a"],
        "in-flight turn finished and replied"
    );
    committed
        .await
        .expect("handled message acknowledged before the socket closed");
    assert_eq!(socket.state.lock().unwrap().disconnects, 1);
}
