//! Meta's webhooks: the verification handshake, the `X-Hub-Signature-256` check, and the
//! payload (`entry[].changes[].value.messages[]` / `statuses[]`) turned into wagw's
//! inbound messages and receipts.

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use wagw_core::{
    AccountId, ContactCard, Content, ContextInfo, InboundMessage, Jid, Location, Media, MediaKind,
    MediaRef, MessageId, MessageKey, Phone, QuotedMessage, Receipt, ReceiptKind, Sender,
};

use crate::error::WebhookError;

/// The signature header Meta sends: `sha256=<hex HMAC-SHA256(appSecret, raw body)>`.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// Answers Meta's verification request (`GET ?hub.mode=subscribe&hub.verify_token=…&
/// hub.challenge=…`): the challenge to echo, or why not. The token comparison is
/// constant-time.
pub fn verify_subscription(
    expected_token: Option<&str>,
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
) -> Result<String, WebhookError> {
    let expected = expected_token.ok_or(WebhookError::NoVerifyToken)?;
    if mode != Some("subscribe") {
        return Err(WebhookError::VerificationRefused(
            "hub.mode is not \"subscribe\"",
        ));
    }
    let given = token.ok_or(WebhookError::VerificationRefused(
        "hub.verify_token is missing",
    ))?;
    if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(WebhookError::VerificationRefused(
            "hub.verify_token does not match cloud.verifyToken",
        ));
    }
    challenge
        .map(str::to_string)
        .ok_or(WebhookError::VerificationRefused(
            "hub.challenge is missing",
        ))
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    match <Hmac<Sha256> as KeyInit>::new_from_slice(secret) {
        Ok(m) => m,
        // HMAC takes keys of any length (long ones are hashed).
        Err(_) => unreachable_hmac_key(),
    }
}

#[cold]
fn unreachable_hmac_key() -> ! {
    panic!("HMAC-SHA256 rejected a key; HMAC accepts any key length")
}

/// The `X-Hub-Signature-256` value for `body` (what Meta sends; the fake server uses it).
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    let mut m = mac(app_secret.as_bytes());
    m.update(body);
    format!("sha256={}", hex::encode(m.finalize().into_bytes()))
}

/// Checks `X-Hub-Signature-256` against the raw body, in constant time.
pub fn verify_signature(
    app_secret: &str,
    header: Option<&str>,
    body: &[u8],
) -> Result<(), WebhookError> {
    let header = header.ok_or(WebhookError::MissingSignature)?;
    let hex_part = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(WebhookError::BadSignature)?;
    let given = hex::decode(hex_part).map_err(|_| WebhookError::BadSignature)?;
    let mut m = mac(app_secret.as_bytes());
    m.update(body);
    m.verify_slice(&given)
        .map_err(|_| WebhookError::BadSignature)
}

// ---- payload --------------------------------------------------------------------------

#[derive(Deserialize)]
struct Payload {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize, Default)]
struct ChangeValue {
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    contacts: Vec<ContactProfile>,
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    phone_number_id: String,
}

#[derive(Deserialize)]
struct ContactProfile {
    #[serde(default)]
    wa_id: String,
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    recipient_id: String,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Deserialize)]
struct StatusError {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error_data: Option<StatusErrorData>,
}

#[derive(Deserialize)]
struct StatusErrorData {
    #[serde(default)]
    details: Option<String>,
}

/// What one webhook carries for this account.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Inbound messages, in payload order.
    pub messages: Vec<InboundMessage>,
    /// Receipts for messages this account sent.
    pub receipts: Vec<Receipt>,
    /// Entries for other phone numbers of the same app, skipped.
    pub other_numbers: usize,
    /// Messages that could not be read (no sender or id), skipped and logged.
    pub skipped: usize,
}

