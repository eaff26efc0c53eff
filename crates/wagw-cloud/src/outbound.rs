//! wagw's outbound messages as the Cloud API's `/messages` JSON.

use serde_json::{Value, json};
use wagw_core::{Jid, JidKind, MediaKind, OutboundContent, OutboundMessage, SocketError, Template};

/// The `to` of a chat: the phone number's digits. Groups, LIDs and channels have none.
pub(crate) fn recipient(chat: &Jid) -> Result<String, SocketError> {
    match chat.kind() {
        JidKind::Group => Err(SocketError::Unsupported(
            "groups: the WhatsApp Cloud API sends only to individual phone numbers",
        )),
        _ => chat
            .to_phone()
            .map(|p| p.digits().to_string())
            .ok_or_else(|| {
                SocketError::InvalidRequest(format!(
                    "{chat} is not a phone number; the Cloud API addresses people by number"
                ))
            }),
    }
}

/// The `type` and object name of a media kind.
pub(crate) fn media_type(kind: MediaKind) -> &'static str {
    kind.as_str()
}

fn base(to: &str, kind: &str) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("messaging_product".into(), json!("whatsapp"));
    m.insert("recipient_type".into(), json!("individual"));
    m.insert("to".into(), json!(to));
    m.insert("type".into(), json!(kind));
    m
}

/// The request body for `message`.
pub(crate) fn message_body(message: &OutboundMessage) -> Result<Value, SocketError> {
    let to = recipient(&message.chat)?;
    let mut body = match &message.content {
        OutboundContent::Text { text } => {
            let mut b = base(&to, "text");
            b.insert(
                "text".into(),
                json!({ "body": text, "preview_url": text.contains("https://") || text.contains("http://") }),
            );
            b
        }
        OutboundContent::Media(media) => {
            let kind = media_type(media.kind());
            let mut b = base(&to, kind);
            let mut obj = serde_json::Map::new();
            obj.insert("id".into(), json!(media.upload.reference.direct_path));
            // Meta refuses captions on audio and stickers.
            if let Some(c) = &media.caption
                && matches!(
                    media.kind(),
                    MediaKind::Image | MediaKind::Video | MediaKind::Document
                )
            {
                obj.insert("caption".into(), json!(c));
            }
            if media.kind() == MediaKind::Document
                && let Some(f) = &media.file_name
            {
                obj.insert("filename".into(), json!(f));
            }
            b.insert(kind.into(), Value::Object(obj));
            b
        }
        OutboundContent::Reaction { target, emoji } => {
            let mut b = base(&to, "reaction");
            b.insert(
                "reaction".into(),
                json!({ "message_id": target.id.as_str(), "emoji": emoji }),
            );
            b
        }
        OutboundContent::Template(t) => {
            let Value::Object(b) = template_body(&message.chat, t)? else {
                return Err(SocketError::Other("template body is not an object".into()));
            };
            b
        }
        OutboundContent::Poll { .. } => {
            return Err(SocketError::Unsupported(
                "polls: the WhatsApp Cloud API has no polls (interactive buttons or lists are the nearest)",
            ));
        }
        OutboundContent::Edit { .. } => {
            return Err(SocketError::Unsupported(
                "edits: the WhatsApp Cloud API cannot edit a sent message",
            ));
        }
        OutboundContent::Revoke { .. } => {
            return Err(SocketError::Unsupported(
                "deleting for everyone: the WhatsApp Cloud API cannot revoke a sent message",
            ));
        }
    };
    if let Some(q) = &message.quote
        && !matches!(message.content, OutboundContent::Reaction { .. })
    {
        body.insert("context".into(), json!({ "message_id": q.key.id.as_str() }));
    }
    Ok(Value::Object(body))
}

/// The request body of a template send.
pub(crate) fn template_body(chat: &Jid, template: &Template) -> Result<Value, SocketError> {
    if template.name.trim().is_empty() {
        return Err(SocketError::InvalidRequest(
            "template.name is empty".to_string(),
        ));
    }
    if template.language.trim().is_empty() {
        return Err(SocketError::InvalidRequest(
            "template.language is empty (a code such as en_US)".to_string(),
        ));
    }
    let to = recipient(chat)?;
    let mut b = base(&to, "template");
    let mut t = json!({ "name": template.name, "language": { "code": template.language } });
    if !template.components.is_empty() {
        t["components"] = Value::Array(template.components.clone());
    }
    b.insert("template".into(), t);
    Ok(Value::Object(b))
}

