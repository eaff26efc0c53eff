//! Wire requests → the validated inputs of [`super::GatewayApi`]. Each failure is a 422
//! naming its field. Parsing itself is wagw-core's (`Jid::from_target`, `Phone::parse`);
//! this module only says which field was wrong.

use std::path::PathBuf;

use base64::Engine as _;
use wagw_core::{AccountId, ChatPresence, Jid, MessageId, Phone};

use super::api::{
    LoginStart, MarkRead, MediaInput, Poll, Reaction, SendMedia, SendMessage, SimMessage,
};
use super::error::ApiError;
use super::model::{
    LoginMethod, LoginRequest, PasskeyAssertion, PollRequest, PresenceState, ReactionRequest,
    ReadRequest, SendMessageRequest, SimInboundRequest,
};
use super::model_access::ExplainRequest;

/// Most media items one send may carry.
pub const MAX_MEDIA_ITEMS: usize = 32;

/// A chat or recipient: a phone number in any written form, or a JID.
pub fn target(field: &str, raw: &str) -> Result<Jid, ApiError> {
    Jid::from_target(raw).map_err(|e| {
        ApiError::invalid(
            field,
            format!("{field}: {e} (expected +E.164 like +15551234567, or a JID like 120363012345678901@g.us)"),
        )
    })
}

/// A phone number.
pub fn phone(field: &str, raw: &str) -> Result<Phone, ApiError> {
    Phone::parse(raw).map_err(|e| {
        ApiError::invalid(
            field,
            format!("{field}: {e} (expected +E.164 like +15551234567)"),
        )
    })
}

/// An account id from the path or a body field.
pub fn account_id(field: &str, raw: &str) -> Result<AccountId, ApiError> {
    AccountId::parse(raw).map_err(|e| ApiError::invalid(field, format!("{field}: {e}")))
}

fn message_id(field: &str, raw: &str) -> Result<MessageId, ApiError> {
    let id = raw.trim();
    if id.is_empty() || id.len() > 128 || id.chars().any(char::is_whitespace) {
        return Err(ApiError::invalid(
            field,
            format!("{field}: {raw:?} is not a message id (the `messageId` of a turn or send)"),
        ));
    }
    Ok(MessageId::new(id))
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|t| !t.trim().is_empty())
}

/// `POST …/login`.
pub fn login(req: LoginRequest) -> Result<LoginStart, ApiError> {
    let phone = match (req.method, req.phone.as_deref()) {
        (LoginMethod::Code, None) => {
            return Err(ApiError::invalid(
                "phone",
                "phone: a pair-code login needs the account's phone number, e.g. {\"method\": \"code\", \"phone\": \"+15551234567\"}",
            ));
        }
        (_, Some(raw)) => Some(phone("phone", raw)?),
        (LoginMethod::Qr, None) => None,
    };
    Ok(LoginStart {
        method: req.method,
        phone,
        force: req.force,
    })
}

/// `POST …/login/passkey`: checks the parts of a WebAuthn assertion that WhatsApp needs
/// to find the credential, and returns the JSON to pass on unchanged.
pub fn passkey_assertion(req: PasskeyAssertion) -> Result<String, ApiError> {
    let v = &req.0;
    let id = match (v.get("rawId"), v.get("id")) {
        (Some(raw), _) => ("rawId", raw),
        (None, Some(id)) => ("id", id),
        (None, None) => {
            return Err(ApiError::invalid(
                "rawId",
                "rawId: missing; post the assertion JSON your authenticator returned (PublicKeyCredential.toJSON())",
            ));
        }
    };
    let (field, id) = id;
    let Some(id) = id.as_str() else {
        return Err(ApiError::invalid(
            field,
            format!("{field}: expected the credential id as a base64url string"),
        ));
    };
    if id.is_empty()
        || base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(id.trim_end_matches('='))
            .is_err()
    {
        return Err(ApiError::invalid(
            field,
            format!("{field}: {id:?} is not base64url (A-Z a-z 0-9 - _)"),
        ));
    }
    if let Some(kind) = v.get("type")
        && kind.as_str() != Some("public-key")
    {
        return Err(ApiError::invalid(
            "type",
            format!("type: expected \"public-key\", got {kind}"),
        ));
    }
    if let Some(response) = v.get("response")
        && !response.is_object()
    {
        return Err(ApiError::invalid(
            "response",
            "response: expected the authenticator's response object (clientDataJSON, authenticatorData, signature)",
        ));
    }
    Ok(v.to_string())
}

