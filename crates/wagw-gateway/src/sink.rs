//! The seam to agents: [`AgentSink`] receives each inbound turn and answers with replies.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use wagw_core::{Jid, MessageId};

use crate::turn::InboundTurn;
pub use wagw_outbound::MediaSource;

/// One reply from the agent: text and/or media, sent to the chat the turn came from.
///
/// Text is prefixed, chunked and paced by the gateway; the first media item carries the
/// first text chunk as its caption. Silent replies (`NO_REPLY`, `HEARTBEAT_OK`) send nothing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reply {
    /// The text, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Media items, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<MediaSource>,
    /// Quote this message (usually the turn's `messageId`) in the first message sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<MessageId>,
    /// Each media item's own caption, by position (missing or `None`: the first item
    /// carries the first text chunk, the others none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub captions: Vec<Option<String>>,
    /// Users mentioned in the text messages and captions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Jid>,
    /// Send MP4 videos as looping GIFs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gif_playback: bool,
    /// An approved template, sent first (Cloud API accounts only: what may be sent when
    /// the customer has not written in 24 hours; other transports refuse it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<wagw_core::Template>,
}

impl Reply {
    /// The media items with their own captions, as `wagw-outbound` takes them.
    pub(crate) fn media_items(&self) -> Vec<wagw_outbound::ReplyMedia> {
        self.media
            .iter()
            .enumerate()
            .map(|(i, source)| wagw_outbound::ReplyMedia {
                source: source.clone(),
                caption: self.captions.get(i).cloned().flatten(),
            })
            .collect()
    }

    /// A text reply.
    pub fn text(text: impl Into<String>) -> Reply {
        Reply {
            text: Some(text.into()),
            ..Reply::default()
        }
    }

    /// A media reply with an optional caption.
    pub fn media(source: MediaSource, caption: Option<String>) -> Reply {
        Reply {
            text: caption,
            media: vec![source],
            ..Reply::default()
        }
    }
}

/// An error an agent sink reports. The gateway logs it, counts it and (for the turn's
/// message) still records the message as handled so it is not replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkError(pub String);

impl std::fmt::Display for SinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SinkError {}

impl From<String> for SinkError {
    fn from(s: String) -> Self {
        SinkError(s)
    }
}

impl From<&str> for SinkError {
    fn from(s: &str) -> Self {
        SinkError(s.to_owned())
    }
}

/// The agent side of the gateway.
///
/// `deliver` is called once per turn, in order per chat, concurrently across chats (so
/// implementations must be `Send + Sync` and may be called from several tasks at once).
/// The returned replies are sent to the turn's chat. An agent that answers later (a
/// webhook, a long job) returns no replies now and sends through
/// [`crate::Gateway::send`] with `reply_to` when it is ready.
#[async_trait]
pub trait AgentSink: Send + Sync + 'static {
    /// Handles one turn and returns the replies to send (possibly none).
    async fn deliver(&self, turn: InboundTurn) -> Result<Vec<Reply>, SinkError>;

    /// Told once a turn's replies were sent: their message ids, and what of them could not
    /// be sent (a media item refused, WhatsApp refusing a message) and why, for the
    /// operator's record — the contact got the rest, never the error. A sink that stored
    /// the replies durably marks them sent here. Nothing to do by default.
    async fn replies_sent(&self, turn: &TurnKey, outcome: &RepliesOutcome) {
        let _ = (turn, outcome);
    }
}

/// What became of a turn's replies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepliesOutcome {
    /// The message ids WhatsApp confirmed, in send order.
    pub sent: Vec<wagw_core::MessageId>,
    /// Each part that did not go out, as `part: cause`.
    pub failures: Vec<String>,
}

/// Which turn something belongs to: enough to find its delivery again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnKey {
    /// The agent the turn went to.
    pub agent_id: String,
    /// The account it arrived on.
    pub account_id: String,
    /// The inbound message's id.
    pub message_id: String,
}

/// A sink that accepts every turn and answers nothing (benchmarks, soak tests, dry runs).
#[derive(Debug, Clone, Copy, Default)]
pub struct NullSink;

#[async_trait]
impl AgentSink for NullSink {
    async fn deliver(&self, _turn: InboundTurn) -> Result<Vec<Reply>, SinkError> {
        Ok(Vec::new())
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Vec<Reply>, SinkError>> + Send>>;

/// A sink from an async closure.
///
/// ```
/// use wagw_gateway::{sink_fn, Reply};
/// let echo = sink_fn(|turn| async move { Ok(vec![Reply::text(turn.raw_body.clone())]) });
/// # let _ = echo;
/// ```
pub fn sink_fn<F, Fut>(f: F) -> Arc<dyn AgentSink>
where
    F: Fn(InboundTurn) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<Reply>, SinkError>> + Send + 'static,
{
    struct FnSink(Box<dyn Fn(InboundTurn) -> BoxFuture + Send + Sync>);

    #[async_trait]
    impl AgentSink for FnSink {
        async fn deliver(&self, turn: InboundTurn) -> Result<Vec<Reply>, SinkError> {
            (self.0)(turn).await
        }
    }

    Arc::new(FnSink(Box::new(move |turn| Box::pin(f(turn)))))
}
