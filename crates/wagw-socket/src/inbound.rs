//! Inbound conversion: whatsapp-rust's decrypted `wa::Message` + `MessageInfo` into wagw's
//! [`InboundMessage`].
//!
//! Wrappers are peeled first (ephemeral, view-once v1/v2/extension, device-sent, edited,
//! document-with-caption, and the `protocolMessage` of an edit), then the content is read
//! from whichever field is set. Context (quote, mentions, forwarded) is read from the
//! sub-message that carries it. Anything wagw does not model becomes
//! [`Content::Unsupported`] naming the protocol field, never a silent drop.

use wagw_core::{
    AccountId, ContactCard, Content, ContextInfo, InboundMessage, Location, Media, MediaKind,
    MediaRef, MessageId, MessageKey, QuotedMessage, Sender,
};
use whatsapp_rust::wacore::types::message::MessageInfo;
use whatsapp_rust::waproto::whatsapp as wa;

use crate::ids;

/// How deep wrappers may nest before the converter stops peeling (a malformed or hostile
/// message must not recurse without bound).
const MAX_WRAPPER_DEPTH: usize = 8;

/// Peels ephemeral, view-once, device-sent, edit and document-with-caption wrappers.
pub fn unwrap_message(msg: &wa::Message) -> &wa::Message {
    let mut m = msg;
    for _ in 0..MAX_WRAPPER_DEPTH {
        let next = [
            &m.ephemeral_message,
            &m.view_once_message,
            &m.view_once_message_v2,
            &m.view_once_message_v2_extension,
            &m.edited_message,
            &m.document_with_caption_message,
            &m.lottie_sticker_message,
        ]
        .into_iter()
        .find_map(|w| w.as_option().and_then(|f| f.message.as_option()))
        .or_else(|| {
            m.device_sent_message
                .as_option()
                .and_then(|d| d.message.as_option())
        })
        .or_else(|| {
            // An edit arrives as protocolMessage{type: MESSAGE_EDIT, editedMessage}.
            m.protocol_message.as_option().and_then(|p| {
                (p.r#type == Some(wa::message::protocol_message::Type::MESSAGE_EDIT))
                    .then(|| p.edited_message.as_option())
                    .flatten()
            })
        });
        match next {
            Some(inner) => m = inner,
            None => return m,
        }
    }
    m
}

/// True when the message (before unwrapping) is an edit of an earlier one.
pub fn is_edit(msg: &wa::Message) -> bool {
    msg.edited_message.is_set()
        || msg
            .protocol_message
            .as_option()
            .is_some_and(|p| p.r#type == Some(wa::message::protocol_message::Type::MESSAGE_EDIT))
}

/// Converts one inbound protocol message.
pub fn convert(account: &AccountId, msg: &wa::Message, info: &MessageInfo) -> InboundMessage {
    let src = &info.source;
    let chat = ids::from_wa(&src.chat);
    let sender_jid = ids::from_wa(&src.sender);
    let alt = src.sender_alt.as_ref().and_then(ids::from_wa);
    let sender = ids::sender_of(sender_jid.as_ref(), alt.as_ref()).unwrap_or(Sender {
        phone: None,
        lid: None,
    });
    let base = unwrap_message(msg);
    InboundMessage {
        id: MessageId::new(info.id.clone()),
        account: account.clone(),
        // A chat wagw cannot model (a bot chat) still needs a key; the sender's JID is the
        // closest stand-in and keeps the message routable.
        chat: chat
            .or_else(|| sender_jid.clone())
            .unwrap_or_else(|| wagw_core::Jid::user("0")),
        sender,
        sender_jid,
        push_name: (!info.push_name.is_empty()).then(|| info.push_name.clone()),
        timestamp_ms: info.timestamp.timestamp_millis(),
        from_me: src.is_from_me,
        offline: info.is_offline,
        content: content_of(base),
        context: context_of(base).map(convert_context).unwrap_or_default(),
    }
}

/// The content of an already-unwrapped message.
pub fn content_of(m: &wa::Message) -> Content {
    if let Some(text) = &m.conversation {
        return Content::text(text.clone());
    }
    if let Some(ext) = m.extended_text_message.as_option() {
        return Content::text(ext.text.clone().unwrap_or_default());
    }
    if let Some(media) = media_of(m) {
        return Content::Media(media);
    }
    if let Some(loc) = m.location_message.as_option() {
        let location = Location {
            latitude: loc.degrees_latitude.unwrap_or_default(),
            longitude: loc.degrees_longitude.unwrap_or_default(),
            accuracy_m: loc.accuracy_in_meters.map(f64::from),
            name: loc.name.clone(),
            address: loc.address.clone(),
            caption: loc.comment.clone(),
        };
        return if loc.is_live == Some(true) {
            Content::LiveLocation(location)
        } else {
            Content::Location(location)
        };
    }
    if let Some(live) = m.live_location_message.as_option() {
        return Content::LiveLocation(Location {
            latitude: live.degrees_latitude.unwrap_or_default(),
            longitude: live.degrees_longitude.unwrap_or_default(),
            accuracy_m: live.accuracy_in_meters.map(f64::from),
            name: None,
            address: None,
            caption: live.caption.clone(),
        });
    }
    if let Some(c) = m.contact_message.as_option() {
        return Content::Contacts {
            contacts: vec![contact_card(c.display_name.as_deref(), c.vcard.as_deref())],
        };
    }
    if let Some(arr) = m.contacts_array_message.as_option() {
        return Content::Contacts {
            contacts: arr
                .contacts
                .iter()
                .map(|c| contact_card(c.display_name.as_deref(), c.vcard.as_deref()))
                .collect(),
        };
    }
    if let Some(r) = m.reaction_message.as_option() {
        if let Some(target) = r.key.as_option().and_then(message_key) {
            return Content::Reaction {
                target,
                emoji: r.text.clone().unwrap_or_default(),
            };
        }
        return Content::Unsupported {
            kind: "reaction_without_key".into(),
        };
    }
    if let Some(p) = poll_creation(m) {
        return Content::Poll {
            name: p.name.clone().unwrap_or_default(),
            options: p
                .options
                .iter()
                .filter_map(|o| o.option_name.clone())
                .collect(),
            selectable_count: p.selectable_options_count.unwrap_or(0),
        };
    }
    if let Some(u) = m.poll_update_message.as_option() {
        if let Some(poll) = u
            .poll_creation_message_key
            .as_option()
            .and_then(message_key)
        {
            // The vote itself is encrypted with the poll's secret; the transport fills
            // `selected` when it can decrypt (see `crate::polls`).
            return Content::PollVote {
                poll,
                selected: Vec::new(),
            };
        }
        return Content::Unsupported {
            kind: "poll_vote_without_key".into(),
        };
    }
    if let Some(p) = m.protocol_message.as_option() {
        let kind = match p.r#type {
            Some(wa::message::protocol_message::Type::REVOKE) => "revoke",
            Some(wa::message::protocol_message::Type::EPHEMERAL_SETTING) => "ephemeral_setting",
            _ => "protocol",
        };
        return Content::Unsupported { kind: kind.into() };
    }
    Content::Unsupported {
        kind: unsupported_kind(m).into(),
    }
}

/// The first poll-creation field that is set (WhatsApp has had several versions).
fn poll_creation(m: &wa::Message) -> Option<&wa::message::PollCreationMessage> {
    [
        &m.poll_creation_message,
        &m.poll_creation_message_v2,
        &m.poll_creation_message_v3,
        &m.poll_creation_message_v5,
        &m.poll_creation_message_v6,
    ]
    .into_iter()
    .find_map(|f| f.as_option())
}

/// A name for content wagw does not model, so logs and agents see what it was.
fn unsupported_kind(m: &wa::Message) -> &'static str {
    if m.buttons_message.is_set() || m.buttons_response_message.is_set() {
        "buttons"
    } else if m.list_message.is_set() || m.list_response_message.is_set() {
        "list"
    } else if m.template_message.is_set() || m.template_button_reply_message.is_set() {
        "template"
    } else if m.interactive_message.is_set() || m.interactive_response_message.is_set() {
        "interactive"
    } else if m.call.is_set() || m.call_log_messsage.is_set() || m.bcall_message.is_set() {
        "call"
    } else if m.group_invite_message.is_set() {
        "group_invite"
    } else if m.event_message.is_set() {
        "event"
    } else if m.product_message.is_set() || m.order_message.is_set() {
        "commerce"
    } else if m.sender_key_distribution_message.is_set() {
        "sender_key_distribution"
    } else if m.pin_in_chat_message.is_set() {
        "pin"
    } else if m.keep_in_chat_message.is_set() {
        "keep_in_chat"
    } else if m.enc_reaction_message.is_set() {
        "encrypted_reaction"
    } else if m.sticker_pack_message.is_set() {
        "sticker_pack"
    } else if m.album_message.is_set() {
        "album"
    } else {
        "unknown"
    }
}

