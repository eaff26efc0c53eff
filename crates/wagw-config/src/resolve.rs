//! From the file as written to checked settings: per-account merging, defaults, the
//! environment, cross-field rules.
//!
//! Merging rule (the fix for the reference's bug #4321): for every key, the account's value
//! if the account writes it, else the channel's (`channels.whatsapp.<key>`), else the
//! default. No default exists at the account level, so nothing can shadow a channel value.
//! Small objects (`ackReaction`, `actions`, `pairing`, `pacing`) merge field by field; lists
//! and maps (`allowFrom`, `groupAllowFrom`, `groups`, `dms`) are replaced whole, because an
//! account's allowlist must not silently grow the channel's entries.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use wagw_core::{AccountId, ChunkMode, DmPolicy, DmScope, GroupPolicy, Phone, normalize_agent_id};

use crate::check::{Checker, timezone_ok};
use crate::de::{join_index, join_key};
use crate::env::{Env, WAGW_DATA_DIR, WAGW_DATABASE_URL, WAGW_TOKEN};
use crate::error::ProblemKind;
use crate::file::{
    AccountSection, AckReactionEntry, ActionsEntry, ConfigFile, PacingEntry, PairingEntry,
    SinkKind, Transport, WhatsAppSection,
};
use crate::settings::*;

/// Defaults, named once.
pub mod defaults {
    /// `textChunkLimit`.
    pub const TEXT_CHUNK_LIMIT: u32 = 4000;
    /// Inbound `mediaMaxMb`.
    pub const MEDIA_MAX_MB: u32 = 50;
    /// Outbound `agents.defaults.mediaMaxMb`.
    pub const OUTBOUND_MEDIA_MAX_MB: u32 = 5;
    /// `historyLimit`.
    pub const HISTORY_LIMIT: u32 = 50;
    /// `web.heartbeatSeconds`.
    pub const HEARTBEAT_SECONDS: u64 = 60;
    /// `gateway.listen`.
    pub const LISTEN: &str = "127.0.0.1:7420";
    /// `pairing.ttlMinutes`.
    pub const PAIRING_TTL_MINUTES: u32 = 60;
    /// `pairing.maxPending`.
    pub const PAIRING_MAX_PENDING: u32 = 3;
    /// `pacing.messagesPerMinute`.
    pub const MESSAGES_PER_MINUTE: u32 = 20;
    /// `pacing.burst`.
    pub const BURST: u32 = 5;
    /// `pacing.perChatMinIntervalMs`.
    pub const PER_CHAT_MIN_INTERVAL_MS: u64 = 1000;
    /// `pacing.newChatsPerDay`.
    pub const NEW_CHATS_PER_DAY: u32 = 50;
    /// `media.retentionHours`.
    pub const RETENTION_HOURS: u32 = 24;
    /// `messages.envelope.timezone`.
    pub const TIMEZONE: &str = "UTC";
    /// `session.mainKey`.
    pub const MAIN_KEY: &str = "main";
    /// Reconnect clamps: smallest first delay.
    pub const MIN_INITIAL_MS: u64 = 250;
    /// Reconnect clamps: factor range.
    pub const FACTOR_RANGE: (f64, f64) = (1.1, 10.0);
}

/// Everything built from a file.
pub(crate) struct Built {
    pub accounts: Vec<ResolvedAccount>,
    pub default_account: AccountId,
    pub web: WebSettings,
    pub gateway: GatewaySettings,
    pub session: SessionSettings,
    pub messages: MessageSettings,
    pub media: MediaSettings,
    pub bindings: Vec<Binding>,
    pub storage: StorageSettings,
}

/// One level (channel or account) after its values were checked.
#[derive(Default)]
struct Layer {
    dm_policy: Option<DmPolicy>,
    allow_from: Option<Vec<AllowEntry>>,
    group_policy: Option<GroupPolicy>,
    group_allow_from: Option<Vec<AllowEntry>>,
    groups: Option<BTreeMap<GroupKey, GroupSettings>>,
    self_chat_mode: Option<bool>,
    send_read_receipts: Option<bool>,
    ack: AckReactionEntry,
    text_chunk_limit: Option<u32>,
    chunk_mode: Option<ChunkMode>,
    media_max_mb: Option<u32>,
    history_limit: Option<u32>,
    dm_history_limit: Option<u32>,
    dms: Option<BTreeMap<Phone, DmSettings>>,
    message_prefix: Option<String>,
    debounce_ms: Option<u64>,
    config_writes: Option<bool>,
    actions: ActionsEntry,
    pairing: PairingEntry,
    pacing: PacingEntry,
}

