//! What the runtime reads from the configuration, derived once per load (and per reload)
//! from a [`wagw_config::Config`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wagw_access::AccessPolicy;
use wagw_config::{AllowEntry, Config, Env, ResolvedAccount};
use wagw_core::AccountId;
use wagw_normalize::{EnvelopeSettings, EnvelopeTimezone, MentionPatterns, NormalizeSettings};
use wagw_reconnect::ReconnectPolicy;

use crate::error::GatewayError;
use crate::transport::TransportSettings;

/// Runtime knobs that are not user configuration (sizing, deadlines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeOptions {
    /// Turns processed at once across all chats and accounts (default 64).
    pub max_concurrent_turns: usize,
    /// Messages queued per account before reading the socket pauses (default 10,000).
    pub inbox_capacity: u32,
    /// How long [`Gateway::shutdown`](crate::Gateway::shutdown) may take in all: in-flight
    /// turns get it minus 2 s, the acknowledgements, socket close and flush the rest (default 10 s).
    pub shutdown_deadline: Duration,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            max_concurrent_turns: 64,
            inbox_capacity: 10_000,
            shutdown_deadline: Duration::from_secs(10),
        }
    }
}

/// One account as the runtime sees it: the resolved config view and its transport settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountSettings {
    /// The account id.
    pub id: AccountId,
    /// What its transport is built from; a change restarts the connection.
    pub transport: TransportSettings,
    /// The merged, defaulted account view (`channels.whatsapp` + `accounts.<id>`).
    pub resolved: ResolvedAccount,
    /// The access policy (`dmPolicy`, `allowFrom`, groups, pairing) with its config paths.
    pub access: AccessPolicy,
}

impl AccountSettings {
    fn from_resolved(
        config: &Config,
        resolved: &ResolvedAccount,
    ) -> Result<AccountSettings, GatewayError> {
        Ok(AccountSettings {
            access: AccessPolicy::from_config(config, resolved)?,
            id: resolved.account_id.clone(),
            transport: TransportSettings {
                auth_dir: resolved.auth_dir.clone(),
                name: resolved.name.clone(),
                kind: resolved.transport,
                cloud: resolved.cloud.clone(),
            },
            resolved: resolved.clone(),
        })
    }
}

/// Everything the runtime reads from the configuration.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// The configuration these settings were derived from (messages, bindings, session).
    pub config: Arc<Config>,
    /// The data directory (`gateway.dataDir`).
    pub data_dir: PathBuf,
    /// `web.enabled`: false starts no accounts.
    pub enabled: bool,
    /// `web.heartbeatSeconds`.
    pub heartbeat: Duration,
    /// `media.retentionHours` for saved inbound media.
    pub media_retention: Duration,
    /// `web.reconnect` as the reconnect policy.
    pub reconnect: ReconnectPolicy,
    /// The accounts, enabled or not.
    pub accounts: Vec<AccountSettings>,
    /// What normalization needs (envelope, session scope, prefixes, mention patterns).
    pub normalize: NormalizeSettings,
}

impl GatewaySettings {
    /// Derives the runtime settings from a loaded configuration.
    pub fn from_config(config: &Config) -> Result<GatewaySettings, GatewayError> {
        let web = config.web();
        let reconnect = ReconnectPolicy {
            initial_ms: web.reconnect.initial_ms,
            max_ms: web.reconnect.max_ms,
            factor: web.reconnect.factor,
            jitter: web.reconnect.jitter,
            max_attempts: web.reconnect.max_attempts,
            heartbeat_seconds: web.heartbeat_seconds.max(1),
            idle_probe_after_ms: web.reconnect.idle_probe_after_ms,
            probe_timeout_ms: web.reconnect.probe_timeout_ms,
            connect_timeout_ms: web.reconnect.connect_timeout_ms,
            ban_default_wait_ms: web.reconnect.ban_default_wait_ms,
        };
        Ok(GatewaySettings {
            data_dir: config.gateway().data_dir.clone(),
            enabled: web.enabled,
            heartbeat: Duration::from_secs(web.heartbeat_seconds.max(1)),
            media_retention: Duration::from_secs(u64::from(config.media().retention_hours) * 3600),
            reconnect,
            accounts: config
                .accounts()
                .iter()
                .map(|a| AccountSettings::from_resolved(config, a))
                .collect::<Result<_, _>>()?,
            normalize: normalize_settings(config)?,
            config: Arc::new(config.clone()),
        })
    }

    /// Settings from JSON5 config text, with `data_dir` as `gateway.dataDir` unless the text
    /// sets one (tests, demos, embedders without a config file).
    pub fn from_json5(
        text: &str,
        data_dir: impl Into<PathBuf>,
    ) -> Result<GatewaySettings, GatewayError> {
        let data_dir: PathBuf = data_dir.into();
        let env = Env::from_pairs([("WAGW_DATA_DIR", data_dir.to_string_lossy().into_owned())]);
        let config = Config::from_json5_str(text, &env)
            .map_err(|e| GatewayError::InvalidRequest(format!("configuration: {e}")))?;
        GatewaySettings::from_config(&config)
    }

