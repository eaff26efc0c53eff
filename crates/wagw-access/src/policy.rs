//! The resolved, per-account access policy the engine decides against, and the config paths
//! that decisions name.

use std::collections::BTreeSet;

use wagw_core::{AccountId, DmPolicy, GroupPolicy};

use crate::allow::{AllowList, GroupRules};
use crate::template::PairingTemplate;

/// Pairing settings (`channels.whatsapp.pairing.*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairingSettings {
    /// `ttlMinutes`: how long a code stays valid from its creation. Default 60.
    pub ttl_minutes: u64,
    /// `maxPending`: pending requests allowed per account. Default 3.
    pub max_pending: usize,
    /// Messages older than `connected_at - history_grace_ms` (offline catch-up) never get a
    /// pairing reply. Default 30 000 ms, as the reference.
    pub history_grace_ms: i64,
    /// `replyTemplate`: the pairing reply text.
    pub reply_template: PairingTemplate,
}

impl PairingSettings {
    /// Default `ttlMinutes`.
    pub const DEFAULT_TTL_MINUTES: u64 = 60;
    /// Default `maxPending`.
    pub const DEFAULT_MAX_PENDING: usize = 3;
    /// Default grace for historical messages.
    pub const DEFAULT_HISTORY_GRACE_MS: i64 = 30_000;

    /// The code lifetime in milliseconds.
    pub fn ttl_ms(&self) -> i64 {
        i64::try_from(self.ttl_minutes.saturating_mul(60_000)).unwrap_or(i64::MAX)
    }
}

impl Default for PairingSettings {
    fn default() -> Self {
        PairingSettings {
            ttl_minutes: Self::DEFAULT_TTL_MINUTES,
            max_pending: Self::DEFAULT_MAX_PENDING,
            history_grace_ms: Self::DEFAULT_HISTORY_GRACE_MS,
            reply_template: PairingTemplate::default(),
        }
    }
}

/// A config key a decision can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleKey {
    /// `dmPolicy`.
    DmPolicy,
    /// `allowFrom`.
    AllowFrom,
    /// `selfChatMode`.
    SelfChatMode,
    /// `groupPolicy`.
    GroupPolicy,
    /// `groupAllowFrom`.
    GroupAllowFrom,
    /// `groups`.
    Groups,
    /// `groups.<jid>.requireMention` (`wildcard`: the `"*"` entry decided).
    RequireMention {
        /// True when `groups."*"` supplied the value.
        wildcard: bool,
    },
    /// `pairing.maxPending`.
    PairingMaxPending,
    /// The allow-store (`wagw allow list`).
    AllowStore,
    /// The pairing store (`wagw pairing list`).
    PairingStore,
    /// The stored group activation (`/activation`).
    ActivationStore,
    /// Built-in: status and broadcast chats are never answered.
    BuiltinChat,
    /// Built-in: the bot never answers its own messages.
    BuiltinFromMe,
    /// Built-in: the request's account differs from the policy's.
    BuiltinAccount,
    /// Built-in: a DM with no usable sender identity.
    BuiltinSender,
}

impl RuleKey {
    /// The camelCase config key name, for account-overridable keys.
    fn config_name(self) -> Option<&'static str> {
        Some(match self {
            RuleKey::DmPolicy => "dmPolicy",
            RuleKey::AllowFrom => "allowFrom",
            RuleKey::SelfChatMode => "selfChatMode",
            RuleKey::GroupPolicy => "groupPolicy",
            RuleKey::GroupAllowFrom => "groupAllowFrom",
            RuleKey::Groups | RuleKey::RequireMention { .. } => "groups",
            _ => return None,
        })
    }
}

/// Where config keys live, so a decision can name the exact path that decided it.
///
/// An account-level key wins only where the account sets it; [`RulePaths::account_keys`]
/// lists those keys (camelCase, e.g. `"dmPolicy"`), and every other key is reported at the
/// channel level.
///
/// ```
/// use wagw_access::{RuleKey, RulePaths};
/// let mut paths = RulePaths::for_account("work");
/// paths.account_keys.insert("dmPolicy".into());
/// assert_eq!(paths.path(RuleKey::DmPolicy, None), "channels.whatsapp.accounts.work.dmPolicy");
/// assert_eq!(paths.path(RuleKey::AllowFrom, None), "channels.whatsapp.allowFrom");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulePaths {
    /// The channel section, `channels.whatsapp`.
    pub channel: String,
    /// The account section, e.g. `channels.whatsapp.accounts.work`; `None` when the account
    /// has no section of its own.
    pub account: Option<String>,
    /// Keys the account section sets (for `pairing`: when it sets `pairing.maxPending`).
    pub account_keys: BTreeSet<String>,
}

impl RulePaths {
    /// The channel section of the default config layout.
    pub const CHANNEL: &'static str = "channels.whatsapp";

