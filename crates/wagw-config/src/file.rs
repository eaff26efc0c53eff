//! The config file as written: every key optional, values unchecked beyond their JSON type.
//!
//! These types are the schema. [`crate::Config`] turns them into checked, merged,
//! defaulted settings; the JSON Schema (`wagw config schema`) is derived from them, and so is
//! the list of keys the loader accepts, so the two cannot drift apart.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use schemars::r#gen::SchemaGenerator;
use schemars::schema::{InstanceType, Schema, SchemaObject};
use serde::{Deserialize, Serialize};
use wagw_core::{AckGroupMode, ChunkMode, DmPolicy, DmScope, GroupPolicy};

fn string_enum(values: &[&str], description: &str) -> Schema {
    SchemaObject {
        instance_type: Some(InstanceType::String.into()),
        enum_values: Some(values.iter().map(|v| serde_json::json!(v)).collect()),
        metadata: Some(Box::new(schemars::schema::Metadata {
            description: Some(description.to_string()),
            ..Default::default()
        })),
        ..Default::default()
    }
    .into()
}

/// The words each policy enum accepts, as the JSON Schema lists them. A unit test checks
/// them against the `wagw-core` enums.
pub(crate) const DM_POLICIES: &[&str] = &["pairing", "allowlist", "open", "disabled", "closed"];
pub(crate) const GROUP_POLICIES: &[&str] = &["open", "allowlist", "disabled"];
pub(crate) const CHUNK_MODES: &[&str] = &["length", "newline"];
pub(crate) const DM_SCOPES: &[&str] = &[
    "main",
    "per-peer",
    "per-channel-peer",
    "per-account-channel-peer",
];
pub(crate) const ACK_GROUP_MODES: &[&str] = &["always", "mentions", "never"];

fn dm_policy_schema(_: &mut SchemaGenerator) -> Schema {
    string_enum(
        DM_POLICIES,
        "Who may start a DM: pairing (default), allowlist, open (needs \"*\" in allowFrom), disabled (alias closed).",
    )
}
fn group_policy_schema(_: &mut SchemaGenerator) -> Schema {
    string_enum(
        GROUP_POLICIES,
        "Which group messages are answered: allowlist (default), open, disabled.",
    )
}
fn chunk_mode_schema(_: &mut SchemaGenerator) -> Schema {
    string_enum(
        CHUNK_MODES,
        "How long replies are split: length (default) or newline.",
    )
}
fn dm_scope_schema(_: &mut SchemaGenerator) -> Schema {
    string_enum(DM_SCOPES, "How DMs map to agent sessions (default main).")
}
fn ack_group_schema(_: &mut SchemaGenerator) -> Schema {
    string_enum(
        ACK_GROUP_MODES,
        "When to react in groups: always, mentions (default), never.",
    )
}

/// The whole config file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "wagw configuration")]
pub struct ConfigFile {
    /// The JSON Schema this file follows (editors use it; wagw ignores it).
    #[serde(rename = "$schema", skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Messaging channels; wagw has one: `whatsapp`.
    pub channels: Option<ChannelsSection>,
    /// How messages are framed for the agent and for WhatsApp.
    pub messages: Option<MessagesSection>,
    /// Agent defaults and per-agent settings.
    pub agents: Option<AgentsSection>,
    /// The assistant's identity.
    pub identity: Option<IdentitySection>,
    /// How conversations map to agent sessions.
    pub session: Option<SessionSection>,
    /// The WhatsApp Web connection: on/off, heartbeat, reconnect backoff.
    pub web: Option<WebSection>,
    /// Routing rules: the first binding whose match fits picks the agent.
    pub bindings: Option<Vec<BindingEntry>>,
    /// The daemon: HTTP listen address, API token, data directory, agent sinks.
    pub gateway: Option<GatewaySection>,
    /// Media fetching and retention.
    pub media: Option<MediaSection>,
    /// Where wagw keeps its state: SQLite files in the data directory (default) or a
    /// PostgreSQL database.
    pub storage: Option<StorageSection>,
    /// Chat commands: `/config` from the owner (off by default).
    pub commands: Option<CommandsSection>,
    /// Environment values, as other gateways' configs carry them (`WHATSAPP_ACCESS_TOKEN`,
    /// ...). A value here applies only when the process environment does not set the name.
    pub env: Option<EnvSection>,
}

