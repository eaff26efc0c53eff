//! Inbound media download (retries, re-upload, cap, file mode), ack reactions and the agent
//! tools with their `actions.*` gates, on the scripted double.

use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use wagw_core::*;
use wagw_gateway::*;

use crate::fake::{FakeSocket, dm, image};

struct Captured(Arc<Mutex<Vec<InboundTurn>>>);

fn capture() -> (Arc<dyn AgentSink>, Captured) {
    let seen: Arc<Mutex<Vec<InboundTurn>>> = Arc::default();
    let s = seen.clone();
    let sink = sink_fn(move |turn| {
        let s = s.clone();
        async move {
            s.lock().unwrap().push(turn);
            Ok(vec![])
        }
    });
    (sink, Captured(seen))
}

async fn start_with(
    dir: &std::path::Path,
    socket: &FakeSocket,
    sink: Arc<dyn AgentSink>,
    edit: impl FnOnce(&mut AccountSettings),
) -> Gateway {
    let mut settings = crate::fake::open_settings(dir);
    edit(&mut settings.accounts[0]);
    let socket2 = socket.clone();
    let gw = Gateway::builder()
        .settings(settings)
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
    gw
}

#[tokio::test(start_paused = true)]
async fn media_is_saved_after_retries_and_reupload() {
    let dir = tempfile::tempdir().unwrap();
    let socket = FakeSocket::linked("+15550009999");
    {
        let mut s = socket.state.lock().unwrap();
        s.media = Some(Bytes::from_static(b"\xff\xd8jpegbytes"));
        s.transient_failures = 2;
        s.expired = true;
    }
    let (sink, seen) = capture();
    let gw = start_with(dir.path(), &socket, sink, |_| {}).await;
    socket
        .deliver(image("+15550001111", "IMG1", 12))
        .await
        .await
        .unwrap();
    let path = dir.path().join("media/inbound/IMG1.jpg");
    assert_eq!(std::fs::read(&path).unwrap(), b"\xff\xd8jpegbytes");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (reuploads, downloads) = {
        let s = socket.state.lock().unwrap();
        (s.reuploads, s.downloads)
    };
    assert_eq!(reuploads, 1);
    assert_eq!(downloads, 4, "2 transient failures, 1 expired, 1 success");
    assert_eq!(seen.0.lock().unwrap().len(), 1);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn media_over_the_cap_is_noted_not_saved() {
    let dir = tempfile::tempdir().unwrap();
    let socket = FakeSocket::linked("+15550009999");
    socket.state.lock().unwrap().media = Some(Bytes::from(vec![0u8; 10]));
    let (sink, seen) = capture();
    let gw = start_with(dir.path(), &socket, sink, |a| a.resolved.media_max_mb = 1).await;
    socket
        .deliver(image("+15550001111", "BIG", 3 * 1024 * 1024))
        .await
        .await
        .unwrap();
    assert!(!dir.path().join("media/inbound/BIG.jpg").exists());
    assert_eq!(
        socket.state.lock().unwrap().downloads,
        0,
        "declared size over the cap: not fetched"
    );
    let body = seen.0.lock().unwrap()[0].body.clone();
    assert!(body.contains("over the 1 MB limit"), "{body}");
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn ack_reaction_fires_in_dms_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let socket = FakeSocket::linked("+15550009999");
    let (sink, _seen) = capture();
    let gw = start_with(dir.path(), &socket, sink, |a| {
        a.resolved.ack_reaction.emoji = Some("👀".into())
    })
    .await;
    socket
        .deliver(dm("+15550001111", "M1", "hi"))
        .await
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let sent = socket.state.lock().unwrap().sent.clone();
    assert!(
        sent.iter().any(|m| matches!(&m.content,
            OutboundContent::Reaction { target, emoji } if emoji == "👀" && target.id.as_str() == "M1")),
        "{sent:?}"
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn tools_respect_their_gates_and_validate() {
    let dir = tempfile::tempdir().unwrap();
    let socket = FakeSocket::linked("+15550009999");
    let (sink, _seen) = capture();
    let gw = start_with(dir.path(), &socket, sink, |a| {
        a.resolved.actions.polls = false
    })
    .await;
    let account = AccountId::default_account();
    let chat = Phone::parse("+15550001111").unwrap().to_jid();
    let receipt = gw
        .react(
            &account,
            ReactRequest {
                chat: chat.clone(),
                message_id: MessageId::new("M1"),
                emoji: "👍".into(),
                remove: false,
                participant: None,
                from_me: false,
            },
        )
        .await
        .unwrap();
    assert!(!receipt.id.as_str().is_empty());
    let err = gw
        .send_poll(
            &account,
            PollRequest {
                chat: chat.clone(),
                question: "Lunch?".into(),
                options: vec!["a".into(), "b".into()],
                selectable_count: 1,
            },
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("channels.whatsapp.actions.polls"),
        "{err}"
    );

    let mut settings = crate::fake::open_settings(dir.path());
    settings.accounts[0].resolved.actions.reactions = false;
    gw.reload(settings).await.unwrap();
    let poll = gw
        .send_poll(
            &account,
            PollRequest {
                chat: chat.clone(),
                question: "Lunch?".into(),
                options: vec!["a".into(), "a".into()],
                selectable_count: 0,
            },
        )
        .await
        .unwrap_err();
    assert!(
        poll.to_string().contains("2 to 12 distinct options"),
        "{poll}"
    );
    let react = gw
        .react(
            &account,
            ReactRequest {
                chat: chat.clone(),
                message_id: MessageId::new("M1"),
                emoji: "👍".into(),
                remove: false,
                participant: None,
                from_me: false,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        react,
        GatewayError::ActionDisabled {
            action: "reactions",
            ..
        }
    ));
    gw.mark_read(&account, &chat, None, &[MessageId::new("M1")])
        .await
        .unwrap();
    assert_eq!(socket.state.lock().unwrap().read.len(), 1);
    gw.shutdown().await.unwrap();
}