/// Checks the shared keys of a channel or account section into a [`Layer`].
macro_rules! layer {
    ($c:expr, $s:expr, $path:expr) => {{
        let s = $s;
        let path: &str = $path;
        let k = |key: &str| join_key(path, key);
        let c: &mut Checker = $c;
        c.at_least(&k("textChunkLimit"), s.text_chunk_limit, 1);
        c.at_least(&k("mediaMaxMb"), s.media_max_mb, 1);
        if let Some(p) = &s.pairing {
            c.at_least(&join_key(&k("pairing"), "ttlMinutes"), p.ttl_minutes, 1);
            c.at_least(&join_key(&k("pairing"), "maxPending"), p.max_pending, 1);
        }
        if let Some(p) = &s.pacing {
            let pk = k("pacing");
            c.at_least(
                &join_key(&pk, "messagesPerMinute"),
                p.messages_per_minute,
                1,
            );
            c.at_least(&join_key(&pk, "burst"), p.burst, 1);
            c.at_least(&join_key(&pk, "newChatsPerDay"), p.new_chats_per_day, 1);
        }
        if s.block_streaming.is_some() {
            c.warn(
                &k("blockStreaming"),
                ProblemKind::Deprecated,
                "accepted for compatibility and ignored: wagw always sends whole replies",
            );
        }
        Layer {
            dm_policy: s.dm_policy,
            allow_from: s
                .allow_from
                .as_ref()
                .map(|l| c.allow_list(&k("allowFrom"), l)),
            group_policy: s.group_policy,
            group_allow_from: s
                .group_allow_from
                .as_ref()
                .map(|l| c.allow_list(&k("groupAllowFrom"), l)),
            groups: s.groups.as_ref().map(|g| c.groups(&k("groups"), g)),
            self_chat_mode: s.self_chat_mode,
            send_read_receipts: s.send_read_receipts,
            ack: s.ack_reaction.clone().unwrap_or_default(),
            text_chunk_limit: s.text_chunk_limit,
            chunk_mode: s.chunk_mode,
            media_max_mb: s.media_max_mb,
            history_limit: s.history_limit,
            dm_history_limit: s.dm_history_limit,
            dms: s.dms.as_ref().map(|d| c.dms(&k("dms"), d)),
            message_prefix: s.message_prefix.clone(),
            debounce_ms: s.debounce_ms,
            config_writes: s.config_writes,
            actions: s.actions.clone().unwrap_or_default(),
            pairing: s.pairing.clone().unwrap_or_default(),
            pacing: s.pacing.clone().unwrap_or_default(),
        }
    }};
}

/// `a` if set, else `b`.
fn pick<T: Clone>(a: &Option<T>, b: &Option<T>) -> Option<T> {
    a.clone().or_else(|| b.clone())
}

const CHANNEL: &str = "channels.whatsapp";
const ACCOUNTS: &str = "channels.whatsapp.accounts";

/// The `dmPolicy: "open"` rule: `allowFrom` must contain `"*"`.
///
/// `allow_at` is the level whose `allowFrom` applies, `policy_from` the level whose
/// `dmPolicy` applies; the problem points at whichever of the two the account wrote.
fn check_open(
    c: &mut Checker,
    policy: Option<DmPolicy>,
    allow: Option<&[AllowEntry]>,
    allow_at: &str,
    policy_from: &str,
) {
    if policy != Some(DmPolicy::Open) {
        return;
    }
    if allow.is_some_and(|l| l.contains(&AllowEntry::Any)) {
        return;
    }
    let allow_path = join_key(allow_at, "allowFrom");
    let path = if c.written(&allow_path) && (allow_at != CHANNEL || policy_from == CHANNEL) {
        allow_path.clone()
    } else {
        join_key(policy_from, "dmPolicy")
    };
    c.error(
        &path,
        ProblemKind::Policy,
        format!(
            "{policy_from}.dmPolicy is \"open\", which requires {allow_path} to include \"*\": add \"*\" to let anyone DM the agent, or use dmPolicy \"allowlist\" or \"pairing\""
        ),
    );
}