/// `commands`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommandsSection {
    /// Let owners read and change the config from a chat with `/config show|get|set|unset`
    /// (default false; `channels.whatsapp.configWrites: false` still blocks set and unset).
    pub config: Option<bool>,
    /// Command authorization follows the allowlists (default true); false authorizes every
    /// sender that reaches the agent (`commandAuthorized` in the turn).
    pub use_access_groups: Option<bool>,
}

/// `env`: names and values; `Debug` shows the names only (values are often credentials).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct EnvSection(pub BTreeMap<String, String>);

impl std::fmt::Debug for EnvSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// `storage`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StorageSection {
    /// A PostgreSQL database for every store (`postgres://user:password@host:5432/dbname`
    /// or `postgresql://…`); absent: `WAGW_DATABASE_URL`, else SQLite files in the data
    /// directory. The password is never printed.
    pub url: Option<String>,
}

/// `channels`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChannelsSection {
    /// The WhatsApp channel.
    pub whatsapp: Option<WhatsAppSection>,
}

/// Declares the settings shared by `channels.whatsapp` and `channels.whatsapp.accounts.<id>`,
/// plus the extra fields of each.
macro_rules! whatsapp_settings {
    ($(#[$meta:meta])* pub struct $name:ident { $($extra:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        pub struct $name {
            /// Who may start a DM: `pairing` (default), `allowlist`, `open`, `disabled`.
            #[schemars(schema_with = "dm_policy_schema")]
            pub dm_policy: Option<DmPolicy>,
            /// Phone numbers allowed to DM (any written form; `"*"` allows everyone).
            pub allow_from: Option<Vec<String>>,
            /// Group policy: `allowlist` (default), `open`, `disabled`.
            #[schemars(schema_with = "group_policy_schema")]
            pub group_policy: Option<GroupPolicy>,
            /// Phone numbers of group members allowed to trigger the agent (`"*"` for all).
            pub group_allow_from: Option<Vec<String>>,
            /// Per-group settings keyed by group JID, or `"*"` for every group.
            pub groups: Option<BTreeMap<String, GroupEntry>>,
            /// The linked number is the owner's personal number (self-chat safeguards).
            pub self_chat_mode: Option<bool>,
            /// Mark accepted inbound messages as read (default true).
            pub send_read_receipts: Option<bool>,
            /// React with an emoji as soon as a message is accepted.
            pub ack_reaction: Option<AckReactionEntry>,
            /// Longest outbound text message in characters (default 4000).
            pub text_chunk_limit: Option<u32>,
            /// How long replies are split: `length` (default) or `newline`.
            #[schemars(schema_with = "chunk_mode_schema")]
            pub chunk_mode: Option<ChunkMode>,
            /// Inbound media size cap in MB (default 50).
            pub media_max_mb: Option<u32>,
            /// Group messages kept as context since the last reply (default 50; 0 disables).
            pub history_limit: Option<u32>,
            /// DM history limit in user turns (default unlimited).
            pub dm_history_limit: Option<u32>,
            /// Per-sender DM settings keyed by phone number.
            pub dms: Option<BTreeMap<String, DmEntry>>,
            /// Text put in front of every inbound message the agent sees.
            pub message_prefix: Option<String>,
            /// Wait this long for more messages from the same chat before delivering (ms).
            pub debounce_ms: Option<u64>,
            /// Allow chat commands to change the config (default true).
            pub config_writes: Option<bool>,
            /// Gates for agent tool actions on WhatsApp.
            pub actions: Option<ActionsEntry>,
            /// Accepted for compatibility with other gateways; has no effect (wagw sends whole replies).
            pub block_streaming: Option<bool>,
            /// Pairing codes for unknown senders.
            pub pairing: Option<PairingEntry>,
            /// Outbound pacing (anti-ban budget).
            pub pacing: Option<PacingEntry>,
            $($extra)*
        }
    };
}

whatsapp_settings! {
    /// `channels.whatsapp`: defaults for every account, and the accounts.
    pub struct WhatsAppSection {
        /// Linked WhatsApp accounts by id. None configured means one implicit `default` account.
        pub accounts: Option<BTreeMap<String, AccountSection>>,
        /// The transport of every account that does not set its own: `whatsapp` (default),
        /// `cloud` or `sim`.
        pub transport: Option<Transport>,
        /// WhatsApp Business Cloud API settings every `cloud` account inherits key by key.
        pub cloud: Option<CloudEntry>,
    }
}

