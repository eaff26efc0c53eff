//! A turn as the sinks carry it: the agent-facing JSON plus the ids that route it.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::AgentsError;

/// A delivery's stable id: sent as `X-Wagw-Delivery`, the agent's idempotency key. It never
/// changes across retries, restarts or replays.
///
/// ```
/// use wagw_agents::DeliveryId;
/// let a = DeliveryId::derive("support", "work", "3EB0C767D26A1D8E");
/// assert_eq!(a, DeliveryId::derive("support", "work", "3EB0C767D26A1D8E"));
/// assert!(a.as_str().starts_with("dlv_"));
/// assert!(DeliveryId::new("has space").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct DeliveryId(String);

impl DeliveryId {
    /// Longest accepted id.
    pub const MAX_LEN: usize = 128;

    /// Checks a caller-chosen id: 1-128 characters from `A-Z a-z 0-9 . _ : -`.
    pub fn new(id: impl Into<String>) -> Result<Self, AgentsError> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= Self::MAX_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if ok {
            Ok(DeliveryId(id))
        } else {
            Err(AgentsError::InvalidDeliveryId { id })
        }
    }

    /// A deterministic id for (agent, account, turn key) — use the turn's message id as the
    /// key, so a turn re-delivered after a gateway crash gets the same id and the outbox
    /// (and the agent) see it as a duplicate.
    pub fn derive(agent_id: &str, account_id: &str, turn_key: &str) -> Self {
        let mut hasher = Sha256::new();
        for part in [agent_id, account_id, turn_key] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        DeliveryId(format!("dlv_{}", hex::encode(&digest[..16])))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for DeliveryId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DeliveryId::new(s).map_err(serde::de::Error::custom)
    }
}

/// One turn for a sink: the JSON the agent receives (the gateway's `InboundTurn`,
/// serialized once so every retry sends the same bytes) and the ids that route it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnPayload {
    /// The idempotency key.
    pub delivery_id: DeliveryId,
    /// The receiving account.
    pub account_id: String,
    /// The turn as JSON text.
    pub json: String,
}

impl TurnPayload {
    /// Serializes `turn` (any `Serialize`, normally `wagw_normalize::InboundTurn`).
    ///
    /// ```
    /// use wagw_agents::{DeliveryId, TurnPayload};
    /// let turn = serde_json::json!({"body": "hi", "accountId": "work"});
    /// let p = TurnPayload::new(DeliveryId::new("d1")?, "work", &turn)?;
    /// assert_eq!(p.json, r#"{"accountId":"work","body":"hi"}"#);
    /// # Ok::<(), wagw_agents::AgentsError>(())
    /// ```
    pub fn new(
        delivery_id: DeliveryId,
        account_id: impl Into<String>,
        turn: &impl Serialize,
    ) -> Result<Self, AgentsError> {
        let json = serde_json::to_string(turn).map_err(|source| AgentsError::Encode {
            what: "the turn",
            source,
        })?;
        Ok(TurnPayload {
            delivery_id,
            account_id: account_id.into(),
            json,
        })
    }

    /// The turn as a JSON value (for sinks that read fields, like echo).
    pub fn value(&self) -> serde_json::Value {
        // Built from a successful serialization, so it parses; Null is a safe fallback.
        serde_json::from_str(&self.json).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn derive_separates_fields() {
        // Length-prefixing keeps ("ab","c") and ("a","bc") apart.
        assert_ne!(
            DeliveryId::derive("ab", "c", "k"),
            DeliveryId::derive("a", "bc", "k")
        );
        assert_eq!(DeliveryId::derive("a", "b", "c").as_str().len(), 4 + 32);
        assert!(DeliveryId::new(DeliveryId::derive("a", "b", "c").as_str()).is_ok());
    }

    #[test]
    fn id_rules() {
        for ok in ["a", "dlv_1", "acc:msg.1-2", &"x".repeat(128)] {
            assert!(DeliveryId::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "é", "a/b", &"x".repeat(129)] {
            assert!(DeliveryId::new(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<DeliveryId>(r#""a/b""#).is_err());
    }
}
