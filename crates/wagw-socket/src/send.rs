//! Outbound: wagw's [`OutboundMessage`] into protocol messages (text with quote and
//! mentions, media after upload, reactions, polls, edits, revokes), sent and then confirmed
//! by the server's `<ack>`. A send the server did not ack is an error, never a success.

use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, warn};
use wagw_core::{
    Content, Jid, MediaKind, MessageId, MessageKey, OutboundContent, OutboundMedia,
    OutboundMessage, OutboundQuote, SendReceipt, SocketError,
};
use whatsapp_rust::buffa::MessageField;
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::{Client, NodeFilter, RevokeType, SendError};

use crate::connection::{AckResult, ConnShared};
use crate::ids;
use crate::polls::{self, SentPoll};

/// Protocol context for a quote and mentions (None when there is neither).
pub fn context_info(
    quote: Option<&OutboundQuote>,
    mentions: &[Jid],
    own: Option<&Jid>,
) -> Option<wa::ContextInfo> {
    if quote.is_none() && mentions.is_empty() {
        return None;
    }
    let mut ctx = wa::ContextInfo {
        mentioned_jid: mentions.iter().map(Jid::to_string).collect(),
        ..Default::default()
    };
    if let Some(q) = quote {
        ctx.stanza_id = Some(q.key.id.as_str().to_string());
        // The quoted message's author: the group participant, this account for its own
        // messages, else the DM peer (the chat).
        let author = q.key.participant.clone().or_else(|| {
            if q.key.from_me {
                own.cloned()
            } else {
                Some(q.key.chat.clone())
            }
        });
        ctx.participant = author.map(|a| a.without_device().to_string());
        ctx.quoted_message = MessageField::some(quoted_body(q.content.as_ref()));
    }
    Some(ctx)
}

/// The body shown in the quote bubble: the quoted text when known.
fn quoted_body(content: Option<&Content>) -> wa::Message {
    let text = content
        .and_then(Content::text_or_caption)
        .unwrap_or_default();
    wa::Message {
        conversation: Some(text.to_string()),
        ..Default::default()
    }
}

/// Builds the protocol message for text and media content (the kinds that are plain
/// message bodies; reactions, polls, edits and revokes go through dedicated calls).
pub fn build_message(
    out: &OutboundMessage,
    own: Option<&Jid>,
    now_secs: i64,
) -> Result<wa::Message, SocketError> {
    let ctx = context_info(out.quote.as_ref(), &out.mentions, own);
    match &out.content {
        OutboundContent::Text { text } => Ok(match ctx {
            None => wa::Message {
                conversation: Some(text.clone()),
                ..Default::default()
            },
            Some(ctx) => wa::Message {
                extended_text_message: MessageField::some(wa::message::ExtendedTextMessage {
                    text: Some(text.clone()),
                    context_info: MessageField::some(ctx),
                    ..Default::default()
                }),
                ..Default::default()
            },
        }),
        OutboundContent::Media(m) => Ok(media_message(m, ctx, now_secs)),
        other => Err(SocketError::InvalidRequest(format!(
            "internal: {} is not a plain message body",
            kind_name(other)
        ))),
    }
}

/// Templates belong to the Business Cloud API; WhatsApp Web has no such message.
const TEMPLATES_UNSUPPORTED: SocketError = SocketError::Unsupported(
    "templates: they belong to the WhatsApp Business Cloud API (transport \"cloud\")",
);

fn kind_name(c: &OutboundContent) -> &'static str {
    match c {
        OutboundContent::Text { .. } => "text",
        OutboundContent::Media(_) => "media",
        OutboundContent::Reaction { .. } => "reaction",
        OutboundContent::Poll { .. } => "poll",
        OutboundContent::Edit { .. } => "edit",
        OutboundContent::Revoke { .. } => "revoke",
        OutboundContent::Template(_) => "template",
    }
}

fn field<T: Default>(v: Option<T>) -> MessageField<T> {
    match v {
        Some(v) => MessageField::some(v),
        None => MessageField::default(),
    }
}