    /// Paths for a config with no `accounts` section: everything at `channels.whatsapp`.
    pub fn channel_only() -> RulePaths {
        RulePaths {
            channel: Self::CHANNEL.to_string(),
            account: None,
            account_keys: BTreeSet::new(),
        }
    }

    /// Paths for `channels.whatsapp.accounts.<id>` (fill in `account_keys`).
    pub fn for_account(id: &str) -> RulePaths {
        RulePaths {
            channel: Self::CHANNEL.to_string(),
            account: Some(format!("{}.accounts.{id}", Self::CHANNEL)),
            account_keys: BTreeSet::new(),
        }
    }

    /// The path of `key`. `group` is the group JID, used by `requireMention`.
    pub fn path(&self, key: RuleKey, group: Option<&str>) -> String {
        let section = |name: &str| match &self.account {
            Some(a) if self.account_keys.contains(name) => a.clone(),
            _ => self.channel.clone(),
        };
        match key {
            RuleKey::RequireMention { wildcard } => {
                let s = section("groups");
                let g = if wildcard {
                    "*"
                } else {
                    group.unwrap_or("<group>")
                };
                format!("{s}.groups.{g}.requireMention")
            }
            RuleKey::PairingMaxPending => format!("{}.pairing.maxPending", section("pairing")),
            RuleKey::AllowStore => "store.allow".to_string(),
            RuleKey::PairingStore => "store.pairing".to_string(),
            RuleKey::ActivationStore => "store.activation".to_string(),
            RuleKey::BuiltinChat => "builtin.statusBroadcast".to_string(),
            RuleKey::BuiltinFromMe => "builtin.fromMe".to_string(),
            RuleKey::BuiltinAccount => "builtin.account".to_string(),
            RuleKey::BuiltinSender => "builtin.sender".to_string(),
            other => {
                let name = other.config_name().unwrap_or("?");
                format!("{}.{name}", section(name))
            }
        }
    }
}

impl Default for RulePaths {
    fn default() -> Self {
        RulePaths::channel_only()
    }
}

/// One account's resolved access policy: what the engine decides against.
///
/// Build it from the resolved config (account values where set, channel values otherwise).
/// The `Default` is what an account with no access configuration gets:
///
/// | field | default | config key |
/// |---|---|---|
/// | `account` | `default` | `accounts.<id>` |
/// | `dm_policy` | `pairing` | `dmPolicy` |
/// | `allow_from` | empty (only the account's own number may DM) | `allowFrom` |
/// | `group_policy` | `allowlist` | `groupPolicy` |
/// | `group_allow_from` | `None` (fall back to `allowFrom` + allow-store) | `groupAllowFrom` |
/// | `groups` | empty (every group passes this layer, mention required) | `groups` |
/// | `self_chat_mode` | `None` (inferred: `allowFrom` holds the own number) | `selfChatMode` |
/// | `send_read_receipts` | `true` | `sendReadReceipts` |
/// | `pairing` | TTL 60 min, 3 pending, 30 s history grace, default reply | `pairing.*` |
/// | `paths` | everything under `channels.whatsapp` | — |
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessPolicy {
    /// The account this policy belongs to.
    pub account: AccountId,
    /// `dmPolicy`.
    pub dm_policy: DmPolicy,
    /// `allowFrom` (configured entries only; the allow-store is in the snapshot).
    pub allow_from: AllowList,
    /// `groupPolicy`.
    pub group_policy: GroupPolicy,
    /// `groupAllowFrom`; `None` falls back to `allowFrom` plus the allow-store.
    pub group_allow_from: Option<AllowList>,
    /// `groups`: the group JID allowlist with `requireMention`.
    pub groups: GroupRules,
    /// `selfChatMode`; `None` infers it from `allowFrom` containing the own number.
    pub self_chat_mode: Option<bool>,
    /// `sendReadReceipts`.
    pub send_read_receipts: bool,
    /// `pairing.*`.
    pub pairing: PairingSettings,
    /// Where these keys live, for the `rule` of each decision.
    pub paths: RulePaths,
}

impl Default for AccessPolicy {
    fn default() -> Self {
        AccessPolicy {
            account: AccountId::default_account(),
            dm_policy: DmPolicy::Pairing,
            allow_from: AllowList::new(),
            group_policy: GroupPolicy::Allowlist,
            group_allow_from: None,
            groups: GroupRules::new(),
            self_chat_mode: None,
            send_read_receipts: true,
            pairing: PairingSettings::default(),
            paths: RulePaths::channel_only(),
        }
    }
}

impl AccessPolicy {
    /// The default policy for another account (paths under `accounts.<id>`, no keys set).
    pub fn for_account(account: AccountId) -> AccessPolicy {
        let paths = RulePaths::for_account(account.as_str());
        AccessPolicy {
            account,
            paths,
            ..AccessPolicy::default()
        }
    }

    /// The config path of `key` for this account (see [`RulePaths::path`]).
    pub fn rule_path(&self, key: RuleKey, group: Option<&str>) -> String {
        self.paths.path(key, group)
    }
}
