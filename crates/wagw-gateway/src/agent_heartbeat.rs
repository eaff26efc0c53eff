//! Agent heartbeats (`agents.defaults.heartbeat`, `agents.list[].heartbeat`): on schedule,
//! the agent gets a turn of kind `heartbeat` carrying the heartbeat prompt; a reply of
//! `HEARTBEAT_OK` (or one that is empty once that token is stripped) sends nothing, any
//! other reply goes to the heartbeat's target like a normal reply.
//!
//! Time is the gateway's injected clock. Each agent's next due time is persisted in the
//! state store (`heartbeats` tree), so a restart keeps the schedule; a heartbeat missed
//! during downtime runs once when the gateway is back, and the next is due a full interval
//! after that: they never pile up. The "last route" (the last DM sender the agent was
//! given, and on which account) is persisted beside it, so `target: "last"` survives a
//! restart too.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wagw_config::heartbeat::{HEARTBEAT_OK, HeartbeatSettings, HeartbeatTarget};
use wagw_core::{AccountId, Jid, Phone};
use wagw_normalize::{ChatType, InboundTurn, TurnKind};

use crate::gateway::{Gateway, Inner};
use crate::store::GatewayEvent;

/// The state tree.
const TREE: &str = "heartbeats";

/// How often the scheduler looks at the clock when nothing is due sooner: the clock may be
/// a simulator's that jumps, and a reload may change the schedule.
const POLL: Duration = Duration::from_secs(1);

/// Where an agent's DMs last came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LastRoute {
    pub account: AccountId,
    /// The sender, `+E.164`.
    pub to: String,
}

fn due_key(agent: &str) -> Vec<u8> {
    [b"due\0".as_slice(), agent.as_bytes()].concat()
}

fn route_key(agent: &str) -> Vec<u8> {
    [b"route\0".as_slice(), agent.as_bytes()].concat()
}

impl crate::account::Shared {
    fn heartbeat_tree(&self) -> Option<wagw_store::Tree> {
        match self.store.db().open_tree(TREE) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::error!(target: "wagw::heartbeat", error = %e, "heartbeat state unavailable");
                None
            }
        }
    }

    /// Remembers the last DM route of `agent` (persisted when it changed).
    pub(crate) fn record_last_route(&self, agent: &str, route: LastRoute) {
        {
            let mut routes = self.last_routes.lock().unwrap_or_else(|p| p.into_inner());
            if routes.get(agent) == Some(&route) {
                return;
            }
            routes.insert(agent.to_owned(), route.clone());
        }
        if let Some(tree) = self.heartbeat_tree()
            && let Ok(json) = serde_json::to_vec(&route)
            && let Err(e) = tree.insert(route_key(agent), json)
        {
            tracing::warn!(target: "wagw::heartbeat", error = %e, "last route not saved");
        }
    }

    fn last_route(&self, agent: &str) -> Option<LastRoute> {
        if let Some(r) = self
            .last_routes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(agent)
        {
            return Some(r.clone());
        }
        let tree = self.heartbeat_tree()?;
        let bytes = tree.get(route_key(agent)).ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    fn count_heartbeat(&self, agent: &str, outcome: &'static str) {
        *self
            .heartbeat_counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((agent.to_owned(), outcome))
            .or_default() += 1;
    }
}