/// A mark-as-read request.
pub(crate) fn read_body(id: &str) -> Value {
    json!({ "messaging_product": "whatsapp", "status": "read", "message_id": id })
}

/// The MIME type of an upload, from its first bytes and its kind (`upload_media` gets no
/// type; Meta needs one).
pub(crate) fn sniff_mime(data: &[u8], kind: MediaKind) -> &'static str {
    let starts = |p: &[u8]| data.starts_with(p);
    if starts(b"\xFF\xD8\xFF") {
        "image/jpeg"
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if starts(b"RIFF") && data.get(8..12) == Some(b"WEBP") {
        "image/webp"
    } else if starts(b"OggS") {
        "audio/ogg"
    } else if starts(b"ID3") || starts(b"\xFF\xFB") || starts(b"\xFF\xF3") {
        "audio/mpeg"
    } else if data.get(4..8) == Some(b"ftyp") {
        match (kind, data.get(8..11)) {
            (MediaKind::Audio, _) | (_, Some(b"M4A")) => "audio/mp4",
            _ => "video/mp4",
        }
    } else if starts(b"%PDF") {
        "application/pdf"
    } else {
        match kind {
            MediaKind::Image => "image/jpeg",
            MediaKind::Video => "video/mp4",
            MediaKind::Audio => "audio/ogg",
            MediaKind::Sticker => "image/webp",
            MediaKind::Document => "application/octet-stream",
        }
    }
}

/// The Cloud API's size limit per media kind, bytes.
pub(crate) fn size_limit(kind: MediaKind) -> u64 {
    const MB: u64 = 1024 * 1024;
    match kind {
        MediaKind::Image => 5 * MB,
        MediaKind::Video | MediaKind::Audio => 16 * MB,
        MediaKind::Document => 100 * MB,
        // Animated stickers may be 500 KB; static ones 100 KB (Meta refuses those itself).
        MediaKind::Sticker => 500 * 1024,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wagw_core::{MessageId, MessageKey, OutboundQuote};

    fn jid(s: &str) -> Jid {
        Jid::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn text_with_quote() {
        let mut m = OutboundMessage::text(jid("15551230000@s.whatsapp.net"), "hi");
        m.quote = Some(OutboundQuote {
            key: MessageKey {
                chat: jid("15551230000@s.whatsapp.net"),
                id: MessageId::new("wamid.Q"),
                from_me: false,
                participant: None,
            },
            content: None,
        });
        let b = message_body(&m).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b["to"], "15551230000");
        assert_eq!(b["type"], "text");
        assert_eq!(b["text"]["body"], "hi");
        assert_eq!(b["context"]["message_id"], "wamid.Q");
        assert_eq!(b["messaging_product"], "whatsapp");
    }

    #[test]
    fn groups_and_polls_are_unsupported_with_a_reason() {
        let g = OutboundMessage::text(jid("120363000000000000@g.us"), "x");
        assert!(
            matches!(message_body(&g), Err(SocketError::Unsupported(r)) if r.contains("groups"))
        );
        let p = OutboundMessage {
            content: OutboundContent::Poll {
                name: "q".into(),
                options: vec!["a".into(), "b".into()],
                selectable_count: 1,
            },
            ..OutboundMessage::text(jid("15551230000@s.whatsapp.net"), "")
        };
        assert!(
            matches!(message_body(&p), Err(SocketError::Unsupported(r)) if r.contains("polls"))
        );
    }

    #[test]
    fn template_shape() {
        let t = Template {
            name: "hello_world".into(),
            language: "en_US".into(),
            components: vec![json!({"type":"body","parameters":[{"type":"text","text":"Ann"}]})],
        };
        let b =
            template_body(&jid("15551230000@s.whatsapp.net"), &t).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b["type"], "template");
        assert_eq!(b["template"]["language"]["code"], "en_US");
        assert_eq!(b["template"]["components"][0]["type"], "body");
    }

    #[test]
    fn sniffs_common_types() {
        assert_eq!(
            sniff_mime(b"\xFF\xD8\xFF\xE0..", MediaKind::Image),
            "image/jpeg"
        );
        assert_eq!(sniff_mime(b"OggS....", MediaKind::Audio), "audio/ogg");
        assert_eq!(
            sniff_mime(b"\0\0\0\x18ftypmp42", MediaKind::Video),
            "video/mp4"
        );
        assert_eq!(
            sniff_mime(b"%PDF-1.7", MediaKind::Document),
            "application/pdf"
        );
    }
}
