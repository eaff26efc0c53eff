//! Checked, merged, defaulted settings: what the runtime crates read.
//!
//! Every value here is typed (phones are [`Phone`], regexes are compiled, paths are
//! [`PathBuf`]) and every default is filled in, so a consumer never re-parses or guesses.
//! All types serialize to the camelCase JSON that `wagw config check --json` prints.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;
use serde::{Serialize, Serializer};
use wagw_core::{
    AccountId, AckGroupMode, ChunkMode, DmPolicy, DmScope, GroupPolicy, Jid, Lid, Phone,
};

pub use crate::file::{PeerKind, SinkKind, Transport};

/// One `allowFrom` / `groupAllowFrom` entry: everyone, one phone number, or one LID
/// (`<digits>@lid`, for contacts WhatsApp only shows by LID).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AllowEntry {
    /// `"*"`: everyone.
    Any,
    /// One number, normalized.
    Phone(Phone),
    /// One LID; matches a sender with that LID, or whose phone maps to it.
    Lid(Lid),
}

impl AllowEntry {
    /// True when this entry admits `phone`.
    pub fn admits(&self, phone: &Phone) -> bool {
        match self {
            AllowEntry::Any => true,
            AllowEntry::Phone(p) => p == phone,
            AllowEntry::Lid(_) => false,
        }
    }
}

impl fmt::Display for AllowEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowEntry::Any => f.write_str("*"),
            AllowEntry::Phone(p) => write!(f, "{p}"),
            AllowEntry::Lid(l) => write!(f, "{l}"),
        }
    }
}

impl Serialize for AllowEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A `groups` key: every group (`"*"`) or one group JID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupKey {
    /// `"*"`: settings for every group not listed by JID.
    Any,
    /// One group.
    Group(Jid),
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupKey::Any => f.write_str("*"),
            GroupKey::Group(j) => write!(f, "{j}"),
        }
    }
}

impl Serialize for GroupKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `groups.<key>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupSettings {
    /// Require a mention in this group; `None` leaves it to the group's activation (mention).
    pub require_mention: Option<bool>,
}

/// `dms.<phone>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DmSettings {
    /// History limit for this sender's DMs, in user turns.
    pub history_limit: Option<u32>,
}

/// `ackReaction`, merged field by field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AckReaction {
    /// The emoji; `None` (absent or empty in the config) disables ack reactions.
    pub emoji: Option<String>,
    /// React in DMs (default true).
    pub direct: bool,
    /// When to react in groups (default mentions).
    pub group: AckGroupMode,
}

/// `actions`, merged field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Actions {
    /// Agent may react (default true).
    pub reactions: bool,
    /// Agent may send polls (default true).
    pub polls: bool,
    /// Agent may send to other chats (default true).
    pub send_message: bool,
}

/// `pairing`, merged field by field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PairingSettings {
    /// Code lifetime in minutes (default 60).
    pub ttl_minutes: u32,
    /// Pending requests per account (default 3).
    pub max_pending: u32,
    /// Custom reply text (`{code}`, `{phone}`); `None` uses the built-in text.
    pub reply_template: Option<String>,
}

impl PairingSettings {
    /// The code lifetime.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(u64::from(self.ttl_minutes) * 60)
    }
}

/// `pacing`, merged field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PacingSettings {
    /// Sustained messages per minute (default 20).
    pub messages_per_minute: u32,
    /// Burst size (default 5).
    pub burst: u32,
    /// Minimum gap per chat, ms (default 1000).
    pub per_chat_min_interval_ms: u64,
    /// New chats per day (default 50).
    pub new_chats_per_day: u32,
    /// Show typing before replies (default true).
    pub typing_indicator: bool,
}