pub(crate) fn build(file: &ConfigFile, c: &mut Checker, env: &Env, base: Option<&Path>) -> Built {
    let env = &crate::cloud::overlay(env, file.env.as_ref(), c);
    let empty_channel = WhatsAppSection::default();
    let channel = file
        .channels
        .as_ref()
        .and_then(|ch| ch.whatsapp.as_ref())
        .unwrap_or(&empty_channel);
    let chan = layer!(c, channel, CHANNEL);
    check_open(
        c,
        chan.dm_policy,
        chan.allow_from.as_deref(),
        CHANNEL,
        CHANNEL,
    );

    // Globals that accounts read.
    let messages = file.messages.clone().unwrap_or_default();
    if messages.message_prefix.is_some() {
        c.warn(
            "messages.messagePrefix",
            ProblemKind::Deprecated,
            "deprecated: use channels.whatsapp.messagePrefix (still honoured as the last fallback)",
        );
    }
    let group_chat = messages.group_chat.clone().unwrap_or_default();
    let outbound_media_max_mb = file
        .agents
        .as_ref()
        .and_then(|a| a.defaults.as_ref())
        .and_then(|d| d.media_max_mb);
    c.at_least("agents.defaults.mediaMaxMb", outbound_media_max_mb, 1);

    let data_dir = data_dir(file, c, env, base);

    // Accounts, in sorted id order.
    let empty_account = AccountSection::default();
    let mut configured: Vec<(AccountId, &AccountSection, String)> = Vec::new();
    if let Some(map) = channel.accounts.as_ref().filter(|m| !m.is_empty()) {
        for (key, section) in map {
            let path = join_key(ACCOUNTS, key);
            match AccountId::parse(key) {
                Ok(id) => configured.push((id, section, path)),
                Err(e) => {
                    let lower = key.to_ascii_lowercase();
                    let hint = if AccountId::parse(&lower).is_ok() {
                        format!(" (try {lower:?})")
                    } else {
                        String::new()
                    };
                    c.error(&path, ProblemKind::Identity, format!("{e}{hint}"));
                }
            }
        }
    } else {
        configured.push((
            AccountId::default_account(),
            &empty_account,
            CHANNEL.to_string(),
        ));
    }
    configured.sort_by(|a, b| a.0.cmp(&b.0));
    let default_account = configured
        .iter()
        .find(|(id, _, _)| id.is_default())
        .or_else(|| configured.first())
        .map(|(id, _, _)| id.clone())
        .unwrap_or_default();

    let mut accounts = Vec::with_capacity(configured.len());
    for (id, section, path) in &configured {
        let own = if std::ptr::eq(*section, &empty_account) {
            Layer::default()
        } else {
            layer!(c, *section, path)
        };
        // Re-check the open rule only where the account changes one side of it; otherwise
        // the channel check above already covered it.
        if own.dm_policy.is_some() || own.allow_from.is_some() {
            let policy_from = if own.dm_policy.is_some() {
                path.as_str()
            } else {
                CHANNEL
            };
            let allow_at = if own.allow_from.is_some() {
                path.as_str()
            } else {
                CHANNEL
            };
            let merged_allow = own.allow_from.as_ref().or(chan.allow_from.as_ref());
            check_open(
                c,
                own.dm_policy.or(chan.dm_policy),
                merged_allow.map(Vec::as_slice),
                allow_at,
                policy_from,
            );
        }
        let auth_dir = match section.auth_dir.as_deref() {
            Some(dir) if dir.trim().is_empty() => {
                c.error(
                    &join_key(path, "authDir"),
                    ProblemKind::Value,
                    "must not be empty; remove it to use <dataDir>/accounts/<id>",
                );
                PathBuf::new()
            }
            Some(dir) => {
                let resolved = env.resolve_path(dir, base);
                if let Some(what) = shared_folder(&resolved, env, &data_dir, base) {
                    c.error(
                        &join_key(path, "authDir"),
                        ProblemKind::Value,
                        format!(
                            "{dir:?} resolves to {}, which is {what}; an account's authDir must be a \
                             folder of its own, because logout deletes the account's files there \
                             (remove authDir to use <dataDir>/accounts/{id}, or name a new folder)",
                            resolved.display()
                        ),
                    );
                }
                resolved
            }
            None => data_dir.join("accounts").join(id.as_str()),
        };
        let mut account = merge(
            id.clone(),
            section,
            &own,
            &chan,
            auth_dir,
            &messages,
            group_chat.history_limit,
            outbound_media_max_mb,
            *id == default_account,
        );
        account.transport = section
            .transport
            .or(channel.transport)
            .unwrap_or(Transport::Whatsapp);
        account.cloud = crate::cloud::resolve(
            c,
            env,
            channel.cloud.as_ref(),
            section.cloud.as_ref(),
            path,
            *id == default_account,
            account.transport,
        );
        accounts.push(account);
    }

    let web = web(file, c);
    let gateway = gateway(file, c, env, data_dir);
    let session = session(file, c);
    let message_settings = message_settings(file, c);
    let media = media(file, c, env, base);
    let storage = storage(file, c, env);
    let account_ids: BTreeSet<AccountId> = accounts.iter().map(|a| a.account_id.clone()).collect();
    let mut agent_ids: BTreeSet<&str> = gateway.agents.iter().map(|a| a.id.as_str()).collect();
    agent_ids.extend(message_settings.agents.iter().map(|a| a.id.as_str()));
    let bindings = bindings(
        file,
        c,
        &account_ids,
        &agent_ids,
        !gateway.agents.is_empty(),
    );

    Built {
        accounts,
        default_account,
        web,
        gateway,
        session,
        messages: message_settings,
        media,
        bindings,
        storage,
    }
}

