//! `wagw access explain`: a decision as JSON and as one sentence an operator can act on.

use serde::Serialize;
use wagw_core::{AccountId, Activation, Jid, JidKind, Sender};

use crate::AccessError;
use crate::command::{Command, parse_command};
use crate::decision::{AllowReason, Decision, DropReason, decide};
use crate::policy::AccessPolicy;
use crate::request::{AccessRequest, SelfIdentity};
use crate::snapshot::AllowSnapshot;

/// A decision, ready to print. The JSON of `wagw access explain --json`:
///
/// ```json
/// {"decision": "drop", "reason": "not_in_allowlist", "rule": "channels.whatsapp.allowFrom",
///  "sender": "+15551234567", "account": "default", "explanation": "..."}
/// ```
///
/// plus `markRead`, `isSelfChat`, `isOwner` and `activation` for `allow`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// `allow`, `challenge` or `drop`.
    pub decision: &'static str,
    /// The snake_case reason.
    pub reason: &'static str,
    /// The config path (or `store.*` / `builtin.*`) that decided.
    pub rule: String,
    /// `+E164`, or the LID when no phone is known, or `unknown`.
    pub sender: String,
    /// The account id.
    pub account: String,
    /// One sentence saying what happened and what to change.
    pub explanation: String,
    /// Allow only: a read receipt will be sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mark_read: Option<bool>,
    /// Allow only: the account's own chat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_self_chat: Option<bool>,
    /// Allow only: the sender is an owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_owner: Option<bool>,
    /// Allow in a group only: the group's activation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
}

impl Explanation {
    /// Builds the explanation of `decision` (as returned by [`decide`] for `req`).
    pub fn new(decision: &Decision, req: &AccessRequest, policy: &AccessPolicy) -> Explanation {
        let group = req
            .is_group()
            .then(|| req.chat.without_device().to_string());
        let rule = policy.rule_path(decision.rule(), group.as_deref());
        let sender = match decision {
            Decision::Challenge { sender, .. } => sender.to_string(),
            _ if req.sender.phone.is_none() && req.sender.lid.is_none() && !req.is_group() => {
                Sender::from_jid(&req.chat).map_or_else(|| "unknown".into(), |s| s.to_string())
            }
            _ => req.sender.to_string(),
        };
        let explanation = sentence(decision, req, policy, &rule, &sender);
        let (mark_read, is_self_chat, is_owner, activation) = match decision {
            Decision::Allow {
                mark_read,
                is_self_chat,
                is_owner,
                activation,
                ..
            } => (
                Some(*mark_read),
                Some(*is_self_chat),
                Some(*is_owner),
                *activation,
            ),
            _ => (None, None, None, None),
        };
        Explanation {
            decision: decision.kind(),
            reason: decision.reason(),
            rule,
            sender,
            account: policy.account.to_string(),
            explanation,
            mark_read,
            is_self_chat,
            is_owner,
            activation,
        }
    }

    /// The human form: `drop (not_in_allowlist, rule channels.whatsapp.allowFrom): ...`.
    pub fn to_line(&self) -> String {
        format!(
            "{} ({}, rule {}): {}",
            self.decision, self.reason, self.rule, self.explanation
        )
    }
}

/// Runs the engine and explains the result: what `wagw access explain` prints.
pub fn explain(
    req: &AccessRequest,
    policy: &AccessPolicy,
    snap: &AllowSnapshot,
    now_ms: i64,
) -> Explanation {
    Explanation::new(&decide(req, policy, snap, now_ms), req, policy)
}

