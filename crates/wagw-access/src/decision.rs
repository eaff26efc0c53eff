//! The policy engine: [`decide`] and the [`Decision`] it returns.
//!
//! Every path is one arm below, in the order the checks run; each names a snake_case
//! reason and the config key that decided it.

use std::borrow::Cow;

use wagw_core::{Activation, DmPolicy, GroupPolicy, JidKind, Sender};

use crate::allow::{AllowEntry, AllowList, GroupMatch, LidMap};
use crate::command::Command;
use crate::policy::{AccessPolicy, RuleKey};
use crate::request::{AccessRequest, SelfIdentity};
use crate::snapshot::AllowSnapshot;

/// Why a message was let through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AllowReason {
    /// The account's own chat ("Message yourself").
    SelfChat,
    /// `dmPolicy: open`.
    DmOpen,
    /// `allowFrom` holds `"*"`.
    Wildcard,
    /// The sender is in `allowFrom`.
    Allowlisted,
    /// The sender is in the allow-store (approved by pairing or `wagw allow add`).
    Paired,
    /// An owner's command in a group (bypasses the mention gate).
    OwnerCommand,
    /// The group's activation is `always`.
    ActivationAlways,
    /// The bot was mentioned.
    Mentioned,
    /// The message replies to the bot.
    ReplyToBot,
}

impl AllowReason {
    /// The snake_case name used in logs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AllowReason::SelfChat => "self_chat",
            AllowReason::DmOpen => "dm_open",
            AllowReason::Wildcard => "wildcard",
            AllowReason::Allowlisted => "allowlisted",
            AllowReason::Paired => "paired",
            AllowReason::OwnerCommand => "owner_command",
            AllowReason::ActivationAlways => "activation_always",
            AllowReason::Mentioned => "mentioned",
            AllowReason::ReplyToBot => "reply_to_bot",
        }
    }
}

/// Why a message was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// `status@broadcast` or a broadcast list.
    StatusOrBroadcast,
    /// A chat kind the gateway does not answer (newsletters).
    UnsupportedChat,
    /// The request's account is not the policy's (a wiring bug in the caller).
    AccountMismatch,
    /// A DM whose sender is neither a phone number nor a LID.
    UnknownSender,
    /// The account's own message to someone else, mirrored to the linked device.
    OwnOutboundDm,
    /// The account's own message in a group (not an owner command).
    FromMeGroup,
    /// `dmPolicy: disabled`.
    DmDisabled,
    /// The own chat under `dmPolicy: disabled` with `selfChatMode` off.
    SelfChatDisabled,
    /// `dmPolicy: allowlist` with an empty `allowFrom`.
    AllowFromEmpty,
    /// The sender is not in `allowFrom` (nor, under `pairing`, the allow-store).
    NotInAllowlist,
    /// A message from before this connection (offline catch-up): no pairing reply.
    PairingReplySuppressed,
    /// The sender already has a live code: no second reply.
    PairingPending,
    /// The owner rejected the sender's request; no new code until it expires.
    PairingRejected,
    /// `pairing.maxPending` requests are already live: no code, no reply; counted.
    PairingCapReached,
    /// `groupPolicy: disabled`.
    GroupDisabled,
    /// The `groups` map does not list this group (nor `"*"`).
    GroupNotAllowed,
    /// `groupPolicy: allowlist` and no `groupAllowFrom` (nor fallback) entry at all.
    GroupAllowFromEmpty,
    /// The sender is not in `groupAllowFrom` (or its fallback).
    SenderNotInGroupAllowFrom,
    /// `/activation` from someone who is not an owner.
    ActivationNotOwner,
    /// The group requires a mention and there was none.
    MentionRequired,
}

