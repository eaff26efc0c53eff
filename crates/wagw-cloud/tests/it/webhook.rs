//! Webhooks: verification, signatures, every inbound type, status receipts, duplicates
//! and uncommitted messages.

use serde_json::{Value, json};
use tokio::task::JoinHandle;
use wagw_cloud::fake::{self, FakeGraph};
use wagw_cloud::{CloudSocket, WebhookError, WebhookReceipt, webhook};
use wagw_core::{Content, MediaKind, ReceiptKind, SocketEvent, WaSocket};

use super::{live, next, next_message, quiet};

const CUSTOMER: &str = "15550002222";
const NUMBER_ID: &str = "1000000001";

/// Hands a signed webhook to the socket in the background (it waits for the commit).
fn deliver(socket: &CloudSocket, body: Value) -> JoinHandle<Result<WebhookReceipt, WebhookError>> {
    let socket = socket.clone();
    tokio::spawn(async move {
        let raw = body.to_string();
        let sig = webhook::sign(fake::APP_SECRET, raw.as_bytes());
        socket.receive_webhook(Some(&sig), raw.as_bytes()).await
    })
}

#[tokio::test]
async fn verification_handshake_right_and_wrong_token() {
    let graph = FakeGraph::start().await;
    let (socket, _rx) = live(&graph).await;
    assert_eq!(
        socket.verify_subscription(
            Some("subscribe"),
            Some(fake::VERIFY_TOKEN),
            Some("1158201444")
        ),
        Ok("1158201444".to_string())
    );
    let wrong = socket
        .verify_subscription(Some("subscribe"), Some("guess"), Some("1158201444"))
        .unwrap_err();
    assert_eq!(wrong.status(), 403);
    assert!(wrong.to_string().contains("does not match"), "{wrong}");
    let mode = socket
        .verify_subscription(Some("unsubscribe"), Some(fake::VERIFY_TOKEN), Some("1"))
        .unwrap_err();
    assert_eq!(mode.status(), 403);
}

#[tokio::test]
async fn bad_signatures_are_refused_and_nothing_is_processed() {
    let graph = FakeGraph::start().await;
    let (socket, mut rx) = live(&graph).await;
    let body = fake::webhook(NUMBER_ID, &[fake::text(CUSTOMER, "wamid.SIG", "hi")], &[]);
    let raw = body.to_string();
    let forged = webhook::sign("not the app secret", raw.as_bytes());
    let e = socket
        .receive_webhook(Some(&forged), raw.as_bytes())
        .await
        .unwrap_err();
    assert_eq!((e.clone(), e.status()), (WebhookError::BadSignature, 401));
    let e = socket
        .receive_webhook(None, raw.as_bytes())
        .await
        .unwrap_err();
    assert_eq!(
        (e.clone(), e.status()),
        (WebhookError::MissingSignature, 401)
    );
    // A body changed after signing.
    let good = webhook::sign(fake::APP_SECRET, raw.as_bytes());
    let tampered = raw.replace("hi", "ho");
    let e = socket
        .receive_webhook(Some(&good), tampered.as_bytes())
        .await
        .unwrap_err();
    assert_eq!(e, WebhookError::BadSignature);
    assert!(quiet(&mut rx).await, "a refused webhook produced an event");
    // The right signature goes through.
    let h = deliver(&socket, body);
    let (m, ack) = next_message(&mut rx).await;
    ack.commit();
    assert_eq!(m.id.as_str(), "wamid.SIG");
    assert_eq!(h.await.unwrap().unwrap().committed, 1);
}

#[tokio::test]
async fn not_connected_answers_retry_later() {
    let graph = FakeGraph::start().await;
    let socket = CloudSocket::new(graph.config(wagw_core::AccountId::default_account())).unwrap();
    let body = fake::webhook(NUMBER_ID, &[fake::text(CUSTOMER, "wamid.X", "hi")], &[]);
    let e = deliver(&socket, body).await.unwrap().unwrap_err();
    assert_eq!((e.clone(), e.status()), (WebhookError::NotConnected, 503));
}

/// One webhook per inbound type; returns the content the socket made of it.
async fn convert(items: Vec<Value>) -> Vec<Box<wagw_core::InboundMessage>> {
    let graph = FakeGraph::start().await;
    let (socket, mut rx) = live(&graph).await;
    let n = items.len();
    let h = deliver(&socket, fake::webhook(NUMBER_ID, &items, &[]));
    let mut out = Vec::new();
    for _ in 0..n {
        let (m, ack) = next_message(&mut rx).await;
        ack.commit();
        out.push(m);
    }
    assert_eq!(h.await.unwrap().unwrap().committed, n);
    out
}

