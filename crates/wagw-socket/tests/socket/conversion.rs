//! Inbound conversion on constructed protocol messages, one row per content type. A failing
//! row prints its name.

use wagw_core::{AccountId, Content, InboundMessage, MediaKind};
use wagw_socket::inbound;
use whatsapp_rust::Jid as WaJid;
use whatsapp_rust::buffa::MessageField;
use whatsapp_rust::wacore::types::message::{MessageInfo, MessageSource};
use whatsapp_rust::waproto::whatsapp as wa;

fn info(chat: &str, sender: &str) -> MessageInfo {
    MessageInfo {
        source: MessageSource {
            chat: chat.parse().unwrap(),
            sender: sender.parse().unwrap(),
            is_group: chat.ends_with("@g.us"),
            ..Default::default()
        },
        id: "3EB0ABCDEF".into(),
        push_name: "Alice".into(),
        timestamp: whatsapp_rust::chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        ..Default::default()
    }
}

fn dm_info() -> MessageInfo {
    info("15551234567@s.whatsapp.net", "15551234567:2@s.whatsapp.net")
}

fn convert(m: &wa::Message) -> InboundMessage {
    inbound::convert(&AccountId::default_account(), m, &dm_info())
}

fn text(s: &str) -> wa::Message {
    wa::Message {
        conversation: Some(s.into()),
        ..Default::default()
    }
}

fn wrap(inner: wa::Message) -> MessageField<wa::message::FutureProofMessage> {
    MessageField::some(wa::message::FutureProofMessage {
        message: MessageField::some(inner),
    })
}

fn ctx_quote() -> wa::ContextInfo {
    wa::ContextInfo {
        stanza_id: Some("QUOTED1".into()),
        participant: Some("15550001111@s.whatsapp.net".into()),
        quoted_message: MessageField::some(text("original")),
        mentioned_jid: vec![
            "15550002222@s.whatsapp.net".into(),
            "100000012345678@lid".into(),
        ],
        is_forwarded: Some(true),
        ..Default::default()
    }
}

fn image() -> wa::message::ImageMessage {
    wa::message::ImageMessage {
        url: Some("https://mmg.whatsapp.net/x".into()),
        direct_path: Some("/v/t62/abc".into()),
        media_key: Some(vec![7; 32]),
        file_sha256: Some(vec![1; 32]),
        file_enc_sha256: Some(vec![2; 32]),
        file_length: Some(1234),
        media_key_timestamp: Some(1_700_000_123),
        mimetype: Some("image/jpeg".into()),
        caption: Some("look".into()),
        width: Some(640),
        height: Some(480),
        ..Default::default()
    }
}

fn key(id: &str) -> wa::MessageKey {
    wa::MessageKey {
        remote_jid: Some("15551234567@s.whatsapp.net".into()),
        from_me: Some(true),
        id: Some(id.into()),
        participant: None,
    }
}

type Check = fn(&InboundMessage) -> bool;

fn media(m: &InboundMessage) -> &wagw_core::Media {
    match &m.content {
        Content::Media(x) => x,
        other => panic!("expected media, got {other:?}"),
    }
}

/// The media key timestamp of the message's download reference.
fn media_key_ts(m: &InboundMessage) -> Option<i64> {
    media(m).reference.as_ref()?.media_key_timestamp
}

fn is_text(m: &InboundMessage, want: &str) -> bool {
    m.content == Content::text(want)
}