/// Media of any kind, with its download reference.
fn media_of(m: &wa::Message) -> Option<Media> {
    if let Some(i) = m.image_message.as_option() {
        return Some(Media {
            mime: i.mimetype.clone(),
            caption: i.caption.clone(),
            size: i.file_length,
            width: i.width,
            height: i.height,
            reference: media_ref(
                i.direct_path.as_deref(),
                i.url.as_deref(),
                i.media_key.as_deref(),
                i.file_sha256.as_deref(),
                i.file_enc_sha256.as_deref(),
                i.file_length,
                i.media_key_timestamp,
            ),
            ..Media::new(MediaKind::Image)
        });
    }
    if let Some(v) = m.video_message.as_option().or(m.ptv_message.as_option()) {
        return Some(Media {
            mime: v.mimetype.clone(),
            caption: v.caption.clone(),
            size: v.file_length,
            duration_secs: v.seconds,
            width: v.width,
            height: v.height,
            gif_playback: v.gif_playback.unwrap_or(false),
            reference: media_ref(
                v.direct_path.as_deref(),
                v.url.as_deref(),
                v.media_key.as_deref(),
                v.file_sha256.as_deref(),
                v.file_enc_sha256.as_deref(),
                v.file_length,
                v.media_key_timestamp,
            ),
            ..Media::new(MediaKind::Video)
        });
    }
    if let Some(a) = m.audio_message.as_option() {
        return Some(Media {
            mime: a.mimetype.clone(),
            size: a.file_length,
            duration_secs: a.seconds,
            ptt: a.ptt.unwrap_or(false),
            reference: media_ref(
                a.direct_path.as_deref(),
                a.url.as_deref(),
                a.media_key.as_deref(),
                a.file_sha256.as_deref(),
                a.file_enc_sha256.as_deref(),
                a.file_length,
                a.media_key_timestamp,
            ),
            ..Media::new(MediaKind::Audio)
        });
    }
    if let Some(d) = m.document_message.as_option() {
        return Some(Media {
            mime: d.mimetype.clone(),
            caption: d.caption.clone(),
            file_name: d.file_name.clone().or_else(|| d.title.clone()),
            size: d.file_length,
            reference: media_ref(
                d.direct_path.as_deref(),
                d.url.as_deref(),
                d.media_key.as_deref(),
                d.file_sha256.as_deref(),
                d.file_enc_sha256.as_deref(),
                d.file_length,
                d.media_key_timestamp,
            ),
            ..Media::new(MediaKind::Document)
        });
    }
    if let Some(s) = m.sticker_message.as_option() {
        return Some(Media {
            mime: s.mimetype.clone(),
            size: s.file_length,
            width: s.width,
            height: s.height,
            reference: media_ref(
                s.direct_path.as_deref(),
                s.url.as_deref(),
                s.media_key.as_deref(),
                s.file_sha256.as_deref(),
                s.file_enc_sha256.as_deref(),
                s.file_length,
                s.media_key_timestamp,
            ),
            ..Media::new(MediaKind::Sticker)
        });
    }
    None
}

