//! The turn handed to the agent.
//!
//! Interim shape until `wagw-normalize`'s `InboundTurn` lands on main; the gateway then
//! re-exports that type here, so embedders name it as `wagw_gateway::InboundTurn` either way.

use serde::{Deserialize, Serialize};
use wagw_core::{AccountId, InboundMessage};

/// One inbound turn: what the agent reads, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundTurn {
    /// The text the agent reads.
    pub body: String,
    /// The message's own text (or caption), without envelope.
    pub raw_body: String,
    /// The account that received it.
    pub account_id: AccountId,
    /// The agent the bindings routed it to.
    pub agent_id: String,
    /// The message as the transport delivered it.
    pub message: InboundMessage,
}