/// One account's settings after merging: account value where the account sets it, else the
/// channel value, else the default. Plain data; a runtime uses it as is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedAccount {
    /// The account id (`default` for the implicit account).
    pub account_id: AccountId,
    /// Display name.
    pub name: Option<String>,
    /// Whether the account runs (default true).
    pub enabled: bool,
    /// True for the default account (used when `--account` is not given).
    pub is_default: bool,
    /// Real network or simulator.
    pub transport: Transport,
    /// Protocol state folder (default `<dataDir>/accounts/<id>`).
    pub auth_dir: PathBuf,
    /// DM policy.
    pub dm_policy: DmPolicy,
    /// DM allowlist (normalized; may contain `*`). Empty when not configured.
    pub allow_from: Vec<AllowEntry>,
    /// Group policy.
    pub group_policy: GroupPolicy,
    /// Group sender allowlist; `None` when not configured (access control then falls back
    /// to `allowFrom`, as the reference does).
    pub group_allow_from: Option<Vec<AllowEntry>>,
    /// Per-group settings (the whole map comes from the account if it sets one).
    pub groups: BTreeMap<GroupKey, GroupSettings>,
    /// Self-chat mode; `None` means "infer from allowFrom containing the linked number".
    pub self_chat_mode: Option<bool>,
    /// Send read receipts (default true).
    pub send_read_receipts: bool,
    /// Ack reaction.
    pub ack_reaction: AckReaction,
    /// Max characters per outbound text message (default 4000).
    pub text_chunk_limit: u32,
    /// Chunking mode (default length).
    pub chunk_mode: ChunkMode,
    /// Inbound media cap, MB (default 50).
    pub media_max_mb: u32,
    /// Outbound media cap per item, MB (`agents.defaults.mediaMaxMb`, default 5).
    pub outbound_media_max_mb: u32,
    /// Group history limit (account, channel, `messages.groupChat.historyLimit`, else 50).
    pub history_limit: u32,
    /// DM history limit in user turns; `None` = unlimited.
    pub dm_history_limit: Option<u32>,
    /// Per-sender DM settings.
    pub dms: BTreeMap<Phone, DmSettings>,
    /// Inbound prefix (account, channel, deprecated `messages.messagePrefix`).
    pub message_prefix: Option<String>,
    /// Outbound reply prefix (`messages.responsePrefix`).
    pub response_prefix: Option<String>,
    /// Inbound debounce, ms (account, channel, `messages.inbound.debounceMs`, else 0).
    pub debounce_ms: u64,
    /// Chat-initiated config writes allowed (default true).
    pub config_writes: bool,
    /// Tool action gates.
    pub actions: Actions,
    /// Pairing settings.
    pub pairing: PairingSettings,
    /// Outbound pacing.
    pub pacing: PacingSettings,
    /// WhatsApp Business Cloud API settings; present exactly when `transport` is `cloud`.
    /// Secrets serialize as `<redacted>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud: Option<CloudSettings>,
}

/// A Cloud API credential: `Debug`, `Display` and JSON show `<redacted>`;
/// [`CloudSecret::expose`] gives the value to the one place that sends or compares it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct CloudSecret(String);

impl CloudSecret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> CloudSecret {
        CloudSecret(value.into())
    }

    /// The credential itself. Never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CloudSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for CloudSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for CloudSecret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// `cloud`, merged key by key (account, channel, `WHATSAPP_*` for the default account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudSettings {
    /// The access token.
    pub access_token: CloudSecret,
    /// The phone number id.
    pub phone_number_id: String,
    /// The WhatsApp Business Account id.
    pub business_account_id: Option<String>,
    /// The webhook verify token.
    pub verify_token: Option<CloudSecret>,
    /// The app secret that signs webhooks.
    pub app_secret: Option<CloudSecret>,
    /// The Graph API prefix including its version, without a trailing slash.
    pub api_base: String,
}

impl ResolvedAccount {
    /// True when `phone` is in `allowFrom` (or `allowFrom` has `*`).
    pub fn allows_dm_from(&self, phone: &Phone) -> bool {
        self.allow_from.iter().any(|e| e.admits(phone))
    }
}

/// `web.reconnect` after defaults and clamps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconnectSettings {
    /// First delay, ms (≥ 250).
    pub initial_ms: u64,
    /// Longest delay, ms (≥ initialMs).
    pub max_ms: u64,
    /// Growth factor (1.1–10).
    pub factor: f64,
    /// Jitter share (0–1).
    pub jitter: f64,
    /// Attempts before giving up; 0 = forever.
    pub max_attempts: u32,
    /// Silence, ms, after which the link is probed; 0 = never (else ≥ 60000).
    pub idle_probe_after_ms: u64,
    /// Probe deadline, ms (≥ 1000).
    pub probe_timeout_ms: u64,
    /// Connect attempt deadline, ms (≥ 5000).
    pub connect_timeout_ms: u64,
    /// Wait for a temporary ban without a known expiry, ms (≥ 60000).
    pub ban_default_wait_ms: u64,
}

impl Default for ReconnectSettings {
    fn default() -> Self {
        ReconnectSettings {
            initial_ms: 2000,
            max_ms: 30000,
            factor: 1.8,
            jitter: 0.25,
            max_attempts: 12,
            idle_probe_after_ms: 30 * 60 * 1000,
            probe_timeout_ms: 30_000,
            connect_timeout_ms: 60_000,
            ban_default_wait_ms: 60 * 60 * 1000,
        }
    }
}

