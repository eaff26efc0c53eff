//! Durable inbound end to end: a Signal-encrypted DM from a fake phone goes through the
//! real client's decrypt path and its inbound durability hook, and WhatsApp's delivery
//! acknowledgement reaches the server only after the gateway commits. Uncommitted
//! messages come back, `offline`, on the next connection — including after a crash (a
//! new `WhatsAppSocket` on the same authDir).

use std::time::Duration;

use wagw_core::{
    CloseReason, Content, InboundAck, InboundMessage, SocketEvent, SocketEvents, WaSocket,
};
use wagw_fakewa::{FakeConfig, FakeConnection, FakeWhatsApp, acknowledged_ids};
use wagw_socket::WhatsAppSocket;

use super::fake_server::{config, seed_linked};

/// The fake phone that writes to the account.
const CONTACT: &str = "15550001111";
const T: Duration = Duration::from_secs(30);
/// How long "nothing happens" is watched for.
const QUIET: Duration = Duration::from_millis(1500);

async fn next(rx: &mut SocketEvents) -> SocketEvent {
    tokio::time::timeout(T, rx.recv())
        .await
        .expect("no socket event within 30s")
        .expect("event stream ended without Closed")
}

/// The next `Message` event, skipping others; panics on `Closed`.
async fn message(rx: &mut SocketEvents) -> (InboundMessage, InboundAck) {
    loop {
        match next(rx).await {
            SocketEvent::Message { message, ack } => return (*message, ack),
            SocketEvent::Closed(r) => panic!("closed ({r}) while waiting for a message"),
            _ => {}
        }
    }
}

/// Connects and waits for `Connected`, and for the account's key upload (a fresh device
/// publishes its prekeys at login; the fake phone needs them).
async fn connect(socket: &WhatsAppSocket, server: &FakeWhatsApp) -> (SocketEvents, FakeConnection) {
    let mut rx = socket.connect().await.unwrap();
    let conn = server
        .next_connection()
        .await
        .expect("client never connected");
    loop {
        match next(&mut rx).await {
            SocketEvent::Connected { .. } => break,
            SocketEvent::Closed(r) => panic!("closed ({r}) before Connected"),
            _ => {}
        }
    }
    (rx, conn)
}

/// Every message up to `OfflineSyncCompleted` (the offline backlog), each committed as it
/// arrives: the drain ends only once the durability hook returned for all of them.
async fn backlog(rx: &mut SocketEvents) -> Vec<InboundMessage> {
    let mut got = Vec::new();
    loop {
        match next(rx).await {
            SocketEvent::Message { message, ack } => {
                ack.commit();
                got.push(*message);
            }
            SocketEvent::OfflineSyncCompleted { .. } => return got,
            SocketEvent::Closed(r) => panic!("closed ({r}) during the offline drain"),
            _ => {}
        }
    }
}

/// Waits for the end of the offline drain.
async fn drained(rx: &mut SocketEvents) {
    let rest = backlog(rx).await;
    assert!(rest.is_empty(), "more backlog than expected: {rest:?}");
}

async fn disconnect(socket: &WhatsAppSocket, rx: &mut SocketEvents) {
    socket.disconnect().await;
    loop {
        if let SocketEvent::Closed(r) = next(rx).await {
            assert_eq!(r, CloseReason::Requested);
            return;
        }
    }
}

/// Waits for the client stanza that acknowledges message `id` as delivered.
async fn acked(conn: &mut FakeConnection, id: &str, within: Duration) -> bool {
    conn.wait_for(within, |n| acknowledged_ids(n).iter().any(|a| a == id))
        .await
        .is_some()
}

fn text(m: &InboundMessage) -> Option<&str> {
    match &m.content {
        Content::Text { text } => Some(text),
        _ => None,
    }
}

/// The library's and wagw's logs in the test output, filtered by `RUST_LOG` (debugging a
/// failure: `RUST_LOG=debug`).
fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

