//! The real client, through `WhatsAppSocket`, against the in-process fake WhatsApp server:
//! QR → connected → message in → message out acked → each failure classified → logout.

use std::sync::Arc;
use std::time::Duration;

use wagw_core::{
    AccountId, CloseReason, Content, Jid, OutboundMessage, SocketError, SocketEvent, SocketEvents,
    WaSocket,
};
use wagw_fakewa::{ConnKind, FakeConfig, FakeWhatsApp, LoginOutcome, attr};
use wagw_socket::store::{AccountStore, StoreOptions};
use wagw_socket::{SocketConfig, WhatsAppSocket};
use whatsapp_rust::store::traits::DeviceStore;

const NEWSLETTER: &str = "120363000000000001@newsletter";
const T: Duration = Duration::from_secs(30);

pub(crate) fn config(dir: &std::path::Path) -> SocketConfig {
    let mut c = SocketConfig::new(AccountId::default_account(), dir.join("accounts/default"));
    c.version = Some((2, 3000, 1_023_000_000));
    c.send_ack_timeout = Duration::from_secs(5);
    c.device_name = "wagw-test".into();
    c
}

/// Seeds the account's store with a linked device, as if it had paired before.
pub(crate) async fn seed_linked(cfg: &SocketConfig) {
    let store = AccountStore::open(&cfg.auth_dir, StoreOptions::default()).unwrap();
    let mut d = whatsapp_rust::wacore::store::Device::new();
    d.pn = Some(whatsapp_rust::Jid::pn("15550001234"));
    d.lid = Some(whatsapp_rust::Jid::lid("100000000000001"));
    d.push_name = "Gateway".into();
    store.save(&d).await.unwrap();
}

pub(crate) async fn next(rx: &mut SocketEvents) -> SocketEvent {
    tokio::time::timeout(T, rx.recv())
        .await
        .expect("no socket event within 30s")
        .expect("event stream ended without Closed")
}

/// Skips events until `pred` matches; panics if `Closed` comes first (unless it matches).
pub(crate) async fn until(
    rx: &mut SocketEvents,
    what: &str,
    pred: impl Fn(&SocketEvent) -> bool,
) -> SocketEvent {
    loop {
        let ev = next(rx).await;
        if pred(&ev) {
            return ev;
        }
        if let SocketEvent::Closed(r) = &ev {
            panic!("closed ({r}) while waiting for {what}");
        }
    }
}

pub(crate) async fn closed(rx: &mut SocketEvents) -> CloseReason {
    loop {
        if let SocketEvent::Closed(r) = next(rx).await {
            assert!(rx.recv().await.is_none(), "events after Closed");
            return r;
        }
    }
}

pub(crate) async fn linked_socket(server: &FakeWhatsApp) -> (tempfile::TempDir, WhatsAppSocket) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    seed_linked(&cfg).await;
    let socket = WhatsAppSocket::with_test_transport(cfg, server.factory()).unwrap();
    (dir, socket)
}