/// A media message from an uploaded blob.
pub fn media_message(
    m: &OutboundMedia,
    ctx: Option<wa::ContextInfo>,
    now_secs: i64,
) -> wa::Message {
    let r = &m.upload.reference;
    let url = r.url.clone();
    let direct_path = Some(r.direct_path.clone());
    let media_key = Some(r.media_key.clone());
    let sha = Some(r.file_sha256.clone());
    let enc = Some(r.file_enc_sha256.clone());
    let len = Some(r.file_length);
    // The key's own timestamp (kept from the upload, or from the inbound message being
    // forwarded); the send time only when it is unknown.
    let ts = Some(r.media_key_timestamp.unwrap_or(now_secs));
    let thumb = m.thumbnail_jpeg.as_ref().map(|b| b.to_vec());
    let ctx = field(ctx);
    let mut msg = wa::Message::default();
    match m.kind() {
        MediaKind::Image => {
            msg.image_message = MessageField::some(wa::message::ImageMessage {
                url,
                direct_path,
                media_key,
                file_sha256: sha,
                file_enc_sha256: enc,
                file_length: len,
                media_key_timestamp: ts,
                mimetype: Some(m.mime.clone()),
                caption: m.caption.clone(),
                width: m.width,
                height: m.height,
                jpeg_thumbnail: thumb,
                context_info: ctx,
                ..Default::default()
            })
        }
        MediaKind::Video => {
            msg.video_message = MessageField::some(wa::message::VideoMessage {
                url,
                direct_path,
                media_key,
                file_sha256: sha,
                file_enc_sha256: enc,
                file_length: len,
                media_key_timestamp: ts,
                mimetype: Some(m.mime.clone()),
                caption: m.caption.clone(),
                seconds: m.duration_secs,
                gif_playback: m.gif_playback.then_some(true),
                width: m.width,
                height: m.height,
                jpeg_thumbnail: thumb,
                context_info: ctx,
                ..Default::default()
            })
        }
        MediaKind::Audio => {
            msg.audio_message = MessageField::some(wa::message::AudioMessage {
                url,
                direct_path,
                media_key,
                file_sha256: sha,
                file_enc_sha256: enc,
                file_length: len,
                media_key_timestamp: ts,
                mimetype: Some(m.mime.clone()),
                seconds: m.duration_secs,
                ptt: Some(m.ptt),
                waveform: m.waveform.clone(),
                context_info: ctx,
                ..Default::default()
            })
        }
        MediaKind::Document => {
            msg.document_message = MessageField::some(wa::message::DocumentMessage {
                url,
                direct_path,
                media_key,
                file_sha256: sha,
                file_enc_sha256: enc,
                file_length: len,
                media_key_timestamp: ts,
                mimetype: Some(m.mime.clone()),
                file_name: m.file_name.clone(),
                title: m.file_name.clone(),
                caption: m.caption.clone(),
                jpeg_thumbnail: thumb,
                context_info: ctx,
                ..Default::default()
            })
        }
        MediaKind::Sticker => {
            msg.sticker_message = MessageField::some(wa::message::StickerMessage {
                url,
                direct_path,
                media_key,
                file_sha256: sha,
                file_enc_sha256: enc,
                file_length: len,
                media_key_timestamp: ts,
                mimetype: Some(m.mime.clone()),
                width: m.width,
                height: m.height,
                context_info: ctx,
                ..Default::default()
            })
        }
    }
    msg
}

/// A wagw message key as the protocol's.
pub fn wa_key(k: &MessageKey) -> wa::MessageKey {
    wa::MessageKey {
        remote_jid: Some(k.chat.to_string()),
        from_me: Some(k.from_me),
        id: Some(k.id.as_str().to_string()),
        participant: k
            .participant
            .as_ref()
            .map(|p| p.without_device().to_string()),
    }
}

fn send_err(e: SendError) -> SocketError {
    match e {
        SendError::NotLoggedIn => SocketError::NotLinked,
        SendError::InvalidRequest(s) => SocketError::InvalidRequest(s),
        other => SocketError::Interrupted(format!("send failed: {other}")),
    }
}

/// Waits for the server's ack of stanza `id`; a nack or silence is an error.
async fn confirmed(
    shared: &ConnShared,
    id: &str,
    timeout: Duration,
) -> Result<SendReceipt, SocketError> {
    match shared.acks.wait(id, timeout).await {
        Some(AckResult {
            error: Some(code), ..
        }) => Err(SocketError::Rejected {
            code: code.parse().unwrap_or(0),
            detail: format!("WhatsApp refused message {id}"),
        }),
        Some(AckResult { timestamp, .. }) => Ok(SendReceipt {
            id: MessageId::new(id),
            timestamp_ms: timestamp
                .map(|t| t * 1000)
                .unwrap_or_else(whatsapp_rust::wacore::time::now_millis),
        }),
        None => Err(SocketError::Timeout(timeout)),
    }
}