/// `POST …/messages`.
pub fn send(req: SendMessageRequest) -> Result<SendMessage, ApiError> {
    let to = target("to", &req.to)?;
    let text = non_empty(req.text);
    let template = match req.template {
        Some(t) => {
            for (field, value) in [
                ("template.name", &t.name),
                ("template.language", &t.language),
            ] {
                if value.trim().is_empty() {
                    return Err(ApiError::invalid(
                        field,
                        format!("{field}: must not be empty"),
                    ));
                }
            }
            Some(wagw_core::Template {
                name: t.name.trim().to_owned(),
                language: t.language.trim().to_owned(),
                components: t.components,
            })
        }
        None => None,
    };
    if text.is_none() && req.media.is_empty() && template.is_none() {
        return Err(ApiError::invalid(
            "text",
            "text: nothing to send: give `text`, `media`, `template`, or a combination",
        ));
    }
    if req.media.len() > MAX_MEDIA_ITEMS {
        return Err(ApiError::invalid(
            "media",
            format!(
                "media: at most {MAX_MEDIA_ITEMS} items per send, got {}",
                req.media.len()
            ),
        ));
    }
    let mut media = Vec::with_capacity(req.media.len());
    for (i, item) in req.media.into_iter().enumerate() {
        let at = |name: &str| format!("media[{i}].{name}");
        let source = match (item.url, item.path, item.base64) {
            (Some(url), None, None) => {
                if url
                    .get(..5)
                    .is_some_and(|p| p.eq_ignore_ascii_case("file:"))
                {
                    return Err(ApiError::invalid(
                        at("url"),
                        format!(
                            "{}: a file: URL names a file on the gateway host; give it as `path` \
                             (it is read under media.localRoots)",
                            at("url")
                        ),
                    ));
                }
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(ApiError::invalid(
                        at("url"),
                        format!("{}: {url:?} is not an http(s) URL", at("url")),
                    ));
                }
                MediaInput::Url(url)
            }
            (None, Some(path), None) => {
                let path = local_path(&path).map_err(|why| {
                    ApiError::invalid(at("path"), format!("{}: {why}", at("path")))
                })?;
                if !path.is_absolute() {
                    return Err(ApiError::invalid(
                        at("path"),
                        format!(
                            "{}: {} is relative; give an absolute path on the gateway host",
                            at("path"),
                            path.display()
                        ),
                    ));
                }
                MediaInput::Path(path)
            }
            (None, None, Some(b64)) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|e| {
                        ApiError::invalid(
                            at("base64"),
                            format!("{}: not valid base64: {e}", at("base64")),
                        )
                    })?;
                if bytes.is_empty() {
                    return Err(ApiError::invalid(
                        at("base64"),
                        format!("{}: empty file", at("base64")),
                    ));
                }
                MediaInput::Bytes(bytes)
            }
            _ => {
                return Err(ApiError::invalid(
                    format!("media[{i}]"),
                    format!("media[{i}]: give exactly one of `url`, `path`, `base64`"),
                ));
            }
        };
        if let Some(mime) = &item.mime
            && !mime.contains('/')
        {
            return Err(ApiError::invalid(
                at("mime"),
                format!(
                    "{}: {mime:?} is not a MIME type like image/jpeg",
                    at("mime")
                ),
            ));
        }
        media.push(SendMedia {
            source,
            mime: item.mime,
            file_name: non_empty(item.file_name),
            caption: non_empty(item.caption),
        });
    }
    let reply_to = req
        .reply_to
        .as_deref()
        .map(|r| message_id("replyTo", r))
        .transpose()?;
    let mentions = req
        .mentions
        .iter()
        .enumerate()
        .map(|(i, m)| target(&format!("mentions[{i}]"), m))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SendMessage {
        to,
        text,
        media,
        gif_playback: req.gif_playback,
        reply_to,
        mentions,
        template,
    })
}