impl DropReason {
    /// The snake_case name used in logs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::StatusOrBroadcast => "status_or_broadcast",
            DropReason::UnsupportedChat => "unsupported_chat",
            DropReason::AccountMismatch => "account_mismatch",
            DropReason::UnknownSender => "unknown_sender",
            DropReason::OwnOutboundDm => "own_outbound_dm",
            DropReason::FromMeGroup => "from_me_group",
            DropReason::DmDisabled => "dm_disabled",
            DropReason::SelfChatDisabled => "self_chat_disabled",
            DropReason::AllowFromEmpty => "allow_from_empty",
            DropReason::NotInAllowlist => "not_in_allowlist",
            DropReason::PairingReplySuppressed => "pairing_reply_suppressed",
            DropReason::PairingPending => "pairing_pending",
            DropReason::PairingRejected => "pairing_rejected",
            DropReason::PairingCapReached => "pairing_cap_reached",
            DropReason::GroupDisabled => "group_disabled",
            DropReason::GroupNotAllowed => "group_not_allowed",
            DropReason::GroupAllowFromEmpty => "group_allow_from_empty",
            DropReason::SenderNotInGroupAllowFrom => "sender_not_in_group_allow_from",
            DropReason::ActivationNotOwner => "activation_not_owner",
            DropReason::MentionRequired => "mention_required",
        }
    }
}

/// The reason of every [`Decision::Challenge`].
pub const CHALLENGE_REASON: &str = "pairing_required";

/// What to do with one inbound message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Process it.
    Allow {
        /// Send a read receipt (false in self-chat mode and with `sendReadReceipts: false`).
        mark_read: bool,
        /// The message is in the account's own chat ("Message yourself").
        is_self_chat: bool,
        /// The sender is an owner (may run `/activation` and bypass the mention gate).
        is_owner: bool,
        /// The group's activation (groups only).
        activation: Option<Activation>,
        /// Why.
        reason: AllowReason,
        /// The config key that decided.
        rule: RuleKey,
    },
    /// Unknown sender under `dmPolicy: pairing`: issue a pairing code (the store does, see
    /// [`crate::AccessStore::issue_challenge`]) and reply with it. The message itself is not
    /// processed.
    Challenge {
        /// Who gets the code (phone filled in from the LID mapping when known).
        sender: Sender,
        /// The config key that decided (`dmPolicy`).
        rule: RuleKey,
    },
    /// Ignore it: no read receipt, no reply.
    Drop {
        /// Why.
        reason: DropReason,
        /// The config key that decided.
        rule: RuleKey,
    },
}

impl Decision {
    /// `"allow"`, `"challenge"` or `"drop"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Decision::Allow { .. } => "allow",
            Decision::Challenge { .. } => "challenge",
            Decision::Drop { .. } => "drop",
        }
    }

    /// The snake_case reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Decision::Allow { reason, .. } => reason.as_str(),
            Decision::Challenge { .. } => CHALLENGE_REASON,
            Decision::Drop { reason, .. } => reason.as_str(),
        }
    }

    /// The config key that decided.
    pub fn rule(&self) -> RuleKey {
        match self {
            Decision::Allow { rule, .. }
            | Decision::Challenge { rule, .. }
            | Decision::Drop { rule, .. } => *rule,
        }
    }

    /// True for [`Decision::Allow`].
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }
}

fn drop(reason: DropReason, rule: RuleKey) -> Decision {
    Decision::Drop { reason, rule }
}

/// Whether `sender` is the account itself, directly or through the LID mapping.
fn is_self(own: &SelfIdentity, sender: &Sender, map: &LidMap) -> bool {
    if own.is(sender) {
        return true;
    }
    match (&own.phone, &sender.phone, &sender.lid) {
        (Some(p), None, Some(l)) => map.phone_of(l) == Some(p),
        _ => false,
    }
}

/// `selfChatMode`, or inferred: `allowFrom` names the account's own number.
fn self_chat_mode(policy: &AccessPolicy, own: &SelfIdentity) -> bool {
    policy.self_chat_mode.unwrap_or_else(|| {
        own.phone
            .as_ref()
            .is_some_and(|p| policy.allow_from.contains_phone(p))
            || own
                .lid
                .as_ref()
                .is_some_and(|l| policy.allow_from.contains_lid(l))
    })
}