/// `web`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebSettings {
    /// Start accounts at all (default true).
    pub enabled: bool,
    /// Heartbeat interval, seconds (default 60).
    pub heartbeat_seconds: u64,
    /// Reconnect backoff.
    pub reconnect: ReconnectSettings,
}

/// `gateway.agents[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentSink {
    /// The agent id.
    pub id: String,
    /// The sink kind.
    #[serde(rename = "type")]
    pub kind: SinkKind,
    /// Webhook URL.
    pub url: Option<String>,
    /// Webhook signing secret (never printed).
    #[serde(serialize_with = "redact")]
    pub secret: Option<String>,
    /// Delivery timeout, ms; `None` leaves it to the gateway's default.
    pub timeout_ms: Option<u64>,
    /// Delivery attempts; `None` leaves it to the gateway's default.
    pub max_attempts: Option<u32>,
    /// Program and arguments (exec).
    pub command: Vec<String>,
    /// Extra environment (exec).
    pub env: BTreeMap<String, String>,
    /// Working directory (exec).
    pub cwd: Option<String>,
}

fn redact<S: Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str("<redacted>"),
        None => s.serialize_none(),
    }
}

/// `gateway`, with environment overrides applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySettings {
    /// HTTP listen address (default 127.0.0.1:7420).
    pub listen: SocketAddr,
    /// API bearer token (`WAGW_TOKEN`, else `gateway.token`); printed redacted.
    #[serde(serialize_with = "redact")]
    pub token: Option<String>,
    /// Data directory (`WAGW_DATA_DIR`, else `gateway.dataDir`, else XDG).
    pub data_dir: PathBuf,
    /// Agent sinks.
    pub agents: Vec<AgentSink>,
}

/// `session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionSettings {
    /// DM session scope (default main).
    pub dm_scope: DmScope,
    /// Main session key (default `main`).
    pub main_key: String,
    /// `session.scope: "global"`: every chat shares the session `global`.
    pub global: bool,
    /// `session.idleMinutes`: silence after which a session starts afresh.
    pub idle_minutes: Option<u64>,
    /// `session.identityLinks`, inverted: each WhatsApp identity (`+E.164` or `<digits>@lid`)
    /// to the canonical name its DMs' session keys use.
    pub identity_links: BTreeMap<String, String>,
}

/// `bindings[].match.peer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum PeerMatch {
    /// A DM with this phone number.
    Dm(Phone),
    /// This group.
    Group(Jid),
}

/// `bindings[].match.accountId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountMatch {
    /// `"*"`: any account.
    Any,
    /// One account.
    Account(AccountId),
}

impl Serialize for AccountMatch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AccountMatch::Any => s.serialize_str("*"),
            AccountMatch::Account(a) => s.serialize_str(a.as_str()),
        }
    }
}

fn serialize_regex<S: Serializer>(r: &Option<Regex>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.serialize_str(r.as_str()),
        None => s.serialize_none(),
    }
}

fn serialize_regexes<S: Serializer>(r: &[Regex], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(r.iter().map(Regex::as_str))
}

/// `bindings[].match`: every set condition must hold. `None` means "any".
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BindingMatch {
    /// The account (`None`: routing decides; the reference matches only `default`).
    pub account_id: Option<AccountMatch>,
    /// The chat.
    pub peer: Option<PeerMatch>,
    /// The sender.
    pub from: Option<Phone>,
    /// The group.
    pub group: Option<Jid>,
    /// The receiving account's number.
    pub to: Option<Phone>,
    /// The text pattern (compiled).
    #[serde(serialize_with = "serialize_regex")]
    pub text: Option<Regex>,
}

/// `bindings[]`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    /// Conditions.
    #[serde(rename = "match")]
    pub match_: BindingMatch,
    /// Target agent.
    pub agent_id: String,
}

/// `agents.list[]`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentSettings {
    /// The agent id.
    pub id: String,
    /// Name override (else the top-level `identity.name`).
    pub identity_name: Option<String>,
    /// Emoji override.
    pub identity_emoji: Option<String>,
    /// Mention patterns for this agent (compiled, case-insensitive); empty means "use
    /// `messages.groupChat.mentionPatterns`".
    #[serde(serialize_with = "serialize_regexes")]
    pub mention_patterns: Vec<Regex>,
}

