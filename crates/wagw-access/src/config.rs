//! From the loaded config (`wagw-config`) to an [`AccessPolicy`].

use wagw_config::{Config, GroupKey, ResolvedAccount};

use crate::AccessError;
use crate::allow::{AllowEntry, AllowList, GroupRule, GroupRules};
use crate::policy::{AccessPolicy, PairingSettings, RulePaths};
use crate::template::PairingTemplate;

fn allow_list(entries: &[wagw_config::AllowEntry]) -> AllowList {
    entries
        .iter()
        .map(|e| match e {
            wagw_config::AllowEntry::Any => AllowEntry::Any,
            wagw_config::AllowEntry::Phone(p) => AllowEntry::Phone(p.clone()),
            wagw_config::AllowEntry::Lid(l) => AllowEntry::Lid(l.clone()),
        })
        .collect()
}

/// The account-independent part of the mapping.
fn build(account: &ResolvedAccount, paths: RulePaths) -> (AccessPolicy, Option<&str>) {
    let mut groups = GroupRules::new();
    for (key, settings) in &account.groups {
        let rule = GroupRule {
            require_mention: settings.require_mention,
        };
        match key {
            GroupKey::Any => groups.insert("*", rule),
            GroupKey::Group(jid) => groups.insert(&jid.to_string(), rule),
        }
    }
    let policy = AccessPolicy {
        account: account.account_id.clone(),
        dm_policy: account.dm_policy,
        allow_from: allow_list(&account.allow_from),
        group_policy: account.group_policy,
        group_allow_from: account.group_allow_from.as_deref().map(allow_list),
        groups,
        self_chat_mode: account.self_chat_mode,
        send_read_receipts: account.send_read_receipts,
        pairing: PairingSettings {
            ttl_minutes: u64::from(account.pairing.ttl_minutes),
            max_pending: usize::try_from(account.pairing.max_pending).unwrap_or(usize::MAX),
            ..PairingSettings::default()
        },
        paths,
    };
    (policy, account.pairing.reply_template.as_deref())
}

impl AccessPolicy {
    /// The access policy of `account` as `config` resolves it. The config file tells which
    /// keys the account section writes, so every decision names the exact path
    /// (`channels.whatsapp.accounts.work.dmPolicy` or `channels.whatsapp.dmPolicy`).
    ///
    /// Fails only on an invalid `pairing.replyTemplate`.
    ///
    /// ```
    /// use wagw_access::{AccessPolicy, RuleKey};
    /// use wagw_config::{Config, Env};
    /// let config = Config::from_json5_str(
    ///     r#"{ channels: { whatsapp: { allowFrom: ["+15551234567"],
    ///          accounts: { work: { dmPolicy: "allowlist" } } } } }"#,
    ///     &Env::from_pairs([("WAGW_DATA_DIR", "/tmp/wagw")]),
    /// )?;
    /// let work = config.resolve_account(&"work".parse()?)?;
    /// let policy = AccessPolicy::from_config(&config, work)?;
    /// assert_eq!(policy.rule_path(RuleKey::DmPolicy, None), "channels.whatsapp.accounts.work.dmPolicy");
    /// assert_eq!(policy.rule_path(RuleKey::AllowFrom, None), "channels.whatsapp.allowFrom");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_config(
        config: &Config,
        account: &ResolvedAccount,
    ) -> Result<AccessPolicy, AccessError> {
        let section = config
            .file()
            .channels
            .as_ref()
            .and_then(|c| c.whatsapp.as_ref())
            .and_then(|w| w.accounts.as_ref())
            .and_then(|a| a.get(account.account_id.as_str()));
        let paths = match section {
            None => RulePaths::channel_only(),
            Some(s) => {
                let mut paths = RulePaths::for_account(account.account_id.as_str());
                let written = [
                    ("dmPolicy", s.dm_policy.is_some()),
                    ("allowFrom", s.allow_from.is_some()),
                    ("selfChatMode", s.self_chat_mode.is_some()),
                    ("groupPolicy", s.group_policy.is_some()),
                    ("groupAllowFrom", s.group_allow_from.is_some()),
                    ("groups", s.groups.is_some()),
                    (
                        "pairing",
                        s.pairing.as_ref().is_some_and(|p| p.max_pending.is_some()),
                    ),
                ];
                paths.account_keys = written
                    .into_iter()
                    .filter(|(_, set)| *set)
                    .map(|(k, _)| k.to_string())
                    .collect();
                paths
            }
        };
        let (mut policy, template) = build(account, paths);
        if let Some(t) = template {
            policy.pairing.reply_template = PairingTemplate::parse(t)?;
        }
        Ok(policy)
    }
}

