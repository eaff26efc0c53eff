//! An account's `send`: validation as the server would do it, injected failures and delays,
//! then a server-assigned id, the outbox record, delivery to other accounts and receipts.

use wagw_core::{
    AccountId, Content, JidKind, Media, MediaKind, MessageId, OutboundContent, OutboundMessage,
    Receipt, ReceiptKind, SendReceipt, SocketError, SocketEvent,
};

use crate::delivery::Post;
use crate::faults::SendFailure;
use crate::network::SimNetwork;
use crate::outbox::SimOutboxEntry;
use crate::socket::check_up;
use crate::state::{NetState, Target};

/// The most poll options WhatsApp accepts.
const MAX_POLL_OPTIONS: usize = 12;

pub(crate) async fn send(
    net: &SimNetwork,
    account: &AccountId,
    message: OutboundMessage,
) -> Result<SendReceipt, SocketError> {
    let (conn, failure, delay) = {
        let mut st = net.lock();
        let conn = check_up(&st, account)?;
        validate(&st, account, &message)?;
        let timeout_ms = u64::try_from(st.config.ack_timeout.as_millis()).unwrap_or(u64::MAX);
        let Some(acct) = st.accounts.get_mut(account) else {
            return Err(SocketError::NotConnected);
        };
        let failure = if acct.faults.dead_link {
            // A half-open link: the send goes nowhere and no ack ever comes.
            Some(SendFailure::Timeout { ms: timeout_ms })
        } else {
            (!acct.faults.fail_sends.is_empty()).then(|| acct.faults.fail_sends.remove(0))
        };
        (conn, failure, acct.faults.send_delay)
    };
    let delivered_anyway = matches!(failure, Some(SendFailure::TimeoutDelivered { .. }));
    if let Some(f) = &failure
        && !delivered_anyway
    {
        tokio::time::sleep(f.wait()).await;
        tracing::debug!(target: "wagw::sim", account = %account, error = %f.to_error(), "injected send failure");
        return Err(f.to_error());
    }
    let wait = failure.as_ref().map_or(delay, SendFailure::wait);
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    let now = net.now_ms();
    let receipt = {
        let mut st = net.lock();
        if check_up(&st, account).ok() != Some(conn) {
            return Err(SocketError::Interrupted(
                "the connection closed before the server acknowledged the send".into(),
            ));
        }
        accept(&mut st, account, conn, message, now, !delivered_anyway)?
    };
    match failure {
        Some(f) => Err(f.to_error()),
        None => Ok(receipt),
    }
}

/// What the server refuses before accepting a message.
fn validate(st: &NetState, account: &AccountId, msg: &OutboundMessage) -> Result<(), SocketError> {
    let chat = &msg.chat;
    match chat.kind() {
        JidKind::User | JidKind::Lid | JidKind::Group => {}
        other => {
            return Err(SocketError::InvalidRequest(format!(
                "cannot send to a {other} chat ({chat})"
            )));
        }
    }
    let owner = st.accounts.get(account).and_then(|a| a.owner);
    match st.target_of(chat) {
        None if chat.is_group() => return Err(SocketError::NotFound(format!("group {chat}"))),
        None => return Err(SocketError::NotFound(format!("{chat} is not on WhatsApp"))),
        Some(Target::Group(g)) => {
            let member = st
                .groups
                .get(g)
                .is_some_and(|g| owner.is_some_and(|o| g.members.contains(&o)));
            if !member {
                return Err(SocketError::Rejected {
                    code: 403,
                    detail: format!("forbidden: not a participant of {chat}"),
                });
            }
        }
        Some(Target::Peer(_)) => {}
    }
    let outbox = st.accounts.get(account).map(|a| &a.outbox);
    let own = |id: &MessageId| outbox.is_some_and(|o| o.iter().any(|e| &e.id == id));
    match &msg.content {
        OutboundContent::Text { text } if text.trim().is_empty() => {
            Err(SocketError::InvalidRequest("text is empty".into()))
        }
        OutboundContent::Text { .. } | OutboundContent::Reaction { .. } => Ok(()),
        OutboundContent::Media(m) => {
            let blob = st
                .media
                .get(&m.upload.reference.direct_path)
                .ok_or_else(|| {
                    SocketError::InvalidRequest(
                        "media reference unknown to the server: upload it first".into(),
                    )
                })?;
            if blob.kind != m.upload.kind {
                return Err(SocketError::InvalidRequest(format!(
                    "media uploaded as {} but sent as {}",
                    blob.kind.as_str(),
                    m.upload.kind.as_str()
                )));
            }
            if m.ptt && m.upload.kind != MediaKind::Audio {
                return Err(SocketError::InvalidRequest("ptt needs audio".into()));
            }
            if m.gif_playback && m.upload.kind != MediaKind::Video {
                return Err(SocketError::InvalidRequest(
                    "gif playback needs video".into(),
                ));
            }
            Ok(())
        }
        OutboundContent::Poll {
            name,
            options,
            selectable_count,
        } => {
            let mut unique = options.clone();
            unique.sort();
            unique.dedup();
            if name.trim().is_empty()
                || options.len() < 2
                || options.len() > MAX_POLL_OPTIONS
                || unique.len() != options.len()
                || *selectable_count as usize > options.len()
            {
                Err(SocketError::InvalidRequest(format!(
                    "a poll needs a question and 2-{MAX_POLL_OPTIONS} distinct options, \
                     selectable count at most the number of options"
                )))
            } else {
                Ok(())
            }
        }
        OutboundContent::Edit { target, text } => {
            if !own(&target.id) {
                Err(SocketError::InvalidRequest(format!(
                    "can only edit messages this account sent ({})",
                    target.id
                )))
            } else if text.trim().is_empty() {
                Err(SocketError::InvalidRequest("edit text is empty".into()))
            } else {
                Ok(())
            }
        }
        OutboundContent::Template(_) => Err(SocketError::Unsupported(
            "templates: they belong to the WhatsApp Business Cloud API (transport \"cloud\")",
        )),
        OutboundContent::Revoke { target } => {
            if own(&target.id) {
                Ok(())
            } else {
                Err(SocketError::InvalidRequest(format!(
                    "can only revoke messages this account sent ({})",
                    target.id
                )))
            }
        }
    }
}