fn seconds_to_ms(ts: Option<&str>) -> i64 {
    ts.and_then(|t| t.parse::<i64>().ok())
        .map(|s| s.saturating_mul(1000))
        .unwrap_or(0)
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn string_at(v: &Value, key: &str) -> Option<String> {
    str_at(v, key).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Parses a webhook body for the account whose number has `phone_number_id`.
pub fn parse(
    body: &[u8],
    account: &AccountId,
    phone_number_id: &str,
) -> Result<Parsed, WebhookError> {
    let payload: Payload =
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    if payload.object != "whatsapp_business_account" {
        return Err(WebhookError::Malformed(format!(
            "object is {:?}, not \"whatsapp_business_account\"",
            payload.object
        )));
    }
    let mut out = Parsed::default();
    for change in payload.entry.iter().flat_map(|e| &e.changes) {
        if change.field != "messages" {
            continue;
        }
        let value: ChangeValue = serde_json::from_value(change.value.clone())
            .map_err(|e| WebhookError::Malformed(format!("changes[].value: {e}")))?;
        if let Some(m) = &value.metadata
            && !m.phone_number_id.is_empty()
            && m.phone_number_id != phone_number_id
        {
            out.other_numbers += 1;
            continue;
        }
        for raw in &value.messages {
            match message(raw, &value.contacts, account) {
                Some(m) => out.messages.push(m),
                None => {
                    tracing::warn!(target: "wagw::cloud", account = %account,
                        "webhook message without a readable sender or id skipped");
                    out.skipped += 1;
                }
            }
        }
        for s in &value.statuses {
            if let Some(r) = receipt(s) {
                out.receipts.push(r);
            }
        }
    }
    Ok(out)
}

fn phone_jid(digits: &str) -> Option<(Phone, Jid)> {
    let phone = Phone::parse(&format!("+{}", digits.trim_start_matches('+'))).ok()?;
    let jid = phone.to_jid();
    Some((phone, jid))
}

fn receipt(s: &Status) -> Option<Receipt> {
    let (_, chat) = phone_jid(&s.recipient_id)?;
    let kind = match s.status.as_str() {
        "sent" => ReceiptKind::Sent,
        "delivered" => ReceiptKind::Delivered,
        "read" => ReceiptKind::Read,
        "played" => ReceiptKind::Played,
        "failed" => ReceiptKind::Failed,
        _ => ReceiptKind::Other,
    };
    let error = (kind == ReceiptKind::Failed).then(|| {
        s.errors
            .iter()
            .map(|e| {
                let what = e
                    .error_data
                    .as_ref()
                    .and_then(|d| d.details.clone())
                    .or_else(|| e.message.clone())
                    .or_else(|| e.title.clone())
                    .unwrap_or_default();
                let hint = match e.code {
                    crate::error::CODE_REENGAGEMENT => {
                        "the customer has not written in 24 h; a template message is required: "
                    }
                    _ => "",
                };
                format!("{hint}Graph error {}: {what}", e.code)
            })
            .collect::<Vec<_>>()
            .join("; ")
    });
    Some(Receipt {
        chat: chat.clone(),
        sender: Some(chat),
        ids: vec![MessageId::new(s.id.clone())],
        kind,
        timestamp_ms: seconds_to_ms(s.timestamp.as_deref()),
        error,
    })
}

fn media(kind: MediaKind, obj: &Value) -> Media {
    Media {
        mime: string_at(obj, "mime_type"),
        caption: string_at(obj, "caption"),
        file_name: string_at(obj, "filename"),
        ptt: kind == MediaKind::Audio && obj.get("voice").and_then(Value::as_bool) == Some(true),
        reference: string_at(obj, "id").map(|id| MediaRef {
            direct_path: id,
            ..MediaRef::default()
        }),
        ..Media::new(kind)
    }
}

fn location(obj: &Value) -> Location {
    Location {
        latitude: obj.get("latitude").and_then(Value::as_f64).unwrap_or(0.0),
        longitude: obj.get("longitude").and_then(Value::as_f64).unwrap_or(0.0),
        accuracy_m: None,
        name: string_at(obj, "name"),
        address: string_at(obj, "address"),
        caption: string_at(obj, "url"),
    }
}

fn contact_cards(list: &Value) -> Vec<ContactCard> {
    list.as_array()
        .map(|cards| {
            cards
                .iter()
                .map(|c| ContactCard {
                    name: c
                        .get("name")
                        .and_then(|n| {
                            string_at(n, "formatted_name").or_else(|| string_at(n, "first_name"))
                        })
                        .unwrap_or_default(),
                    numbers: c
                        .get("phones")
                        .and_then(Value::as_array)
                        .map(|ps| ps.iter().filter_map(|p| string_at(p, "phone")).collect())
                        .unwrap_or_default(),
                    vcard: None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The content of one message item of a webhook.
fn content(raw: &Value, chat: &Jid) -> Content {
    let kind = str_at(raw, "type").unwrap_or("unknown");
    let obj = raw.get(kind).cloned().unwrap_or(Value::Null);
    match kind {
        "text" => Content::text(str_at(&obj, "body").unwrap_or_default()),
        "image" => Content::Media(media(MediaKind::Image, &obj)),
        "video" => Content::Media(media(MediaKind::Video, &obj)),
        "audio" => Content::Media(media(MediaKind::Audio, &obj)),
        "document" => Content::Media(media(MediaKind::Document, &obj)),
        "sticker" => Content::Media(media(MediaKind::Sticker, &obj)),
        "location" => Content::Location(location(&obj)),
        "contacts" => Content::Contacts {
            contacts: contact_cards(&obj),
        },
        "reaction" => Content::Reaction {
            target: MessageKey {
                chat: chat.clone(),
                id: MessageId::new(str_at(&obj, "message_id").unwrap_or_default()),
                // The payload does not say whose message it was; in a Cloud API chat it is
                // almost always the business's own.
                from_me: true,
                participant: None,
            },
            emoji: str_at(&obj, "emoji").unwrap_or_default().to_string(),
        },
        // A tap on a reply button or a list row: the agent reads the title the customer saw.
        "interactive" => {
            let reply = obj
                .get("button_reply")
                .or_else(|| obj.get("list_reply"))
                .or_else(|| obj.get("nfm_reply"));
            match reply.and_then(|r| string_at(r, "title").or_else(|| string_at(r, "body"))) {
                Some(title) => Content::text(title),
                None => Content::Unsupported {
                    kind: "interactive".into(),
                },
            }
        }
        // A quick-reply button of a template.
        "button" => match string_at(&obj, "text").or_else(|| string_at(&obj, "payload")) {
            Some(t) => Content::text(t),
            None => Content::Unsupported {
                kind: "button".into(),
            },
        },
        other => Content::Unsupported {
            kind: other.to_string(),
        },
    }
}

fn message(
    raw: &Value,
    contacts: &[ContactProfile],
    account: &AccountId,
) -> Option<InboundMessage> {
    let from = str_at(raw, "from")?;
    let id = str_at(raw, "id").filter(|i| !i.is_empty())?;
    let (phone, chat) = phone_jid(from)?;
    let push_name = contacts
        .iter()
        .find(|c| c.wa_id == from)
        .or(contacts.first())
        .and_then(|c| c.profile.as_ref()?.name.clone());
    let mut context = ContextInfo::default();
    if let Some(ctx) = raw.get("context") {
        context.forwarded = ctx.get("forwarded").and_then(Value::as_bool) == Some(true)
            || ctx.get("frequently_forwarded").and_then(Value::as_bool) == Some(true);
        if let Some(quoted_id) = string_at(ctx, "id")
            && str_at(raw, "type") != Some("reaction")
        {
            let author = str_at(ctx, "from").and_then(phone_jid);
            context.quoted = Some(QuotedMessage {
                stanza_id: MessageId::new(quoted_id),
                participant: author.as_ref().map(|(_, j)| j.clone()),
                sender: author.map(|(p, _)| Sender::phone(p)),
                content: None,
            });
        }
    }
    Some(InboundMessage {
        id: MessageId::new(id),
        account: account.clone(),
        chat: chat.clone(),
        sender: Sender::phone(phone),
        sender_jid: Some(chat.clone()),
        push_name,
        timestamp_ms: seconds_to_ms(str_at(raw, "timestamp")),
        from_me: false,
        offline: false,
        content: content(raw, &chat),
        context,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_roundtrip_and_tamper() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let sig = sign("s3cret", body);
        assert!(sig.starts_with("sha256="));
        assert_eq!(verify_signature("s3cret", Some(&sig), body), Ok(()));
        assert_eq!(
            verify_signature("other", Some(&sig), body),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_signature("s3cret", Some(&sig), b"{}"),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_signature("s3cret", None, body),
            Err(WebhookError::MissingSignature)
        );
        assert_eq!(
            verify_signature("s3cret", Some("sha256=zz"), body),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn verification_handshake() {
        let ok = verify_subscription(Some("vt"), Some("subscribe"), Some("vt"), Some("42"));
        assert_eq!(ok, Ok("42".to_string()));
        for (mode, token) in [
            (Some("subscribe"), Some("nope")),
            (Some("x"), Some("vt")),
            (None, None),
        ] {
            let e = verify_subscription(Some("vt"), mode, token, Some("42"));
            assert_eq!(e.map_err(|e| e.status()), Err(403));
        }
        assert_eq!(
            verify_subscription(None, Some("subscribe"), Some("vt"), Some("1")),
            Err(WebhookError::NoVerifyToken)
        );
    }

    #[test]
    fn other_numbers_and_objects() {
        let a = AccountId::default_account();
        let body = br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"OTHER"},"messages":[{"from":"15551230000","id":"wamid.1","type":"text","text":{"body":"x"}}]}}]}]}"#;
        let p = parse(body, &a, "MINE").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.messages.len(), p.other_numbers), (0, 1));
        let e = parse(br#"{"object":"page","entry":[]}"#, &a, "MINE");
        assert!(matches!(e, Err(WebhookError::Malformed(_))));
    }
}