fn sentence(
    decision: &Decision,
    req: &AccessRequest,
    policy: &AccessPolicy,
    rule: &str,
    sender: &str,
) -> String {
    let lid_hint = if req.sender.phone.is_none() && req.sender.lid.is_some() {
        " (the sender is known only by LID and its phone number is not mapped; add the LID itself, e.g. \"123456789@lid\")"
    } else {
        ""
    };
    match decision {
        Decision::Allow { reason, .. } => match reason {
            AllowReason::SelfChat => {
                "the account's own chat (\"Message yourself\") is always allowed".into()
            }
            AllowReason::DmOpen => format!("{rule} is \"open\": anyone may DM"),
            AllowReason::Wildcard => format!("{rule} contains \"*\": anyone may DM"),
            AllowReason::Allowlisted => format!("{sender} is listed in {rule}"),
            AllowReason::Paired => format!(
                "{sender} is in the allow-store (approved by pairing or `wagw allow add`)"
            ),
            AllowReason::OwnerCommand => format!(
                "an owner's command ({rule} names the owners; without identities there, the account's own number)"
            ),
            AllowReason::ActivationAlways => {
                format!("the group's activation is \"always\" ({rule})")
            }
            AllowReason::Mentioned => format!("the bot was mentioned ({rule} requires it)"),
            AllowReason::ReplyToBot => {
                format!("the message replies to the bot ({rule} requires a mention or reply)")
            }
        },
        Decision::Challenge { .. } => format!(
            "{sender} is unknown and {rule} is \"pairing\": a pairing code is sent; approve it with `wagw pairing approve whatsapp <CODE>{}`",
            account_flag(&policy.account)
        ),
        Decision::Drop { reason, .. } => match reason {
            DropReason::StatusOrBroadcast => "status and broadcast chats are never answered".into(),
            DropReason::UnsupportedChat => {
                format!("{} chats are not answered", req.chat.kind())
            }
            DropReason::AccountMismatch => format!(
                "the message arrived on account {} but was checked against account {}'s policy",
                req.account, policy.account
            ),
            DropReason::UnknownSender => {
                "the DM's sender is neither a phone number nor a LID".into()
            }
            DropReason::OwnOutboundDm => "the account's own message to someone else (sent from the phone); the bot never answers it".into(),
            DropReason::FromMeGroup => "the account's own message in a group; the bot never answers itself (only owner commands pass)".into(),
            DropReason::DmDisabled => format!("{rule} is \"disabled\": no DMs are accepted"),
            DropReason::SelfChatDisabled => format!(
                "DMs are disabled and {rule} is off, so the own chat is ignored too; set {rule}: true to use it"
            ),
            DropReason::AllowFromEmpty => format!(
                "dmPolicy is \"allowlist\" and {rule} is empty: add {sender} to {rule}"
            ),
            DropReason::NotInAllowlist => {
                format!("{sender} is not in {rule}; add it there{lid_hint}")
            }
            DropReason::PairingReplySuppressed => format!(
                "{sender} is unknown, but the message predates this connection (catch-up), so no pairing code is sent"
            ),
            DropReason::PairingPending => format!(
                "{sender} already has a pending pairing code (no second reply); see `wagw pairing list whatsapp{}`",
                account_flag(&policy.account)
            ),
            DropReason::PairingRejected => format!(
                "the owner rejected {sender}'s pairing request; no new code until it expires"
            ),
            DropReason::PairingCapReached => format!(
                "{} pairing requests are already pending ({rule}); approve or reject some with `wagw pairing list whatsapp{}`",
                policy.pairing.max_pending,
                account_flag(&policy.account)
            ),
            DropReason::GroupDisabled => format!("{rule} is \"disabled\": no group messages are accepted"),
            DropReason::GroupNotAllowed => format!(
                "{} is not a key of {rule} (nor \"*\")",
                req.chat.without_device()
            ),
            DropReason::GroupAllowFromEmpty => format!(
                "groupPolicy is \"allowlist\" but {rule} is empty{}; list sender numbers there (group JIDs go in groups)",
                if policy.group_allow_from.is_none() {
                    " (unset, so it falls back to allowFrom and the allow-store, which are empty too)"
                } else {
                    ""
                }
            ),
            DropReason::SenderNotInGroupAllowFrom => format!(
                "{sender} is not in {rule}{}{lid_hint}",
                if policy.group_allow_from.is_none() {
                    " (unset, so allowFrom and the allow-store were used)"
                } else {
                    ""
                }
            ),
            DropReason::ActivationNotOwner => format!(
                "only owners may use /activation; owners are the identities in {rule}, or the account's own number"
            ),
            DropReason::MentionRequired => format!(
                "the group needs a mention or a reply to the bot ({rule}); send `/activation always` as an owner to change it"
            ),
        },
    }
}

fn account_flag(account: &AccountId) -> String {
    if account.is_default() {
        String::new()
    } else {
        format!(" --account {account}")
    }
}

/// The inputs of `wagw access explain`, as typed on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExplainInput {
    /// `--from`: a phone number in any form, a user JID or a LID JID.
    pub from: String,
    /// `--group`: the group JID, for a group message.
    pub group: Option<String>,
    /// `--mentioned`.
    pub mentioned: bool,
    /// `--reply-to-bot`.
    pub reply_to_bot: bool,
    /// `--from-me`.
    pub from_me: bool,
    /// `--text`: parsed for commands (`/activation ...`).
    pub text: Option<String>,
}

