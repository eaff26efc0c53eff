//! Policy vocabulary shared by configuration, access control, normalization and delivery.
//!
//! These are the values of the config keys users know (`dmPolicy`, `groupPolicy`,
//! `chunkMode`, `session.dmScope`, `ackReaction.group`); they live here so that the config
//! loader and the pure engines agree on one type each.

use serde::{Deserialize, Serialize};

/// `channels.whatsapp.dmPolicy`: who may start a DM with the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DmPolicy {
    /// Unknown senders get a pairing code; the owner approves them.
    #[default]
    Pairing,
    /// Only `allowFrom` numbers.
    Allowlist,
    /// Anyone (requires `"*"` in `allowFrom`).
    Open,
    /// No DMs at all (`closed` is accepted as an alias).
    #[serde(alias = "closed")]
    Disabled,
}

/// `channels.whatsapp.groupPolicy`: which groups the agent answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupPolicy {
    /// Any group.
    Open,
    /// Only senders in `groupAllowFrom` (and groups in `groups`).
    #[default]
    Allowlist,
    /// No groups.
    Disabled,
}

/// `channels.whatsapp.chunkMode`: how long replies are split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChunkMode {
    /// Split at `textChunkLimit`, preferring newlines, then whitespace.
    #[default]
    Length,
    /// Each paragraph (blank-line separated) its own message, long ones length-split.
    Newline,
}

/// `session.dmScope`: how DM conversations map to agent sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DmScope {
    /// Every DM shares the agent's main session.
    #[default]
    Main,
    /// One session per peer.
    PerPeer,
    /// One session per channel and peer.
    PerChannelPeer,
    /// One session per account, channel and peer.
    PerAccountChannelPeer,
}

/// `ackReaction.group`: when to react to group messages on receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AckGroupMode {
    /// Every accepted group message.
    Always,
    /// Only messages that mention the bot.
    #[default]
    Mentions,
    /// Never in groups.
    Never,
}

/// Group activation (`/activation mention|always`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// Answer only when mentioned or replied to.
    #[default]
    Mention,
    /// Answer every message.
    Always,
}