pub(crate) async fn connected(socket: &WhatsAppSocket) -> SocketEvents {
    let mut rx = socket.connect().await.unwrap();
    until(&mut rx, "Connected", |e| {
        matches!(e, SocketEvent::Connected { .. })
    })
    .await;
    rx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlinked_device_shows_qr_codes_then_closes_on_request() {
    let server = FakeWhatsApp::new(FakeConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let socket = WhatsAppSocket::with_test_transport(config(dir.path()), server.factory()).unwrap();
    assert!(socket.own_identity().is_none());
    let mut rx = socket.connect().await.unwrap();
    let conn = server
        .next_connection()
        .await
        .expect("client never connected");
    assert_eq!(conn.kind(), &ConnKind::Registration);
    match until(&mut rx, "QrCode", |e| {
        matches!(e, SocketEvent::QrCode { .. })
    })
    .await
    {
        SocketEvent::QrCode { code, expires_in } => {
            assert!(code.starts_with("2@fake-ref-1,"), "QR string {code}");
            assert_eq!(code.split(',').count(), 5, "QR string {code}");
            assert!(expires_in > Duration::from_secs(50) && expires_in <= Duration::from_secs(60));
        }
        _ => unreachable!(),
    }
    // Pair codes, passkeys and QR exhaustion: tests/socket/login.rs.
    socket.disconnect().await;
    assert_eq!(closed(&mut rx).await, CloseReason::Requested);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linked_device_connects_receives_and_sends_with_acks() {
    let server = FakeWhatsApp::new(FakeConfig::default());
    let (_dir, socket) = linked_socket(&server).await;
    assert_eq!(
        socket.own_identity().unwrap().phone.to_string(),
        "+15550001234"
    );
    let mut rx = socket.connect().await.unwrap();
    let mut conn = server
        .next_connection()
        .await
        .expect("client never connected");
    assert!(matches!(
        conn.kind(),
        ConnKind::Login {
            user: 15550001234,
            ..
        }
    ));
    match until(&mut rx, "Connected", |e| {
        matches!(e, SocketEvent::Connected { .. })
    })
    .await
    {
        SocketEvent::Connected { identity } => {
            assert_eq!(identity.phone.to_string(), "+15550001234");
            assert_eq!(identity.lid.unwrap().to_string(), "100000000000001@lid");
        }
        _ => unreachable!(),
    }

    // Message in.
    let id = conn.send_newsletter_text(NEWSLETTER, "hello from the fake server");
    match until(&mut rx, "Message", |e| {
        matches!(e, SocketEvent::Message { .. })
    })
    .await
    {
        SocketEvent::Message { message, ack } => {
            assert_eq!(message.id.as_str(), id);
            assert_eq!(message.chat.to_string(), NEWSLETTER);
            assert_eq!(message.content, Content::text("hello from the fake server"));
            ack.commit();
        }
        _ => unreachable!(),
    }

    // Message out, acked by the server.
    let receipt = socket
        .send(OutboundMessage::text(
            Jid::parse(NEWSLETTER).unwrap(),
            "pong",
        ))
        .await
        .expect("acked send");
    let sent = conn
        .wait_for(T, |n| n.tag.as_ref() == "message")
        .await
        .expect("the server saw no message");
    assert_eq!(attr(&sent, "id").as_deref(), Some(receipt.id.as_str()));
    assert!(receipt.timestamp_ms > 1_600_000_000_000);

    // A send the server never acks is an error, not a success.
    server.set_auto_ack(false);
    let err = socket
        .send(OutboundMessage::text(
            Jid::parse(NEWSLETTER).unwrap(),
            "lost",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, SocketError::Timeout(_)), "got {err:?}");

    let report = socket.resource_report().await;
    assert!(report.connected && report.bytes_received > 0 && report.store_bytes_on_disk > 0);

    socket.disconnect().await;
    assert_eq!(closed(&mut rx).await, CloseReason::Requested);
    assert!(matches!(
        socket
            .send(OutboundMessage::text(Jid::parse(NEWSLETTER).unwrap(), "x"))
            .await,
        Err(SocketError::NotConnected)
    ));

    // The next connection reuses the cached server certificate: Noise IK.
    let mut rx = connected(&socket).await;
    let conn = server.next_connection().await.unwrap();
    assert!(conn.used_ik(), "second connection should use Noise IK");
    socket.disconnect().await;
    assert_eq!(closed(&mut rx).await, CloseReason::Requested);
}

/// Connects a linked socket, lets `act` misbehave as the server, and returns the close.
async fn close_after(act: impl FnOnce(&wagw_fakewa::FakeConnection)) -> CloseReason {
    let server = FakeWhatsApp::new(FakeConfig::default());
    let (_dir, socket) = linked_socket(&server).await;
    let mut rx = connected(&socket).await;
    let conn = server.next_connection().await.unwrap();
    act(&conn);
    let reason = closed(&mut rx).await;
    // The transport never reconnects on its own.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        server.transports_opened(),
        1,
        "the socket reconnected by itself"
    );
    reason
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_failures_are_classified() {
    let r = close_after(|c| c.stream_error(401)).await;
    assert!(matches!(r, CloseReason::LoggedOut { .. }), "401: {r:?}");

    let r = close_after(|c| c.conflict_replaced()).await;
    assert!(
        matches!(r, CloseReason::SessionConflict { .. }),
        "conflict: {r:?}"
    );

    let r = close_after(|c| c.stream_error(515)).await;
    assert_eq!(r.code(), Some(515), "515: {r:?}");
    assert!(matches!(r, CloseReason::StreamError { .. }));

    let r = close_after(|c| {
        c.stream_error(503);
        c.close();
    })
    .await;
    assert!(
        matches!(r, CloseReason::StreamError { code: 503, .. }),
        "503: {r:?}"
    );

    let r = close_after(|c| c.close()).await;
    assert!(matches!(r, CloseReason::Network { .. }), "EOF: {r:?}");
}

async fn login_failure(outcome: LoginOutcome) -> CloseReason {
    let server = FakeWhatsApp::new(FakeConfig {
        login: outcome,
        ..FakeConfig::default()
    });
    let (_dir, socket) = linked_socket(&server).await;
    let mut rx = socket.connect().await.unwrap();
    closed(&mut rx).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_failures_are_classified() {
    let now = whatsapp_rust::wacore::time::now_millis();
    let r = login_failure(LoginOutcome::Failure {
        reason: 402,
        code: Some(101),
        expire_secs: Some(3600),
    })
    .await;
    match r {
        CloseReason::TemporaryBan {
            code: 402,
            expires_at_ms: Some(t),
        } => assert!((t - now - 3_600_000).abs() < 60_000, "expiry {t}"),
        other => panic!("402: {other:?}"),
    }

    let r = login_failure(LoginOutcome::Failure {
        reason: 403,
        code: None,
        expire_secs: None,
    })
    .await;
    assert!(
        matches!(r, CloseReason::TemporaryBan { code: 403, .. }),
        "403: {r:?}"
    );

    let r = login_failure(LoginOutcome::Failure {
        reason: 405,
        code: None,
        expire_secs: None,
    })
    .await;
    assert_eq!(r, CloseReason::ClientOutdated, "405");

    let r = login_failure(LoginOutcome::Failure {
        reason: 401,
        code: None,
        expire_secs: None,
    })
    .await;
    assert!(
        matches!(r, CloseReason::LoggedOut { .. }),
        "failure 401: {r:?}"
    );
}

/// A transport that cannot be created.
struct Unreachable;

#[async_trait::async_trait]
impl whatsapp_rust::transport::TransportFactory for Unreachable {
    async fn create_transport(
        &self,
    ) -> whatsapp_rust::anyhow::Result<(
        Arc<dyn whatsapp_rust::transport::Transport>,
        whatsapp_rust::async_channel::Receiver<whatsapp_rust::transport::TransportEvent>,
    )> {
        Err(whatsapp_rust::anyhow::anyhow!("connection refused"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_is_a_connect_failure() {
    let dir = tempfile::tempdir().unwrap();
    let socket =
        WhatsAppSocket::with_test_transport(config(dir.path()), Arc::new(Unreachable)).unwrap();
    let mut rx = socket.connect().await.unwrap();
    match closed(&mut rx).await {
        CloseReason::ConnectFailed { detail } => {
            assert!(detail.contains("connection refused"), "{detail}")
        }
        other => panic!("expected ConnectFailed, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_unlinks_and_deletes_the_protocol_state() {
    let server = FakeWhatsApp::new(FakeConfig::default());
    let (_dir, socket) = linked_socket(&server).await;
    let auth_dir = socket.config().auth_dir.clone();
    let mut rx = connected(&socket).await;
    let mut conn = server.next_connection().await.unwrap();
    socket.logout().await.unwrap();
    let removal = conn
        .wait_for(T, |n| {
            n.tag.as_ref() == "iq"
                && n.children().is_some_and(|c| {
                    c.iter()
                        .any(|c| c.tag.as_ref() == "remove-companion-device")
                })
        })
        .await;
    assert!(
        removal.is_some(),
        "no remove-companion request reached the server"
    );
    assert_eq!(closed(&mut rx).await, CloseReason::Requested);
    assert!(!auth_dir.exists(), "the authDir survived logout");
    assert!(socket.own_identity().is_none());
}

/// With the protocol store in PostgreSQL: the linked identity is read from the namespace,
/// nothing is written in the authDir, and logout deletes the namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_logout_deletes_the_namespace_and_nothing_touches_the_auth_dir() {
    let Some(pg) = wagw_store::test_support::TestPostgres::shared() else {
        return;
    };
    let url = pg.fresh_database();
    let server = FakeWhatsApp::new(FakeConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.store_location =
        wagw_store::Location::postgres(&url, &AccountStore::namespace(&cfg.account)).unwrap();
    let location = cfg.store_location.clone();
    let auth_dir = cfg.auth_dir.clone();
    {
        let store = AccountStore::open_at(&location, StoreOptions::default()).unwrap();
        let mut d = whatsapp_rust::wacore::store::Device::new();
        d.pn = Some(whatsapp_rust::Jid::pn("15550001234"));
        d.lid = Some(whatsapp_rust::Jid::lid("100000000000001"));
        store.save(&d).await.unwrap();
    }
    let linked = wagw_socket::linked_identity(&location).unwrap().unwrap();
    assert_eq!(linked.phone.to_string(), "+15550001234");
    let socket = WhatsAppSocket::with_test_transport(cfg, server.factory()).unwrap();
    assert!(socket.own_identity().is_some());
    let mut rx = connected(&socket).await;
    socket.logout().await.unwrap();
    assert_eq!(closed(&mut rx).await, CloseReason::Requested);
    assert!(!location.exists().unwrap(), "the namespace survived logout");
    let backup = wagw_store::Location::postgres(&url, "backup/account/default").unwrap();
    assert!(
        !backup.exists().unwrap(),
        "the credentials backup survived logout"
    );
    assert!(wagw_socket::linked_identity(&location).unwrap().is_none());
    assert!(!auth_dir.exists(), "the authDir was created");
}

/// An account that connected from SQLite, exported and imported into PostgreSQL, logs in to
/// the fake server as the same device — no new link — with its Signal state intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_exported_from_sqlite_and_imported_into_postgres_logs_in_as_the_same_device() {
    let Some(pg) = wagw_store::test_support::TestPostgres::shared() else {
        return;
    };
    let url = pg.fresh_database();
    let server = FakeWhatsApp::new(FakeConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    seed_linked(&cfg).await;
    // On SQLite: connect once (the client publishes its keys and stores its state), stop.
    let socket = WhatsAppSocket::with_test_transport(cfg.clone(), server.factory()).unwrap();
    let mut rx = connected(&socket).await;
    socket.disconnect().await;
    assert_eq!(closed(&mut rx).await, CloseReason::Requested);
    drop(socket);
    let backup = cfg.auth_dir.join(wagw_socket::store::BACKUP_FILE);
    assert!(backup.is_file(), "backed up on a disconnect without logout");
    let export = {
        let store = AccountStore::open(&cfg.auth_dir, StoreOptions::default()).unwrap();
        store.export(&cfg.account).unwrap().expect("linked")
    };
    assert_eq!(export.linked_as, "+15550001234");
    assert!(
        export
            .trees
            .get("meta")
            .is_some_and(|rows| !rows.is_empty())
    );
    let bytes = export.to_bytes();
    let parsed = wagw_socket::store::AccountExport::parse(&bytes).unwrap();

    let mut moved = config(dir.path());
    moved.auth_dir = dir.path().join("elsewhere");
    moved.store_location =
        wagw_store::Location::postgres(&url, &AccountStore::namespace(&moved.account)).unwrap();
    {
        let store = AccountStore::open_at(&moved.store_location, StoreOptions::default()).unwrap();
        assert_eq!(store.linked_as().unwrap(), None);
        store.import(&parsed).unwrap();
        assert_eq!(store.linked_as().unwrap().as_deref(), Some("+15550001234"));
    }
    let original = {
        let store = AccountStore::open(&cfg.auth_dir, StoreOptions::default()).unwrap();
        store.load_device_sync().unwrap().unwrap()
    };
    let socket = WhatsAppSocket::with_test_transport(moved, server.factory()).unwrap();
    let identity = socket.own_identity().expect("linked from the import");
    assert_eq!(identity.phone.to_string(), "+15550001234");
    let mut rx = connected(&socket).await;
    // The same device: its noise and identity keys came across.
    let store =
        AccountStore::open_at(&socket.config().store_location, StoreOptions::default()).unwrap();
    let now = store.load_device_sync().unwrap().unwrap();
    assert_eq!(
        now.identity_key.public_key.public_key_bytes(),
        original.identity_key.public_key.public_key_bytes()
    );
    assert_eq!(
        now.noise_key.public_key.public_key_bytes(),
        original.noise_key.public_key.public_key_bytes()
    );
    drop(store);
    socket.disconnect().await;
    assert_eq!(closed(&mut rx).await, CloseReason::Requested);
}
