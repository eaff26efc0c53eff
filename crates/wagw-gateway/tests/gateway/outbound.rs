//! Replies through `wagw-outbound` on the simulator: chunking, silent replies, media with
//! the caption on the first item, images shrunk under the cap, media failures reported to
//! the user, the explicit send API.

use std::io::Cursor;

use wagw_core::*;
use wagw_gateway::{MediaSource, Reply};

use crate::sim::Harness;

const OPEN: &str = "{ channels: { whatsapp: { dmPolicy: 'open', allowFrom: ['*'] } } }";

fn noisy_png(side: u32) -> Vec<u8> {
    let mut state: u32 = 7;
    let img = image::RgbImage::from_fn(side, side, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        image::Rgb([
            (x % 251) as u8 ^ state as u8,
            (y % 241) as u8,
            (state >> 8) as u8,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test(start_paused = true)]
async fn a_long_reply_arrives_in_chunks_under_the_limit() {
    let h = Harness::start(OPEN, |_| Some("word ".repeat(2_000))).await;
    let alice = h.net.phone("+15550001111");
    alice.send_text(&h.account, "talk to me").await;
    h.settle().await;
    let chunks = alice.received_texts();
    assert_eq!(
        chunks.len(),
        3,
        "{:?}",
        chunks.iter().map(|c| c.len()).collect::<Vec<_>>()
    );
    assert!(chunks.iter().all(|c| c.chars().count() <= 4000));
    assert_eq!(
        chunks.join(" ").split_whitespace().count(),
        2_000,
        "nothing lost"
    );
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn silent_replies_send_nothing() {
    let h = Harness::start(OPEN, |_| Some("NO_REPLY".to_owned())).await;
    let alice = h.net.phone("+15550001111");
    alice.send_text(&h.account, "ping").await;
    h.settle().await;
    assert!(alice.received().is_empty());
    assert_eq!(h.turns().len(), 1);
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_image_reply_is_shrunk_under_the_cap_with_its_caption() {
    let h = Harness::start(OPEN, |_| None).await;
    let alice = h.net.phone("+15550001111");
    let png = noisy_png(1800);
    assert!(
        png.len() > 5 * 1024 * 1024,
        "the test image must exceed the cap"
    );
    let report =
        h.gw.send_reply(
            &AccountId::default_account(),
            &alice.jid(),
            Reply::media(
                MediaSource::Bytes {
                    data: png.into(),
                    file_name: Some("big.png".into()),
                    mime: Some("image/png".into()),
                },
                Some("the view".into()),
            ),
        )
        .await
        .unwrap();
    assert!(report.failed.is_empty(), "{report:?}");
    let received = alice.received();
    assert_eq!(received.len(), 1);
    let media = received[0].media.as_ref().unwrap();
    assert_eq!(media.kind, MediaKind::Image);
    assert!(
        media.size <= 6 * 1024 * 1024,
        "shrunk: {} bytes",
        media.size
    );
    assert_eq!(received[0].caption(), Some("the view"));
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_failed_media_item_is_reported_and_the_text_still_goes_out() {
    let h = Harness::start(OPEN, |_| None).await;
    let alice = h.net.phone("+15550001111");
    let report =
        h.gw.send_reply(
            &AccountId::default_account(),
            &alice.jid(),
            Reply {
                text: Some("see attached".into()),
                media: vec![MediaSource::Path {
                    path: "/definitely/not/allowed.png".into(),
                }],
                ..Reply::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    // The contact gets the text only: no notice naming the path or a config key.
    let texts = alice.received_texts();
    assert_eq!(texts, ["see attached"], "{texts:?}");
    let m = &h.gw.metrics()[&AccountId::default_account()];
    assert_eq!(m.send_failures, 1);
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn self_chat_replies_carry_the_default_prefix() {
    let h = Harness::start(
        "{ channels: { whatsapp: { allowFrom: ['+15550009999'] } } }",
        |turn| Some(format!("noted: {}", turn.raw_body)),
    )
    .await;
    let me = h.net.owner(&h.account).unwrap();
    // The owner writes to their own number from their phone ("message yourself").
    me.message_to(&h.account).text("buy milk").send().await;
    h.settle().await;
    let sent = h.net.sent_texts(&h.account);
    assert_eq!(sent, ["[wagw] noted: buy milk"], "{sent:?}");
    assert!(
        h.net.read_marks(&h.account).is_empty(),
        "no read receipts in self-chat"
    );
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_status_feed_and_broadcast_lists_are_not_chats_to_send_to() {
    let h = Harness::start(OPEN, |_| None).await;
    let id = AccountId::default_account();
    for raw in ["status@broadcast", "123456@broadcast"] {
        // A JID read from inbound traffic can name them; every send path refuses it.
        let chat = Jid::parse(raw).unwrap();
        let e =
            h.gw.send_explicit(&id, &chat, Reply::text("hi"))
                .await
                .unwrap_err()
                .to_string();
        assert!(e.contains("is not a chat"), "{raw}: {e}");
        let e =
            h.gw.send_reply(&id, &chat, Reply::text("hi"))
                .await
                .unwrap_err()
                .to_string();
        assert!(e.contains("is not a chat"), "{raw}: {e}");
        let message = OutboundMessage {
            chat: chat.clone(),
            content: OutboundContent::Text { text: "hi".into() },
            quote: None,
            mentions: Vec::new(),
        };
        let e = h.gw.send(&id, message).await.unwrap_err().to_string();
        assert!(e.contains("is not a chat"), "{raw}: {e}");
    }
    assert!(h.net.sent_by(&h.account).is_empty(), "something was sent");
}