/// Whether `sender` is an owner of the account: named by configured `allowFrom`, or — when
/// it names nobody — the account itself (see [`owners`]). Owners may use `/activation` in
/// groups, and their `/commands` pass the group mention gate. `map` resolves a sender known
/// by one identity only (LID or phone).
///
/// ```
/// use wagw_access::{AccessPolicy, AllowList, LidMap, SelfIdentity, is_owner};
/// use wagw_core::{Phone, Sender};
/// let mut policy = AccessPolicy::default();
/// policy.allow_from = AllowList::parse(["+15551234567"]);
/// let own = SelfIdentity { phone: Some(Phone::parse("+15550009999").unwrap()), lid: None };
/// let ann = Sender::phone(Phone::parse("+15551234567").unwrap());
/// assert!(is_owner(&policy, &own, &ann, &LidMap::new()));
/// ```
pub fn is_owner(policy: &AccessPolicy, own: &SelfIdentity, sender: &Sender, map: &LidMap) -> bool {
    if policy.allow_from.has_identities() {
        policy.allow_from.names(sender, map)
    } else {
        is_self(own, sender, map)
    }
}

/// Whether the sender may run commands: the reference's `CommandAuthorized`, which an agent
/// uses to gate its own `/commands`. With `commands.useAccessGroups: false`
/// (`use_access_groups` false) everyone is. Otherwise:
/// - in a group, `groupAllowFrom` (else `allowFrom`) must contain `"*"` or the sender; the
///   allow-store does not count;
/// - in a DM, `allowFrom` plus the allow-store must contain `"*"` or the sender; when both
///   are empty, the account's own number is the list.
///
/// ```
/// use wagw_access::{AccessPolicy, AccessRequest, AllowList, AllowSnapshot, command_authorized};
/// use wagw_core::{AccountId, Phone, Sender};
/// let mut policy = AccessPolicy::default();
/// policy.allow_from = AllowList::parse(["+15551234567"]);
/// let ann = Sender::phone(Phone::parse("+15551234567").unwrap());
/// let bob = Sender::phone(Phone::parse("+15557654321").unwrap());
/// let dm = |s| AccessRequest::dm(AccountId::default_account(), s, 0);
/// let snap = AllowSnapshot::new();
/// assert!(command_authorized(&dm(ann), &policy, &snap, true));
/// assert!(!command_authorized(&dm(bob.clone()), &policy, &snap, true));
/// assert!(command_authorized(&dm(bob), &policy, &snap, false));
/// ```
pub fn command_authorized(
    req: &AccessRequest,
    policy: &AccessPolicy,
    snap: &AllowSnapshot,
    use_access_groups: bool,
) -> bool {
    if !use_access_groups {
        return true;
    }
    let map = &snap.lid_map;
    if req.is_group() {
        let list = policy
            .group_allow_from
            .as_ref()
            .unwrap_or(&policy.allow_from);
        return list.has_wildcard() || list.names(&req.sender, map);
    }
    let configured = &policy.allow_from;
    if configured.is_empty() && snap.allowed.is_empty() {
        return is_self(&req.own, &req.sender, map);
    }
    configured.has_wildcard()
        || configured.names(&req.sender, map)
        || snap.allowed.has_wildcard()
        || snap.allowed.names(&req.sender, map)
}

/// The account's owners, the counterpart of the reference's `resolveOwnerList`: the phone
/// numbers and LIDs in configured `allowFrom`; when it names none, the account's own number
/// (and LID, when known). The allow-store (approved pairing codes) makes nobody an owner.
///
/// One deliberate difference: with `allowFrom: ["*"]` the reference has **no** owner (its
/// quirk Q24, so `/activation` is impossible there); wagw falls back to the account itself.
/// Empty when the list names nobody and the account's identity is not known yet.
///
/// ```
/// use wagw_access::{AccessPolicy, AllowEntry, AllowList, SelfIdentity, owners};
/// use wagw_core::Phone;
/// let own = SelfIdentity { phone: Some(Phone::parse("+15550009999").unwrap()), lid: None };
/// let mut policy = AccessPolicy::default();
/// policy.allow_from = AllowList::parse(["*", "+1 555 123 4567"]);
/// assert_eq!(owners(&policy, &own), [AllowEntry::parse("+15551234567").unwrap()]);
/// policy.allow_from = AllowList::parse(["*"]);
/// assert_eq!(owners(&policy, &own), [AllowEntry::parse("+15550009999").unwrap()]);
/// ```
pub fn owners(policy: &AccessPolicy, own: &SelfIdentity) -> Vec<AllowEntry> {
    if policy.allow_from.has_identities() {
        let mut list = policy.allow_from.entries();
        list.retain(|e| *e != AllowEntry::Any);
        list
    } else {
        own.phone
            .iter()
            .cloned()
            .map(AllowEntry::Phone)
            .chain(own.lid.iter().cloned().map(AllowEntry::Lid))
            .collect()
    }
}

