//! What agents answer: [`AgentReply`] (text and/or media), parsed from a webhook's
//! `{ "replies": [...] }` body by [`parse_replies`].

use serde::{Deserialize, Serialize};

/// Where a reply's media item comes from; exactly one per item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaSource {
    /// An `http(s)` URL the gateway fetches.
    Url(String),
    /// A local file path on the gateway's host.
    Path(String),
    /// The bytes, base64-encoded (standard alphabet).
    Base64(String),
}

/// One media item of a reply: `{url|path|base64, mime?, fileName?, caption?}`.
///
/// ```
/// use wagw_agents::{AgentMedia, MediaSource};
/// let m: AgentMedia = serde_json::from_str(r#"{"url":"https://x/cat.jpg","caption":"a cat"}"#)?;
/// assert_eq!(m.source, MediaSource::Url("https://x/cat.jpg".into()));
/// assert!(serde_json::from_str::<AgentMedia>(r#"{"url":"u","path":"p"}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawMedia", into = "RawMedia")]
pub struct AgentMedia {
    /// The content.
    pub source: MediaSource,
    /// Its MIME type, if the agent knows it (sniffed otherwise).
    pub mime: Option<String>,
    /// A file name (documents keep it).
    pub file_name: Option<String>,
    /// A caption for this item.
    pub caption: Option<String>,
}

/// The wire shape of [`AgentMedia`]; converted so "exactly one source" is checked once.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMedia {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    base64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    caption: Option<String>,
}

impl TryFrom<RawMedia> for AgentMedia {
    type Error = String;

    fn try_from(raw: RawMedia) -> Result<Self, String> {
        let source = match (raw.url, raw.path, raw.base64) {
            (Some(url), None, None) => MediaSource::Url(url),
            (None, Some(path), None) => MediaSource::Path(path),
            (None, None, Some(data)) => MediaSource::Base64(data),
            (None, None, None) => {
                return Err("a media item needs one of url, path or base64".into());
            }
            _ => return Err("a media item takes only one of url, path or base64".into()),
        };
        Ok(AgentMedia {
            source,
            mime: raw.mime,
            file_name: raw.file_name,
            caption: raw.caption,
        })
    }
}

impl From<AgentMedia> for RawMedia {
    fn from(m: AgentMedia) -> Self {
        let mut raw = RawMedia {
            mime: m.mime,
            file_name: m.file_name,
            caption: m.caption,
            ..RawMedia::default()
        };
        match m.source {
            MediaSource::Url(u) => raw.url = Some(u),
            MediaSource::Path(p) => raw.path = Some(p),
            MediaSource::Base64(b) => raw.base64 = Some(b),
        }
        raw
    }
}

/// One reply to send to the turn's chat: text and/or media.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentReply {
    /// The text (chunked by the gateway); with media, the first item's caption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Media items, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<AgentMedia>,
    /// Quote this message id (usually the turn's `messageId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// An approved template to send first (Cloud API accounts, outside the 24-hour window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<AgentTemplate>,
}

/// A template reply: `{"name", "language", "components"}` as Meta defines them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentTemplate {
    /// The template's name in WhatsApp Manager.
    pub name: String,
    /// Its language code (`en_US`).
    pub language: String,
    /// Header, body and button parameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<serde_json::Value>,
}

impl AgentReply {
    /// A text reply.
    pub fn text(text: impl Into<String>) -> Self {
        AgentReply {
            text: Some(text.into()),
            ..AgentReply::default()
        }
    }

    /// True when there is nothing to send (no text, or only whitespace, and no media).
    pub fn is_empty(&self) -> bool {
        self.template.is_none()
            && self.media.is_empty()
            && self.text.as_deref().is_none_or(|t| t.trim().is_empty())
    }
}

#[derive(Deserialize)]
struct RepliesBody {
    #[serde(default)]
    replies: Option<Vec<AgentReply>>,
}

/// Reads the replies in a webhook's 2xx response body.
///
/// An empty body, a body that is not JSON, or JSON without `replies` means "no replies"
/// (`Ok(vec![])`); empty replies are dropped. A `replies` value of the wrong shape is an
/// `Err` describing it: the turn *was* delivered (don't retry), but the agent has a bug
/// the operator should see.
///
/// ```
/// use wagw_agents::parse_replies;
/// let replies = parse_replies(br#"{"replies":[{"text":"hi"},{"media":[{"path":"/tmp/a.png"}]}]}"#)?;
/// assert_eq!(replies.len(), 2);
/// assert!(parse_replies(b"OK")?.is_empty());
/// assert!(parse_replies(br#"{"replies":[{"media":[{}]}]}"#).is_err());
/// # Ok::<(), String>(())
/// ```
pub fn parse_replies(body: &[u8]) -> Result<Vec<AgentReply>, String> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Ok(Vec::new());
    };
    if !value.is_object() {
        return Ok(Vec::new());
    }
    let parsed: RepliesBody = serde_json::from_value(value)
        .map_err(|e| format!("invalid `replies` in the response: {e}"))?;
    Ok(parsed
        .replies
        .unwrap_or_default()
        .into_iter()
        .filter(|r| !r.is_empty())
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn bodies_without_replies() {
        for body in [
            "",
            "   ",
            "OK",
            "null",
            "[]",
            "42",
            r#"{"ok":true}"#,
            r#"{"replies":null}"#,
            r#"{"replies":[]}"#,
        ] {
            assert_eq!(parse_replies(body.as_bytes()), Ok(vec![]), "{body:?}");
        }
    }

    #[test]
    fn full_reply_round_trips() {
        let body = r#"{"replies":[{"text":"see","replyTo":"ABC","media":[
            {"base64":"aGk=","mime":"text/plain","fileName":"hi.txt","caption":"c"},
            {"url":"https://x/y.jpg"}]}, {"text":"  "}]}"#;
        let replies = parse_replies(body.as_bytes()).unwrap();
        assert_eq!(replies.len(), 1, "the whitespace-only reply is dropped");
        let r = &replies[0];
        assert_eq!(r.reply_to.as_deref(), Some("ABC"));
        assert_eq!(r.media[0].source, MediaSource::Base64("aGk=".into()));
        assert_eq!(r.media[0].file_name.as_deref(), Some("hi.txt"));
        let again: AgentReply = serde_json::from_value(serde_json::to_value(r).unwrap()).unwrap();
        assert_eq!(&again, r);
        assert_eq!(
            serde_json::to_value(&r.media[1]).unwrap(),
            serde_json::json!({"url": "https://x/y.jpg"})
        );
    }

    #[test]
    fn wrong_shapes_are_errors() {
        for body in [
            r#"{"replies":"hi"}"#,
            r#"{"replies":[{"text":5}]}"#,
            r#"{"replies":[{"media":[{"url":"a","base64":"b"}]}]}"#,
        ] {
            assert!(parse_replies(body.as_bytes()).is_err(), "{body}");
        }
    }
}
