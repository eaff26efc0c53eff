//! Faults on demand: close codes, bans, refused connects, failing and slow sends, duplicate
//! delivery, durable inbound and the offline backlog.

use std::time::Duration;

use tokio::time::Instant;
use wagw_core::{CloseReason, OutboundMessage, SocketError, SocketEvent, WaSocket};
use wagw_sim::{SendFailure, SimFault, SimNetwork};

use super::{drain, live, next, next_message};

async fn closed(rx: &mut wagw_core::SocketEvents) -> CloseReason {
    loop {
        if let SocketEvent::Closed(r) = next(rx).await {
            assert!(rx.recv().await.is_none(), "the stream ends after Closed");
            return r;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn close_codes() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");

    let mut rx = live(&account).await;
    net.disconnect(&account);
    assert!(matches!(closed(&mut rx).await, CloseReason::Network { .. }));
    assert!(!net.is_connected(&account));

    let mut rx = live(&account).await;
    net.stream_error(&account, 515);
    assert_eq!(closed(&mut rx).await.code(), Some(515));

    let mut rx = live(&account).await;
    net.session_conflict(&account);
    assert_eq!(closed(&mut rx).await.code(), Some(440));
    assert!(
        account.own_identity().is_some(),
        "a conflict keeps the link"
    );

    let mut rx = live(&account).await;
    net.log_out(&account);
    assert!(matches!(
        closed(&mut rx).await,
        CloseReason::LoggedOut { .. }
    ));
    assert_eq!(account.own_identity(), None);
    let mut rx = account.connect().await.unwrap();
    assert!(matches!(next(&mut rx).await, SocketEvent::QrCode { .. }));
}

#[tokio::test(start_paused = true)]
async fn temporary_ban_lasts_until_expiry() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let mut rx = live(&account).await;
    net.temporary_ban(&account, Duration::from_secs(3600));
    let expiry = match closed(&mut rx).await {
        CloseReason::TemporaryBan {
            code: 403,
            expires_at_ms: Some(t),
        } => t,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(expiry, net.now_ms() + 3_600_000);
    let mut rx = account.connect().await.unwrap();
    assert!(matches!(
        closed(&mut rx).await,
        CloseReason::TemporaryBan { .. }
    ));
    net.advance(Duration::from_secs(3600)).await;
    let _rx = live(&account).await;
}

#[tokio::test(start_paused = true)]
async fn outdated_client_and_refused_connects() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let mut rx = live(&account).await;
    net.client_outdated(&account);
    assert_eq!(closed(&mut rx).await, CloseReason::ClientOutdated);
    for _ in 0..2 {
        let mut rx = account.connect().await.unwrap();
        assert_eq!(closed(&mut rx).await, CloseReason::ClientOutdated);
    }
    net.apply_fault(&account, SimFault::ClearClientOutdated)
        .unwrap();
    net.fail_next_connects(
        &account,
        2,
        CloseReason::ConnectFailed {
            detail: "dns".into(),
        },
    );
    for _ in 0..2 {
        let mut rx = account.connect().await.unwrap();
        assert!(matches!(
            closed(&mut rx).await,
            CloseReason::ConnectFailed { .. }
        ));
    }
    let _rx = live(&account).await;
    assert!(
        net.apply_fault(
            &wagw_core::AccountId::parse("nobody").unwrap(),
            SimFault::Disconnect
        )
        .is_err()
    );
}

#[tokio::test(start_paused = true)]
async fn failing_sends() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111");
    let _rx = live(&account).await;
    let send = |t: &str| account.send(OutboundMessage::text(alice.jid(), t));

    net.fail_next_sends(&account, 2, SendFailure::transient());
    for _ in 0..2 {
        let e = send("a").await.unwrap_err();
        assert!(e.is_transient(), "{e}");
    }
    send("a").await.unwrap();
    net.fail_next_sends(&account, 1, SendFailure::permanent());
    let e = send("b").await.unwrap_err();
    assert!(matches!(e, SocketError::Rejected { code: 406, .. }));

    net.fail_next_sends(&account, 1, SendFailure::Timeout { ms: 5000 });
    let start = Instant::now();
    assert_eq!(
        send("c").await,
        Err(SocketError::Timeout(Duration::from_secs(5)))
    );
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    net.fail_next_sends(&account, 1, SendFailure::TimeoutDelivered { ms: 1000 });
    assert!(send("d").await.is_err());
    // Only acked sends (and the one the server kept without confirming) are recorded.
    let out = net.sent_by(&account);
    let texts: Vec<_> = out
        .iter()
        .map(|e| (e.text.clone().unwrap(), e.confirmed))
        .collect();
    assert_eq!(texts, [("a".to_string(), true), ("d".to_string(), false)]);
    assert_eq!(alice.received_texts(), ["a", "d"]);
}

