//! The gateway's [`AgentSink`] over `wagw-agents`' sinks: each turn goes to the agent its
//! binding chose (`turn.agentId`) with a stable delivery id; late webhook outcomes (after a
//! retry, a restart or a replay) come back as completions whose replies are sent through
//! the gateway with `replyTo`.

use async_trait::async_trait;
use base64::Engine as _;
use std::collections::VecDeque;
use tokio::sync::mpsc;

use wagw_agents::{
    AgentMedia, AgentReply, AgentSinks, Completion, DeliveryId, DeliveryOutcome, DeliveryRecord,
    Outbox, TurnPayload,
};
use wagw_core::{AccountId, Jid, MessageId};
use wagw_gateway::{
    AgentSink, Gateway, GatewayError, InboundTurn, MediaSource, RepliesOutcome, Reply, SinkError,
    TurnKey,
};

/// The daemon's sink: every configured agent behind the gateway's one seam.
pub struct DaemonSink {
    /// The configured agents.
    pub sinks: AgentSinks,
}

/// The idempotency key of a turn for an agent: stable across retries and restarts.
pub fn delivery_id(turn: &InboundTurn) -> DeliveryId {
    DeliveryId::derive(&turn.agent_id, &turn.account_id, &turn.message_id)
}

#[async_trait]
impl AgentSink for DaemonSink {
    async fn deliver(&self, turn: InboundTurn) -> Result<Vec<Reply>, SinkError> {
        let payload = TurnPayload::new(delivery_id(&turn), turn.account_id.clone(), &turn)
            .map_err(|e| SinkError(e.to_string()))?;
        let replies = self
            .sinks
            .deliver(&turn.agent_id, &payload)
            .await
            .map_err(|e| SinkError(e.to_string()))?;
        Ok(to_replies(replies))
    }

