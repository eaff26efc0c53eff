//! Delivery through a fake `WaSocket`: order, captions, media failures, retries, pacing.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use wagw_core::{
    ChatPresence, GroupMetadata, Jid, Lid, MediaKind, MediaRef, MessageId, MessageKey,
    OutboundContent, OutboundMessage, OwnIdentity, Phone, SendReceipt, SocketError, SocketEvents,
    UploadedMedia, WaSocket,
};
use wagw_outbound::{
    MediaCaps, MediaFailurePolicy, MediaLoader, MediaOptions, MediaSettings, MediaSource,
    OutboundError, Outbox, Pacer, PacingSettings, ReplyContent, ReplyMedia, ReplyTarget,
    TextSettings, Tools, deliver, deliver_reply, plan_reply, send_with_retry,
};

/// Records sends; pops a scripted failure (if any) before each send.
#[derive(Default)]
struct FakeSocket {
    sent: Mutex<Vec<OutboundMessage>>,
    attempts: Mutex<u32>,
    script: Mutex<VecDeque<SocketError>>,
    presence: Mutex<Vec<(Jid, ChatPresence, tokio::time::Instant)>>,
    send_times: Mutex<Vec<tokio::time::Instant>>,
}

impl FakeSocket {
    fn failing(errors: Vec<SocketError>) -> FakeSocket {
        FakeSocket {
            script: Mutex::new(errors.into()),
            ..FakeSocket::default()
        }
    }
    fn texts(&self) -> Vec<String> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .map(|m| match &m.content {
                OutboundContent::Text { text } => text.clone(),
                OutboundContent::Media(media) => {
                    format!(
                        "<{}{}>",
                        media.kind().as_str(),
                        media
                            .caption
                            .as_ref()
                            .map(|c| format!(":{c}"))
                            .unwrap_or_default()
                    )
                }
                other => format!("{other:?}"),
            })
            .collect()
    }
}

#[async_trait]
impl WaSocket for FakeSocket {
    async fn connect(&self) -> Result<SocketEvents, SocketError> {
        Err(SocketError::Unsupported("fake"))
    }
    async fn disconnect(&self) {}
    async fn logout(&self) -> Result<(), SocketError> {
        Ok(())
    }
    async fn request_pair_code(&self, _phone: &Phone) -> Result<String, SocketError> {
        Err(SocketError::Unsupported("fake"))
    }
    async fn submit_passkey_assertion(&self, _assertion_json: &str) -> Result<(), SocketError> {
        Err(SocketError::Unsupported("fake"))
    }
    fn own_identity(&self) -> Option<OwnIdentity> {
        None
    }
    async fn send(&self, message: OutboundMessage) -> Result<SendReceipt, SocketError> {
        let n = {
            let mut a = self.attempts.lock().unwrap();
            *a += 1;
            *a
        };
        if let Some(err) = self.script.lock().unwrap().pop_front() {
            return Err(err);
        }
        self.send_times
            .lock()
            .unwrap()
            .push(tokio::time::Instant::now());
        self.sent.lock().unwrap().push(message);
        Ok(SendReceipt {
            id: MessageId::new(format!("SRV{n}")),
            timestamp_ms: 1_700_000_000_000,
        })
    }
    async fn upload_media(
        &self,
        data: Bytes,
        kind: MediaKind,
    ) -> Result<UploadedMedia, SocketError> {
        Ok(UploadedMedia {
            kind,
            reference: MediaRef {
                direct_path: format!("/fake/{}", data.len()),
                file_length: data.len() as u64,
                ..MediaRef::default()
            },
        })
    }
    async fn download_media(
        &self,
        _media: &MediaRef,
        _kind: MediaKind,
    ) -> Result<Bytes, SocketError> {
        Err(SocketError::Unsupported("fake"))
    }
    async fn request_media_reupload(
        &self,
        _m: &MessageKey,
        _r: &MediaRef,
    ) -> Result<MediaRef, SocketError> {
        Err(SocketError::Unsupported("fake"))
    }
    async fn mark_read(
        &self,
        _chat: &Jid,
        _sender: Option<&Jid>,
        _ids: &[MessageId],
    ) -> Result<(), SocketError> {
        Ok(())
    }
    async fn send_chat_presence(
        &self,
        chat: &Jid,
        presence: ChatPresence,
    ) -> Result<(), SocketError> {
        self.presence
            .lock()
            .unwrap()
            .push((chat.clone(), presence, tokio::time::Instant::now()));
        Ok(())
    }
    async fn group_metadata(&self, _group: &Jid) -> Result<GroupMetadata, SocketError> {
        Err(SocketError::Unsupported("fake"))
    }
    async fn lid_for_phone(&self, _phone: &Phone) -> Result<Option<Lid>, SocketError> {
        Ok(None)
    }
    async fn phone_for_lid(&self, _lid: &Lid) -> Result<Option<Phone>, SocketError> {
        Ok(None)
    }
}