async fn linked(server: &FakeWhatsApp) -> (tempfile::TempDir, WhatsAppSocket) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    seed_linked(&cfg).await;
    let socket = WhatsAppSocket::with_test_transport(cfg, server.factory()).unwrap();
    (dir, socket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_dm_is_acked_only_after_commit() {
    logs();
    let server = FakeWhatsApp::new(FakeConfig::default());
    let (_dir, socket) = linked(&server).await;
    let (mut rx, mut conn) = connect(&socket, &server).await;

    let id = conn
        .send_dm_text(CONTACT, "hello, encrypted")
        .await
        .unwrap();
    let (m, ack) = message(&mut rx).await;
    assert_eq!(m.id.as_str(), id);
    assert_eq!(text(&m), Some("hello, encrypted"));
    assert_eq!(m.chat.to_string(), format!("{CONTACT}@s.whatsapp.net"));
    assert_eq!(
        m.sender.phone.as_ref().map(|p| p.to_string()),
        Some(format!("+{CONTACT}"))
    );
    assert!(!m.from_me && !m.offline);

    // The hook holds WhatsApp's acknowledgement until the gateway commits.
    assert!(
        !acked(&mut conn, &id, QUIET).await,
        "acknowledged before commit"
    );
    assert_eq!(server.unacknowledged(), std::slice::from_ref(&id));
    ack.commit();
    assert!(
        acked(&mut conn, &id, T).await,
        "no acknowledgement after commit"
    );
    assert!(server.unacknowledged().is_empty());

    // A second message on the now-established session decrypts too.
    let id2 = conn.send_dm_text(CONTACT, "second").await.unwrap();
    let (m2, ack2) = message(&mut rx).await;
    assert_eq!((m2.id.as_str(), text(&m2)), (id2.as_str(), Some("second")));
    ack2.commit();
    assert!(acked(&mut conn, &id2, T).await);
    disconnect(&socket, &mut rx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_ack_is_redelivered_on_the_next_connection_only() {
    logs();
    let server = FakeWhatsApp::new(FakeConfig::default());
    let (_dir, socket) = linked(&server).await;
    let (mut rx, mut conn) = connect(&socket, &server).await;

    let id = conn.send_dm_text(CONTACT, "drop my ack").await.unwrap();
    let (m, ack) = message(&mut rx).await;
    assert_eq!(m.id.as_str(), id);
    drop(ack);
    // Not acknowledged, and not handed out again on this connection.
    assert!(
        !acked(&mut conn, &id, QUIET).await,
        "acknowledged without a commit"
    );
    while let Ok(Some(ev)) = tokio::time::timeout(QUIET, rx.recv()).await {
        if let SocketEvent::Message { message, .. } = ev {
            panic!("redelivered on the same connection: {}", message.id);
        }
    }
    assert_eq!(server.unacknowledged(), std::slice::from_ref(&id));
    disconnect(&socket, &mut rx).await;

    // The next connection gets it again from the offline queue: same id, same text.
    let (mut rx, mut conn) = connect(&socket, &server).await;
    let (m, ack) = message(&mut rx).await;
    assert_eq!(
        (m.id.as_str(), text(&m)),
        (id.as_str(), Some("drop my ack"))
    );
    assert!(m.offline, "a redelivery is an offline message");
    assert!(
        !acked(&mut conn, &id, QUIET).await,
        "acknowledged before commit"
    );
    ack.commit();
    assert!(
        acked(&mut conn, &id, T).await,
        "no acknowledgement after commit"
    );
    drained(&mut rx).await;
    assert!(server.unacknowledged().is_empty());
    disconnect(&socket, &mut rx).await;

    // Committed: a further connection has an empty backlog.
    let (mut rx, _conn) = connect(&socket, &server).await;
    let ids: Vec<String> = backlog(&mut rx)
        .await
        .iter()
        .map(|m| m.id.to_string())
        .collect();
    assert!(ids.is_empty(), "redelivered after commit: {ids:?}");
    disconnect(&socket, &mut rx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncommitted_message_survives_a_crash() {
    logs();
    let server = FakeWhatsApp::new(FakeConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    seed_linked(&cfg).await;
    let socket = WhatsAppSocket::with_test_transport(cfg.clone(), server.factory()).unwrap();
    let (mut rx, conn) = connect(&socket, &server).await;
    let id = conn
        .send_dm_text(CONTACT, "before the crash")
        .await
        .unwrap();
    let (m, ack) = message(&mut rx).await;
    assert_eq!(m.id.as_str(), id);
    // The process dies holding the message: no commit, no orderly disconnect.
    drop(ack);
    drop(rx);
    drop(conn);
    drop(socket);

    // A new socket on the same authDir (the restarted gateway) gets it again.
    let socket = reopen(&cfg, &server).await;
    let (mut rx, mut conn) = connect(&socket, &server).await;
    let (m, ack) = message(&mut rx).await;
    assert_eq!(
        (m.id.as_str(), text(&m)),
        (id.as_str(), Some("before the crash"))
    );
    assert!(m.offline);
    assert!(
        !acked(&mut conn, &id, QUIET).await,
        "acknowledged before commit"
    );
    ack.commit();
    assert!(
        acked(&mut conn, &id, T).await,
        "no acknowledgement after commit"
    );
    drained(&mut rx).await;
    // The session survived too: a new message from the same contact decrypts.
    let id2 = conn.send_dm_text(CONTACT, "after the crash").await.unwrap();
    let (m2, ack2) = message(&mut rx).await;
    assert_eq!(
        (m2.id.as_str(), text(&m2)),
        (id2.as_str(), Some("after the crash"))
    );
    ack2.commit();
    assert!(acked(&mut conn, &id2, T).await);
    disconnect(&socket, &mut rx).await;
}

/// Opens the account again after a crash. The dead client's tasks may still hold the
/// store while they wind down; the store is shared within the process, so this never waits
/// (the flake of issue 13: a file lock outliving its handle).
async fn reopen(cfg: &wagw_socket::SocketConfig, server: &FakeWhatsApp) -> WhatsAppSocket {
    WhatsAppSocket::with_test_transport(cfg.clone(), server.factory())
        .unwrap_or_else(|e| panic!("the authDir did not reopen after the crash: {e}"))
}

/// The account's replies reach the fake phone end-to-end encrypted: the client fetches
/// the phone's device list and prekey bundle from the server, and the phone opens them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_to_a_fake_phone_are_encrypted_and_readable() {
    logs();
    let server = FakeWhatsApp::new(FakeConfig::default());
    let (_dir, socket) = linked(&server).await;
    let (mut rx, mut conn) = connect(&socket, &server).await;
    let to = wagw_core::Jid::parse(&format!("{CONTACT}@s.whatsapp.net")).unwrap();
    for t in ["first reply", "second reply"] {
        let receipt = socket
            .send(wagw_core::OutboundMessage::text(to.clone(), t))
            .await
            .expect("acked send");
        let sent = conn
            .wait_for(T, |n| n.tag.as_ref() == "message")
            .await
            .expect("the server saw no message");
        assert!(
            sent.get_optional_child("plaintext").is_none(),
            "a DM must not travel in plaintext"
        );
        assert_eq!(
            wagw_fakewa::attr(&sent, "id").as_deref(),
            Some(receipt.id.as_str())
        );
        let (phone, message) = conn.read_dm(&sent).await.expect("the phone cannot open it");
        assert_eq!(phone, CONTACT);
        assert_eq!(message.conversation.as_deref(), Some(t));
    }
    // And the phone answers on the session the account started.
    let id = conn.send_dm_text(CONTACT, "got both").await.unwrap();
    let (m, ack) = message(&mut rx).await;
    assert_eq!((m.id.as_str(), text(&m)), (id.as_str(), Some("got both")));
    ack.commit();
    assert!(acked(&mut conn, &id, T).await);
    disconnect(&socket, &mut rx).await;
}