fn rows() -> Vec<(&'static str, wa::Message, Check)> {
    vec![
        ("conversation", text("hi"), |m| is_text(m, "hi")),
        (
            "extended text",
            wa::Message {
                extended_text_message: MessageField::some(wa::message::ExtendedTextMessage {
                    text: Some("long".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| is_text(m, "long"),
        ),
        (
            "quote with participant and quoted text",
            wa::Message {
                extended_text_message: MessageField::some(wa::message::ExtendedTextMessage {
                    text: Some("reply".into()),
                    context_info: MessageField::some(ctx_quote()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| {
                let q = m.context.quoted.as_ref().unwrap();
                q.stanza_id.as_str() == "QUOTED1"
                    && q.participant.as_ref().unwrap().to_string() == "15550001111@s.whatsapp.net"
                    && q.sender.as_ref().unwrap().phone.as_ref().unwrap().to_string() == "+15550001111"
                    && q.content.as_deref() == Some(&Content::text("original"))
            },
        ),
        (
            "mentions phone and LID",
            wa::Message {
                extended_text_message: MessageField::some(wa::message::ExtendedTextMessage {
                    text: Some("@a @b".into()),
                    context_info: MessageField::some(ctx_quote()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| {
                m.context.mentioned.iter().map(|j| j.to_string()).collect::<Vec<_>>()
                    == vec!["15550002222@s.whatsapp.net", "100000012345678@lid"]
            },
        ),
        (
            "forwarded flag",
            wa::Message {
                extended_text_message: MessageField::some(wa::message::ExtendedTextMessage {
                    text: Some("fwd".into()),
                    context_info: MessageField::some(ctx_quote()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| m.context.forwarded,
        ),
        (
            "ephemeral wrapper",
            wa::Message {
                ephemeral_message: wrap(text("secret")),
                ..Default::default()
            },
            |m| is_text(m, "secret"),
        ),
        (
            "view-once image",
            wa::Message {
                view_once_message: wrap(wa::Message {
                    image_message: MessageField::some(image()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| media(m).kind() == MediaKind::Image,
        ),
        (
            "view-once v2 video",
            wa::Message {
                view_once_message_v2: wrap(wa::Message {
                    video_message: MessageField::some(wa::message::VideoMessage {
                        seconds: Some(3),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| media(m).kind() == MediaKind::Video && media(m).duration_secs == Some(3),
        ),
        (
            "view-once v2 extension audio",
            wa::Message {
                view_once_message_v2_extension: wrap(wa::Message {
                    audio_message: MessageField::some(wa::message::AudioMessage {
                        ptt: Some(true),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| media(m).kind() == MediaKind::Audio && media(m).ptt,
        ),
        (
            "device-sent wrapper",
            wa::Message {
                device_sent_message: MessageField::some(wa::message::DeviceSentMessage {
                    destination_jid: Some("15559998888@s.whatsapp.net".into()),
                    message: MessageField::some(text("from my phone")),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| is_text(m, "from my phone"),
        ),
        (
            "edited wrapper",
            wa::Message {
                edited_message: wrap(text("fixed typo")),
                ..Default::default()
            },
            |m| is_text(m, "fixed typo"),
        ),
        (
            "protocol edit",
            wa::Message {
                protocol_message: MessageField::some(wa::message::ProtocolMessage {
                    key: MessageField::some(key("ORIG")),
                    r#type: Some(wa::message::protocol_message::Type::MESSAGE_EDIT),
                    edited_message: MessageField::some(text("edited")),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| is_text(m, "edited"),
        ),
        (
            "ephemeral around view-once (nested)",
            wa::Message {
                ephemeral_message: wrap(wa::Message {
                    view_once_message: wrap(text("deep")),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| is_text(m, "deep"),
        ),
        (
            "revoke is named",
            wa::Message {
                protocol_message: MessageField::some(wa::message::ProtocolMessage {
                    key: MessageField::some(key("GONE")),
                    r#type: Some(wa::message::protocol_message::Type::REVOKE),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| m.content == Content::Unsupported { kind: "revoke".into() },
        ),
        (
            "image with caption, mime, size, dimensions and reference",
            wa::Message {
                image_message: MessageField::some(image()),
                ..Default::default()
            },
            |m| {
                let x = media(m);
                let r = x.reference.as_ref().unwrap();
                x.kind() == MediaKind::Image
                    && x.caption.as_deref() == Some("look")
                    && x.mime.as_deref() == Some("image/jpeg")
                    && x.size == Some(1234)
                    && (x.width, x.height) == (Some(640), Some(480))
                    && r.direct_path == "/v/t62/abc"
                    && r.media_key == vec![7; 32]
                    && r.file_sha256 == vec![1; 32]
                    && r.file_enc_sha256 == vec![2; 32]
                    && r.file_length == 1234
                    && r.media_key_timestamp == Some(1_700_000_123)
                    && m.content.text_or_caption() == Some("look")
            },
        ),
        (
            "video keeps its media key timestamp",
            wa::Message {
                video_message: MessageField::some(wa::message::VideoMessage {
                    direct_path: Some("/v/vid".into()),
                    media_key: Some(vec![5; 32]),
                    media_key_timestamp: Some(1_690_000_000),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| media_key_ts(m) == Some(1_690_000_000),
        ),
        (
            "voice note keeps its media key timestamp",
            wa::Message {
                audio_message: MessageField::some(wa::message::AudioMessage {
                    ptt: Some(true),
                    url: Some("https://mmg.whatsapp.net/a".into()),
                    media_key_timestamp: Some(1_600_000_001),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| media(m).ptt && media_key_ts(m) == Some(1_600_000_001),
        ),
        (
            "document keeps its media key timestamp",
            wa::Message {
                document_message: MessageField::some(wa::message::DocumentMessage {
                    direct_path: Some("/d/ts".into()),
                    media_key_timestamp: Some(1_650_000_000),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| media_key_ts(m) == Some(1_650_000_000),
        ),
        (
            "sticker keeps its media key timestamp",
            wa::Message {
                sticker_message: MessageField::some(wa::message::StickerMessage {
                    direct_path: Some("/s/ts".into()),
                    media_key_timestamp: Some(1_660_000_000),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| media_key_ts(m) == Some(1_660_000_000),
        ),
        (
            "media without a key timestamp has none",
            wa::Message {
                image_message: MessageField::some(wa::message::ImageMessage {
                    media_key_timestamp: None,
                    ..image()
                }),
                ..Default::default()
            },
            |m| media(m).reference.is_some() && media_key_ts(m).is_none(),
        ),
        (
            "image caption quote context",
            wa::Message {
                image_message: MessageField::some(wa::message::ImageMessage {
                    context_info: MessageField::some(ctx_quote()),
                    ..image()
                }),
                ..Default::default()
            },
            |m| m.context.quoted.is_some(),
        ),
        (
            "gif video",
            wa::Message {
                video_message: MessageField::some(wa::message::VideoMessage {
                    mimetype: Some("video/mp4".into()),
                    gif_playback: Some(true),
                    seconds: Some(4),
                    caption: Some("lol".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| media(m).gif_playback && media(m).caption.as_deref() == Some("lol"),
        ),
        (
            "round video (ptv)",
            wa::Message {
                ptv_message: MessageField::some(wa::message::VideoMessage {
                    seconds: Some(9),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| media(m).kind() == MediaKind::Video && media(m).duration_secs == Some(9),
        ),
        (
            "voice note",
            wa::Message {
                audio_message: MessageField::some(wa::message::AudioMessage {
                    mimetype: Some("audio/ogg; codecs=opus".into()),
                    ptt: Some(true),
                    seconds: Some(12),
                    file_length: Some(4000),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| {
                let x = media(m);
                x.ptt && x.duration_secs == Some(12) && x.size == Some(4000) && x.reference.is_none()
            },
        ),
        (
            "audio file",
            wa::Message {
                audio_message: MessageField::some(wa::message::AudioMessage {
                    mimetype: Some("audio/mpeg".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| !media(m).ptt && media(m).mime.as_deref() == Some("audio/mpeg"),
        ),
        (
            "document with file name and caption",
            wa::Message {
                document_message: MessageField::some(wa::message::DocumentMessage {
                    mimetype: Some("application/pdf".into()),
                    file_name: Some("report.pdf".into()),
                    caption: Some("Q3".into()),
                    file_length: Some(99),
                    direct_path: Some("/d".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| {
                let x = media(m);
                x.kind() == MediaKind::Document
                    && x.file_name.as_deref() == Some("report.pdf")
                    && x.caption.as_deref() == Some("Q3")
                    && x.reference.is_some()
            },
        ),
        (
            "document with caption wrapper",
            wa::Message {
                document_with_caption_message: wrap(wa::Message {
                    document_message: MessageField::some(wa::message::DocumentMessage {
                        title: Some("title-only.txt".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| media(m).file_name.as_deref() == Some("title-only.txt"),
        ),
        (
            "sticker",
            wa::Message {
                sticker_message: MessageField::some(wa::message::StickerMessage {
                    mimetype: Some("image/webp".into()),
                    width: Some(512),
                    height: Some(512),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| media(m).kind() == MediaKind::Sticker && media(m).width == Some(512),
        ),
        (
            "location",
            wa::Message {
                location_message: MessageField::some(wa::message::LocationMessage {
                    degrees_latitude: Some(52.5),
                    degrees_longitude: Some(13.4),
                    name: Some("Berlin".into()),
                    address: Some("Mitte".into()),
                    comment: Some("here".into()),
                    accuracy_in_meters: Some(10),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| match &m.content {
                Content::Location(l) => {
                    l.latitude == 52.5
                        && l.longitude == 13.4
                        && l.name.as_deref() == Some("Berlin")
                        && l.address.as_deref() == Some("Mitte")
                        && l.caption.as_deref() == Some("here")
                        && l.accuracy_m == Some(10.0)
                }
                _ => false,
            },
        ),
        (
            "location flagged live",
            wa::Message {
                location_message: MessageField::some(wa::message::LocationMessage {
                    degrees_latitude: Some(1.0),
                    degrees_longitude: Some(2.0),
                    is_live: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| matches!(m.content, Content::LiveLocation(_)),
        ),
        (
            "live location",
            wa::Message {
                live_location_message: MessageField::some(wa::message::LiveLocationMessage {
                    degrees_latitude: Some(-33.9),
                    degrees_longitude: Some(18.4),
                    caption: Some("moving".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| match &m.content {
                Content::LiveLocation(l) => l.latitude == -33.9 && l.caption.as_deref() == Some("moving"),
                _ => false,
            },
        ),
        (
            "contact vCard",
            wa::Message {
                contact_message: MessageField::some(wa::message::ContactMessage {
                    display_name: Some("Bob".into()),
                    vcard: Some("BEGIN:VCARD\nVERSION:3.0\nFN:Bob Smith\nTEL;type=CELL;waid=15557654321:+1 555-765-4321\nEND:VCARD".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| match &m.content {
                Content::Contacts { contacts } => {
                    contacts.len() == 1
                        && contacts[0].name == "Bob Smith"
                        && contacts[0].numbers == vec!["+1 555-765-4321"]
                        && contacts[0].vcard.is_some()
                }
                _ => false,
            },
        ),
        (
            "contacts array",
            wa::Message {
                contacts_array_message: MessageField::some(wa::message::ContactsArrayMessage {
                    display_name: Some("2 contacts".into()),
                    contacts: vec![
                        wa::message::ContactMessage {
                            display_name: Some("No vCard".into()),
                            ..Default::default()
                        },
                        wa::message::ContactMessage {
                            vcard: Some("BEGIN:VCARD\nFN:Carol\nTEL:+44 1\nTEL:+44 2\nEND:VCARD".into()),
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| match &m.content {
                Content::Contacts { contacts } => {
                    contacts.len() == 2
                        && contacts[0].name == "No vCard"
                        && contacts[0].numbers.is_empty()
                        && contacts[1].name == "Carol"
                        && contacts[1].numbers == vec!["+44 1", "+44 2"]
                }
                _ => false,
            },
        ),
        (
            "reaction",
            wa::Message {
                reaction_message: MessageField::some(wa::message::ReactionMessage {
                    key: MessageField::some(key("TARGET")),
                    text: Some("👍".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| match &m.content {
                Content::Reaction { target, emoji } => {
                    target.id.as_str() == "TARGET" && target.from_me && emoji == "👍"
                }
                _ => false,
            },
        ),
        (
            "reaction removal",
            wa::Message {
                reaction_message: MessageField::some(wa::message::ReactionMessage {
                    key: MessageField::some(key("TARGET")),
                    text: Some(String::new()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| matches!(&m.content, Content::Reaction { emoji, .. } if emoji.is_empty()),
        ),
        (
            "poll v3",
            wa::Message {
                poll_creation_message_v3: MessageField::some(wa::message::PollCreationMessage {
                    name: Some("Lunch?".into()),
                    options: vec![
                        wa::message::poll_creation_message::Option {
                            option_name: Some("Pizza".into()),
                            ..Default::default()
                        },
                        wa::message::poll_creation_message::Option {
                            option_name: Some("Sushi".into()),
                            ..Default::default()
                        },
                    ],
                    selectable_options_count: Some(1),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| {
                m.content
                    == Content::Poll {
                        name: "Lunch?".into(),
                        options: vec!["Pizza".into(), "Sushi".into()],
                        selectable_count: 1,
                    }
            },
        ),
        (
            "poll vote",
            wa::Message {
                poll_update_message: MessageField::some(wa::message::PollUpdateMessage {
                    poll_creation_message_key: MessageField::some(key("POLL1")),
                    ..Default::default()
                }),
                ..Default::default()
            },
            |m| matches!(&m.content, Content::PollVote { poll, selected } if poll.id.as_str() == "POLL1" && selected.is_empty()),
        ),
        (
            "buttons are named, not dropped",
            wa::Message {
                buttons_message: MessageField::some(Default::default()),
                ..Default::default()
            },
            |m| m.content == Content::Unsupported { kind: "buttons".into() },
        ),
        (
            "empty message",
            wa::Message::default(),
            |m| m.content == Content::Unsupported { kind: "unknown".into() },
        ),
    ]
}

#[test]
fn every_content_type_converts() {
    let rows = rows();
    assert!(
        rows.len() >= 30,
        "need at least 30 rows, have {}",
        rows.len()
    );
    let mut failed = Vec::new();
    for (name, msg, check) in &rows {
        let got = convert(msg);
        if !check(&got) {
            failed.push(format!("{name}: got {:?} / {:?}", got.content, got.context));
        }
    }
    assert!(failed.is_empty(), "failing rows:\n{}", failed.join("\n"));
}

#[test]
fn envelope_fields_and_both_identities() {
    let mut i = info("120363012345678901@g.us", "100000012345678:5@lid");
    i.source.sender_alt = Some("15551234567@s.whatsapp.net".parse::<WaJid>().unwrap());
    i.source.is_from_me = false;
    i.is_offline = true;
    let m = inbound::convert(&AccountId::default_account(), &text("hey"), &i);
    assert_eq!(m.id.as_str(), "3EB0ABCDEF");
    assert_eq!(m.chat.to_string(), "120363012345678901@g.us");
    assert_eq!(m.sender.phone.as_ref().unwrap().to_string(), "+15551234567");
    assert_eq!(
        m.sender.lid.as_ref().unwrap().to_string(),
        "100000012345678@lid"
    );
    assert_eq!(
        m.sender_jid.as_ref().unwrap().to_string(),
        "100000012345678:5@lid"
    );
    assert_eq!(m.push_name.as_deref(), Some("Alice"));
    assert_eq!(m.timestamp_ms, 1_700_000_000_000);
    assert!(m.offline);
    assert!(!m.from_me);
    // In a group the key names the participant.
    assert_eq!(
        m.key().participant.unwrap().to_string(),
        "100000012345678:5@lid"
    );
}

#[test]
fn from_me_dm_and_empty_push_name() {
    let mut i = dm_info();
    i.source.is_from_me = true;
    i.push_name.clear();
    let m = inbound::convert(&AccountId::default_account(), &text("x"), &i);
    assert!(m.from_me);
    assert!(m.push_name.is_none());
    assert!(m.key().participant.is_none());
    assert!(m.sender.lid.is_none());
}

#[test]
fn receipt_kinds_map() {
    use wagw_core::ReceiptKind;
    use whatsapp_rust::wacore::types::presence::ReceiptType;
    let rows = [
        (ReceiptType::Delivered, ReceiptKind::Delivered),
        (ReceiptType::Read, ReceiptKind::Read),
        (ReceiptType::ReadSelf, ReceiptKind::ReadSelf),
        (ReceiptType::Played, ReceiptKind::Played),
        (ReceiptType::Retry, ReceiptKind::Retry),
        (ReceiptType::Sender, ReceiptKind::Other),
    ];
    for (t, want) in rows {
        assert_eq!(
            wagw_socket::receipts::kind_of(&t),
            want,
            "receipt type {t:?}"
        );
    }
}