#[tokio::test(start_paused = true)]
async fn slow_sends_and_drops_mid_send() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111");
    let mut rx = live(&account).await;
    net.set_send_delay(&account, Duration::from_millis(1500));
    let start = Instant::now();
    account
        .send(OutboundMessage::text(alice.jid(), "slow"))
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(1500));

    let sending = {
        let account = account.clone();
        let to = alice.jid();
        tokio::spawn(async move { account.send(OutboundMessage::text(to, "lost")).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    net.disconnect(&account);
    assert!(matches!(
        sending.await.unwrap(),
        Err(SocketError::Interrupted(_))
    ));
    assert_eq!(net.sent_texts(&account), ["slow"]);
    assert!(matches!(closed(&mut rx).await, CloseReason::Network { .. }));
    assert_eq!(
        account.send(OutboundMessage::text(alice.jid(), "x")).await,
        Err(SocketError::NotConnected)
    );
}

#[tokio::test(start_paused = true)]
async fn duplicate_delivery() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111");
    let mut rx = live(&account).await;
    net.duplicate_next_inbound(&account);
    alice.send_text(&account, "twice").await;
    alice.send_text(&account, "once").await;
    let (a, ack_a) = next_message(&mut rx).await;
    let (b, ack_b) = next_message(&mut rx).await;
    let (c, ack_c) = next_message(&mut rx).await;
    assert_eq!(a.id, b.id);
    assert_ne!(b.id, c.id);
    for ack in [ack_a, ack_b, ack_c] {
        ack.commit();
    }
    tokio::task::yield_now().await;
    assert_eq!(net.pending_inbound(&account), 0);
}

#[tokio::test(start_paused = true)]
async fn offline_backlog_arrives_after_connected() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111");
    let sent_at = net.now_ms();
    alice.send_text(&account, "while you were out").await;
    alice
        .message_to(&account)
        .text("ancient history")
        .at_ms(sent_at - 86_400_000)
        .send()
        .await;
    net.advance(Duration::from_secs(3600)).await;

    let mut rx = account.connect().await.unwrap();
    assert!(matches!(next(&mut rx).await, SocketEvent::Connected { .. }));
    let (m1, ack1) = next_message(&mut rx).await;
    let (m2, ack2) = next_message(&mut rx).await;
    assert!(m1.offline && m2.offline);
    assert_eq!(m1.timestamp_ms, sent_at);
    assert_eq!(m2.timestamp_ms, sent_at - 86_400_000);
    assert!(matches!(
        next(&mut rx).await,
        SocketEvent::OfflineSyncCompleted { count: 2 }
    ));
    ack1.commit();
    ack2.commit();
    alice.send_text(&account, "live now").await;
    let (m3, _ack) = next_message(&mut rx).await;
    assert!(!m3.offline);
}

#[tokio::test(start_paused = true)]
async fn uncommitted_acks_are_redelivered_only_on_reconnect() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111");
    let mut rx = live(&account).await;
    alice.send_text(&account, "keep").await;
    alice.send_text(&account, "lose").await;
    let (kept, ack) = next_message(&mut rx).await;
    ack.commit();
    let (lost, ack) = next_message(&mut rx).await;
    drop(ack);
    assert!(
        drain(&mut rx).await.is_empty(),
        "no redelivery on the same connection"
    );
    assert_eq!(net.pending_inbound(&account), 1);

    account.disconnect().await;
    assert_eq!(closed(&mut rx).await, CloseReason::Requested);
    let mut rx = account.connect().await.unwrap();
    assert!(matches!(next(&mut rx).await, SocketEvent::Connected { .. }));
    let (again, ack) = next_message(&mut rx).await;
    assert_eq!(again.id, lost.id);
    assert_ne!(again.id, kept.id);
    assert!(again.offline);
    assert!(matches!(
        next(&mut rx).await,
        SocketEvent::OfflineSyncCompleted { count: 1 }
    ));
    ack.commit();
    tokio::task::yield_now().await;
    assert_eq!(net.pending_inbound(&account), 0);
}

#[tokio::test(start_paused = true)]
async fn logout_and_reconnect_semantics() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    assert_eq!(account.logout().await, Err(SocketError::NotConnected));
    let mut first = live(&account).await;
    let mut second = account.connect().await.unwrap();
    assert_eq!(closed(&mut first).await, CloseReason::Requested);
    assert!(matches!(
        next(&mut second).await,
        SocketEvent::Connected { .. }
    ));
    account.logout().await.unwrap();
    assert_eq!(closed(&mut second).await, CloseReason::Requested);
    assert_eq!(account.own_identity(), None);
    assert_eq!(account.logout().await, Err(SocketError::NotLinked));
    // Disconnect without a connection is a no-op.
    account.disconnect().await;
}

#[tokio::test(start_paused = true)]
async fn dead_link_times_out_until_the_gateway_reconnects() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111");
    assert_eq!(account.ping().await, Err(SocketError::NotConnected));
    let mut rx = live(&account).await;
    assert_eq!(account.ping().await, Ok(()));

    net.dead_link(&account);
    let start = Instant::now();
    assert_eq!(
        account.ping().await,
        Err(SocketError::Timeout(Duration::from_secs(20)))
    );
    assert_eq!(start.elapsed(), Duration::from_secs(20));
    assert!(matches!(
        account
            .send(OutboundMessage::text(alice.jid(), "void"))
            .await,
        Err(SocketError::Timeout(_))
    ));
    assert!(net.sent_by(&account).is_empty());
    alice.send_text(&account, "into the void").await;
    assert!(
        drain(&mut rx).await.is_empty(),
        "nothing arrives on a dead link"
    );

    let mut fresh = account.connect().await.unwrap();
    assert_eq!(closed(&mut rx).await, CloseReason::Requested);
    assert!(matches!(
        next(&mut fresh).await,
        SocketEvent::Connected { .. }
    ));
    let (m, _ack) = next_message(&mut fresh).await;
    assert!(m.offline);
    assert_eq!(account.ping().await, Ok(()));
}