/// The policy of a resolved account without the config file: every rule is reported at
/// `channels.whatsapp` (use [`AccessPolicy::from_config`] for exact paths), and an invalid
/// `replyTemplate` falls back to the default text with a warning.
impl From<&ResolvedAccount> for AccessPolicy {
    fn from(account: &ResolvedAccount) -> AccessPolicy {
        let (mut policy, template) = build(account, RulePaths::channel_only());
        if let Some(t) = template {
            match PairingTemplate::parse(t) {
                Ok(t) => policy.pairing.reply_template = t,
                Err(e) => {
                    tracing::warn!(target: "wagw::access", account = %account.account_id, error = %e, "using the default pairing reply")
                }
            }
        }
        policy
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::{AccessRequest, AllowSnapshot, RuleKey, decide};
    use wagw_config::Env;
    use wagw_core::{AccountId, DmPolicy, GroupPolicy, Jid, Phone, Sender};

    fn load(text: &str) -> Config {
        Config::from_json5_str(
            text,
            &Env::from_pairs([("WAGW_DATA_DIR", "/tmp/wagw-test")]),
        )
        .unwrap()
    }

    #[test]
    fn maps_every_access_key() {
        let config = load(
            r#"{ channels: { whatsapp: {
                dmPolicy: "allowlist", allowFrom: ["+1 555 111 0001", "*"],
                groupPolicy: "open", groupAllowFrom: ["+15552220002"],
                groups: { "*": { requireMention: false }, "120363000000000001@g.us": {} },
                selfChatMode: true, sendReadReceipts: false,
                pairing: { ttlMinutes: 10, maxPending: 5, replyTemplate: "Code {code} for {phone}" },
            } } }"#,
        );
        let p = AccessPolicy::from_config(&config, config.default_account()).unwrap();
        assert_eq!(p.account, AccountId::default());
        assert_eq!(p.dm_policy, DmPolicy::Allowlist);
        assert!(p.allow_from.has_wildcard());
        assert!(
            p.allow_from
                .contains_phone(&Phone::parse("+15551110001").unwrap())
        );
        assert_eq!(p.group_policy, GroupPolicy::Open);
        assert!(
            p.group_allow_from
                .as_ref()
                .unwrap()
                .contains_phone(&Phone::parse("+15552220002").unwrap())
        );
        let g = Jid::parse("120363000000000001@g.us").unwrap();
        assert_eq!(p.groups.lookup(&g).unwrap().rule().require_mention, None);
        let other = Jid::parse("120363000000000002@g.us").unwrap();
        assert_eq!(
            p.groups.lookup(&other).unwrap().rule().require_mention,
            Some(false)
        );
        assert_eq!(p.self_chat_mode, Some(true));
        assert!(!p.send_read_receipts);
        assert_eq!((p.pairing.ttl_minutes, p.pairing.max_pending), (10, 5));
        let bob = Sender::phone(Phone::parse("+15552220002").unwrap());
        assert_eq!(
            p.pairing
                .reply_template
                .render("ABCD2345", &bob, &p.account),
            "Code ABCD2345 for +15552220002"
        );
        assert_eq!(
            p.rule_path(RuleKey::DmPolicy, None),
            "channels.whatsapp.dmPolicy"
        );
        assert_eq!(AccessPolicy::from(config.default_account()), p);
    }

    #[test]
    fn account_paths_and_defaults() {
        let config = load(
            r#"{ channels: { whatsapp: { allowFrom: ["+15551110001"],
                accounts: { work: { dmPolicy: "disabled", pairing: { maxPending: 1 } }, home: {} } } } }"#,
        );
        let work = config
            .resolve_account(&AccountId::parse("work").unwrap())
            .unwrap();
        let p = AccessPolicy::from_config(&config, work).unwrap();
        assert_eq!(
            p.rule_path(RuleKey::DmPolicy, None),
            "channels.whatsapp.accounts.work.dmPolicy"
        );
        assert_eq!(
            p.rule_path(RuleKey::AllowFrom, None),
            "channels.whatsapp.allowFrom"
        );
        assert_eq!(
            p.rule_path(RuleKey::PairingMaxPending, None),
            "channels.whatsapp.accounts.work.pairing.maxPending"
        );
        let req = AccessRequest::dm(
            p.account.clone(),
            Sender::phone(Phone::parse("+15551110001").unwrap()),
            0,
        );
        let d = decide(&req, &p, &AllowSnapshot::new(), 0);
        assert_eq!(d.reason(), "dm_disabled");

        let home = config
            .resolve_account(&AccountId::parse("home").unwrap())
            .unwrap();
        let p = AccessPolicy::from_config(&config, home).unwrap();
        // Nothing written at the account: the channel's values and paths, pairing by default.
        assert_eq!(p.dm_policy, DmPolicy::Pairing);
        assert_eq!(
            p.rule_path(RuleKey::DmPolicy, None),
            "channels.whatsapp.dmPolicy"
        );
        assert_eq!(p.pairing.max_pending, 3);
    }
}