impl ExplainInput {
    /// Turns the CLI inputs into a request for `account`, timestamped `now_ms` on a
    /// connection that came up at `now_ms` (so it is never catch-up).
    pub fn to_request(
        &self,
        account: AccountId,
        own: SelfIdentity,
        now_ms: i64,
    ) -> Result<AccessRequest, AccessError> {
        let sender = parse_sender(&self.from)?;
        let chat = match &self.group {
            Some(g) => {
                let jid =
                    Jid::parse(wagw_core::strip_whatsapp_prefix(g).trim()).map_err(|source| {
                        AccessError::InvalidInput {
                            what: "--group",
                            input: g.clone(),
                            source,
                        }
                    })?;
                if jid.kind() != JidKind::Group {
                    return Err(AccessError::NotAGroup { input: g.clone() });
                }
                jid
            }
            None => sender.jid().unwrap_or_else(|| Jid::user("0")),
        };
        let command: Option<Command> = self
            .text
            .as_deref()
            .and_then(|t| parse_command(t, &own, &[]));
        Ok(AccessRequest {
            account,
            chat,
            sender,
            from_me: self.from_me,
            own,
            timestamp_ms: now_ms,
            connected_at_ms: now_ms,
            mentioned: self.mentioned,
            reply_to_bot: self.reply_to_bot,
            command,
        })
    }
}

/// Parses `--from`: a phone number (any written form or user JID) or a LID JID.
pub fn parse_sender(input: &str) -> Result<Sender, AccessError> {
    match wagw_core::Phone::parse(input) {
        Ok(p) => Ok(Sender::phone(p)),
        Err(source) => {
            let stripped = wagw_core::strip_whatsapp_prefix(input);
            if let Ok(j) = Jid::parse(stripped)
                && let Some(l) = j.to_lid()
            {
                return Ok(Sender::lid(l));
            }
            Err(AccessError::InvalidInput {
                what: "--from",
                input: input.to_string(),
                source,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::allow::AllowList;
    use wagw_core::DmPolicy;

    #[test]
    fn json_shape() {
        let policy = AccessPolicy {
            dm_policy: DmPolicy::Allowlist,
            allow_from: AllowList::parse(["+15550002222"]),
            ..AccessPolicy::default()
        };
        let input = ExplainInput {
            from: "+1 555 000 3333".into(),
            ..ExplainInput::default()
        };
        let req = input
            .to_request(AccountId::default(), SelfIdentity::default(), 5)
            .unwrap();
        let e = explain(&req, &policy, &AllowSnapshot::new(), 5);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["decision"], "drop");
        assert_eq!(v["reason"], "not_in_allowlist");
        assert_eq!(v["rule"], "channels.whatsapp.allowFrom");
        assert_eq!(v["sender"], "+15550003333");
        assert_eq!(v["account"], "default");
        assert!(v.get("markRead").is_none());
        assert!(e.to_line().starts_with(
            "drop (not_in_allowlist, rule channels.whatsapp.allowFrom): +15550003333 is not in"
        ));

        let ok = ExplainInput {
            from: "15550002222@s.whatsapp.net".into(),
            ..ExplainInput::default()
        }
        .to_request(AccountId::default(), SelfIdentity::default(), 5)
        .unwrap();
        let v = serde_json::to_value(explain(&ok, &policy, &AllowSnapshot::new(), 5)).unwrap();
        assert_eq!(v["decision"], "allow");
        assert_eq!(v["markRead"], true);
        assert_eq!(v["isOwner"], true);
        assert!(v.get("activation").is_none());
    }

    #[test]
    fn bad_inputs() {
        let bad = |from: &str, group: Option<&str>| {
            ExplainInput {
                from: from.into(),
                group: group.map(str::to_string),
                ..ExplainInput::default()
            }
            .to_request(AccountId::default(), SelfIdentity::default(), 0)
            .is_err()
        };
        assert!(bad("bob", None));
        assert!(bad("+15550002222", Some("15550002222@s.whatsapp.net")));
        assert!(bad("+15550002222", Some("nope")));
        assert!(!bad("12345@lid", Some("120363000000000001@g.us")));
    }
}