whatsapp_settings! {
    /// `channels.whatsapp.accounts.<id>`: one linked account. A key set here wins over the
    /// same key in `channels.whatsapp`; a key not set here inherits it.
    pub struct AccountSection {
        /// Run this account (default true).
        pub enabled: Option<bool>,
        /// Display name for status output.
        pub name: Option<String>,
        /// Where this account's protocol state lives (default `<dataDir>/accounts/<id>`).
        pub auth_dir: Option<String>,
        /// `whatsapp` (default) for the linked-device Web protocol, `cloud` for Meta's
        /// WhatsApp Business Cloud API, `sim` for the built-in simulator.
        pub transport: Option<Transport>,
        /// WhatsApp Business Cloud API settings (with `transport: "cloud"`); keys not set
        /// here come from `channels.whatsapp.cloud`.
        pub cloud: Option<CloudEntry>,
    }
}

/// `cloud`: a WhatsApp Business Cloud API number (see docs/cloud-api.md). `Debug` hides
/// the credentials.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloudEntry {
    /// Access token (a System User token does not expire); else `WHATSAPP_ACCESS_TOKEN`.
    pub access_token: Option<String>,
    /// The phone number's id in Meta's dashboard (not the number); else
    /// `WHATSAPP_PHONE_NUMBER_ID`.
    pub phone_number_id: Option<String>,
    /// The WhatsApp Business Account id; else `WHATSAPP_BUSINESS_ACCOUNT_ID`.
    pub business_account_id: Option<String>,
    /// The token Meta's webhook verification must present; else
    /// `WHATSAPP_WEBHOOK_VERIFY_TOKEN`.
    pub verify_token: Option<String>,
    /// The app secret that signs webhooks (`X-Hub-Signature-256`); else `WHATSAPP_APP_SECRET`.
    pub app_secret: Option<String>,
    /// The Graph API prefix including its version (default `https://graph.facebook.com/v23.0`).
    pub api_base: Option<String>,
}

impl std::fmt::Debug for CloudEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("CloudEntry")
            .field("access_token", &hidden(&self.access_token))
            .field("phone_number_id", &self.phone_number_id)
            .field("business_account_id", &self.business_account_id)
            .field("verify_token", &hidden(&self.verify_token))
            .field("app_secret", &hidden(&self.app_secret))
            .field("api_base", &self.api_base)
            .finish()
    }
}

/// How an account reaches WhatsApp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// The real WhatsApp Web network.
    #[default]
    Whatsapp,
    /// wagw's in-process simulated network (tests and demos).
    Sim,
    /// Meta's WhatsApp Business Cloud API (the account's `cloud` settings).
    Cloud,
}

/// `groups.<jid|*>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupEntry {
    /// Answer only when mentioned (activation `mention`); false answers every message.
    pub require_mention: Option<bool>,
}

/// `dms.<phone>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DmEntry {
    /// DM history limit for this sender, in user turns.
    pub history_limit: Option<u32>,
}

/// `ackReaction`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AckReactionEntry {
    /// The emoji; empty or absent disables ack reactions.
    pub emoji: Option<String>,
    /// React in DMs (default true).
    pub direct: Option<bool>,
    /// When to react in groups: `always`, `mentions` (default), `never`.
    #[schemars(schema_with = "ack_group_schema")]
    pub group: Option<AckGroupMode>,
}

/// `actions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionsEntry {
    /// Allow the agent to react to messages (default true).
    pub reactions: Option<bool>,
    /// Allow the agent to send polls (default true).
    pub polls: Option<bool>,
    /// Allow the agent to send messages to other chats (default true).
    pub send_message: Option<bool>,
}

/// `pairing`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PairingEntry {
    /// How long a pairing code stays valid, in minutes (default 60).
    pub ttl_minutes: Option<u32>,
    /// Pending requests per account before new senders are refused (default 3).
    pub max_pending: Option<u32>,
    /// The text sent with a pairing code; `{code}` and `{phone}` are replaced.
    pub reply_template: Option<String>,
}