impl Gateway {
    /// Agent heartbeats run so far, by agent and outcome (`ok`, `delivered`, `silent`,
    /// `no_target`, `failed`), for `/metrics`.
    pub fn heartbeat_counts(&self) -> BTreeMap<(String, &'static str), u64> {
        self.inner
            .shared
            .heartbeat_counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// When each configured agent heartbeat is next due (Unix ms), as persisted.
    pub fn heartbeat_due(&self) -> BTreeMap<String, i64> {
        let Some(tree) = self.inner.shared.heartbeat_tree() else {
            return BTreeMap::new();
        };
        self.settings()
            .config
            .heartbeats()
            .iter()
            .filter_map(|hb| {
                let bytes = tree.get(due_key(&hb.agent_id)).ok()??;
                Some((
                    hb.agent_id.clone(),
                    i64::from_be_bytes(bytes.try_into().ok()?),
                ))
            })
            .collect()
    }
}

/// Runs until the gateway is dropped (or the task aborted at shutdown).
pub(crate) async fn run(inner: Weak<Inner>) {
    loop {
        let wait = match inner.upgrade() {
            Some(inner) => tick(inner).await,
            None => return,
        };
        tokio::time::sleep(wait.min(POLL)).await;
    }
}

/// Runs the heartbeats that are due; returns how long until the next one.
async fn tick(inner: Arc<Inner>) -> Duration {
    let settings = inner.shared.settings();
    let heartbeats = settings.config.heartbeats();
    if heartbeats.is_empty() {
        return POLL;
    }
    let Some(tree) = inner.shared.heartbeat_tree() else {
        return POLL;
    };
    let mut next = POLL;
    for hb in heartbeats {
        let now = inner.shared.clock.now_ms();
        let every = i64::try_from(hb.every_ms).unwrap_or(i64::MAX);
        let stored = tree
            .get(due_key(&hb.agent_id))
            .ok()
            .flatten()
            .and_then(|b| b.try_into().ok())
            .map(i64::from_be_bytes);
        let due = match stored {
            // First schedule, or a shorter interval since: due one interval from now.
            None => None,
            Some(d) if d > now.saturating_add(every) => None,
            Some(d) => Some(d),
        };
        let due = match due {
            Some(d) => d,
            None => {
                save_due(&tree, &hb.agent_id, now.saturating_add(every));
                next = next.min(Duration::from_millis(hb.every_ms));
                continue;
            }
        };
        if due > now {
            next = next.min(Duration::from_millis(u64::try_from(due - now).unwrap_or(0)));
            continue;
        }
        // Due (or missed while the gateway was down): run once, then a full interval from
        // now, so downtime never queues several. An account still connecting (right after
        // a start) keeps it due: it runs once the account is live.
        if beat(&inner, hb, now).await {
            save_due(&tree, &hb.agent_id, now.saturating_add(every));
        }
    }
    next
}

fn save_due(tree: &wagw_store::Tree, agent: &str, at_ms: i64) {
    if let Err(e) = tree.insert(due_key(agent), at_ms.to_be_bytes()) {
        tracing::warn!(target: "wagw::heartbeat", agent, error = %e, "next heartbeat time not saved");
    }
}

/// Where the reply goes: the account and chat.
fn resolve_target(inner: &Inner, hb: &HeartbeatSettings) -> Option<(AccountId, Option<Jid>)> {
    let settings = inner.shared.settings();
    let default = settings
        .accounts
        .iter()
        .find(|a| a.resolved.is_default)
        .or_else(|| settings.accounts.first())?;
    let first_allowed = |account: &AccountId| -> Option<Jid> {
        let a = settings.accounts.iter().find(|a| &a.id == account)?;
        a.resolved.allow_from.iter().find_map(|e| match e {
            wagw_config::AllowEntry::Phone(p) => Some(p.to_jid()),
            _ => None,
        })
    };
    match &hb.target {
        HeartbeatTarget::None => Some((default.id.clone(), None)),
        HeartbeatTarget::Last => match inner.shared.last_route(&hb.agent_id) {
            Some(route) => {
                let jid = Phone::parse(&route.to).ok().map(|p| p.to_jid());
                Some((route.account, jid))
            }
            None => first_allowed(&default.id).map(|j| (default.id.clone(), Some(j))),
        },
        HeartbeatTarget::Whatsapp(to) => {
            let explicit = to.as_deref().and_then(|t| {
                Phone::parse(t)
                    .ok()
                    .map(|p| p.to_jid())
                    .or_else(|| Jid::parse(t).ok().filter(Jid::is_group))
            });
            explicit
                .or_else(|| first_allowed(&default.id))
                .map(|j| (default.id.clone(), Some(j)))
        }
    }
}

/// Runs one heartbeat; false when its account is not connected (nothing ran).
async fn beat(inner: &Arc<Inner>, hb: &HeartbeatSettings, now: i64) -> bool {
    let record = |outcome: &'static str, account: Option<&AccountId>, to: Option<&Jid>| {
        inner.shared.count_heartbeat(&hb.agent_id, outcome);
        tracing::info!(target: "wagw::heartbeat", agent = %hb.agent_id, outcome,
            account = ?account.map(AccountId::as_str), "agent heartbeat");
        if let Err(e) = inner.shared.store.events().append(
            now,
            GatewayEvent::Heartbeat {
                agent: hb.agent_id.clone(),
                outcome: outcome.to_owned(),
                account: account.cloned(),
                to: to.map(ToString::to_string),
            },
        ) {
            tracing::warn!(target: "wagw::heartbeat", error = %e, "event log append failed");
        }
    };
    let Some((account_id, chat)) = resolve_target(inner, hb) else {
        record("no_target", None, None);
        return true;
    };
    if !matches!(hb.target, HeartbeatTarget::None) && chat.is_none() {
        record("no_target", Some(&account_id), None);
        return true;
    }
    let own = inner
        .accounts()
        .into_iter()
        .find(|a| a.id() == &account_id)
        .and_then(|a| a.identity())
        .filter(|_| inner.shared.registry.is_live(&account_id));
    let Some(own) = own else {
        tracing::debug!(target: "wagw::heartbeat", agent = %hb.agent_id, account = %account_id,
            "heartbeat due; waiting for the account to connect");
        return false;
    };
    let settings = inner.shared.settings();
    let session_key = hb.session.clone().unwrap_or_else(|| {
        format!(
            "agent:{}:{}",
            wagw_core::normalize_agent_id(&hb.agent_id),
            settings.config.session().main_key.to_lowercase()
        )
    });
    let chat_id = chat.as_ref().map(ToString::to_string).unwrap_or_default();
    let own_phone = format!("+{}", own.phone.digits());
    let turn = InboundTurn {
        body: hb.prompt.clone(),
        raw_body: hb.prompt.clone(),
        chat_type: if chat.as_ref().is_some_and(Jid::is_group) {
            ChatType::Group
        } else {
            ChatType::Dm
        },
        chat_id,
        from: own_phone.clone(),
        sender_name: None,
        sender_e164: None,
        sender_lid: None,
        sender_jid: None,
        to: own_phone,
        account_id: account_id.to_string(),
        agent_id: hb.agent_id.clone(),
        // Stable per due time, so a sink's idempotency key tells heartbeats apart.
        message_id: format!("heartbeat-{}-{now}", hb.agent_id),
        timestamp: now,
        from_me: false,
        forwarded: false,
        was_mentioned: false,
        reply_to_id: None,
        reply_to_body: None,
        reply_to_sender: None,
        media: None,
        location: None,
        session_key,
        group_subject: None,
        group_members: None,
        history_count: 0,
        dm_history_limit: None,
        sender_is_owner: false,
        command_authorized: false,
        session_reset: false,
        kind: TurnKind::Heartbeat,
        heartbeat_model: hb.model.clone(),
    };
    let replies = match inner.shared.sink.deliver(turn).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(target: "wagw::heartbeat", agent = %hb.agent_id, error = %e, "heartbeat turn failed");
            record("failed", Some(&account_id), None);
            return true;
        }
    };
    let replies: Vec<crate::sink::Reply> = replies
        .into_iter()
        .filter_map(|mut r| {
            if let Some(text) = &r.text {
                let stripped = text.replace(HEARTBEAT_OK, "");
                let stripped = stripped.trim();
                r.text = (!stripped.is_empty()).then(|| stripped.to_owned());
            }
            (r.text.is_some() || !r.media.is_empty()).then_some(r)
        })
        .collect();
    let Some(chat) = chat.filter(|_| !replies.is_empty()) else {
        record(
            if matches!(hb.target, HeartbeatTarget::None) && !replies.is_empty() {
                "silent"
            } else {
                "ok"
            },
            Some(&account_id),
            None,
        );
        return true;
    };
    if matches!(hb.target, HeartbeatTarget::None) {
        record("silent", Some(&account_id), None);
        return true;
    }
    let gateway = Gateway {
        inner: inner.clone(),
    };
    let mut failed = false;
    for reply in replies {
        if let Err(e) = gateway.send_reply(&account_id, &chat, reply).await {
            tracing::warn!(target: "wagw::heartbeat", agent = %hb.agent_id, error = %e, "heartbeat reply not sent");
            failed = true;
        }
    }
    record(
        if failed { "failed" } else { "delivered" },
        Some(&account_id),
        Some(&chat),
    );
    true
}