/// The sender with the missing half filled in from the mapping (cold paths only).
fn resolved_sender(sender: &Sender, map: &LidMap) -> Sender {
    let mut s = sender.clone();
    if s.phone.is_none()
        && let Some(l) = &s.lid
    {
        s.phone = map.phone_of(l).cloned();
    }
    if s.lid.is_none()
        && let Some(p) = &s.phone
    {
        s.lid = map.lid_of(p).cloned();
    }
    s
}

/// Decides one inbound message. Pure: no IO, no clock (`now_ms` is used for pairing
/// expiry), no allocation on the allow paths.
///
/// ```
/// use wagw_access::{AccessPolicy, AccessRequest, AllowList, AllowSnapshot, decide};
/// use wagw_core::{AccountId, DmPolicy, Phone, Sender};
/// let policy = AccessPolicy {
///     dm_policy: DmPolicy::Allowlist,
///     allow_from: AllowList::parse(["+15551234567"]),
///     ..AccessPolicy::default()
/// };
/// let alice = Sender::phone(Phone::parse("+15551234567").unwrap());
/// let req = AccessRequest::dm(AccountId::default(), alice, 1_000);
/// let d = decide(&req, &policy, &AllowSnapshot::new(), 1_000);
/// assert_eq!((d.kind(), d.reason()), ("allow", "allowlisted"));
/// ```
pub fn decide(
    req: &AccessRequest,
    policy: &AccessPolicy,
    snap: &AllowSnapshot,
    now_ms: i64,
) -> Decision {
    match req.chat.kind() {
        JidKind::Status | JidKind::Broadcast => {
            return drop(DropReason::StatusOrBroadcast, RuleKey::BuiltinChat);
        }
        JidKind::Newsletter => return drop(DropReason::UnsupportedChat, RuleKey::BuiltinChat),
        JidKind::User | JidKind::Lid | JidKind::Group => {}
    }
    if req.account != policy.account {
        return drop(DropReason::AccountMismatch, RuleKey::BuiltinAccount);
    }
    if req.chat.is_group() {
        decide_group(req, policy, snap)
    } else {
        decide_dm(req, policy, snap, now_ms)
    }
}