/// Sends one message and waits for the server's ack.
pub(crate) async fn send(
    client: &Arc<Client>,
    shared: &ConnShared,
    out: OutboundMessage,
    ack_timeout: Duration,
) -> Result<SendReceipt, SocketError> {
    if let OutboundContent::Template(_) = &out.content {
        return Err(TEMPLATES_UNSUPPORTED);
    }
    let to = crate::lid::resolve_destination(client, &out.chat).await?;
    let own = client.pn().as_ref().and_then(ids::from_wa);
    debug!(target: "wagw::outbound", account = %shared.account, kind = kind_name(&out.content), "sending");
    match &out.content {
        OutboundContent::Text { .. } | OutboundContent::Media(_) => {
            let msg = build_message(&out, own.as_ref(), whatsapp_rust::wacore::time::now_secs())?;
            let r = client.send_message(to, msg).await.map_err(send_err)?;
            confirmed(shared, &r.message_id, ack_timeout).await
        }
        OutboundContent::Reaction { target, emoji } => {
            let r = client
                .send_reaction(to, wa_key(target), emoji)
                .await
                .map_err(send_err)?;
            confirmed(shared, &r.message_id, ack_timeout).await
        }
        OutboundContent::Poll {
            name,
            options,
            selectable_count,
        } => {
            let (r, secret) = client
                .polls()
                .create(to.clone(), name, options, *selectable_count)
                .await
                .map_err(|e| SocketError::InvalidRequest(format!("poll not sent: {e}")))?;
            let receipt = confirmed(shared, &r.message_id, ack_timeout).await?;
            let creator = client
                .pn()
                .map(|j| j.to_non_ad().to_string())
                .unwrap_or_default();
            polls::remember(
                &shared.store,
                &r.to.to_non_ad().to_string(),
                &r.message_id,
                &SentPoll {
                    options: options.clone(),
                    secret,
                    creator,
                },
            )
            .await;
            Ok(receipt)
        }
        OutboundContent::Edit { target, text } => {
            if !target.from_me {
                return Err(SocketError::InvalidRequest(
                    "only messages this account sent can be edited".into(),
                ));
            }
            let sent = client.wait_for_sent_node(NodeFilter::tag("message").attr("edit", "1"));
            let new = wa::Message {
                conversation: Some(text.clone()),
                ..Default::default()
            };
            client
                .edit_message(to, target.id.as_str(), new)
                .await
                .map_err(send_err)?;
            let id = captured_id(sent).await?;
            confirmed(shared, &id, ack_timeout).await
        }
        OutboundContent::Template(_) => Err(TEMPLATES_UNSUPPORTED),
        OutboundContent::Revoke { target } => {
            let (kind, edit_attr) = if target.from_me {
                (RevokeType::Sender, "7")
            } else {
                let original_sender = target
                    .participant
                    .as_ref()
                    .and_then(ids::to_wa)
                    .ok_or_else(|| {
                        SocketError::InvalidRequest(
                            "revoking someone else's message needs the group participant".into(),
                        )
                    })?;
                (RevokeType::Admin { original_sender }, "8")
            };
            let sent =
                client.wait_for_sent_node(NodeFilter::tag("message").attr("edit", edit_attr));
            client
                .revoke_message(to, target.id.as_str(), kind)
                .await
                .map_err(send_err)?;
            let id = captured_id(sent).await?;
            confirmed(shared, &id, ack_timeout).await
        }
    }
}

/// The stanza id of a captured outgoing node.
async fn captured_id(
    rx: whatsapp_rust::futures::channel::oneshot::Receiver<Arc<whatsapp_rust::wacore_binary::Node>>,
) -> Result<String, SocketError> {
    match tokio::time::timeout(Duration::from_secs(5), rx).await {
        Ok(Ok(node)) => node
            .attrs()
            .optional_string("id")
            .map(|s| s.to_string())
            .ok_or_else(|| SocketError::Other("the sent stanza had no id".into())),
        _ => {
            warn!(target: "wagw::outbound", "could not observe the sent stanza");
            Err(SocketError::Other(
                "the sent stanza was not observed; its ack cannot be checked".into(),
            ))
        }
    }
}
