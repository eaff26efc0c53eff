//! Outbound conversion: wagw messages into protocol messages, and back through the inbound
//! converter where both directions exist.

use bytes::Bytes;
use wagw_core::{
    AccountId, Content, Jid, MediaKind, MediaRef, MessageId, MessageKey, OutboundContent,
    OutboundMedia, OutboundMessage, OutboundQuote, UploadedMedia,
};
use wagw_socket::{inbound, send};
use whatsapp_rust::wacore::types::message::MessageInfo;

fn jid(s: &str) -> Jid {
    Jid::parse(s).unwrap()
}

fn upload(kind: MediaKind) -> UploadedMedia {
    UploadedMedia {
        kind,
        reference: MediaRef {
            direct_path: "/v/t62/xyz".into(),
            url: Some("https://mmg.whatsapp.net/xyz".into()),
            media_key: vec![9; 32],
            file_sha256: vec![3; 32],
            file_enc_sha256: vec![4; 32],
            file_length: 777,
            media_key_timestamp: None,
        },
    }
}

fn media(kind: MediaKind, mime: &str) -> OutboundMedia {
    OutboundMedia {
        upload: upload(kind),
        mime: mime.into(),
        caption: None,
        file_name: None,
        ptt: false,
        gif_playback: false,
        duration_secs: None,
        waveform: None,
        width: None,
        height: None,
        thumbnail_jpeg: None,
    }
}

fn out(content: OutboundContent) -> OutboundMessage {
    OutboundMessage {
        chat: jid("15551234567@s.whatsapp.net"),
        content,
        quote: None,
        mentions: vec![],
    }
}

/// What the inbound converter reads back from a built message.
fn round_trip(m: &OutboundMessage) -> wagw_core::InboundMessage {
    let own = jid("15550000000@s.whatsapp.net");
    let built = send::build_message(m, Some(&own), 1_700_000_000).unwrap();
    inbound::convert(
        &AccountId::default_account(),
        &built,
        &MessageInfo::default(),
    )
}

#[test]
fn plain_text_is_a_conversation() {
    let built = send::build_message(
        &OutboundMessage::text(jid("15551234567@s.whatsapp.net"), "hello"),
        None,
        0,
    )
    .unwrap();
    assert_eq!(built.conversation.as_deref(), Some("hello"));
    assert!(!built.extended_text_message.is_set());
}

#[test]
fn quote_and_mentions_ride_in_extended_text() {
    let mut m = out(OutboundContent::Text {
        text: "@15550002222 yes".into(),
    });
    m.quote = Some(OutboundQuote {
        key: MessageKey {
            chat: jid("15551234567@s.whatsapp.net"),
            id: MessageId::new("Q1"),
            from_me: false,
            participant: None,
        },
        content: Some(Content::text("are you coming?")),
    });
    m.mentions = vec![jid("15550002222@s.whatsapp.net")];
    let back = round_trip(&m);
    assert_eq!(back.content, Content::text("@15550002222 yes"));
    let q = back.context.quoted.unwrap();
    assert_eq!(q.stanza_id.as_str(), "Q1");
    // A DM quote of the peer's message names the peer as the author.
    assert_eq!(
        q.participant.unwrap().to_string(),
        "15551234567@s.whatsapp.net"
    );
    assert_eq!(
        q.content.as_deref(),
        Some(&Content::text("are you coming?"))
    );
    assert_eq!(
        back.context.mentioned,
        vec![jid("15550002222@s.whatsapp.net")]
    );
}

#[test]
fn quoting_own_message_names_this_account() {
    let own = jid("15550000000@s.whatsapp.net");
    let q = OutboundQuote {
        key: MessageKey {
            chat: jid("15551234567@s.whatsapp.net"),
            id: MessageId::new("MINE"),
            from_me: true,
            participant: None,
        },
        content: None,
    };
    let ctx = send::context_info(Some(&q), &[], Some(&own)).unwrap();
    assert_eq!(
        ctx.participant.as_deref(),
        Some("15550000000@s.whatsapp.net")
    );
    assert!(send::context_info(None, &[], Some(&own)).is_none());
}

#[test]
fn image_carries_cdn_fields_caption_and_size() {
    let mut im = media(MediaKind::Image, "image/jpeg");
    im.caption = Some("cat".into());
    im.width = Some(100);
    im.height = Some(50);
    im.thumbnail_jpeg = Some(Bytes::from_static(b"\xff\xd8thumb"));
    let built = send::build_message(&out(OutboundContent::Media(im)), None, 42).unwrap();
    let i = built.image_message.as_option().unwrap();
    assert_eq!(i.direct_path.as_deref(), Some("/v/t62/xyz"));
    assert_eq!(i.media_key.as_deref(), Some(&[9u8; 32][..]));
    assert_eq!(i.file_length, Some(777));
    assert_eq!(i.media_key_timestamp, Some(42));
    assert_eq!(i.caption.as_deref(), Some("cat"));
    assert_eq!(i.jpeg_thumbnail.as_deref(), Some(&b"\xff\xd8thumb"[..]));
}