fn decide_dm(
    req: &AccessRequest,
    policy: &AccessPolicy,
    snap: &AllowSnapshot,
    now_ms: i64,
) -> Decision {
    let map = &snap.lid_map;
    let sender: Cow<'_, Sender> = if req.sender.phone.is_some() || req.sender.lid.is_some() {
        Cow::Borrowed(&req.sender)
    } else {
        match Sender::from_jid(&req.chat) {
            Some(s) => Cow::Owned(s),
            None => return drop(DropReason::UnknownSender, RuleKey::BuiltinSender),
        }
    };
    let same_phone = is_self(&req.own, &sender, map);
    if req.from_me && !same_phone {
        return drop(DropReason::OwnOutboundDm, RuleKey::BuiltinFromMe);
    }
    let self_mode = self_chat_mode(policy, &req.own);
    // `owner` is passed where the caller already knows it (one lookup less on hot paths).
    let allow = |reason, rule, owner: Option<bool>| Decision::Allow {
        mark_read: policy.send_read_receipts && !self_mode,
        is_self_chat: false,
        is_owner: owner.unwrap_or_else(|| is_owner(policy, &req.own, &sender, map)),
        activation: None,
        reason,
        rule,
    };
    if same_phone {
        if policy.dm_policy == DmPolicy::Disabled && !self_mode {
            return drop(DropReason::SelfChatDisabled, RuleKey::SelfChatMode);
        }
        return Decision::Allow {
            mark_read: false,
            is_self_chat: true,
            is_owner: is_owner(policy, &req.own, &sender, map),
            activation: None,
            reason: AllowReason::SelfChat,
            rule: RuleKey::SelfChatMode,
        };
    }
    match policy.dm_policy {
        DmPolicy::Disabled => drop(DropReason::DmDisabled, RuleKey::DmPolicy),
        DmPolicy::Open => allow(AllowReason::DmOpen, RuleKey::DmPolicy, None),
        DmPolicy::Allowlist | DmPolicy::Pairing => {
            if policy.allow_from.has_wildcard() {
                return allow(AllowReason::Wildcard, RuleKey::AllowFrom, None);
            }
            let listed = policy.allow_from.names(&sender, map);
            if listed {
                // Listed in `allowFrom`, which therefore names identities: an owner.
                return allow(AllowReason::Allowlisted, RuleKey::AllowFrom, Some(true));
            }
            // Under `allowlist` only configuration counts (as upstream later decided).
            if policy.dm_policy == DmPolicy::Allowlist {
                return if policy.allow_from.is_empty() {
                    drop(DropReason::AllowFromEmpty, RuleKey::AllowFrom)
                } else {
                    drop(DropReason::NotInAllowlist, RuleKey::AllowFrom)
                };
            }
            if snap.allowed.names(&sender, map) {
                // Not in `allowFrom`: an owner only when `allowFrom` names nobody and this
                // is the own number (which took the self-chat path above), so never.
                let owner = !policy.allow_from.has_identities() && is_self(&req.own, &sender, map);
                return allow(AllowReason::Paired, RuleKey::AllowStore, Some(owner));
            }
            challenge_or_drop(req, policy, snap, &sender, now_ms)
        }
    }
}

/// `dmPolicy: pairing` and the sender is not allowed: challenge, unless the message is
/// catch-up, the sender already has a live request, or the cap is reached.
fn challenge_or_drop(
    req: &AccessRequest,
    policy: &AccessPolicy,
    snap: &AllowSnapshot,
    sender: &Sender,
    now_ms: i64,
) -> Decision {
    let settings = &policy.pairing;
    let ttl = settings.ttl_ms();
    if req.timestamp_ms
        < req
            .connected_at_ms
            .saturating_sub(settings.history_grace_ms)
    {
        return drop(DropReason::PairingReplySuppressed, RuleKey::DmPolicy);
    }
    let sender = resolved_sender(sender, &snap.lid_map);
    if let Some(p) = snap.pairing_for(&sender, now_ms, ttl) {
        let reason = if p.rejected {
            DropReason::PairingRejected
        } else {
            DropReason::PairingPending
        };
        return drop(reason, RuleKey::PairingStore);
    }
    if snap.pending_count(now_ms, ttl) >= settings.max_pending {
        return drop(DropReason::PairingCapReached, RuleKey::PairingMaxPending);
    }
    Decision::Challenge {
        sender,
        rule: RuleKey::DmPolicy,
    }
}

