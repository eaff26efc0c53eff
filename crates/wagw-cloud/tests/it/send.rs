//! Sends: Meta's JSON, media out, reactions and read marks, templates, the Graph errors an
//! operator must understand, rate limits with backoff, and what does not apply.

use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use wagw_cloud::fake::{self, Failure, FakeGraph};
use wagw_cloud::{CloudSocket, Template};
use wagw_core::{
    AccountId, ChatPresence, CloseReason, Jid, MediaKind, MessageId, MessageKey, OutboundContent,
    OutboundMedia, OutboundMessage, OutboundQuote, Phone, SocketError, SocketEvent, WaSocket,
};

use super::{live, next};

fn customer() -> Jid {
    Jid::parse("15550002222@s.whatsapp.net").unwrap()
}

#[tokio::test]
async fn text_reply_goes_out_as_meta_json_with_the_token() {
    let graph = FakeGraph::start().await;
    let (socket, _rx) = live(&graph).await;
    let mut m = OutboundMessage::text(customer(), "Hello from wagw");
    m.quote = Some(OutboundQuote {
        key: MessageKey {
            chat: customer(),
            id: MessageId::new("wamid.Q1"),
            from_me: false,
            participant: None,
        },
        content: None,
    });
    let r = socket.send(m).await.unwrap();
    assert!(r.id.as_str().starts_with("wamid."));
    let req = graph
        .requests()
        .into_iter()
        .find(|r| r.path == "1000000001/messages")
        .unwrap();
    assert_eq!(
        req.authorization.as_deref(),
        Some(format!("Bearer {}", fake::TOKEN).as_str())
    );
    assert_eq!(
        req.body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "15550002222",
               "type": "text", "text": {"body": "Hello from wagw", "preview_url": false},
               "context": {"message_id": "wamid.Q1"}})
    );
}

#[tokio::test]
async fn media_upload_then_send_by_id() {
    let graph = FakeGraph::start().await;
    let (socket, _rx) = live(&graph).await;
    let ogg = Bytes::from_static(b"OggS\0\x02 a voice note");
    let up = socket
        .upload_media(ogg.clone(), MediaKind::Audio)
        .await
        .unwrap();
    assert_eq!(up.reference.file_length, ogg.len() as u64);
    assert_eq!(
        graph.media(&up.reference.direct_path).unwrap(),
        ogg.to_vec()
    );
    let upload = graph
        .requests()
        .into_iter()
        .find(|r| r.path == "1000000001/media")
        .unwrap();
    assert_eq!(upload.body["messaging_product"], "whatsapp");
    assert_eq!(upload.body["type"], "audio/ogg");
    let msg = OutboundMessage {
        chat: customer(),
        content: OutboundContent::Media(OutboundMedia {
            upload: up.clone(),
            mime: "audio/ogg; codecs=opus".into(),
            caption: Some("dropped: audio has no caption".into()),
            file_name: None,
            ptt: true,
            gif_playback: false,
            duration_secs: Some(2),
            waveform: None,
            width: None,
            height: None,
            thumbnail_jpeg: None,
        }),
        quote: None,
        mentions: Vec::new(),
    };
    socket.send(msg).await.unwrap();
    let sent = graph.sent("1000000001");
    assert_eq!(sent[0]["type"], "audio");
    assert_eq!(sent[0]["audio"], json!({"id": up.reference.direct_path}));
    // Media over the Cloud API's cap is refused before any upload, with the sizes.
    let big = Bytes::from(vec![0xFFu8; 5 * 1024 * 1024 + 1]);
    let e = socket
        .upload_media(big, MediaKind::Image)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SocketError::InvalidRequest(m) if m.contains("media too large")),
        "{e}"
    );
}

#[tokio::test]
async fn reactions_and_read_marks() {
    let graph = FakeGraph::start().await;
    let (socket, _rx) = live(&graph).await;
    let target = MessageKey {
        chat: customer(),
        id: MessageId::new("wamid.IN1"),
        from_me: false,
        participant: None,
    };
    socket
        .send(OutboundMessage {
            chat: customer(),
            content: OutboundContent::Reaction {
                target,
                emoji: "👀".into(),
            },
            quote: None,
            mentions: Vec::new(),
        })
        .await
        .unwrap();
    socket
        .mark_read(&customer(), None, &[MessageId::new("wamid.IN1")])
        .await
        .unwrap();
    let bodies: Vec<_> = graph
        .requests()
        .into_iter()
        .filter(|r| r.path == "1000000001/messages")
        .map(|r| r.body)
        .collect();
    assert_eq!(
        bodies[0]["reaction"],
        json!({"message_id": "wamid.IN1", "emoji": "👀"})
    );
    assert_eq!(
        bodies[1],
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN1"})
    );
}