fn media_ref(
    direct_path: Option<&str>,
    url: Option<&str>,
    media_key: Option<&[u8]>,
    file_sha256: Option<&[u8]>,
    file_enc_sha256: Option<&[u8]>,
    file_length: Option<u64>,
    media_key_timestamp: Option<i64>,
) -> Option<MediaRef> {
    if direct_path.is_none() && url.is_none() {
        return None;
    }
    Some(MediaRef {
        direct_path: direct_path.unwrap_or_default().to_string(),
        url: url.map(str::to_string),
        media_key: media_key.map(<[u8]>::to_vec).unwrap_or_default(),
        file_sha256: file_sha256.map(<[u8]>::to_vec).unwrap_or_default(),
        file_enc_sha256: file_enc_sha256.map(<[u8]>::to_vec).unwrap_or_default(),
        file_length: file_length.unwrap_or_default(),
        media_key_timestamp,
    })
}

/// A protocol message key as wagw's [`MessageKey`] (needs a chat and an id).
pub fn message_key(k: &wa::MessageKey) -> Option<MessageKey> {
    let chat = ids::from_wire(k.remote_jid.as_deref()?)?;
    let id = k.id.clone().filter(|s| !s.is_empty())?;
    Some(MessageKey {
        chat,
        id: MessageId::new(id),
        from_me: k.from_me.unwrap_or(false),
        participant: k.participant.as_deref().and_then(ids::from_wire),
    })
}