/// `POST …/reactions`.
pub fn reaction(req: ReactionRequest) -> Result<Reaction, ApiError> {
    let chat = target("chat", &req.chat)?;
    let message_id = message_id("messageId", &req.message_id)?;
    let emoji = if req.remove {
        String::new()
    } else {
        match non_empty(req.emoji) {
            Some(e) => e.trim().to_owned(),
            None => {
                return Err(ApiError::invalid(
                    "emoji",
                    "emoji: give an emoji, or `remove: true` to remove this account's reaction",
                ));
            }
        }
    };
    let participant = req
        .participant
        .as_deref()
        .map(|p| target("participant", p))
        .transpose()?;
    Ok(Reaction {
        chat,
        message_id,
        emoji,
        participant,
        from_me: req.from_me,
    })
}

/// `POST …/polls`.
pub fn poll(req: PollRequest) -> Result<Poll, ApiError> {
    let to = target("to", &req.to)?;
    let question = req.question.trim().to_owned();
    if question.is_empty() {
        return Err(ApiError::invalid(
            "question",
            "question: the poll question is empty",
        ));
    }
    let mut options: Vec<String> = Vec::new();
    for option in req.options.iter().map(|o| o.trim()) {
        if !option.is_empty() && !options.iter().any(|o| o == option) {
            options.push(option.to_owned());
        }
    }
    if !(2..=12).contains(&options.len()) {
        return Err(ApiError::invalid(
            "options",
            format!(
                "options: a poll needs 2 to 12 distinct options, got {}",
                options.len()
            ),
        ));
    }
    if req.selectable_count as usize > options.len() {
        return Err(ApiError::invalid(
            "selectableCount",
            format!(
                "selectableCount: {} is more than the {} options (0 means any number)",
                req.selectable_count,
                options.len()
            ),
        ));
    }
    Ok(Poll {
        to,
        question,
        options,
        selectable_count: req.selectable_count,
    })
}

/// `POST …/read`.
pub fn read(req: ReadRequest) -> Result<MarkRead, ApiError> {
    let chat = target("chat", &req.chat)?;
    if req.message_ids.is_empty() {
        return Err(ApiError::invalid(
            "messageIds",
            "messageIds: give at least one message id",
        ));
    }
    let message_ids = req
        .message_ids
        .iter()
        .enumerate()
        .map(|(i, m)| message_id(&format!("messageIds[{i}]"), m))
        .collect::<Result<Vec<_>, _>>()?;
    let participant = req
        .participant
        .as_deref()
        .map(|p| target("participant", p))
        .transpose()?;
    Ok(MarkRead {
        chat,
        message_ids,
        participant,
    })
}

/// `POST …/presence`.
pub fn presence(state: PresenceState) -> ChatPresence {
    match state {
        PresenceState::Composing => ChatPresence::Composing,
        PresenceState::Recording => ChatPresence::Recording,
        PresenceState::Paused => ChatPresence::Paused,
    }
}

/// A pairing code: what the sender received (letters and digits).
pub fn pairing_code(raw: &str) -> Result<String, ApiError> {
    let code = raw.trim().to_ascii_uppercase();
    if code.is_empty() || code.len() > 32 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ApiError::invalid(
            "code",
            format!(
                "code: {raw:?} is not a pairing code (letters and digits, as in `wagw pairing list`)"
            ),
        ));
    }
    Ok(code)
}

/// A media id from `GET /v1/media/{id}`: a plain file name, never a path.
pub fn media_id(raw: &str) -> Result<&str, ApiError> {
    let ok = !raw.is_empty()
        && raw.len() <= 200
        && !raw.starts_with('.')
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(raw)
    } else {
        Err(ApiError::invalid(
            "id",
            format!("id: {raw:?} is not a media id (the last part of a turn's media[].url)"),
        ))
    }
}

/// `POST /v1/sim/inbound`.
pub fn sim(req: SimInboundRequest) -> Result<SimMessage, ApiError> {
    let account = req
        .account
        .as_deref()
        .map(|a| account_id("account", a))
        .transpose()?;
    let from = phone("from", &req.from)?;
    let group = match req.group.as_deref() {
        Some(g) => {
            let jid = target("group", g)?;
            if !jid.is_group() {
                return Err(ApiError::invalid(
                    "group",
                    format!("group: {g:?} is not a group JID (…@g.us)"),
                ));
            }
            Some(jid)
        }
        None => None,
    };
    let text = non_empty(req.text);
    if text.is_none() {
        return Err(ApiError::invalid(
            "text",
            "text: the simulated message needs a text",
        ));
    }
    let quote = req
        .quote
        .as_deref()
        .map(|q| message_id("quote", q))
        .transpose()?;
    let mentions = req
        .mentions
        .iter()
        .enumerate()
        .map(|(i, m)| target(&format!("mentions[{i}]"), m))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SimMessage {
        account,
        from,
        name: non_empty(req.name),
        group,
        text,
        quote,
        mentions,
    })
}