#[tokio::test]
async fn the_24_hour_window_and_a_template_send() {
    let graph = FakeGraph::start().await;
    let (socket, _rx) = live(&graph).await;
    graph.fail_next([Failure::reengagement()]);
    let e = socket
        .send(OutboundMessage::text(customer(), "late reply"))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("the customer has not written in 24 h; a template message is required"),
        "{e}"
    );
    let t = Template {
        name: "order_update".into(),
        language: "en_US".into(),
        components: vec![
            json!({"type": "body", "parameters": [{"type": "text", "text": "#1234"}]}),
        ],
    };
    let r = socket.send_template(&customer(), &t).await.unwrap();
    assert!(r.id.as_str().starts_with("wamid."));
    // The same through the WaSocket seam, as the gateway sends a Reply's template.
    socket
        .send(OutboundMessage {
            chat: customer(),
            content: OutboundContent::Template(t.clone()),
            quote: None,
            mentions: Vec::new(),
        })
        .await
        .unwrap();
    let sent = graph.sent("1000000001");
    let last = sent.last().unwrap();
    assert_eq!(last["type"], "template");
    assert_eq!(last["template"]["name"], "order_update");
    assert_eq!(last["template"]["language"]["code"], "en_US");
}

#[tokio::test]
async fn expired_token_is_explained_and_ends_the_connection() {
    let graph = FakeGraph::start().await;
    let (socket, _rx) = live(&graph).await;
    graph.expire_token();
    let e = socket
        .send(OutboundMessage::text(customer(), "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SocketError::Rejected { code: 401, .. }),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("invalid or expired") && e.to_string().contains("cloud.accessToken")
    );
    assert!(!e.to_string().contains(fake::TOKEN));
    // The next connect is refused as a logout, with the same advice.
    let mut rx = socket.connect().await.unwrap();
    // The previous connection's stream is closed by the new connect; read this one.
    match next(&mut rx).await {
        SocketEvent::Closed(CloseReason::LoggedOut { detail }) => {
            assert!(detail.contains("access token"), "{detail}")
        }
        other => panic!("{}", other.label()),
    }
    assert!(rx.recv().await.is_none());
}

#[tokio::test]
async fn rate_limits_are_retried_with_growing_waits() {
    let graph = FakeGraph::start().await;
    let (socket, _rx) = live(&graph).await;
    graph.fail_next([Failure::rate_limit(), Failure::rate_limit()]);
    socket
        .send(OutboundMessage::text(customer(), "eventually"))
        .await
        .unwrap();
    let at: Vec<_> = graph
        .requests()
        .into_iter()
        .filter(|r| r.path == "1000000001/messages")
        .map(|r| r.at)
        .collect();
    assert_eq!(at.len(), 3, "two refusals and the success");
    // The fake's policy: 20 ms, then 40 ms.
    assert!(at[1] - at[0] >= Duration::from_millis(20));
    assert!(at[2] - at[1] >= Duration::from_millis(40));
    // Past the attempts the send fails with the rate-limit advice.
    graph.fail_next([
        Failure::rate_limit(),
        Failure::rate_limit(),
        Failure::rate_limit(),
    ]);
    let e = socket
        .send(OutboundMessage::text(customer(), "no"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SocketError::Rejected { code: 429, detail } if detail.contains("rate-limiting")),
        "{e:?}"
    );
}

#[tokio::test]
async fn recipient_not_on_whatsapp() {
    let graph = FakeGraph::start().await;
    let (socket, _rx) = live(&graph).await;
    graph.fail_next([Failure::not_on_whatsapp()]);
    let e = socket
        .send(OutboundMessage::text(customer(), "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SocketError::NotFound(m) if m.contains("not on WhatsApp")),
        "{e:?}"
    );
}

#[tokio::test]
async fn what_does_not_apply_is_unsupported_with_a_reason() {
    let graph = FakeGraph::start().await;
    let socket = CloudSocket::new(graph.config(AccountId::default_account())).unwrap();
    let phone = Phone::parse("+15550002222").unwrap();
    let reason = |r: Result<(), SocketError>| match r {
        Err(SocketError::Unsupported(why)) => why,
        other => panic!("{other:?}"),
    };
    assert!(reason(socket.request_pair_code(&phone).await.map(drop)).contains("Meta's dashboard"));
    assert!(reason(socket.submit_passkey_assertion("{}").await).contains("not linked as a device"));
    assert!(reason(socket.logout().await).contains("Meta's dashboard"));
    let (socket, _rx) = live(&graph).await;
    assert!(
        reason(
            socket
                .send_chat_presence(&customer(), ChatPresence::Composing)
                .await
        )
        .contains("presence")
    );
    let group = Jid::parse("120363000000000000@g.us").unwrap();
    assert!(reason(socket.group_metadata(&group).await.map(drop)).contains("groups"));
    assert!(
        reason(
            socket
                .send(OutboundMessage::text(group, "hi"))
                .await
                .map(drop)
        )
        .contains("groups")
    );
    let edit = OutboundMessage {
        chat: customer(),
        content: OutboundContent::Edit {
            target: MessageKey {
                chat: customer(),
                id: MessageId::new("wamid.X"),
                from_me: true,
                participant: None,
            },
            text: "fixed".into(),
        },
        quote: None,
        mentions: Vec::new(),
    };
    assert!(reason(socket.send(edit).await.map(drop)).contains("edit"));
    // Nothing of the above reached Meta.
    assert!(graph.sent("1000000001").is_empty());
}