#[allow(clippy::too_many_arguments)]
fn merge(
    account_id: AccountId,
    section: &AccountSection,
    own: &Layer,
    chan: &Layer,
    auth_dir: PathBuf,
    messages: &crate::file::MessagesSection,
    group_chat_history: Option<u32>,
    outbound_media_max_mb: Option<u32>,
    is_default: bool,
) -> ResolvedAccount {
    let inbound_debounce = messages.inbound.as_ref().and_then(|i| i.debounce_ms);
    ResolvedAccount {
        account_id,
        name: section
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        enabled: section.enabled.unwrap_or(true),
        is_default,
        // Settled by the caller, which knows the channel's transport and cloud settings.
        transport: section.transport.unwrap_or(Transport::Whatsapp),
        cloud: None,
        auth_dir,
        dm_policy: own.dm_policy.or(chan.dm_policy).unwrap_or_default(),
        allow_from: pick(&own.allow_from, &chan.allow_from).unwrap_or_default(),
        group_policy: own.group_policy.or(chan.group_policy).unwrap_or_default(),
        group_allow_from: pick(&own.group_allow_from, &chan.group_allow_from),
        groups: pick(&own.groups, &chan.groups).unwrap_or_default(),
        self_chat_mode: own.self_chat_mode.or(chan.self_chat_mode),
        send_read_receipts: own
            .send_read_receipts
            .or(chan.send_read_receipts)
            .unwrap_or(true),
        ack_reaction: AckReaction {
            emoji: pick(&own.ack.emoji, &chan.ack.emoji).filter(|e| !e.trim().is_empty()),
            direct: own.ack.direct.or(chan.ack.direct).unwrap_or(true),
            group: own.ack.group.or(chan.ack.group).unwrap_or_default(),
        },
        text_chunk_limit: own
            .text_chunk_limit
            .or(chan.text_chunk_limit)
            .unwrap_or(defaults::TEXT_CHUNK_LIMIT),
        chunk_mode: own.chunk_mode.or(chan.chunk_mode).unwrap_or_default(),
        media_max_mb: own
            .media_max_mb
            .or(chan.media_max_mb)
            .unwrap_or(defaults::MEDIA_MAX_MB),
        outbound_media_max_mb: outbound_media_max_mb.unwrap_or(defaults::OUTBOUND_MEDIA_MAX_MB),
        history_limit: own
            .history_limit
            .or(chan.history_limit)
            .or(group_chat_history)
            .unwrap_or(defaults::HISTORY_LIMIT),
        dm_history_limit: own.dm_history_limit.or(chan.dm_history_limit),
        dms: pick(&own.dms, &chan.dms).unwrap_or_default(),
        message_prefix: pick(&own.message_prefix, &chan.message_prefix)
            .or_else(|| messages.message_prefix.clone()),
        response_prefix: messages.response_prefix.clone(),
        debounce_ms: own
            .debounce_ms
            .or(chan.debounce_ms)
            .or(inbound_debounce)
            .unwrap_or(0),
        config_writes: own.config_writes.or(chan.config_writes).unwrap_or(true),
        actions: Actions {
            reactions: own
                .actions
                .reactions
                .or(chan.actions.reactions)
                .unwrap_or(true),
            polls: own.actions.polls.or(chan.actions.polls).unwrap_or(true),
            send_message: own
                .actions
                .send_message
                .or(chan.actions.send_message)
                .unwrap_or(true),
        },
        pairing: PairingSettings {
            ttl_minutes: own
                .pairing
                .ttl_minutes
                .or(chan.pairing.ttl_minutes)
                .unwrap_or(defaults::PAIRING_TTL_MINUTES),
            max_pending: own
                .pairing
                .max_pending
                .or(chan.pairing.max_pending)
                .unwrap_or(defaults::PAIRING_MAX_PENDING),
            reply_template: pick(&own.pairing.reply_template, &chan.pairing.reply_template),
        },
        pacing: PacingSettings {
            messages_per_minute: own
                .pacing
                .messages_per_minute
                .or(chan.pacing.messages_per_minute)
                .unwrap_or(defaults::MESSAGES_PER_MINUTE),
            burst: own
                .pacing
                .burst
                .or(chan.pacing.burst)
                .unwrap_or(defaults::BURST),
            per_chat_min_interval_ms: own
                .pacing
                .per_chat_min_interval_ms
                .or(chan.pacing.per_chat_min_interval_ms)
                .unwrap_or(defaults::PER_CHAT_MIN_INTERVAL_MS),
            new_chats_per_day: own
                .pacing
                .new_chats_per_day
                .or(chan.pacing.new_chats_per_day)
                .unwrap_or(defaults::NEW_CHATS_PER_DAY),
            typing_indicator: own
                .pacing
                .typing_indicator
                .or(chan.pacing.typing_indicator)
                .unwrap_or(true),
        },
    }
}

/// What makes `dir` unfit as an account's own folder, if anything: a filesystem root, the
/// home folder, the data dir, the config's folder, or a folder containing one of those.
/// (The working directory and folders holding files wagw did not create are checked at
/// start, where the filesystem is looked at.)
fn shared_folder(
    dir: &Path,
    env: &Env,
    data_dir: &Path,
    base: Option<&Path>,
) -> Option<&'static str> {
    if dir.as_os_str().is_empty() {
        return Some("the current folder");
    }
    // `/srv/wagw/..` is `/srv`: judge the folder the path names, not its spelling.
    let mut normal = PathBuf::new();
    for part in dir.components() {
        match part {
            std::path::Component::ParentDir => {
                normal.pop();
            }
            std::path::Component::CurDir => {}
            other => normal.push(other),
        }
    }
    let dir = normal.as_path();
    if dir.as_os_str().is_empty() {
        return Some("the current folder");
    }
    if dir.parent().is_none() {
        return Some("a filesystem root");
    }
    let holds = |other: &Path| other.starts_with(dir);
    if env.get("HOME").map(Path::new).is_some_and(holds) {
        return Some("the home folder (or contains it)");
    }
    if holds(data_dir) {
        return Some("the data dir (or contains it)");
    }
    if base.is_some_and(holds) {
        return Some("the config file's folder (or contains it)");
    }
    None
}

