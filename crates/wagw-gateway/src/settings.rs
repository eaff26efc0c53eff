//! What the runtime needs from the configuration, per gateway and per account.

use std::path::PathBuf;
use std::time::Duration;

use wagw_core::{AccountId, AckGroupMode};
use wagw_reconnect::ReconnectPolicy;

use crate::transport::TransportSettings;

/// Runtime knobs that are not user configuration (sizing, deadlines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeOptions {
    /// Turns processed at once across all chats and accounts (default 64).
    pub max_concurrent_turns: usize,
    /// Messages queued per account before reading the socket pauses (default 10,000).
    pub inbox_capacity: u32,
    /// How long shutdown waits for in-flight turns (default 10 s).
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

/// `ackReaction` for one account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AckReactionSettings {
    /// The emoji; empty turns the feature off (the default).
    pub emoji: String,
    /// React in DMs (default true).
    pub direct: bool,
    /// When to react in groups (default `mentions`).
    pub group: AckGroupMode,
}

/// `actions.*` gates for the agent tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionGates {
    /// `actions.reactions` (default true).
    pub reactions: bool,
    /// `actions.polls` (default true).
    pub polls: bool,
}

impl Default for ActionGates {
    fn default() -> Self {
        ActionGates {
            reactions: true,
            polls: true,
        }
    }
}

/// One account as the runtime sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountSettings {
    /// The account id.
    pub id: AccountId,
    /// `accounts.<id>.enabled` (default true).
    pub enabled: bool,
    /// What its transport is built from; a change restarts the connection.
    pub transport: TransportSettings,
    /// `sendReadReceipts` (default true).
    pub send_read_receipts: bool,
    /// `ackReaction`.
    pub ack_reaction: AckReactionSettings,
    /// `actions`.
    pub actions: ActionGates,
    /// Inbound media cap in MB (`mediaMaxMb`, default 50).
    pub media_max_mb: u64,
}

impl AccountSettings {
    /// An enabled account with every default, its protocol state under
    /// `<data_dir>/accounts/<id>`.
    pub fn new(id: AccountId, data_dir: &std::path::Path) -> AccountSettings {
        AccountSettings {
            transport: TransportSettings {
                auth_dir: data_dir.join("accounts").join(id.as_str()),
                name: None,
            },
            id,
            enabled: true,
            send_read_receipts: true,
            ack_reaction: AckReactionSettings {
                emoji: String::new(),
                direct: true,
                group: AckGroupMode::Mentions,
            },
            actions: ActionGates::default(),
            media_max_mb: 50,
        }
    }
}

/// Everything the runtime reads from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewaySettings {
    /// The data directory (`gateway.dataDir`).
    pub data_dir: PathBuf,
    /// `web.enabled`: false starts no accounts.
    pub enabled: bool,
    /// `web.heartbeatSeconds` (default 60).
    pub heartbeat: Duration,
    /// `media.retentionHours` for saved inbound media (default 24).
    pub media_retention: Duration,
    /// `web.reconnect` (backoff, attempts, probes); `heartbeat` overrides its heartbeat.
    pub reconnect: ReconnectPolicy,
    /// The accounts.
    pub accounts: Vec<AccountSettings>,
}

impl GatewaySettings {
    /// Settings with one implicit `default` account and every default.
    pub fn single_account(data_dir: impl Into<PathBuf>) -> GatewaySettings {
        let data_dir = data_dir.into();
        GatewaySettings {
            accounts: vec![AccountSettings::new(
                AccountId::default_account(),
                &data_dir,
            )],
            data_dir,
            enabled: true,
            heartbeat: Duration::from_secs(60),
            media_retention: Duration::from_secs(24 * 3600),
            reconnect: ReconnectPolicy::default(),
        }
    }

    /// The settings of `account`, if configured.
    pub fn account(&self, account: &AccountId) -> Option<&AccountSettings> {
        self.accounts.iter().find(|a| &a.id == account)
    }
}
