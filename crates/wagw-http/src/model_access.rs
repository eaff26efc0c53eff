//! The JSON shapes of the access routes (`/v1/access/explain`, `/v1/allow/whatsapp`).
//! Field names are camelCase like the config file's.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagw_core::Activation;

/// `POST /v1/access/explain`: the message to decide, as `wagw access explain` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExplainRequest {
    /// The sender: a phone number in any written form, a user JID or a LID (`…@lid`).
    pub from: String,
    /// The receiving account (default: the config's default account).
    #[serde(default)]
    pub account: Option<String>,
    /// A group JID (`…@g.us`), to decide a group message instead of a DM.
    #[serde(default)]
    pub group: Option<String>,
    /// The bot is mentioned.
    #[serde(default)]
    pub mentioned: bool,
    /// The message replies to one of the bot's.
    #[serde(default)]
    pub reply_to_bot: bool,
    /// The message was sent by the account itself.
    #[serde(default)]
    pub from_me: bool,
    /// The text (checked for owner commands such as `/activation always`).
    #[serde(default)]
    pub text: Option<String>,
}

/// What the access engine decided, why, and which config key decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExplainView {
    /// `allow`, `challenge` or `drop`.
    pub decision: String,
    /// The snake_case reason (`not_in_allowlist`, `paired`, `mention_required`, ...).
    pub reason: String,
    /// The config path (or `store.*` / `builtin.*`) that decided.
    pub rule: String,
    /// The sender as decided: +E.164, or the LID when no phone is known.
    pub sender: String,
    /// The account.
    pub account: String,
    /// One sentence saying what happened and what to change.
    pub explanation: String,
    /// Allow only: a read receipt will be sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark_read: Option<bool>,
    /// Allow only: the account's own chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_self_chat: Option<bool>,
    /// Allow only: the sender is an owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_owner: Option<bool>,
    /// Allow in a group only: the group's activation (`mention` or `always`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub activation: Option<Activation>,
}

impl From<wagw_access::Explanation> for ExplainView {
    fn from(e: wagw_access::Explanation) -> Self {
        ExplainView {
            decision: e.decision.to_owned(),
            reason: e.reason.to_owned(),
            rule: e.rule,
            sender: e.sender,
            account: e.account,
            explanation: e.explanation,
            mark_read: e.mark_read,
            is_self_chat: e.is_self_chat,
            is_owner: e.is_owner,
            activation: e.activation,
        }
    }
}

impl ExplainView {
    /// The human form: `drop (not_in_allowlist, rule channels.whatsapp.allowFrom): ...`.
    pub fn to_line(&self) -> String {
        format!(
            "{} ({}, rule {}): {}",
            self.decision, self.reason, self.rule, self.explanation
        )
    }
}

/// One allow-store entry: a sender approved by pairing or added by the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllowEntryView {
    /// The account.
    pub account: String,
    /// The sender: +E.164 or a LID (`…@lid`).
    pub entry: String,
    /// The sender's LID, when `entry` is their phone (it admits them when WhatsApp shows
    /// only the LID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lid: Option<String>,
    /// When it was added, Unix milliseconds.
    pub added_at_ms: i64,
    /// `pairing` or `manual`.
    pub source: String,
    /// The sender's WhatsApp name at pairing time, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `GET /v1/allow/whatsapp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AllowListView {
    /// The entries, per account in config order, phones before LIDs.
    pub entries: Vec<AllowEntryView>,
}

/// `POST /v1/allow/whatsapp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AllowRequest {
    /// A phone number (any written form) or a LID (`123456789@lid`); `"*"` is refused.
    pub entry: String,
    /// The account (default: the config's default account).
    #[serde(default)]
    pub account: Option<String>,
}

/// `?account=<id>` of `GET /v1/allow/whatsapp` and `DELETE /v1/allow/whatsapp/{entry}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::IntoParams)]
pub struct AccountQuery {
    /// The account (list: every account when absent; delete: the default account).
    pub account: Option<String>,
}

/// The result of adding or removing an allow-store entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllowChange {
    /// The account.
    pub account: String,
    /// The entry, normalized (+E.164 or `…@lid`).
    pub entry: String,
    /// False when there was nothing to do (already present, or not there).
    pub changed: bool,
}