fn chat() -> Jid {
    Jid::parse("15551234567@s.whatsapp.net").unwrap()
}

fn target() -> ReplyTarget {
    ReplyTarget {
        chat: chat(),
        is_self_chat: false,
        quote: None,
    }
}

fn small_text(limit: usize) -> TextSettings {
    TextSettings {
        limit,
        ..TextSettings::default()
    }
}

struct Env {
    root: tempfile::TempDir,
    loader: MediaLoader,
    tools: Tools,
}

fn env() -> Env {
    let root = tempfile::tempdir().unwrap();
    let loader = MediaLoader::new(MediaSettings {
        local_roots: vec![root.path().to_path_buf()],
        ..MediaSettings::default()
    })
    .unwrap();
    Env {
        root,
        loader,
        tools: Tools::none(),
    }
}

fn png_file(env: &Env, name: &str) -> MediaSource {
    let img = image::RgbImage::from_pixel(10, 10, image::Rgb([5, 5, 5]));
    let path = env.root.path().join(name);
    img.save(&path).unwrap();
    MediaSource::Path { path }
}

#[tokio::test(start_paused = true)]
async fn text_chunks_go_in_order_with_confirmed_ids() {
    let socket = FakeSocket::default();
    let env = env();
    let outbox = Outbox {
        socket: &socket,
        loader: &env.loader,
        tools: &env.tools,
        pacer: None,
    };
    let report = deliver_reply(
        &outbox,
        &target(),
        "one two three four",
        &[],
        &small_text(9),
        &MediaCaps::reply(None),
        &MediaOptions::default(),
    )
    .await;
    assert_eq!(socket.texts(), ["one two", "three", "four"]);
    assert!(report.is_complete());
    let ids: Vec<&str> = report.sent.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["SRV1", "SRV2", "SRV3"]);
}

#[tokio::test(start_paused = true)]
async fn silent_reply_sends_nothing() {
    let socket = FakeSocket::default();
    let env = env();
    let outbox = Outbox {
        socket: &socket,
        loader: &env.loader,
        tools: &env.tools,
        pacer: None,
    };
    for silent in ["NO_REPLY", "HEARTBEAT_OK", "  "] {
        let report = deliver_reply(
            &outbox,
            &target(),
            silent,
            &[],
            &small_text(100),
            &MediaCaps::reply(None),
            &MediaOptions::default(),
        )
        .await;
        assert!(report.sent.is_empty() && report.failed.is_empty());
    }
    assert!(socket.texts().is_empty());
}

#[tokio::test(start_paused = true)]
async fn caption_on_first_media_then_text() {
    let socket = FakeSocket::default();
    let env = env();
    let media = [png_file(&env, "a.png"), png_file(&env, "b.png")];
    let outbox = Outbox {
        socket: &socket,
        loader: &env.loader,
        tools: &env.tools,
        pacer: None,
    };
    let report = deliver_reply(
        &outbox,
        &target(),
        "caption here and more",
        &media,
        &small_text(12),
        &MediaCaps::reply(None),
        &MediaOptions::default(),
    )
    .await;
    assert_eq!(
        socket.texts(),
        ["<image:caption here>", "<image>", "and more"]
    );
    assert!(report.is_complete(), "{report:?}");
}

