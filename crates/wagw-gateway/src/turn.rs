//! The turn handed to the agent: `wagw-normalize`'s [`InboundTurn`] (its JSON is a public
//! contract, documented in `docs/inbound-turn.md`), re-exported so embedders name it as
//! `wagw_gateway::InboundTurn`.

pub use wagw_normalize::{ChatType, GroupMember, InboundTurn, TurnKind, TurnLocation, TurnMedia};