#[test]
fn media_keeps_its_key_timestamp_when_forwarded_and_round_trips() {
    // A forward reuses the original upload: its key's timestamp, not the send time, goes out.
    let mut doc = media(MediaKind::Document, "application/pdf");
    doc.upload.reference.media_key_timestamp = Some(1_650_000_000);
    let out = out(OutboundContent::Media(doc));
    let built = send::build_message(&out, None, 1_700_000_000).unwrap();
    let d = built.document_message.as_option().unwrap();
    assert_eq!(d.media_key_timestamp, Some(1_650_000_000));
    let back = round_trip(&out);
    let Content::Media(m) = &back.content else {
        panic!("not media: {:?}", back.content)
    };
    assert_eq!(
        m.reference.as_ref().unwrap().media_key_timestamp,
        Some(1_650_000_000)
    );
    // The download message carries it too.
    let r = m.reference.clone().unwrap();
    let dl = wagw_socket::media::downloadable(&r, MediaKind::Document);
    assert_eq!(
        dl.document_message.as_option().unwrap().media_key_timestamp,
        Some(1_650_000_000)
    );
}

#[test]
fn voice_note_has_ptt_seconds_and_waveform() {
    let mut a = media(MediaKind::Audio, "audio/ogg; codecs=opus");
    a.ptt = true;
    a.duration_secs = Some(7);
    a.waveform = Some(vec![50; 64]);
    let built = send::build_message(&out(OutboundContent::Media(a.clone())), None, 0).unwrap();
    let am = built.audio_message.as_option().unwrap();
    assert_eq!(am.ptt, Some(true));
    assert_eq!(am.seconds, Some(7));
    assert_eq!(am.waveform.as_deref().map(<[u8]>::len), Some(64));
    let back = round_trip(&out(OutboundContent::Media(a)));
    match back.content {
        Content::Media(m) => assert!(m.ptt && m.duration_secs == Some(7)),
        other => panic!("expected media, got {other:?}"),
    }
}

#[test]
fn gif_video_and_document_and_sticker() {
    let mut v = media(MediaKind::Video, "video/mp4");
    v.gif_playback = true;
    v.duration_secs = Some(3);
    let built = send::build_message(&out(OutboundContent::Media(v)), None, 0).unwrap();
    assert_eq!(
        built.video_message.as_option().unwrap().gif_playback,
        Some(true)
    );

    let mut d = media(MediaKind::Document, "application/pdf");
    d.file_name = Some("a.pdf".into());
    d.caption = Some("see".into());
    let back = round_trip(&out(OutboundContent::Media(d)));
    match back.content {
        Content::Media(m) => {
            assert_eq!(m.file_name.as_deref(), Some("a.pdf"));
            assert_eq!(m.caption.as_deref(), Some("see"));
            assert_eq!(m.reference.unwrap().direct_path, "/v/t62/xyz");
        }
        other => panic!("expected media, got {other:?}"),
    }

    let s = media(MediaKind::Sticker, "image/webp");
    let built = send::build_message(&out(OutboundContent::Media(s)), None, 0).unwrap();
    assert_eq!(
        built
            .sticker_message
            .as_option()
            .unwrap()
            .mimetype
            .as_deref(),
        Some("image/webp")
    );
}

#[test]
fn message_keys_convert_both_ways() {
    let k = MessageKey {
        chat: jid("120363012345678901@g.us"),
        id: MessageId::new("K1"),
        from_me: false,
        participant: Some(jid("15551234567:4@s.whatsapp.net")),
    };
    let wa = send::wa_key(&k);
    assert_eq!(
        wa.participant.as_deref(),
        Some("15551234567@s.whatsapp.net")
    );
    let back = inbound::message_key(&wa).unwrap();
    assert_eq!(back.id, k.id);
    assert_eq!(back.chat, k.chat);
    assert_eq!(
        back.participant.unwrap().to_string(),
        "15551234567@s.whatsapp.net"
    );
}

#[test]
fn non_body_contents_are_refused_by_the_body_builder() {
    let m = out(OutboundContent::Revoke {
        target: MessageKey {
            chat: jid("15551234567@s.whatsapp.net"),
            id: MessageId::new("X"),
            from_me: true,
            participant: None,
        },
    });
    assert!(send::build_message(&m, None, 0).is_err());
}