fn data_dir(file: &ConfigFile, c: &mut Checker, env: &Env, base: Option<&Path>) -> PathBuf {
    if let Some(dir) = env.get(WAGW_DATA_DIR) {
        return env.expand(dir);
    }
    let configured = file.gateway.as_ref().and_then(|g| g.data_dir.as_deref());
    match configured {
        Some(dir) if dir.trim().is_empty() => {
            c.error("gateway.dataDir", ProblemKind::Value, "must not be empty");
            PathBuf::new()
        }
        Some(dir) => env.resolve_path(dir, base),
        None => match env.default_data_dir() {
            Ok(d) => d,
            Err(e) => {
                c.error("gateway.dataDir", ProblemKind::Missing, e.to_string());
                PathBuf::new()
            }
        },
    }
}

fn web(file: &ConfigFile, c: &mut Checker) -> WebSettings {
    let w = file.web.clone().unwrap_or_default();
    c.at_least("web.heartbeatSeconds", w.heartbeat_seconds, 1);
    let r = w.reconnect.unwrap_or_default();
    let d = ReconnectSettings::default();
    let mut out = ReconnectSettings {
        initial_ms: r.initial_ms.unwrap_or(d.initial_ms),
        max_ms: r.max_ms.unwrap_or(d.max_ms),
        factor: r.factor.unwrap_or(d.factor),
        jitter: r.jitter.unwrap_or(d.jitter),
        max_attempts: r.max_attempts.unwrap_or(d.max_attempts),
        idle_probe_after_ms: r.idle_probe_after_ms.unwrap_or(d.idle_probe_after_ms),
        probe_timeout_ms: r.probe_timeout_ms.unwrap_or(d.probe_timeout_ms),
        connect_timeout_ms: r.connect_timeout_ms.unwrap_or(d.connect_timeout_ms),
        ban_default_wait_ms: r.ban_default_wait_ms.unwrap_or(d.ban_default_wait_ms),
    };
    // Clamped with a warning, as the reference clamps (silently): an odd value still gives a
    // working backoff, and the operator learns what was used.
    if out.initial_ms < defaults::MIN_INITIAL_MS {
        c.warn(
            "web.reconnect.initialMs",
            ProblemKind::Clamped,
            format!(
                "{} is below the minimum; using {}",
                out.initial_ms,
                defaults::MIN_INITIAL_MS
            ),
        );
        out.initial_ms = defaults::MIN_INITIAL_MS;
    }
    if out.max_ms < out.initial_ms {
        c.warn(
            "web.reconnect.maxMs",
            ProblemKind::Clamped,
            format!(
                "{} is below initialMs; using {}",
                out.max_ms, out.initial_ms
            ),
        );
        out.max_ms = out.initial_ms;
    }
    let (lo, hi) = defaults::FACTOR_RANGE;
    if !(lo..=hi).contains(&out.factor) {
        let to = out.factor.clamp(lo, hi);
        c.warn(
            "web.reconnect.factor",
            ProblemKind::Clamped,
            format!("{} is outside {lo}..{hi}; using {to}", out.factor),
        );
        out.factor = to;
    }
    if !(0.0..=1.0).contains(&out.jitter) {
        let to = out.jitter.clamp(0.0, 1.0);
        c.warn(
            "web.reconnect.jitter",
            ProblemKind::Clamped,
            format!("{} is outside 0..1; using {to}", out.jitter),
        );
        out.jitter = to;
    }
    // The deadlines: raised to their minimum with a warning, as wagw-reconnect would.
    let mut floor = |key: &str, value: &mut u64, min: u64, zero_ok: bool| {
        if *value < min && !(zero_ok && *value == 0) {
            c.warn(
                key,
                ProblemKind::Clamped,
                format!("{value} is below the minimum; using {min}"),
            );
            *value = min;
        }
    };
    floor(
        "web.reconnect.idleProbeAfterMs",
        &mut out.idle_probe_after_ms,
        60_000,
        true,
    );
    floor(
        "web.reconnect.probeTimeoutMs",
        &mut out.probe_timeout_ms,
        1_000,
        false,
    );
    floor(
        "web.reconnect.connectTimeoutMs",
        &mut out.connect_timeout_ms,
        5_000,
        false,
    );
    floor(
        "web.reconnect.banDefaultWaitMs",
        &mut out.ban_default_wait_ms,
        60_000,
        false,
    );
    WebSettings {
        enabled: w.enabled.unwrap_or(true),
        heartbeat_seconds: w.heartbeat_seconds.unwrap_or(defaults::HEARTBEAT_SECONDS),
        reconnect: out,
    }
}