    /// Settings with one implicit `default` account and every default.
    pub fn single_account(data_dir: impl Into<PathBuf>) -> Result<GatewaySettings, GatewayError> {
        GatewaySettings::from_json5("{}", data_dir)
    }

    /// The settings of `account`, if configured.
    pub fn account(&self, account: &AccountId) -> Option<&AccountSettings> {
        self.accounts.iter().find(|a| &a.id == account)
    }

    /// The settings of `account`, mutable (for building variants in code and tests).
    pub fn account_mut(&mut self, account: &AccountId) -> Option<&mut AccountSettings> {
        self.accounts.iter_mut().find(|a| &a.id == account)
    }
}

/// The IANA name of the host's time zone, for `messages.envelope.timezone: "local"`: `TZ`
/// when it names a zone, else the zone `/etc/localtime` links to, else `/etc/timezone`.
/// `None` when none of them says (normalization then refuses `local` with what to set).
fn host_zone() -> Option<String> {
    fn after_zoneinfo(path: &std::path::Path) -> Option<String> {
        let path = path.to_str()?;
        let (_, zone) = path.rsplit_once("zoneinfo/")?;
        (!zone.is_empty()).then(|| zone.to_string())
    }
    if let Ok(tz) = std::env::var("TZ") {
        let tz = tz.trim().trim_start_matches(':');
        if tz.starts_with('/') {
            if let Some(zone) = after_zoneinfo(std::path::Path::new(tz)) {
                return Some(zone);
            }
        } else if !tz.is_empty() {
            return Some(tz.to_string());
        }
    }
    if let Some(zone) = std::fs::read_link("/etc/localtime")
        .ok()
        .and_then(|target| after_zoneinfo(&target))
    {
        return Some(zone);
    }
    std::fs::read_to_string("/etc/timezone")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Maps the config onto normalization's settings.
fn normalize_settings(config: &Config) -> Result<NormalizeSettings, GatewayError> {
    let messages = config.messages();
    let compile = |patterns: &[regex::Regex]| {
        MentionPatterns::compile(patterns.iter().map(regex::Regex::as_str))
            .map_err(|e| GatewayError::InvalidRequest(format!("mention patterns: {e}")))
    };
    let timezone = EnvelopeTimezone::parse(&messages.envelope_timezone, host_zone().as_deref())
        .map_err(|e| GatewayError::InvalidRequest(format!("messages.envelope.timezone: {e}")))?;
    let mut agents = HashMap::new();
    for agent in &messages.agents {
        agents.insert(
            agent.id.trim().to_lowercase(),
            wagw_normalize::AgentSettings {
                name: agent
                    .identity_name
                    .clone()
                    .or_else(|| messages.identity_name.clone()),
                emoji: agent
                    .identity_emoji
                    .clone()
                    .or_else(|| messages.identity_emoji.clone()),
                mention_patterns: if agent.mention_patterns.is_empty() {
                    None
                } else {
                    Some(compile(&agent.mention_patterns)?)
                },
            },
        );
    }
    // The default agent gets the top-level identity when it is not listed.
    agents
        .entry("main".to_owned())
        .or_insert_with(|| wagw_normalize::AgentSettings {
            name: messages.identity_name.clone(),
            emoji: messages.identity_emoji.clone(),
            mention_patterns: None,
        });
    let accounts = config
        .accounts()
        .iter()
        .map(|a| (a.account_id.clone(), normalize_account(a)))
        .collect();
    Ok(NormalizeSettings {
        envelope: EnvelopeSettings {
            timezone,
            ..EnvelopeSettings::default()
        },
        dm_scope: config.session().dm_scope,
        main_key: config.session().main_key.clone(),
        global_session: config.session().global,
        identity_links: config
            .session()
            .identity_links
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        legacy_message_prefix: None,
        group_mention_patterns: if messages.mention_patterns.is_empty() {
            None
        } else {
            Some(compile(&messages.mention_patterns)?)
        },
        agents,
        accounts,
        account_defaults: wagw_normalize::AccountSettings::default(),
    })
}

fn normalize_account(a: &ResolvedAccount) -> wagw_normalize::AccountSettings {
    wagw_normalize::AccountSettings {
        message_prefix: a.message_prefix.clone(),
        allow_from: a
            .allow_from
            .iter()
            .filter_map(|e| match e {
                AllowEntry::Phone(p) => Some(p.clone()),
                // Normalization's allow list is phones only (prefix and self-chat defaults).
                _ => None,
            })
            .collect(),
        allow_from_any: a.allow_from.contains(&AllowEntry::Any),
        self_chat_mode: a.self_chat_mode,
        history_limit: a.history_limit as usize,
        dm_history_limit: a.dm_history_limit,
        dm_history_limits: a
            .dms
            .iter()
            .filter_map(|(phone, dm)| dm.history_limit.map(|l| (phone.clone(), l)))
            .collect(),
    }
}