/// `pacing`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PacingEntry {
    /// Sustained outbound messages per minute per account (default 20).
    pub messages_per_minute: Option<u32>,
    /// Messages that may go out at once before pacing applies (default 5).
    pub burst: Option<u32>,
    /// Minimum gap between two messages to one chat, ms (default 1000).
    pub per_chat_min_interval_ms: Option<u64>,
    /// New chats the account may start per day (default 50).
    pub new_chats_per_day: Option<u32>,
    /// Show "typing…" before replies (default true).
    pub typing_indicator: Option<bool>,
}

/// `messages`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessagesSection {
    /// Text put in front of every outbound reply (`""` for none).
    pub response_prefix: Option<String>,
    /// Deprecated: use `channels.whatsapp.messagePrefix`.
    pub message_prefix: Option<String>,
    /// Group chat settings.
    pub group_chat: Option<GroupChatEntry>,
    /// Inbound batching.
    pub inbound: Option<InboundEntry>,
    /// The envelope line the agent sees before each message.
    pub envelope: Option<EnvelopeEntry>,
}

/// `messages.groupChat` and `agents.list[].groupChat`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupChatEntry {
    /// Regular expressions (case-insensitive) that count as mentioning the agent.
    pub mention_patterns: Option<Vec<String>>,
    /// Group history limit used when the channel sets none (default 50).
    pub history_limit: Option<u32>,
}

/// `messages.inbound`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InboundEntry {
    /// Debounce used when the channel sets none, ms (default 0).
    pub debounce_ms: Option<u64>,
}

/// `messages.envelope`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvelopeEntry {
    /// Time zone for envelope timestamps: an IANA name such as `Europe/Berlin`, or `UTC` (default).
    pub timezone: Option<String>,
}

/// `agents`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentsSection {
    /// Defaults for every agent.
    pub defaults: Option<AgentDefaultsEntry>,
    /// Per-agent settings.
    pub list: Option<Vec<AgentEntry>>,
}

/// `agents.defaults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentDefaultsEntry {
    /// Outbound media cap per item in MB (default 5).
    pub media_max_mb: Option<u32>,
    /// Periodic heartbeat turns for the default agent (when no `agents.list[]` entry sets one).
    pub heartbeat: Option<HeartbeatEntry>,
}

/// `agents.defaults.heartbeat` and `agents.list[].heartbeat`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeartbeatEntry {
    /// How often: a duration such as `30m`, `1h`, `90s` (default `30m`; `0m` turns it off).
    pub every: Option<String>,
    /// Where a reply goes: `last` (default: the last DM sender), `none` (run, deliver
    /// nothing) or `whatsapp` (`to`, else the first `allowFrom` number).
    pub target: Option<String>,
    /// The recipient for `target: "whatsapp"`: a phone number or group JID.
    pub to: Option<String>,
    /// The session key the heartbeat turn carries (default: the agent's main session).
    pub session: Option<String>,
    /// The text the agent receives (default: the reference's heartbeat prompt).
    pub prompt: Option<String>,
    /// A model name passed through to the agent in the turn (`heartbeatModel`).
    pub model: Option<String>,
}

/// `agents.list[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentEntry {
    /// The agent id bindings refer to.
    #[schemars(required)]
    pub id: Option<String>,
    /// The agent's identity, overriding the top-level `identity`.
    pub identity: Option<IdentitySection>,
    /// Group chat settings for this agent (mention patterns).
    pub group_chat: Option<GroupChatEntry>,
    /// This agent's heartbeat (fields it leaves out come from `agents.defaults.heartbeat`).
    pub heartbeat: Option<HeartbeatEntry>,
}

/// `identity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentitySection {
    /// The assistant's name (self-chat replies are prefixed `[name]`).
    pub name: Option<String>,
    /// An emoji for the assistant.
    pub emoji: Option<String>,
}

/// `session`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionSection {
    /// `main` (default), `per-peer`, `per-channel-peer`, `per-account-channel-peer`.
    #[schemars(schema_with = "dm_scope_schema")]
    pub dm_scope: Option<DmScope>,
    /// The main session's key (default `main`).
    pub main_key: Option<String>,
    /// `per-sender` (default): sessions follow dmScope and groups; `global`: one session
    /// (`global`) for every chat.
    #[schemars(schema_with = "session_scope_schema")]
    pub scope: Option<String>,
    /// Minutes of silence after which a session starts afresh (the next turn says
    /// `sessionReset: true`). Unset: never.
    pub idle_minutes: Option<u64>,
    /// One person's identities on one session: `{ alice: ["+15551234567", "whatsapp:+447700900123", "1234567890@lid"] }`.
    /// Applies to the per-peer DM scopes; entries of other channels (`telegram:…`) are ignored.
    pub identity_links: Option<BTreeMap<String, Vec<String>>>,
}