/// `POST /v1/access/explain`: the account and the engine's inputs, each field checked.
pub fn explain(
    req: ExplainRequest,
) -> Result<(Option<AccountId>, wagw_access::ExplainInput), ApiError> {
    let account = req
        .account
        .as_deref()
        .map(|a| account_id("account", a))
        .transpose()?;
    wagw_access::parse_sender(&req.from).map_err(|e| {
        ApiError::invalid(
            "from",
            format!(
                "from: {e} (expected a phone number like +15551234567, a user JID or a LID like 123456789@lid)"
            ),
        )
    })?;
    if let Some(g) = req.group.as_deref() {
        let jid = target("group", g)?;
        if !jid.is_group() {
            return Err(ApiError::invalid(
                "group",
                format!("group: {g:?} is not a group JID (…@g.us)"),
            ));
        }
    }
    Ok((
        account,
        wagw_access::ExplainInput {
            from: req.from,
            group: req.group,
            mentioned: req.mentioned,
            reply_to_bot: req.reply_to_bot,
            from_me: req.from_me,
            text: non_empty(req.text),
        },
    ))
}

/// An allow-store entry: a phone number or a LID; `"*"` belongs in `allowFrom`.
pub fn allow_entry(field: &str, raw: &str) -> Result<wagw_access::AllowEntry, ApiError> {
    match wagw_access::AllowEntry::parse(raw) {
        Ok(wagw_access::AllowEntry::Any) => Err(ApiError::invalid(
            field,
            format!(
                "{field}: \"*\" cannot be added to the allow-store; to admit everyone set \
                 dmPolicy: \"open\" and allowFrom: [\"*\"] in the config"
            ),
        )),
        Ok(entry) => Ok(entry),
        Err(e) => Err(ApiError::invalid(field, format!("{field}: {e}"))),
    }
}

/// A media `path` as a local path: a plain path as written, or a `file:` URL
/// (`file:///srv/a.png`, `file://localhost/srv/a%20b.png`) decoded to one. The result goes
/// through the same guards as any path (absolute, under `media.localRoots`).
fn local_path(path: &str) -> Result<PathBuf, String> {
    if !path
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("file:"))
    {
        return Ok(PathBuf::from(path));
    }
    let url =
        url::Url::parse(path).map_err(|e| format!("{path:?} is not a valid file: URL: {e}"))?;
    match url.host_str() {
        None | Some("") | Some("localhost") => {}
        Some(host) => {
            return Err(format!(
                "{path:?} names host {host:?}; only files on the gateway host can be sent \
                 (file:///absolute/path)"
            ));
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{path:?}: a file: URL takes no query or fragment"));
    }
    url.to_file_path()
        .map_err(|()| format!("{path:?} is not a file: URL of an absolute path"))
}

#[cfg(test)]
mod file_url_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn file_urls_become_local_paths_and_other_hosts_are_refused() {
        assert_eq!(
            local_path("/srv/a.png").unwrap(),
            PathBuf::from("/srv/a.png")
        );
        assert_eq!(
            local_path("file:///srv/a.png").unwrap(),
            PathBuf::from("/srv/a.png")
        );
        assert_eq!(
            local_path("FILE://localhost/srv/a%20b.png").unwrap(),
            PathBuf::from("/srv/a b.png")
        );
        // Dot segments are resolved by the URL parser; the root guard still applies after.
        assert_eq!(
            local_path("file:///srv/media/../etc/passwd").unwrap(),
            PathBuf::from("/srv/etc/passwd")
        );
        assert!(
            local_path("file://evil.example/x.png")
                .unwrap_err()
                .contains("evil.example")
        );
        assert!(local_path("file:///x.png?y=1").is_err());
    }
}