/// The context info of whichever sub-message carries it.
pub fn context_of(m: &wa::Message) -> Option<&wa::ContextInfo> {
    m.extended_text_message
        .as_option()
        .and_then(|x| x.context_info.as_option())
        .or_else(|| {
            m.image_message
                .as_option()
                .and_then(|x| x.context_info.as_option())
        })
        .or_else(|| {
            m.video_message
                .as_option()
                .and_then(|x| x.context_info.as_option())
        })
        .or_else(|| {
            m.ptv_message
                .as_option()
                .and_then(|x| x.context_info.as_option())
        })
        .or_else(|| {
            m.audio_message
                .as_option()
                .and_then(|x| x.context_info.as_option())
        })
        .or_else(|| {
            m.document_message
                .as_option()
                .and_then(|x| x.context_info.as_option())
        })
        .or_else(|| {
            m.sticker_message
                .as_option()
                .and_then(|x| x.context_info.as_option())
        })
        .or_else(|| {
            m.location_message
                .as_option()
                .and_then(|x| x.context_info.as_option())
        })
        .or_else(|| {
            m.live_location_message
                .as_option()
                .and_then(|x| x.context_info.as_option())
        })
        .or_else(|| {
            m.contact_message
                .as_option()
                .and_then(|x| x.context_info.as_option())
        })
        .or_else(|| {
            m.contacts_array_message
                .as_option()
                .and_then(|x| x.context_info.as_option())
        })
        .or_else(|| poll_creation(m).and_then(|x| x.context_info.as_option()))
}

/// Converts a protocol context info (quote, mentions, forwarded flag).
pub fn convert_context(c: &wa::ContextInfo) -> ContextInfo {
    let quoted = c
        .stanza_id
        .as_ref()
        .filter(|s| !s.is_empty())
        .map(|stanza_id| {
            let participant = c.participant.as_deref().and_then(ids::from_wire);
            QuotedMessage {
                stanza_id: MessageId::new(stanza_id.clone()),
                sender: participant
                    .as_ref()
                    .and_then(|p| ids::sender_of(Some(p), None)),
                participant,
                content: c
                    .quoted_message
                    .as_option()
                    .map(|q| Box::new(content_of(unwrap_message(q)))),
            }
        });
    ContextInfo {
        quoted,
        mentioned: c
            .mentioned_jid
            .iter()
            .filter_map(|j| ids::from_wire(j))
            .collect(),
        forwarded: c.is_forwarded.unwrap_or(false),
    }
}

/// A contact card from a vCard: the `FN` (else the display name) and every `TEL` value.
pub fn contact_card(display_name: Option<&str>, vcard: Option<&str>) -> ContactCard {
    let mut name: Option<String> = None;
    let mut numbers = Vec::new();
    if let Some(v) = vcard {
        for line in unfold_vcard(v) {
            let Some((prop, value)) = line.split_once(':') else {
                continue;
            };
            // `item1.TEL;type=CELL;waid=...` → property `TEL`.
            let prop = prop.split(';').next().unwrap_or_default();
            let prop = prop.rsplit('.').next().unwrap_or(prop);
            if prop.eq_ignore_ascii_case("FN") && name.is_none() && !value.trim().is_empty() {
                name = Some(value.trim().to_string());
            } else if prop.eq_ignore_ascii_case("TEL") && !value.trim().is_empty() {
                numbers.push(value.trim().to_string());
            }
        }
    }
    ContactCard {
        name: name
            .or_else(|| display_name.map(str::to_string))
            .unwrap_or_default(),
        numbers,
        vcard: vcard.map(str::to_string),
    }
}

/// vCard lines with RFC 6350 folding undone (a line starting with a space continues the
/// previous one).
fn unfold_vcard(v: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in v.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = line.strip_prefix([' ', '\t'])
            && let Some(last) = out.last_mut()
        {
            last.push_str(rest);
            continue;
        }
        out.push(line.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcard_folding_and_groups() {
        let v = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada\r\n  Lovelace\r\nitem1.TEL;waid=15551234567:+1 555\r\n 123 4567\r\nTEL;type=HOME:+44 20 7946 0000\r\nEND:VCARD";
        let c = contact_card(Some("ignored"), Some(v));
        assert_eq!(c.name, "Ada Lovelace");
        assert_eq!(c.numbers, vec!["+1 555123 4567", "+44 20 7946 0000"]);
    }
}