fn gateway(file: &ConfigFile, c: &mut Checker, env: &Env, data_dir: PathBuf) -> GatewaySettings {
    let g = file.gateway.clone().unwrap_or_default();
    let listen_raw = g.listen.as_deref().unwrap_or(defaults::LISTEN);
    let listen = match listen_raw.parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => {
            c.error(
                "gateway.listen",
                ProblemKind::Value,
                format!(
                    "{listen_raw:?} is not an IP address and port such as \"127.0.0.1:7420\" (host names are not resolved)"
                ),
            );
            SocketAddr::from(([127, 0, 0, 1], 7420))
        }
    };
    let token = env
        .get(WAGW_TOKEN)
        .map(str::to_string)
        .or(g.token.clone())
        .filter(|t| !t.is_empty());
    let mut agents = Vec::new();
    // Keyed by the normalized id: two ids that differ only in case or punctuation would
    // share session keys.
    let mut seen: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for (i, sink) in g.agents.iter().flatten().enumerate() {
        let path = join_index("gateway.agents", i);
        let p = |k: &str| join_key(&path, k);
        let id = c
            .required(&p("id"), &sink.id, "the agent id bindings refer to")
            .cloned();
        let kind = c
            .required(
                &p("type"),
                &sink.kind,
                "one of \"webhook\", \"events\", \"exec\", \"echo\"",
            )
            .copied();
        if let Some(id) = &id {
            if id.is_empty()
                || !id
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.'))
            {
                c.error(
                    &p("id"),
                    ProblemKind::Value,
                    format!("{id:?} is not a valid agent id: use letters, digits, '_', '-' or '.'"),
                );
            } else if let Some((first, first_id)) = seen.get(normalize_agent_id(id).as_ref()) {
                let message = if first_id == id {
                    format!("agent id {id:?} is already used by gateway.agents[{first}]")
                } else {
                    format!(
                        "agent id {id:?} and gateway.agents[{first}].id {first_id:?} share the session keys agent:{}:… (agent ids are compared lowercased, other characters as '-', as in the reference); rename one",
                        normalize_agent_id(id)
                    )
                };
                c.error(&p("id"), ProblemKind::DuplicateKey, message);
            } else {
                seen.insert(normalize_agent_id(id).into_owned(), (i, id.clone()));
            }
        }
        c.at_least(&p("timeoutMs"), sink.timeout_ms, 1);
        c.at_least(&p("maxAttempts"), sink.max_attempts, 1);
        let kind = kind.filter(|_| !c.failed(&p("type")));
        match kind {
            Some(SinkKind::Webhook) => match sink.url.as_deref() {
                None => c.error(
                    &p("url"),
                    ProblemKind::Missing,
                    "`url` is required for a webhook sink (http:// or https://)",
                ),
                Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => c.error(
                    &p("url"),
                    ProblemKind::Value,
                    format!("{u:?} is not an http:// or https:// URL"),
                ),
                Some(_) => {}
            },
            Some(SinkKind::Exec)
                if sink
                    .command
                    .as_ref()
                    .is_none_or(|cmd| cmd.is_empty() || cmd[0].trim().is_empty()) =>
            {
                c.error(
                        &p("command"),
                        ProblemKind::Missing,
                        "`command` is required for an exec sink: the program and its arguments, e.g. [\"/usr/local/bin/agent\", \"--json\"]",
                    );
            }
            _ => {}
        }
        if let (Some(id), Some(kind)) = (id, kind) {
            agents.push(AgentSink {
                id,
                kind,
                url: sink.url.clone(),
                secret: sink.secret.clone(),
                timeout_ms: sink.timeout_ms,
                max_attempts: sink.max_attempts,
                command: sink.command.clone().unwrap_or_default(),
                env: sink.env.clone().unwrap_or_default(),
                cwd: sink.cwd.clone(),
            });
        }
    }
    GatewaySettings {
        listen,
        token,
        data_dir,
        agents,
    }
}

fn session(file: &ConfigFile, c: &mut Checker) -> SessionSettings {
    let s = file.session.clone().unwrap_or_default();
    if s.main_key.as_deref().is_some_and(|k| k.trim().is_empty()) {
        c.error("session.mainKey", ProblemKind::Value, "must not be empty");
    }
    let global = match s.scope.as_deref() {
        None | Some("per-sender") => false,
        Some("global") => true,
        Some(other) => {
            c.error(
                "session.scope",
                ProblemKind::Value,
                format!(
                    "`{other}` is not a session scope: use \"per-sender\" (default) or \"global\""
                ),
            );
            false
        }
    };
    if s.idle_minutes == Some(0) {
        c.error(
            "session.idleMinutes",
            ProblemKind::Value,
            "must be at least 1 (leave it out to never reset)",
        );
    }
    let mut identity_links = BTreeMap::new();
    for (name, entries) in s.identity_links.iter().flatten() {
        let base = crate::de::join_key("session.identityLinks", name);
        if name.trim().is_empty() {
            c.error(
                &base,
                ProblemKind::Value,
                "the canonical name must not be empty",
            );
            continue;
        }
        for (i, raw) in entries.iter().enumerate() {
            let path = crate::de::join_index(&base, i);
            let Some(id) = whatsapp_identity(raw) else {
                continue;
            };
            let canonical = name.trim().to_lowercase();
            match id {
                Ok(id) => {
                    if let Some(other) = identity_links.insert(id.clone(), canonical.clone())
                        && other != canonical
                    {
                        c.error(
                            &path,
                            ProblemKind::Value,
                            format!("{id} is linked to both `{other}` and `{canonical}`"),
                        );
                    }
                }
                Err(why) => c.error(&path, ProblemKind::Value, why),
            }
        }
    }
    SessionSettings {
        dm_scope: s.dm_scope.unwrap_or(DmScope::Main),
        main_key: s.main_key.unwrap_or_else(|| defaults::MAIN_KEY.to_string()),
        global,
        idle_minutes: s.idle_minutes.filter(|m| *m > 0),
        identity_links,
    }
}

