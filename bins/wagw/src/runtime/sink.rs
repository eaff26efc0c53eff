//! The gateway's [`AgentSink`] over `wagw-agents`' sinks: each turn goes to the agent its
//! binding chose (`turn.agentId`) with a stable delivery id; late webhook outcomes (after a
//! retry, a restart or a replay) come back as completions whose replies are sent through
//! the gateway with `replyTo`.

use async_trait::async_trait;
use base64::Engine as _;
use tokio::sync::mpsc;
use wagw_agents::{
    AgentMedia, AgentReply, AgentSinks, Completion, DeliveryId, DeliveryOutcome, Outbox,
    TurnPayload,
};
use wagw_core::{AccountId, Jid, MessageId};
use wagw_gateway::{AgentSink, Gateway, InboundTurn, MediaSource, Reply, SinkError, TurnKey};

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

    async fn replies_failed(&self, turn: &TurnKey, failures: &[String]) {
        let id = DeliveryId::derive(&turn.agent_id, &turn.account_id, &turn.message_id);
        note_reply_failures(self.sinks.outbox(), &id, failures).await;
    }
}

/// Writes the failures on the delivery's record (webhook turns only; other agents keep no
/// record, and the log, the `sendFailed` event and `/metrics` already carry them).
async fn note_reply_failures(outbox: &Outbox, id: &DeliveryId, failures: &[String]) {
    match outbox.note_reply_failures(id, failures).await {
        Ok(true) => {
            tracing::info!(target: "wagw::agents", delivery = %id, failed = failures.len(),
                "reply failures noted on the delivery record");
        }
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(target: "wagw::agents", delivery = %id, error = %e,
                "could not note reply failures on the delivery record");
        }
    }
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
        let reply_to = r.reply_to.as_deref().map(MessageId::new);
        let own_captions = r.media.iter().any(|m| m.caption.is_some());
        if !own_captions {
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

/// Sends the replies of webhook deliveries that finished with nobody waiting, to the
/// turn's chat, quoting the turn's message unless the reply names another.
pub async fn drain_completions(
    mut rx: mpsc::UnboundedReceiver<Completion>,
    gateway: Gateway,
    outbox: Outbox,
) {
    while let Some(Completion { record, outcome }) = rx.recv().await {
        let replies = match outcome {
            DeliveryOutcome::Delivered { replies, .. } => replies,
            DeliveryOutcome::Dead { error } => {
                tracing::warn!(target: "wagw::agents", delivery = %record.id, agent = %record.agent_id, %error,
                    "delivery dead-lettered; `wagw deliveries replay {}` retries it", record.id);
                continue;
            }
            DeliveryOutcome::Duplicate => continue,
        };
        if replies.is_empty() {
            continue;
        }
        let turn: InboundTurn = match record.turn() {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(target: "wagw::agents", delivery = %record.id, error = %e, "late replies dropped: the stored turn is unreadable");
                continue;
            }
        };
        let (account, chat) = match (
            AccountId::parse(&turn.account_id),
            Jid::parse(&turn.chat_id),
        ) {
            (Ok(a), Ok(c)) => (a, c),
            _ => {
                tracing::warn!(target: "wagw::agents", delivery = %record.id, "late replies dropped: the turn's account or chat does not parse");
                continue;
            }
        };
        let mut failures = Vec::new();
        for mut reply in to_replies(replies) {
            if reply.reply_to.is_none() {
                reply.reply_to = Some(MessageId::new(turn.message_id.clone()));
            }
            match gateway.send_reply(&account, &chat, reply).await {
                Ok(report) => failures.extend(report.failures()),
                Err(e) => {
                    tracing::warn!(target: "wagw::agents", delivery = %record.id, account = %account, error = %e, "late reply not sent");
                    failures.push(format!("reply not sent: {e}"));
                }
            }
        }
        if !failures.is_empty() {
            note_reply_failures(&outbox, &record.id, &failures).await;
        }
    }
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