fn session_scope_schema(_: &mut SchemaGenerator) -> Schema {
    string_enum(
        &["per-sender", "global"],
        "per-sender (default): one session per DM scope and group; global: one session for everything.",
    )
}

/// `web`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebSection {
    /// Start WhatsApp Web accounts at all (default true).
    pub enabled: Option<bool>,
    /// Seconds between connection health log lines (default 60).
    pub heartbeat_seconds: Option<u64>,
    /// Reconnect backoff.
    pub reconnect: Option<ReconnectEntry>,
}

/// `web.reconnect`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReconnectEntry {
    /// First delay, ms (default 2000; at least 250).
    pub initial_ms: Option<u64>,
    /// Longest delay, ms (default 30000; at least initialMs).
    pub max_ms: Option<u64>,
    /// Growth per attempt (default 1.8; 1.1 to 10).
    pub factor: Option<f64>,
    /// Random extra share of each delay (default 0.25; 0 to 1).
    pub jitter: Option<f64>,
    /// Attempts before giving up; 0 retries forever (default 12).
    pub max_attempts: Option<u32>,
    /// Silence on a connection, ms, after which the link is probed (default 1800000;
    /// 0 never probes, else at least 60000).
    pub idle_probe_after_ms: Option<u64>,
    /// An unanswered probe means a dead link after this many ms (default 30000; at least 1000).
    pub probe_timeout_ms: Option<u64>,
    /// A connect attempt that neither opens nor closes is abandoned after this many ms
    /// (default 60000; at least 5000).
    pub connect_timeout_ms: Option<u64>,
    /// Wait for a temporary ban whose expiry WhatsApp did not give, ms (default 3600000;
    /// at least 60000).
    pub ban_default_wait_ms: Option<u64>,
}

/// `bindings[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BindingEntry {
    /// Conditions, all of which must hold (an empty match matches everything).
    #[serde(rename = "match")]
    pub match_: Option<BindingMatchEntry>,
    /// The agent that gets matching messages.
    #[schemars(required)]
    pub agent_id: Option<String>,
}

/// `bindings[].match`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BindingMatchEntry {
    /// Account id, or `"*"` for any account.
    pub account_id: Option<String>,
    /// The chat: a DM peer (phone) or a group (JID).
    pub peer: Option<PeerEntry>,
    /// The sender's phone number.
    pub from: Option<String>,
    /// The group JID.
    pub group: Option<String>,
    /// The receiving account's phone number.
    pub to: Option<String>,
    /// A regular expression the message text must match.
    pub text: Option<String>,
}

/// `bindings[].match.peer`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PeerEntry {
    /// `dm` or `group`.
    #[schemars(required)]
    pub kind: Option<PeerKind>,
    /// A phone number for `dm`, a group JID for `group`.
    #[schemars(required)]
    pub id: Option<String>,
}

/// A binding's peer kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PeerKind {
    /// A direct chat.
    Dm,
    /// A group chat.
    Group,
}

/// `gateway`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewaySection {
    /// HTTP API address (default `127.0.0.1:7420`).
    pub listen: Option<String>,
    /// Bearer token for the HTTP API (`WAGW_TOKEN` overrides it).
    pub token: Option<String>,
    /// Data directory (`WAGW_DATA_DIR` overrides it; default `$XDG_DATA_HOME/wagw`).
    pub data_dir: Option<String>,
    /// Where inbound turns are delivered.
    pub agents: Option<Vec<SinkEntry>>,
}

