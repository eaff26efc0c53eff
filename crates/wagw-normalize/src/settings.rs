//! Plain-data settings. The gateway maps the loaded config onto these (this crate does not
//! read config files); every default is the documented config default.

use std::collections::HashMap;

use wagw_core::{AccountId, DmScope, Phone};

use crate::envelope::EnvelopeSettings;
use crate::history::DEFAULT_HISTORY_LIMIT;
use crate::mention::MentionPatterns;
use crate::session::DEFAULT_MAIN_KEY;

/// The inbound prefix used when nothing else applies (the reference used `[openclaw]`).
pub const DEFAULT_MESSAGE_PREFIX: &str = "[wagw]";

/// Everything normalization needs to know about the configuration.
#[derive(Debug, Clone)]
pub struct NormalizeSettings {
    /// `messages.envelope.*`. Default: UTC, timestamp and elapsed shown.
    pub envelope: EnvelopeSettings,
    /// `session.dmScope`. Default: `main`.
    pub dm_scope: DmScope,
    /// `session.mainKey`. Default: `main`.
    pub main_key: String,
    /// `session.scope: "global"`: every chat's session key is `global`. Default: false.
    pub global_session: bool,
    /// `session.identityLinks`: a DM peer (`+E.164` or `<digits>@lid`) to the canonical name
    /// used in place of it in per-peer session keys. Default: empty.
    pub identity_links: HashMap<String, String>,
    /// `messages.messagePrefix` (deprecated; used when the account sets none). Default: unset.
    pub legacy_message_prefix: Option<String>,
    /// `messages.groupChat.mentionPatterns`, compiled. Default: unset.
    pub group_mention_patterns: Option<MentionPatterns>,
    /// `agents.list[]`, by agent id (lowercase). Default: empty.
    pub agents: HashMap<String, AgentSettings>,
    /// Per-account views (`channels.whatsapp` merged with `accounts.<id>`). Default: empty.
    pub accounts: HashMap<AccountId, AccountSettings>,
    /// The channel-level view, used for accounts not in `accounts`.
    pub account_defaults: AccountSettings,
}

impl Default for NormalizeSettings {
    fn default() -> Self {
        NormalizeSettings {
            envelope: EnvelopeSettings::default(),
            dm_scope: DmScope::Main,
            main_key: DEFAULT_MAIN_KEY.to_string(),
            global_session: false,
            identity_links: HashMap::new(),
            legacy_message_prefix: None,
            group_mention_patterns: None,
            agents: HashMap::new(),
            accounts: HashMap::new(),
            account_defaults: AccountSettings::default(),
        }
    }
}

impl NormalizeSettings {
    /// The settings view of one account.
    pub fn account(&self, id: &AccountId) -> &AccountSettings {
        self.accounts.get(id).unwrap_or(&self.account_defaults)
    }
}

/// One agent (`agents.list[]`).
#[derive(Debug, Clone, Default)]
pub struct AgentSettings {
    /// `identity.name`: used for the default inbound prefix `[<name>]` and, without
    /// configured patterns, as a mention pattern.
    pub name: Option<String>,
    /// `identity.emoji`: a mention pattern when no patterns are configured.
    pub emoji: Option<String>,
    /// `groupChat.mentionPatterns`, compiled. When set (even empty) it replaces the channel
    /// default `messages.groupChat.mentionPatterns`.
    pub mention_patterns: Option<MentionPatterns>,
}

/// One account's merged view (`channels.whatsapp` overridden by `accounts.<id>` where set).
#[derive(Debug, Clone)]
pub struct AccountSettings {
    /// `messagePrefix`: the inbound prefix. `Some("")` disables it. Default: unset, which
    /// means `messages.messagePrefix`, else no prefix when `allowFrom` is configured (a
    /// personal setup), else `[<agent name>]`, else `[wagw]`.
    pub message_prefix: Option<String>,
    /// `allowFrom` numbers. Default: empty.
    pub allow_from: Vec<Phone>,
    /// `allowFrom` holds `"*"`. Default: false.
    pub allow_from_any: bool,
    /// `selfChatMode`. Default: unset, which means "on when `allowFrom` holds the account's
    /// own number".
    pub self_chat_mode: Option<bool>,
    /// `historyLimit` for groups. Default: 50; 0 disables pending history.
    pub history_limit: usize,
    /// `dmHistoryLimit`: passed to the agent on DM turns. Default: unset.
    pub dm_history_limit: Option<u32>,
    /// `dms.<phone>.historyLimit` overrides. Default: empty.
    pub dm_history_limits: HashMap<Phone, u32>,
}

impl Default for AccountSettings {
    fn default() -> Self {
        AccountSettings {
            message_prefix: None,
            allow_from: Vec::new(),
            allow_from_any: false,
            self_chat_mode: None,
            history_limit: DEFAULT_HISTORY_LIMIT,
            dm_history_limit: None,
            dm_history_limits: HashMap::new(),
        }
    }
}

impl AccountSettings {
    /// Self-chat mode: `selfChatMode` when set, else whether `allowFrom` holds `own_phone`.
    pub fn is_self_chat(&self, own_phone: &Phone) -> bool {
        self.self_chat_mode
            .unwrap_or_else(|| self.allow_from.contains(own_phone))
    }

    /// True when `allowFrom` has any entry (numbers or `"*"`).
    pub fn has_allow_from(&self) -> bool {
        self.allow_from_any || !self.allow_from.is_empty()
    }

    /// The DM history limit for one peer.
    pub fn dm_history_limit_for(&self, peer: Option<&Phone>) -> Option<u32> {
        peer.and_then(|p| self.dm_history_limits.get(p).copied())
            .or(self.dm_history_limit)
    }
}
