//! The JSON shapes of the webhook delivery routes (`/v1/deliveries`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One webhook delivery of the durable outbox (the turn itself is left out; it is in the
/// store and sent unchanged on every attempt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// The stable id, sent as `X-Wagw-Delivery` on every attempt.
    pub id: String,
    /// The webhook agent.
    pub agent_id: String,
    /// The account the turn arrived on.
    pub account_id: String,
    /// `pending`, `delivered` or `dead`.
    pub state: String,
    /// Attempts made (reset by a replay).
    pub attempts: u32,
    /// When it was enqueued, Unix ms.
    pub created_at_ms: u64,
    /// When the next attempt is due (pending only), Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at_ms: Option<u64>,
    /// When it was delivered or dead-lettered, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at_ms: Option<u64>,
    /// The last HTTP status received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<u16>,
    /// The last failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// How many times an operator replayed it.
    pub replays: u32,
    /// True while the agent's replies are stored but not yet sent to WhatsApp (they go out
    /// when the account is connected, also after a restart).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replies_pending: bool,
    /// The WhatsApp message ids the agent's replies went out as.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reply_ids: Vec<String>,
}

impl From<wagw_agents::DeliveryRecord> for DeliveryView {
    fn from(r: wagw_agents::DeliveryRecord) -> Self {
        let replies_pending = r.replies_unsent();
        DeliveryView {
            id: r.id.to_string(),
            agent_id: r.agent_id,
            account_id: r.account_id,
            state: r.state.as_str().to_owned(),
            attempts: r.attempts,
            created_at_ms: r.created_at_ms,
            next_attempt_at_ms: r.next_attempt_at_ms,
            finished_at_ms: r.finished_at_ms,
            last_status: r.last_status,
            last_error: r.last_error,
            replays: r.replays,
            replies_pending,
            reply_ids: r.reply_ids,
        }
    }
}

/// `GET /v1/deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryList {
    /// Pending: soonest due first; dead and delivered: newest first.
    pub deliveries: Vec<DeliveryView>,
}

/// `?state=pending|delivered|dead&limit=N` of `GET /v1/deliveries`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::IntoParams)]
pub struct DeliveriesQuery {
    /// `pending`, `delivered` or `dead` (default `dead`).
    pub state: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<usize>,
}