fn decide_group(req: &AccessRequest, policy: &AccessPolicy, snap: &AllowSnapshot) -> Decision {
    let map = &snap.lid_map;
    let self_mode = self_chat_mode(policy, &req.own);
    // The bot never answers itself (quirk Q26), but the account's own number may still run
    // owner commands such as `/activation` (quirk Q24 makes it the owner under `["*"]`).
    let own_command = if req.from_me {
        let own = Sender {
            phone: req.own.phone.clone(),
            lid: req.own.lid.clone(),
        };
        if req.command.is_none() || !is_owner(policy, &req.own, &own, map) {
            return drop(DropReason::FromMeGroup, RuleKey::BuiltinFromMe);
        }
        true
    } else {
        false
    };
    if policy.group_policy == GroupPolicy::Disabled {
        return drop(DropReason::GroupDisabled, RuleKey::GroupPolicy);
    }
    let Some(group_match) = policy.groups.lookup(&req.chat) else {
        return drop(DropReason::GroupNotAllowed, RuleKey::Groups);
    };
    if policy.group_policy == GroupPolicy::Allowlist
        && !own_command
        && let Some(d) = check_group_sender(req, policy, snap)
    {
        return d;
    }
    let is_owner = own_command || is_owner(policy, &req.own, &req.sender, map);
    let (activation, activation_rule) = match snap.activation(&req.chat) {
        Some(a) => (a, RuleKey::ActivationStore),
        None => {
            let require = group_match.rule().require_mention.unwrap_or(true);
            let rule = RuleKey::RequireMention {
                wildcard: matches!(group_match, GroupMatch::Wildcard(_)),
            };
            let a = if require {
                Activation::Mention
            } else {
                Activation::Always
            };
            (a, rule)
        }
    };
    let allow = |reason, rule| Decision::Allow {
        mark_read: policy.send_read_receipts && !self_mode,
        is_self_chat: false,
        is_owner,
        activation: Some(activation),
        reason,
        rule,
    };
    match &req.command {
        Some(Command::Activation(_)) if is_owner => {
            return allow(AllowReason::OwnerCommand, RuleKey::AllowFrom);
        }
        Some(Command::Activation(_)) => {
            return drop(DropReason::ActivationNotOwner, RuleKey::AllowFrom);
        }
        Some(Command::Control(_)) if is_owner => {
            return allow(AllowReason::OwnerCommand, RuleKey::AllowFrom);
        }
        _ => {}
    }
    if activation == Activation::Always {
        allow(AllowReason::ActivationAlways, activation_rule)
    } else if req.mentioned {
        allow(AllowReason::Mentioned, activation_rule)
    } else if req.reply_to_bot {
        allow(AllowReason::ReplyToBot, activation_rule)
    } else {
        drop(DropReason::MentionRequired, activation_rule)
    }
}

/// `groupPolicy: allowlist`: the sender must be in `groupAllowFrom`, or — when that is
/// unset — in `allowFrom` or the allow-store (quirk Q12: paired people can talk in groups;
/// the store is skipped under `dmPolicy: allowlist`, where only configuration counts).
fn check_group_sender(
    req: &AccessRequest,
    policy: &AccessPolicy,
    snap: &AllowSnapshot,
) -> Option<Decision> {
    let (list, store): (&AllowList, Option<&AllowList>) = match &policy.group_allow_from {
        Some(list) => (list, None),
        None => (
            &policy.allow_from,
            (policy.dm_policy != DmPolicy::Allowlist).then_some(&snap.allowed),
        ),
    };
    if list.is_empty() && store.is_none_or(AllowList::is_empty) {
        return Some(drop(
            DropReason::GroupAllowFromEmpty,
            RuleKey::GroupAllowFrom,
        ));
    }
    let map = &snap.lid_map;
    let ok = list.has_wildcard()
        || list.names(&req.sender, map)
        || store.is_some_and(|s| s.names(&req.sender, map));
    (!ok).then(|| {
        drop(
            DropReason::SenderNotInGroupAllowFrom,
            RuleKey::GroupAllowFrom,
        )
    })
}

#[cfg(test)]
mod owner_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use wagw_core::{Lid, Phone};

    #[test]
    fn owners_follow_allow_from_else_the_account() {
        let own = SelfIdentity {
            phone: Some(Phone::parse("+15550009999").unwrap()),
            lid: Some(Lid::parse("424242@lid").unwrap()),
        };
        let mut policy = AccessPolicy::default();
        let e = |s: &str| AllowEntry::parse(s).unwrap();
        // Nothing configured: the account itself, by number and LID.
        assert_eq!(owners(&policy, &own), [e("+15550009999"), e("424242@lid")]);
        // Identities in allowFrom are the owners; "*" adds nobody.
        policy.allow_from = AllowList::parse(["777@lid", "*", "+15551234567"]);
        assert_eq!(owners(&policy, &own), [e("+15551234567"), e("777@lid")]);
        // Every listed owner is an owner for the engine too, and the account is not.
        let map = LidMap::new();
        let ann = Sender::phone(Phone::parse("+15551234567").unwrap());
        let me = Sender::phone(Phone::parse("+15550009999").unwrap());
        assert!(is_owner(&policy, &own, &ann, &map));
        assert!(!is_owner(&policy, &own, &me, &map));
        // An account whose identity is not known yet has no owner to name.
        policy.allow_from = AllowList::new();
        assert!(owners(&policy, &SelfIdentity::default()).is_empty());
    }
}
