//! `WaSocket::resources` on the real client against the fake server: per-account figures
//! from the library's client stats and resource report.

use std::time::Duration;

use wagw_core::{SocketEvent, WaSocket};
use wagw_fakewa::{FakeConfig, FakeWhatsApp};
use wagw_socket::WhatsAppSocket;

use crate::fake_server::{config, seed_linked};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_follow_the_connection() {
    let server = FakeWhatsApp::new(FakeConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    seed_linked(&cfg).await;
    let socket = WhatsAppSocket::with_test_transport(cfg, server.factory()).unwrap();

    let idle = socket
        .resources()
        .await
        .expect("the real transport reports");
    assert!(!idle.connected);
    assert!(idle.store_bytes_on_disk > 0, "{idle:?}");
    assert!(idle.sizes.is_empty(), "no client, no caches: {idle:?}");

    let mut rx = socket.connect().await.unwrap();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("no event within 30s")
            .expect("stream ended");
        match ev {
            SocketEvent::Connected { .. } => break,
            SocketEvent::Closed(r) => panic!("closed before connecting: {r}"),
            _ => {}
        }
    }
    let live = socket.resources().await.unwrap();
    assert!(live.connected);
    assert!(live.bytes_received > 0 && live.bytes_sent > 0, "{live:?}");
    for name in ["signal_sessions", "transport_ack_queue", "group_cache"] {
        assert!(live.sizes.contains_key(name), "{name} missing: {live:?}");
    }
    assert!(socket.resource_report().await.connected);

    socket.disconnect().await;
    assert!(!socket.resources().await.unwrap().connected);
}
