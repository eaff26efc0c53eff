//! Pipeline steps on the scripted double: normalization, routing by bindings.

use std::sync::{Arc, Mutex};

use wagw_core::*;
use wagw_gateway::*;

use crate::fake::{FakeSocket, dm};

async fn start_cfg(
    dir: &std::path::Path,
    socket: &FakeSocket,
    config: &str,
) -> (Gateway, Arc<Mutex<Vec<InboundTurn>>>) {
    let seen: Arc<Mutex<Vec<InboundTurn>>> = Arc::default();
    let s = seen.clone();
    let sink = sink_fn(move |turn| {
        let s = s.clone();
        async move {
            s.lock().unwrap().push(turn);
            Ok(vec![])
        }
    });
    let socket2 = socket.clone();
    let gw = Gateway::builder()
        .settings(GatewaySettings::from_json5(config, dir).unwrap())
        .transport(
            move |_: &AccountId, _: &TransportSettings| -> Result<Arc<dyn WaSocket>, SocketError> {
                Ok(Arc::new(socket2.clone()))
            },
        )
        .sink_arc(sink)
        .start()
        .await
        .unwrap();
    socket.wait_connects(1).await;
    (gw, seen)
}

#[tokio::test]
async fn turns_are_normalized_with_envelope_and_session_key() {
    let dir = tempfile::tempdir().unwrap();
    let socket = FakeSocket::linked("+15550009999");
    let (gw, seen) = start_cfg(
        dir.path(),
        &socket,
        "{ session: { dmScope: 'per-peer' }, channels: { whatsapp: { dmPolicy: 'open', allowFrom: ['*'] } } }",
    )
    .await;
    socket
        .deliver(dm("+15550001111", "M1", "hello"))
        .await
        .await
        .unwrap();
    let turn = seen.lock().unwrap()[0].clone();
    assert_eq!(turn.raw_body, "hello");
    assert!(
        turn.body.starts_with("[WhatsApp +15550001111 ") && turn.body.ends_with("] hello"),
        "{}",
        turn.body
    );
    assert_eq!(turn.session_key, "agent:main:dm:+15550001111");
    assert_eq!(turn.message_id, "M1");
    assert_eq!(turn.to, "+15550009999");
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn bindings_pick_the_agent_and_unmatched_turns_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let socket = FakeSocket::linked("+15550009999");
    let config = r#"{
        channels: { whatsapp: { dmPolicy: 'open', allowFrom: ['*'] } },
        bindings: [
            { match: { text: "(?i)^/support" }, agentId: "support" },
            { match: { from: "+15550002222" }, agentId: "main" },
        ],
    }"#;
    let (gw, seen) = start_cfg(dir.path(), &socket, config).await;
    socket
        .deliver(dm("+15550001111", "M1", "/support please"))
        .await
        .await
        .unwrap();
    socket
        .deliver(dm("+15550002222", "M2", "hi"))
        .await
        .await
        .unwrap();
    socket
        .deliver(dm("+15550003333", "M3", "hi"))
        .await
        .await
        .unwrap();
    let agents: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|t| t.agent_id.clone())
        .collect();
    assert_eq!(agents, ["support", "main"]);
    assert_eq!(
        gw.metrics()[&AccountId::default_account()].drops["no_binding"],
        1
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn debounce_merges_a_burst_and_acks_every_message() {
    let dir = tempfile::tempdir().unwrap();
    let socket = FakeSocket::linked("+15550009999");
    let (gw, seen) = start_cfg(
        dir.path(),
        &socket,
        "{ channels: { whatsapp: { debounceMs: 500, dmPolicy: 'open', allowFrom: ['*'] } } }",
    )
    .await;
    let a = socket.deliver(dm("+15550001111", "M1", "first")).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let b = socket.deliver(dm("+15550001111", "M2", "second")).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(seen.lock().unwrap().is_empty(), "held within the window");
    a.await.unwrap();
    b.await.unwrap();
    let turns = seen.lock().unwrap().clone();
    assert_eq!(turns.len(), 1);
    assert_eq!(turns[0].raw_body, "first\nsecond");
    assert_eq!(turns[0].message_id, "M2");
    // A later message is its own turn.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    socket
        .deliver(dm("+15550001111", "M3", "third"))
        .await
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2);
    gw.shutdown().await.unwrap();
}