/// `gateway.agents[]`: an agent sink.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SinkEntry {
    /// The agent id bindings refer to.
    #[schemars(required)]
    pub id: Option<String>,
    /// `webhook`, `events`, `exec` or `echo`.
    #[serde(rename = "type")]
    #[schemars(required)]
    pub kind: Option<SinkKind>,
    /// Webhook URL (http or https); required for `webhook`.
    pub url: Option<String>,
    /// Shared secret used to sign webhook deliveries.
    pub secret: Option<String>,
    /// Per-delivery timeout, ms.
    pub timeout_ms: Option<u64>,
    /// Delivery attempts before giving up.
    pub max_attempts: Option<u32>,
    /// Program and arguments; required for `exec`.
    pub command: Option<Vec<String>>,
    /// Extra environment for `exec`.
    pub env: Option<BTreeMap<String, String>>,
    /// Working directory for `exec` (default: the gateway's).
    pub cwd: Option<String>,
}

/// The kind of an agent sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// POST each turn to a URL; the response carries the replies.
    Webhook,
    /// Publish turns on the gateway's event stream; replies come back over the API.
    Events,
    /// Run a command per turn; its output is the reply.
    Exec,
    /// Reply with the message itself (for trying things out).
    Echo,
}

/// `media`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MediaSection {
    /// Let outbound media URLs point at private or loopback addresses (default false).
    pub allow_private_networks: Option<bool>,
    /// Directories local media paths may come from (default none).
    pub local_roots: Option<Vec<String>>,
    /// Hours inbound media files are kept (default 24).
    pub retention_hours: Option<u32>,
}

/// A hint for keys that are valid elsewhere, used instead of a spelling suggestion.
pub(crate) fn misplaced_key_hint(type_name: &str, key: &str) -> Option<String> {
    let hint = match (type_name, key) {
        ("ConfigFile", "whatsapp") => {
            "the WhatsApp settings live under `channels.whatsapp`: `wagw config migrate` moves this object there, keeping comments"
        }
        ("ConfigFile", "connectors") => {
            "Milady's layout: wagw's WhatsApp settings live under `channels.whatsapp`; `wagw config migrate` moves `connectors.whatsapp` there, keeping comments, and turns its messagePrefix (an outgoing prefix in Milady) into messages.responsePrefix; other connectors are not wagw's"
        }
        ("ConfigFile", "routing") => {
            "`routing.*` is from older gateways: use `channels.whatsapp.allowFrom` and `bindings`"
        }
        ("WhatsAppSection", "enabled" | "name" | "authDir") => {
            "this key is per account: set it in `channels.whatsapp.accounts.<id>`"
        }
        ("AccountSection", "accounts") => "accounts cannot be nested",
        ("WhatsAppSection" | "AccountSection", "requireMention") => {
            "requireMention is set per group: groups: { \"*\": { requireMention: true } }"
        }
        ("MessagesSection", "ackReaction" | "ackReactionScope") => {
            "WhatsApp uses `channels.whatsapp.ackReaction` ({ emoji, direct, group })"
        }
        _ => return None,
    };
    Some(hint.to_string())
}

/// Keys of the reference that wagw deliberately does not support, with the reason. The
/// loader reports them as "not supported by wagw: <reason>" rather than as unknown keys.
pub(crate) fn unsupported_key_reason(type_name: &str, key: &str) -> Option<&'static str> {
    let reason = match (type_name, key) {
        ("SessionSection", "store") => {
            "wagw keeps sessions in its state store (the data directory, or storage.url); there is no separate session file to point at"
        }
        ("SessionSection", "idle") => {
            "the idle reset is `session.idleMinutes` (minutes, as in the reference)"
        }
        ("SessionSection", "resetTriggers" | "reset" | "resetByType" | "resetByChannel") => {
            "wagw does not keep the conversation, so it has no reset commands or schedules: the agent owns its history (use session.idleMinutes to flag a fresh start)"
        }
        ("SessionSection", "typingIntervalSeconds") => {
            "typing is shown per reply: see channels.whatsapp.pacing.typingIndicator"
        }
        ("SessionSection", "sendPolicy" | "agentToAgent") => {
            "wagw delivers replies and sends of the agent as they come; these agent-runtime policies belong to the agent"
        }
        ("CommandsSection", "native" | "nativeSkills" | "text") => {
            "wagw reads commands from message text only, always (WhatsApp has no native command menu)"
        }
        ("CommandsSection", "bash" | "bashForegroundMs" | "restart" | "debug") => {
            "wagw has no shell, restart or debug chat commands: only /activation and /config are run by the gateway, every other /command goes to the agent"
        }
        _ => return None,
    };
    Some(reason)
}