#[tokio::test(start_paused = true)]
async fn failed_media_warns_and_keeps_every_chunk() {
    let socket = FakeSocket::default();
    let env = env();
    // Outside the local roots: refused.
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.png");
    std::fs::write(&secret, b"x").unwrap();
    let media = [
        MediaSource::Path {
            path: secret.clone(),
        },
        png_file(&env, "ok.png"),
    ];
    let outbox = Outbox {
        socket: &socket,
        loader: &env.loader,
        tools: &env.tools,
        pacer: None,
    };
    let report = deliver_reply(
        &outbox,
        &target(),
        "first chunk second chunk",
        &media,
        &small_text(12),
        &MediaCaps::reply(None),
        &MediaOptions::default(),
    )
    .await;
    // The contact gets the good item and every text chunk, never the reason (a path).
    let texts = socket.texts();
    assert_eq!(
        texts,
        ["<image>", "first chunk", "second chunk"],
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .all(|t| !t.contains(&*secret.to_string_lossy())),
        "{texts:?}"
    );
    // The operator gets it in the report.
    assert_eq!(report.failed.len(), 1);
    assert!(report.failed[0].part.starts_with("media[0]"), "{report:?}");
    assert!(
        report.failed[0].error.contains("media.localRoots"),
        "{report:?}"
    );
    assert_eq!(report.sent.len(), 3);

    // An explicit send: nothing goes out, and the failure names the item.
    let before = socket.texts().len();
    let items: Vec<ReplyMedia> = [png_file(&env, "ok.png"), media[0].clone()]
        .into_iter()
        .map(ReplyMedia::from)
        .collect();
    let content = ReplyContent {
        text: "caption",
        media: &items,
        mentions: &[],
        options: &MediaOptions::default(),
    };
    let failure = deliver(
        &outbox,
        &target(),
        &content,
        &small_text(12),
        &MediaCaps::explicit(),
        MediaFailurePolicy::AllOrNothing,
    )
    .await
    .unwrap_err();
    assert_eq!(failure.index, 1);
    assert!(
        matches!(failure.error, OutboundError::PathNotAllowed { .. }),
        "{failure}"
    );
    assert_eq!(socket.texts().len(), before, "nothing was sent");
}

#[tokio::test(start_paused = true)]
async fn voice_note_takes_no_caption() {
    let socket = FakeSocket::default();
    let env = env();
    let path = env.root.path().join("v.ogg");
    std::fs::write(
        &path,
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/media/voice-2s.ogg"
        ))
        .unwrap(),
    )
    .unwrap();
    let outbox = Outbox {
        socket: &socket,
        loader: &env.loader,
        tools: &env.tools,
        pacer: None,
    };
    deliver_reply(
        &outbox,
        &target(),
        "listen",
        &[MediaSource::Path { path }],
        &small_text(100),
        &MediaCaps::reply(None),
        &MediaOptions::default(),
    )
    .await;
    assert_eq!(socket.texts(), ["<audio>", "listen"]);
    let sent = socket.sent.lock().unwrap();
    let OutboundContent::Media(m) = &sent[0].content else {
        panic!("media first")
    };
    assert!(m.ptt);
    assert_eq!(m.mime, "audio/ogg; codecs=opus");
    assert_eq!(m.duration_secs, Some(2));
}

