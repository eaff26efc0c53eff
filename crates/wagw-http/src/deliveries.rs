//! `wagw deliveries list | replay` over the webhook outbox: the same code for the running
//! gateway's routes and the direct-store fallback.

use wagw_agents::{AgentsError, DeliveryId, DeliveryState, Outbox};

use crate::error::ApiError;
use crate::model_agents::DeliveryView;

/// Most deliveries one list returns.
pub const MAX_LIST: usize = 1000;

fn error(e: AgentsError) -> ApiError {
    match e {
        AgentsError::DeliveryNotFound { .. } => ApiError::NotFound {
            code: "unknown_delivery",
            message: format!("{e}; list them with `wagw deliveries list`"),
        },
        AgentsError::NotDead { .. } => ApiError::Conflict {
            code: "not_dead",
            message: format!(
                "{e}; only dead deliveries are replayed (pending ones are still retried)"
            ),
        },
        other => ApiError::Internal(other.to_string()),
    }
}

/// Parses `?state=`.
pub fn state(raw: Option<&str>) -> Result<DeliveryState, ApiError> {
    match raw {
        None => Ok(DeliveryState::Dead),
        Some(s) => s
            .parse()
            .map_err(|e: String| ApiError::invalid("state", format!("state: {e}"))),
    }
}

/// Up to `limit` deliveries in `state`.
pub fn list(
    outbox: &Outbox,
    state: DeliveryState,
    limit: usize,
) -> Result<Vec<DeliveryView>, ApiError> {
    Ok(outbox
        .list(state, limit.clamp(1, MAX_LIST))
        .map_err(error)?
        .into_iter()
        .map(DeliveryView::from)
        .collect())
}

/// Puts dead delivery `id` back in the queue with its id and body unchanged.
pub async fn replay(outbox: &Outbox, id: &str) -> Result<DeliveryView, ApiError> {
    let id = DeliveryId::new(id.trim()).map_err(|e| ApiError::invalid("id", format!("id: {e}")))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Ok(outbox.replay(&id, now).await.map_err(error)?.into())
}