/// A WhatsApp identity of `session.identityLinks` as the session keys spell it: `+E.164`
/// or `<digits>@lid`. `None` for another channel's entry (`telegram:123`), which the
/// reference allows in the same list.
fn whatsapp_identity(raw: &str) -> Option<Result<String, String>> {
    let raw = raw.trim();
    let id = match raw.split_once(':') {
        Some((channel, rest)) if channel.eq_ignore_ascii_case("whatsapp") => rest.trim(),
        Some((channel, _))
            if !channel.is_empty() && channel.chars().all(|c| c.is_ascii_alphabetic()) =>
        {
            return None;
        }
        _ => raw,
    };
    if id.ends_with("@lid") {
        return Some(
            wagw_core::Lid::parse(id)
                .map(|l| format!("{}@lid", l.digits()))
                .map_err(|e| e.to_string()),
        );
    }
    Some(
        wagw_core::Phone::parse(id)
            .map(|p| format!("+{}", p.digits()))
            .map_err(|e| format!("`{raw}` is not a WhatsApp number or LID: {e}")),
    )
}

fn message_settings(file: &ConfigFile, c: &mut Checker) -> MessageSettings {
    let m = file.messages.clone().unwrap_or_default();
    let patterns = m
        .group_chat
        .as_ref()
        .and_then(|g| g.mention_patterns.as_ref())
        .map(|l| c.regexes("messages.groupChat.mentionPatterns", l, true))
        .unwrap_or_default();
    let timezone = m
        .envelope
        .as_ref()
        .and_then(|e| e.timezone.clone())
        .unwrap_or_else(|| defaults::TIMEZONE.to_string());
    if !timezone_ok(&timezone) {
        c.error(
            "messages.envelope.timezone",
            ProblemKind::Value,
            format!(
                "{timezone:?} is not a time zone: use \"UTC\", \"local\" (the host's zone) or an IANA name such as \"Europe/Berlin\" or \"America/New_York\""
            ),
        );
    }
    let identity = file.identity.clone().unwrap_or_default();
    let mut agents = Vec::new();
    let mut seen: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let list = file.agents.as_ref().and_then(|a| a.list.as_ref());
    for (i, a) in list.into_iter().flatten().enumerate() {
        let path = join_index("agents.list", i);
        let Some(id) = c
            .required(
                &join_key(&path, "id"),
                &a.id,
                "the agent id bindings refer to",
            )
            .cloned()
        else {
            continue;
        };
        let normalized = normalize_agent_id(&id).into_owned();
        match seen.get(&normalized) {
            Some((_, first_id)) if *first_id == id => c.error(
                &join_key(&path, "id"),
                ProblemKind::DuplicateKey,
                format!("agent id {id:?} appears twice in agents.list"),
            ),
            Some((first, first_id)) => c.error(
                &join_key(&path, "id"),
                ProblemKind::DuplicateKey,
                format!(
                    "agent id {id:?} and agents.list[{first}].id {first_id:?} share the session keys agent:{normalized}:… (agent ids are compared lowercased, other characters as '-', as in the reference); rename one"
                ),
            ),
            None => {
                seen.insert(normalized, (i, id.clone()));
            }
        }
        let mention_patterns = a
            .group_chat
            .as_ref()
            .and_then(|g| g.mention_patterns.as_ref())
            .map(|l| {
                c.regexes(
                    &join_key(&join_key(&path, "groupChat"), "mentionPatterns"),
                    l,
                    true,
                )
            })
            .unwrap_or_default();
        agents.push(AgentSettings {
            id,
            identity_name: a.identity.as_ref().and_then(|x| x.name.clone()),
            identity_emoji: a.identity.as_ref().and_then(|x| x.emoji.clone()),
            mention_patterns,
        });
    }
    MessageSettings {
        response_prefix: m.response_prefix,
        mention_patterns: patterns,
        envelope_timezone: timezone,
        identity_name: identity.name,
        identity_emoji: identity.emoji,
        agents,
    }
}

fn media(file: &ConfigFile, c: &mut Checker, env: &Env, base: Option<&Path>) -> MediaSettings {
    let m = file.media.clone().unwrap_or_default();
    c.at_least("media.retentionHours", m.retention_hours, 1);
    MediaSettings {
        allow_private_networks: m.allow_private_networks.unwrap_or(false),
        local_roots: m
            .local_roots
            .unwrap_or_default()
            .iter()
            .map(|r| env.resolve_path(r, base))
            .collect(),
        retention_hours: m.retention_hours.unwrap_or(defaults::RETENTION_HOURS),
    }
}