#[tokio::test(start_paused = true)]
async fn transient_errors_retry_with_backoff() {
    let socket = FakeSocket::failing(vec![
        SocketError::Interrupted("reset".into()),
        SocketError::Timeout(Duration::from_secs(5)),
    ]);
    let start = tokio::time::Instant::now();
    let receipt = send_with_retry(&socket, &OutboundMessage::text(chat(), "hi"))
        .await
        .unwrap();
    assert_eq!(receipt.id.as_str(), "SRV3");
    // 500 ms after the first failure, 1000 ms after the second.
    assert_eq!(start.elapsed(), Duration::from_millis(1500));

    let socket = FakeSocket::failing(vec![SocketError::NotConnected; 5]);
    let err = send_with_retry(&socket, &OutboundMessage::text(chat(), "hi"))
        .await
        .unwrap_err();
    assert_eq!(err, SocketError::NotConnected);
    assert_eq!(*socket.attempts.lock().unwrap(), 3);

    let socket = FakeSocket::failing(vec![SocketError::Rejected {
        code: 479,
        detail: "bad".into(),
    }]);
    assert!(
        send_with_retry(&socket, &OutboundMessage::text(chat(), "hi"))
            .await
            .is_err()
    );
    assert_eq!(
        *socket.attempts.lock().unwrap(),
        1,
        "permanent errors are not retried"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_chunk_does_not_stop_the_rest() {
    let socket = FakeSocket::failing(vec![SocketError::Rejected {
        code: 400,
        detail: "x".into(),
    }]);
    let env = env();
    let outbox = Outbox {
        socket: &socket,
        loader: &env.loader,
        tools: &env.tools,
        pacer: None,
    };
    let report = deliver_reply(
        &outbox,
        &target(),
        "aaa bbb ccc",
        &[],
        &small_text(3),
        &MediaCaps::reply(None),
        &MediaOptions::default(),
    )
    .await;
    assert_eq!(socket.texts(), ["bbb", "ccc"]);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].part, "text chunk 1");
}

#[tokio::test(start_paused = true)]
async fn pacing_spaces_sends_and_shows_typing() {
    let socket = FakeSocket::default();
    let env = env();
    let pacer = Pacer::new(PacingSettings::default());
    pacer.mark_known(&chat());
    let outbox = Outbox {
        socket: &socket,
        loader: &env.loader,
        tools: &env.tools,
        pacer: Some(&pacer),
    };
    let start = tokio::time::Instant::now();
    deliver_reply(
        &outbox,
        &target(),
        "a b c d e f g h i j",
        &[],
        &small_text(1),
        &MediaCaps::reply(None),
        &MediaOptions::default(),
    )
    .await;
    assert_eq!(socket.texts().len(), 10);
    let times: Vec<u128> = socket
        .send_times
        .lock()
        .unwrap()
        .iter()
        .map(|t| (*t - start).as_millis())
        .collect();
    // Same chat: at least 1 s apart; once the burst of 5 plus what the 20/min rate refilled
    // is used up, one every 3 s.
    assert_eq!(
        times,
        [0, 1000, 2000, 3000, 4000, 5000, 6000, 9000, 12000, 15000]
    );
    {
        let typing = socket.presence.lock().unwrap();
        assert_eq!(typing.len(), 9);
        assert!(typing.iter().all(|(_, p, _)| *p == ChatPresence::Composing));
    }

    // The owner's self-chat is never held back.
    let socket = FakeSocket::default();
    let outbox = Outbox {
        socket: &socket,
        loader: &env.loader,
        tools: &env.tools,
        pacer: Some(&pacer),
    };
    let start = tokio::time::Instant::now();
    let me = ReplyTarget {
        is_self_chat: true,
        ..target()
    };
    deliver_reply(
        &outbox,
        &me,
        "a b c d e f g",
        &[],
        &small_text(1),
        &MediaCaps::reply(None),
        &MediaOptions::default(),
    )
    .await;
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn dry_run_plan() {
    let socket = FakeSocket::default();
    let env = env();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("x.png"), b"x").unwrap();
    let media = [
        png_file(&env, "p.png"),
        MediaSource::Path {
            path: outside.path().join("x.png"),
        },
    ];
    let outbox = Outbox {
        socket: &socket,
        loader: &env.loader,
        tools: &env.tools,
        pacer: None,
    };
    let plan = plan_reply(
        &outbox,
        "hello world",
        &media,
        &small_text(5),
        &MediaCaps::reply(None),
        &MediaOptions::default(),
    )
    .await;
    assert_eq!(plan.chunks, ["hello", "world"]);
    assert_eq!(plan.caption.as_deref(), Some("hello"));
    assert!(plan.media[0].is_ok());
    assert!(
        plan.media[1]
            .as_ref()
            .is_err_and(|e| e.contains("not allowed"))
    );
    assert!(socket.texts().is_empty(), "a dry run sends nothing");
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(
        json["media"][0]["Ok"]["action"]["action"],
        "imagePassThrough"
    );
}