#[tokio::test]
async fn every_inbound_type_converts() {
    let items = vec![
        fake::text(CUSTOMER, "wamid.T", "plain text"),
        fake::message(
            CUSTOMER,
            "wamid.I",
            "image",
            json!({"id": "501", "mime_type": "image/jpeg", "caption": "look", "sha256": "x"}),
        ),
        fake::message(
            CUSTOMER,
            "wamid.V",
            "audio",
            json!({"id": "502", "mime_type": "audio/ogg; codecs=opus", "voice": true}),
        ),
        fake::message(
            CUSTOMER,
            "wamid.A",
            "audio",
            json!({"id": "503", "mime_type": "audio/mpeg"}),
        ),
        fake::message(
            CUSTOMER,
            "wamid.VI",
            "video",
            json!({"id": "504", "mime_type": "video/mp4", "caption": "clip"}),
        ),
        fake::message(
            CUSTOMER,
            "wamid.D",
            "document",
            json!({"id": "505", "mime_type": "application/pdf", "filename": "invoice.pdf", "caption": "Invoice"}),
        ),
        fake::message(
            CUSTOMER,
            "wamid.S",
            "sticker",
            json!({"id": "506", "mime_type": "image/webp", "animated": false}),
        ),
        fake::message(
            CUSTOMER,
            "wamid.L",
            "location",
            json!({"latitude": 52.52, "longitude": 13.405, "name": "Berlin", "address": "Pariser Platz"}),
        ),
        fake::message(
            CUSTOMER,
            "wamid.C",
            "contacts",
            json!([{"name": {"formatted_name": "Ann Lee", "first_name": "Ann"}, "phones": [{"phone": "+44 20 7946 0958", "wa_id": "442079460958", "type": "CELL"}]}]),
        ),
        fake::message(
            CUSTOMER,
            "wamid.R",
            "reaction",
            json!({"message_id": "wamid.OURS", "emoji": "👍"}),
        ),
        fake::message(
            CUSTOMER,
            "wamid.B",
            "interactive",
            json!({"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes please"}}),
        ),
        fake::message(
            CUSTOMER,
            "wamid.LR",
            "interactive",
            json!({"type": "list_reply", "list_reply": {"id": "r2", "title": "Tuesday", "description": "10:00"}}),
        ),
        fake::message(
            CUSTOMER,
            "wamid.TB",
            "button",
            json!({"payload": "STOP", "text": "Stop promotions"}),
        ),
        fake::message(CUSTOMER, "wamid.U", "unsupported", json!({})),
    ];
    let got = convert(items).await;
    let media = |i: usize| match &got[i].content {
        Content::Media(m) => m.clone(),
        other => panic!("{i}: {other:?}"),
    };
    assert_eq!(got[0].content, Content::text("plain text"));
    assert_eq!(
        got[0].sender.phone.as_ref().unwrap().to_string(),
        "+15550002222"
    );
    assert_eq!(got[0].chat.to_string(), "15550002222@s.whatsapp.net");
    assert_eq!(got[0].push_name.as_deref(), Some("Customer"));
    assert_eq!(got[0].timestamp_ms, 1_764_700_000_000);
    assert!(!got[0].from_me && !got[0].offline);
    let image = media(1);
    assert_eq!(
        (image.kind(), image.caption.as_deref()),
        (MediaKind::Image, Some("look"))
    );
    assert_eq!(image.reference.unwrap().direct_path, "501");
    let voice = media(2);
    assert!(voice.kind() == MediaKind::Audio && voice.ptt);
    assert!(!media(3).ptt);
    assert_eq!(media(4).kind(), MediaKind::Video);
    let doc = media(5);
    assert_eq!(
        (doc.kind(), doc.file_name.as_deref()),
        (MediaKind::Document, Some("invoice.pdf"))
    );
    assert_eq!(media(6).kind(), MediaKind::Sticker);
    match &got[7].content {
        Content::Location(l) => {
            assert_eq!(
                (l.latitude, l.longitude, l.name.as_deref()),
                (52.52, 13.405, Some("Berlin"))
            )
        }
        other => panic!("{other:?}"),
    }
    match &got[8].content {
        Content::Contacts { contacts } => {
            assert_eq!(contacts[0].name, "Ann Lee");
            assert_eq!(contacts[0].numbers, ["+44 20 7946 0958"]);
        }
        other => panic!("{other:?}"),
    }
    match &got[9].content {
        Content::Reaction { target, emoji } => {
            assert_eq!((target.id.as_str(), emoji.as_str()), ("wamid.OURS", "👍"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(got[10].content, Content::text("Yes please"));
    assert_eq!(got[11].content, Content::text("Tuesday"));
    assert_eq!(got[12].content, Content::text("Stop promotions"));
    assert_eq!(
        got[13].content,
        Content::Unsupported {
            kind: "unsupported".into()
        }
    );
}

#[tokio::test]
async fn quoted_replies_carry_the_quoted_id() {
    let mut reply = fake::text(CUSTOMER, "wamid.REPLY", "about that");
    reply["context"] = json!({"from": "15550100001", "id": "wamid.ORIGINAL"});
    let got = convert(vec![reply]).await;
    let q = got[0].context.quoted.as_ref().unwrap();
    assert_eq!(q.stanza_id.as_str(), "wamid.ORIGINAL");
    assert_eq!(
        q.participant.as_ref().unwrap().to_string(),
        "15550100001@s.whatsapp.net"
    );
}

#[tokio::test]
async fn statuses_become_receipts() {
    let graph = FakeGraph::start().await;
    let (socket, mut rx) = live(&graph).await;
    let mut failed = fake::status("wamid.F", "failed", CUSTOMER);
    failed["errors"] = json!([{"code": 131047, "title": "Re-engagement message",
        "message": "Re-engagement message", "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}]);
    let statuses = [
        fake::status("wamid.S1", "sent", CUSTOMER),
        fake::status("wamid.S1", "delivered", CUSTOMER),
        fake::status("wamid.S1", "read", CUSTOMER),
        failed,
    ];
    let r = deliver(&socket, fake::webhook(NUMBER_ID, &[], &statuses))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((r.receipts, r.committed), (4, 0));
    let mut kinds = Vec::new();
    for _ in 0..4 {
        match next(&mut rx).await {
            SocketEvent::Receipt(r) => kinds.push((r.kind, r.ids[0].to_string(), r.error)),
            other => panic!("{}", other.label()),
        }
    }
    assert_eq!(kinds[0].0, ReceiptKind::Sent);
    assert_eq!(kinds[1].0, ReceiptKind::Delivered);
    assert_eq!(kinds[2].0, ReceiptKind::Read);
    assert_eq!(kinds[3].0, ReceiptKind::Failed);
    let why = kinds[3].2.as_deref().unwrap();
    assert!(
        why.contains("a template message is required") && why.contains("131047"),
        "{why}"
    );
}

#[tokio::test]
async fn meta_retries_are_deduped_by_wamid() {
    let graph = FakeGraph::start().await;
    let (socket, mut rx) = live(&graph).await;
    let body = fake::webhook(
        NUMBER_ID,
        &[fake::text(CUSTOMER, "wamid.ONCE", "hello")],
        &[],
    );
    let h = deliver(&socket, body.clone());
    let (_, ack) = next_message(&mut rx).await;
    ack.commit();
    assert_eq!(h.await.unwrap().unwrap().committed, 1);
    // Meta retries the same delivery (it did not see our 200, say).
    let again = deliver(&socket, body).await.unwrap().unwrap();
    assert_eq!((again.committed, again.duplicates), (0, 1));
    assert!(quiet(&mut rx).await, "a retry reached the gateway again");
}

#[tokio::test]
async fn uncommitted_messages_make_meta_retry() {
    let graph = FakeGraph::start().await;
    let (socket, mut rx) = live(&graph).await;
    let body = fake::webhook(
        NUMBER_ID,
        &[fake::text(CUSTOMER, "wamid.RETRY", "hello")],
        &[],
    );
    let h = deliver(&socket, body.clone());
    let (_, ack) = next_message(&mut rx).await;
    drop(ack); // the gateway could not store it
    let e = h.await.unwrap().unwrap_err();
    assert_eq!(e.status(), 503);
    // Meta's retry is delivered and, committed this time, answered 200.
    let h = deliver(&socket, body);
    let (m, ack) = next_message(&mut rx).await;
    assert_eq!(m.id.as_str(), "wamid.RETRY");
    ack.commit();
    assert_eq!(h.await.unwrap().unwrap().committed, 1);
    socket.disconnect().await;
}

#[tokio::test]
async fn inbound_media_downloads_with_the_token() {
    let graph = FakeGraph::start().await;
    let (socket, mut rx) = live(&graph).await;
    let jpeg = b"\xFF\xD8\xFF\xE0 a small picture".to_vec();
    let id = graph.put_media(&jpeg, "image/jpeg");
    let h = deliver(
        &socket,
        fake::webhook(
            NUMBER_ID,
            &[fake::message(
                CUSTOMER,
                "wamid.IMG",
                "image",
                json!({"id": id, "mime_type": "image/jpeg"}),
            )],
            &[],
        ),
    );
    let (m, ack) = next_message(&mut rx).await;
    ack.commit();
    h.await.unwrap().unwrap();
    let Content::Media(media) = &m.content else {
        panic!("{:?}", m.content)
    };
    let data = socket
        .download_media(media.reference.as_ref().unwrap(), MediaKind::Image)
        .await
        .unwrap();
    assert_eq!(data.as_ref(), jpeg.as_slice());
    let reqs = graph.requests();
    let blob = reqs.iter().find(|r| r.path.starts_with("blob/")).unwrap();
    assert_eq!(
        blob.authorization.as_deref(),
        Some(format!("Bearer {}", fake::TOKEN).as_str())
    );
    // An unknown media id is reported as expired.
    let gone = wagw_core::MediaRef {
        direct_path: "404404".into(),
        ..Default::default()
    };
    assert_eq!(
        socket
            .download_media(&gone, MediaKind::Image)
            .await
            .unwrap_err(),
        wagw_core::SocketError::MediaExpired
    );
}