/// `storage.url` (the file wins), else `WAGW_DATABASE_URL`. A value that is not a
/// PostgreSQL URL is an error; the value itself is never echoed (it may hold a password),
/// only its scheme.
fn storage(file: &ConfigFile, c: &mut Checker, env: &Env) -> StorageSettings {
    const PATH: &str = "storage.url";
    let written = file.storage.as_ref().and_then(|s| s.url.as_deref());
    let (raw, source, origin) = match (written, env.get(WAGW_DATABASE_URL)) {
        (Some(u), _) => (u, StorageSource::Config, String::new()),
        (None, Some(u)) => (
            u,
            StorageSource::Environment,
            format!(" (from {WAGW_DATABASE_URL})"),
        ),
        (None, None) => {
            return StorageSettings {
                url: None,
                source: StorageSource::Default,
            };
        }
    };
    let trimmed = raw.trim();
    // Lowercase only: that is what the PostgreSQL client accepts.
    let scheme_ok = ["postgres://", "postgresql://"]
        .iter()
        .any(|s| trimmed.starts_with(s));
    let problem = if trimmed.is_empty() {
        Some("must not be empty: a postgres:// URL, or remove the key to keep SQLite".to_owned())
    } else if !scheme_ok {
        let scheme = match trimmed.split_once("://") {
            Some((s, _))
                if !s.is_empty()
                    && s.chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || "+-.".contains(ch)) =>
            {
                format!("a {s}:// URL")
            }
            _ => "not a URL".to_owned(),
        };
        Some(format!(
            "{scheme}; must be a PostgreSQL URL: postgres://user:password@host:5432/dbname \
             (or postgresql://…); remove the key to keep SQLite files in the data directory"
        ))
    } else if trimmed.chars().any(char::is_whitespace) {
        Some("must not contain spaces (percent-encode them: %20)".to_owned())
    } else {
        None
    };
    match problem {
        Some(p) => {
            c.error(PATH, ProblemKind::Value, format!("{p}{origin}"));
            StorageSettings { url: None, source }
        }
        None => StorageSettings {
            url: Some(DatabaseUrl::new(trimmed)),
            source,
        },
    }
}

fn bindings(
    file: &ConfigFile,
    c: &mut Checker,
    accounts: &BTreeSet<AccountId>,
    agents: &BTreeSet<&str>,
    check_agents: bool,
) -> Vec<Binding> {
    let mut out = Vec::new();
    for (i, b) in file.bindings.iter().flatten().enumerate() {
        let path = join_index("bindings", i);
        let agent_path = join_key(&path, "agentId");
        let agent_id = c
            .required(
                &agent_path,
                &b.agent_id,
                "the id of the agent that gets matching messages",
            )
            .cloned()
            .unwrap_or_default();
        if check_agents && !agent_id.is_empty() && !agents.contains(agent_id.as_str()) {
            let known: Vec<&str> = agents.iter().copied().collect();
            c.error(
                &agent_path,
                ProblemKind::Reference,
                format!(
                    "no agent {agent_id:?} is configured (gateway.agents has: {})",
                    known.join(", ")
                ),
            );
        }
        let m = b.match_.clone().unwrap_or_default();
        let mp = join_key(&path, "match");
        let k = |key: &str| join_key(&mp, key);
        let account_id = match m.account_id.as_deref() {
            None => None,
            Some(s) if s.trim() == "*" => Some(AccountMatch::Any),
            Some(s) => match AccountId::parse(s) {
                Ok(id) if accounts.contains(&id) => Some(AccountMatch::Account(id)),
                Ok(id) => {
                    let known: Vec<&str> = accounts.iter().map(AccountId::as_str).collect();
                    c.error(
                        &k("accountId"),
                        ProblemKind::Reference,
                        format!(
                            "no account {:?} is configured (accounts: {}; \"*\" matches any)",
                            id.as_str(),
                            known.join(", ")
                        ),
                    );
                    None
                }
                Err(e) => {
                    c.error(&k("accountId"), ProblemKind::Identity, e.to_string());
                    None
                }
            },
        };
        let peer = m.peer.as_ref().and_then(|peer| {
            let pp = k("peer");
            let kind = c
                .required(&join_key(&pp, "kind"), &peer.kind, "\"dm\" or \"group\"")
                .copied();
            let id = c
                .required(
                    &join_key(&pp, "id"),
                    &peer.id,
                    "a phone number for dm, a group JID for group",
                )
                .cloned();
            if c.failed(&join_key(&pp, "kind")) {
                return None;
            }
            match (kind?, id?) {
                (PeerKind::Dm, id) => c.phone(&join_key(&pp, "id"), &id).map(PeerMatch::Dm),
                (PeerKind::Group, id) => {
                    c.group_jid(&join_key(&pp, "id"), &id).map(PeerMatch::Group)
                }
            }
        });
        let from = m.from.as_deref().and_then(|s| c.phone(&k("from"), s));
        let to = m.to.as_deref().and_then(|s| c.phone(&k("to"), s));
        let group = m.group.as_deref().and_then(|s| c.group_jid(&k("group"), s));
        let text = m
            .text
            .as_deref()
            .and_then(|s| c.regex(&k("text"), s, false));
        out.push(Binding {
            match_: BindingMatch {
                account_id,
                peer,
                from,
                group,
                to,
                text,
            },
            agent_id,
        });
    }
    out
}
