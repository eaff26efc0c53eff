//! The built-in echo agent (`type: "echo"`): answers each turn with the turn itself, so a
//! demo or smoke test shows exactly what an agent would read.
//!
//! Format: one reply whose text is the turn's `body` (the envelope, quoted-reply block and
//! injected group history included — what a real agent reads), falling back to `rawBody`
//! and then `text`; and, when the turn carries media the gateway saved (`media.path`) or
//! serves (`media.url`), that media sent back with its MIME type and file name. A turn with
//! neither gets no reply.

use serde_json::Value;

use crate::reply::{AgentMedia, AgentReply, MediaSource};

/// The echo agent's replies to `turn` (the turn as JSON, e.g. [`crate::TurnPayload::value`]).
///
/// ```
/// use wagw_agents::echo_replies;
/// let turn = serde_json::json!({"body": "[WhatsApp +15551234567] hi", "rawBody": "hi"});
/// let replies = echo_replies(&turn);
/// assert_eq!(replies[0].text.as_deref(), Some("[WhatsApp +15551234567] hi"));
/// assert!(echo_replies(&serde_json::json!({})).is_empty());
/// ```
pub fn echo_replies(turn: &Value) -> Vec<AgentReply> {
    let text = ["body", "rawBody", "text"]
        .iter()
        .filter_map(|key| turn.get(key).and_then(Value::as_str))
        .find(|t| !t.trim().is_empty())
        .map(str::to_owned);
    let media: Vec<AgentMedia> = match turn.get("media") {
        Some(Value::Array(items)) => items.iter().filter_map(echo_media).collect(),
        Some(item @ Value::Object(_)) => echo_media(item).into_iter().collect(),
        _ => Vec::new(),
    };
    let reply = AgentReply {
        text,
        media,
        reply_to: None,
        template: None,
    };
    if reply.is_empty() {
        Vec::new()
    } else {
        vec![reply]
    }
}

fn echo_media(item: &Value) -> Option<AgentMedia> {
    let field = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_owned);
    let source = match (field("path"), field("url")) {
        (Some(path), _) => MediaSource::Path(path),
        (None, Some(url)) => MediaSource::Url(url),
        (None, None) => return None,
    };
    Some(AgentMedia {
        source,
        mime: field("mime"),
        file_name: field("fileName"),
        caption: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn falls_back_through_text_fields() {
        let r = echo_replies(&json!({"body": "  ", "rawBody": "raw", "text": "t"}));
        assert_eq!(r[0].text.as_deref(), Some("raw"));
        let r = echo_replies(&json!({"text": "t"}));
        assert_eq!(r[0].text.as_deref(), Some("t"));
    }

    #[test]
    fn echoes_saved_media() {
        let turn = json!({"body": "<media:image>", "media": {"kind": "image", "mime": "image/jpeg",
                          "path": "/data/media/inbound/ABC.jpg", "url": null}});
        let r = echo_replies(&turn);
        assert_eq!(r.len(), 1);
        assert_eq!(
            r[0].media[0].source,
            MediaSource::Path("/data/media/inbound/ABC.jpg".into())
        );
        assert_eq!(r[0].media[0].mime.as_deref(), Some("image/jpeg"));
        // Media not saved yet (no path, no url) is not echoed.
        let r = echo_replies(&json!({"media": {"kind": "image", "path": null}}));
        assert!(r.is_empty());
        let r = echo_replies(&json!({"media": [{"url": "https://x/a.ogg"}]}));
        assert_eq!(
            r[0].media[0].source,
            MediaSource::Url("https://x/a.ogg".into())
        );
    }
}