/// Accepts a validated message: id, outbox, routing, receipts.
fn accept(
    st: &mut NetState,
    account: &AccountId,
    conn: u64,
    message: OutboundMessage,
    now: i64,
    confirmed: bool,
) -> Result<SendReceipt, SocketError> {
    let owner = st
        .accounts
        .get(account)
        .and_then(|a| a.owner)
        .ok_or(SocketError::NotLinked)?;
    let to = st
        .target_of(&message.chat)
        .ok_or_else(|| SocketError::NotFound(message.chat.to_string()))?;
    let id = MessageId::new(crate::ids::web_message_id(st.message_rng()));
    let content = match &message.content {
        OutboundContent::Text { text } => Content::text(text.clone()),
        OutboundContent::Media(m) => Content::Media(Media {
            kind: m.upload.kind.into(),
            mime: Some(m.mime.clone()),
            caption: m.caption.clone(),
            file_name: m.file_name.clone(),
            size: Some(m.upload.reference.file_length),
            duration_secs: m.duration_secs,
            width: m.width,
            height: m.height,
            ptt: m.ptt,
            gif_playback: m.gif_playback,
            reference: Some(m.upload.reference.clone()),
        }),
        OutboundContent::Reaction { target, emoji } => Content::Reaction {
            target: target.clone(),
            emoji: emoji.clone(),
        },
        OutboundContent::Poll {
            name,
            options,
            selectable_count,
        } => Content::Poll {
            name: name.clone(),
            options: options.clone(),
            selectable_count: *selectable_count,
        },
        OutboundContent::Edit { target, text } => {
            if let Some(m) = st.messages.get_mut(&target.id) {
                m.content = Content::text(text.clone());
            }
            Content::Unsupported {
                kind: "edit".into(),
            }
        }
        OutboundContent::Revoke { .. } => Content::Unsupported {
            kind: "revoke".into(),
        },
        // Refused by the check above.
        OutboundContent::Template(_) => Content::Unsupported {
            kind: "template".into(),
        },
    };
    let wants_receipts = st.config.delivery_receipts
        && matches!(
            message.content,
            OutboundContent::Text { .. } | OutboundContent::Media(_) | OutboundContent::Poll { .. }
        );
    st.post(Post {
        id: id.clone(),
        from: owner,
        to,
        content,
        quote: message.quote.as_ref().map(|q| q.key.id.clone()),
        mentions: message.mentions.clone(),
        forwarded: false,
        timestamp_ms: now,
        sent_by: Some(account.clone()),
    });
    let recipients: Vec<_> = st
        .participants(owner, to)
        .into_iter()
        .filter(|&p| p != owner)
        .filter_map(|p| st.author_jid(p, to))
        .collect();
    let chat = message.chat.clone();
    let Some(acct) = st.accounts.get_mut(account) else {
        return Err(SocketError::NotConnected);
    };
    tracing::debug!(target: "wagw::outbound", account = %account, conn, id = %id, chat = %chat, "sim accepted send");
    acct.outbox.push(SimOutboxEntry::new(
        account.clone(),
        id.clone(),
        now,
        message,
        confirmed,
    ));
    if wants_receipts && let Some(c) = acct.up() {
        for sender in recipients {
            c.emit(SocketEvent::Receipt(Receipt {
                chat: chat.clone(),
                sender: Some(sender),
                ids: vec![id.clone()],
                kind: ReceiptKind::Delivered,
                timestamp_ms: now,
                error: None,
            }));
        }
    }
    Ok(SendReceipt {
        id,
        timestamp_ms: now,
    })
}