/// `messages`, `identity` and `agents.defaults`: message framing shared by all accounts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSettings {
    /// `messages.responsePrefix`.
    pub response_prefix: Option<String>,
    /// `messages.groupChat.mentionPatterns`, compiled case-insensitive.
    #[serde(serialize_with = "serialize_regexes")]
    pub mention_patterns: Vec<Regex>,
    /// `messages.envelope.timezone` (default `UTC`).
    pub envelope_timezone: String,
    /// `identity.name`.
    pub identity_name: Option<String>,
    /// `identity.emoji`.
    pub identity_emoji: Option<String>,
    /// `agents.list[]`.
    pub agents: Vec<AgentSettings>,
}

impl MessageSettings {
    /// The mention patterns for an agent: its own when it has some, else the global ones.
    pub fn mention_patterns_for(&self, agent_id: &str) -> &[Regex] {
        self.agents
            .iter()
            .find(|a| a.id == agent_id && !a.mention_patterns.is_empty())
            .map(|a| a.mention_patterns.as_slice())
            .unwrap_or(&self.mention_patterns)
    }
}

/// `media`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaSettings {
    /// Outbound URLs may reach private networks (default false).
    pub allow_private_networks: bool,
    /// Allowed local media folders.
    pub local_roots: Vec<PathBuf>,
    /// Inbound media retention, hours (default 24).
    pub retention_hours: u32,
}

/// A PostgreSQL URL (`storage.url` or `WAGW_DATABASE_URL`). It holds a password, so it
/// prints (`Display`, `Debug`, serialized) with the password replaced by `***`; only
/// [`DatabaseUrl::expose`] gives the URL itself, for connecting.
///
/// ```
/// let url = wagw_config::DatabaseUrl::new("postgres://wagw:s3cret@db:5432/wagw");
/// assert_eq!(url.to_string(), "postgres://wagw:***@db:5432/wagw");
/// assert_eq!(format!("{url:?}"), "DatabaseUrl(\"postgres://wagw:***@db:5432/wagw\")");
/// assert_eq!(url.expose(), "postgres://wagw:s3cret@db:5432/wagw");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL (not checked: [`crate::Config`] checks `storage.url` when loading).
    pub fn new(url: impl Into<String>) -> DatabaseUrl {
        DatabaseUrl(url.into())
    }

    /// The URL with its password, for connecting. Never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with the password (of the user part and of a `password=` parameter)
    /// replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }
}

/// `url` with any password replaced by `***`: the user part's (`user:password@`, up to the
/// last `@` before the query, so an unescaped `@` in a password is hidden too) and every
/// `password=` query parameter's.
pub fn redact_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let mut out = head[..scheme_end].to_owned();
    let rest = &head[scheme_end..];
    match rest.rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            match userinfo.split_once(':') {
                Some((user, _)) => {
                    out.push_str(user);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&rest[at..]);
        }
        None => out.push_str(rest),
    }
    if let Some(query) = query {
        out.push('?');
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_owned(),
            })
            .collect();
        out.push_str(&params.join("&"));
    }
    out
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Where `storage.url` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum StorageSource {
    /// SQLite files in the data directory (no URL anywhere).
    Default,
    /// `storage.url` in the config file.
    Config,
    /// The `WAGW_DATABASE_URL` environment variable (the file sets no `storage.url`).
    Environment,
}

/// `storage`, with `WAGW_DATABASE_URL` applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageSettings {
    /// The PostgreSQL database every store lives in; `None`: SQLite files in the data
    /// directory. Printed with the password redacted.
    pub url: Option<DatabaseUrl>,
    /// Where the URL came from.
    pub source: StorageSource,
}

impl StorageSettings {
    /// `"postgresql"` or `"sqlite"`.
    pub fn engine(&self) -> &'static str {
        if self.url.is_some() {
            "postgresql"
        } else {
            "sqlite"
        }
    }
}

#[cfg(test)]
mod storage_tests {
    use super::redact_url;

    #[test]
    fn passwords_never_survive_redaction() {
        for (url, want) in [
            ("postgres://u:pw@h/db", "postgres://u:***@h/db"),
            ("postgresql://u:p@w@h:5/db", "postgresql://u:***@h:5/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("postgres://h/db", "postgres://h/db"),
            (
                "postgres://h/db?user=u&password=pw&sslmode=disable",
                "postgres://h/db?user=u&password=***&sslmode=disable",
            ),
            ("postgres://u:a/b@h/db", "postgres://u:***@h/db"),
        ] {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }
}