    async fn replies_sent(&self, turn: &TurnKey, outcome: &RepliesOutcome) {
        let id = DeliveryId::derive(&turn.agent_id, &turn.account_id, &turn.message_id);
        let ids: Vec<String> = outcome.sent.iter().map(|m| m.as_str().to_owned()).collect();
        mark_sent(self.sinks.outbox(), &id, &ids, &outcome.failures).await;
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Marks the delivery's stored replies sent, with their ids and what failed (webhook turns
/// only; other agents keep no record, and the log, the `sendFailed` event and `/metrics`
/// already carry the failures).
async fn mark_sent(outbox: &Outbox, id: &DeliveryId, ids: &[String], failures: &[String]) {
    match outbox.replies_sent(id, ids, failures, now_ms()).await {
        Ok(true) if !failures.is_empty() => {
            tracing::info!(target: "wagw::agents", delivery = %id, failed = failures.len(),
                "reply failures noted on the delivery record");
        }
        Ok(_) => {}
        Err(e) => {
            // They may be sent again after a restart (at least once, as documented).
            tracing::warn!(target: "wagw::agents", delivery = %id, error = %e,
                "could not mark the delivery's replies sent");
        }
    }
}

/// How sending a delivery's stored replies went.
enum Sending {
    /// Sent (or given up on for good, noted on the record).
    Settled,
    /// The account has no live connection yet (or the gateway is stopping): try later.
    NotNow,
}

/// Sends the replies of webhook deliveries nobody waited for (finished after a retry, a
/// restart or a replay, or whose waiter went away) to the turn's chat, quoting the turn's
/// message unless the reply names another. Replies stored before a crash and never sent go
/// first. Replies for an account without a live connection wait until it has one; each
/// delivery's replies are marked sent once they went out, so a restart does not repeat
/// them (at least once: a crash between the send and the mark repeats them).
pub async fn send_late_replies(
    mut rx: mpsc::UnboundedReceiver<Completion>,
    gateway: Gateway,
    outbox: Outbox,
) {
    let mut queue: VecDeque<DeliveryRecord> = match outbox.unsent_replies() {
        Ok(unsent) => {
            if !unsent.is_empty() {
                tracing::info!(target: "wagw::agents", deliveries = unsent.len(),
                    "sending agent replies stored before the last stop");
            }
            unsent.into()
        }
        Err(e) => {
            tracing::error!(target: "wagw::agents", error = %e, "could not read the agent replies still to send");
            VecDeque::new()
        }
    };
    loop {
        let mut later = VecDeque::new();
        while let Some(record) = queue.pop_front() {
            if let Sending::NotNow = send_stored(&gateway, &outbox, &record).await {
                later.push_back(record);
            }
        }
        queue = later;
        let retry = async {
            if queue.is_empty() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(LATE_REPLY_RETRY).await;
        };
        tokio::select! {
            completion = rx.recv() => {
                let Some(Completion { mut record, outcome }) = completion else {
                    return;
                };
                match outcome {
                    DeliveryOutcome::Delivered { replies, .. } => {
                        if record.replies.is_empty() {
                            record.replies = replies;
                        }
                        if !record.replies.is_empty() {
                            queue.push_back(record);
                        }
                    }
                    DeliveryOutcome::Dead { error } => {
                        tracing::warn!(target: "wagw::agents", delivery = %record.id, agent = %record.agent_id, %error,
                            "delivery dead-lettered; `wagw deliveries replay {}` retries it", record.id);
                    }
                    DeliveryOutcome::Duplicate => {}
                }
            }
            () = retry => {}
        }
    }
}

/// How often replies for an account without a live connection are tried again.
const LATE_REPLY_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

async fn send_stored(gateway: &Gateway, outbox: &Outbox, record: &DeliveryRecord) -> Sending {
    let turn: InboundTurn = match record.turn() {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(target: "wagw::agents", delivery = %record.id, error = %e, "late replies dropped: the stored turn is unreadable");
            mark_sent(
                outbox,
                &record.id,
                &[],
                &[format!("the stored turn is unreadable: {e}")],
            )
            .await;
            return Sending::Settled;
        }
    };
    let (account, chat) = match (
        AccountId::parse(&turn.account_id),
        Jid::parse(&turn.chat_id),
    ) {
        (Ok(a), Ok(c)) => (a, c),
        _ => {
            tracing::warn!(target: "wagw::agents", delivery = %record.id, "late replies dropped: the turn's account or chat does not parse");
            mark_sent(
                outbox,
                &record.id,
                &[],
                &["the turn's account or chat does not parse".to_owned()],
            )
            .await;
            return Sending::Settled;
        }
    };
    let mut ids = Vec::new();
    let mut failures = Vec::new();
    for mut reply in to_replies(record.replies.clone()) {
        if reply.reply_to.is_none() {
            reply.reply_to = Some(MessageId::new(turn.message_id.clone()));
        }
        match gateway.send_reply(&account, &chat, reply).await {
            Ok(report) => {
                failures.extend(report.failures());
                ids.extend(report.sent.iter().map(|s| s.id.as_str().to_owned()));
            }
            Err(GatewayError::NoActiveListener(_) | GatewayError::ShuttingDown)
                if ids.is_empty() && failures.is_empty() =>
            {
                tracing::debug!(target: "wagw::agents", delivery = %record.id, account = %account,
                    "late replies wait for the account's connection");
                return Sending::NotNow;
            }
            Err(e) => {
                tracing::warn!(target: "wagw::agents", delivery = %record.id, account = %account, error = %e, "late reply not sent");
                failures.push(format!("reply not sent: {e}"));
            }
        }
    }
    mark_sent(outbox, &record.id, &ids, &failures).await;
    Sending::Settled
}

fn media_source(m: &AgentMedia) -> Option<MediaSource> {
    match &m.source {
        wagw_agents::MediaSource::Url(url) => Some(MediaSource::Url { url: url.clone() }),
        wagw_agents::MediaSource::Path(path) => Some(MediaSource::Path { path: path.into() }),
        wagw_agents::MediaSource::Base64(b64) => {
            match base64::engine::general_purpose::STANDARD.decode(b64.trim()) {
                Ok(data) => Some(MediaSource::Bytes {
                    data: data.into(),
                    mime: m.mime.clone(),
                    file_name: m.file_name.clone(),
                }),
                Err(e) => {
                    tracing::warn!(target: "wagw::agents", error = %e, "agent reply media is not valid base64; skipped");
                    None
                }
            }
        }
    }
}

/// The agent's replies as the gateway's. A media item with its own caption becomes its own
/// reply (the gateway captions only the first item of a reply), in order.
pub fn to_replies(replies: Vec<AgentReply>) -> Vec<Reply> {
    let mut out = Vec::new();
    for r in replies {
        if let Some(t) = &r.template {
            // The template goes first, in a reply of its own.
            out.push(Reply {
                template: Some(wagw_core::Template {
                    name: t.name.clone(),
                    language: t.language.clone(),
                    components: t.components.clone(),
                }),
                ..Reply::default()
            });
        }
        let reply_to = r.reply_to.as_deref().map(MessageId::new);
        let own_captions = r.media.iter().any(|m| m.caption.is_some());
        if !own_captions {
            if r.template.is_some() && r.media.is_empty() && r.text.is_none() {
                continue;
            }
            out.push(Reply {
                text: r.text,
                media: r.media.iter().filter_map(media_source).collect(),
                reply_to,
                ..Reply::default()
            });
            continue;
        }
        let mut quote = reply_to;
        for m in &r.media {
            if let Some(source) = media_source(m) {
                out.push(Reply {
                    text: m.caption.clone(),
                    media: vec![source],
                    reply_to: quote.take(),
                    ..Reply::default()
                });
            }
        }
        if r.text.as_deref().is_some_and(|t| !t.trim().is_empty()) {
            out.push(Reply {
                text: r.text,
                media: Vec::new(),
                reply_to: quote.take(),
                ..Reply::default()
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn captions_split_media_into_their_own_replies_in_order() {
        let replies: Vec<AgentReply> = serde_json::from_value(serde_json::json!([
            {"text": "plain", "replyTo": "M1"},
            {"text": "after", "media": [
                {"url": "https://x/a.png", "caption": "A"},
                {"base64": "aGk=", "mime": "text/plain"},
                {"base64": "!!notbase64"}
            ], "replyTo": "M2"}
        ]))
        .unwrap();
        let out = to_replies(replies);
        assert_eq!(out.len(), 4, "{out:?}");
        assert_eq!(out[0].text.as_deref(), Some("plain"));
        assert_eq!(out[0].reply_to, Some(MessageId::new("M1")));
        assert_eq!(out[1].text.as_deref(), Some("A"));
        assert_eq!(out[1].reply_to, Some(MessageId::new("M2")));
        assert!(matches!(&out[2].media[0], MediaSource::Bytes { data, .. } if &data[..] == b"hi"));
        assert_eq!(out[2].reply_to, None);
        assert_eq!(out[3].text.as_deref(), Some("after"));
        assert!(out[3].media.is_empty());
    }
}
