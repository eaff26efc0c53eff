//! The conformance table: every case builds a policy and a real (temporary) store, runs the
//! engine through `explain`, and compares the JSON with `expect`. A failing case prints its
//! name and input.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Map, Value};
use wagw_access::{
    AccessPolicy, AccessRequest, AccessStore, AllowEntry, AllowList, AllowSnapshot, GroupRule,
    GroupRules, PairingSettings, RulePaths, SelfIdentity, explain, parse_command, parse_sender,
};
use wagw_core::{AccountId, Activation, DmPolicy, GroupPolicy, Jid, Lid, Phone, Sender};

#[derive(Deserialize)]
struct Doc {
    defaults: Map<String, Value>,
    cases: Vec<Case>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(rename = "ref")]
    reference: String,
    #[serde(default)]
    config: Config,
    #[serde(default)]
    store: Store,
    #[serde(default)]
    request: Map<String, Value>,
    expect: Map<String, Value>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    account: Option<String>,
    #[serde(default)]
    account_keys: Vec<String>,
    dm_policy: Option<DmPolicy>,
    allow_from: Option<Vec<String>>,
    group_policy: Option<GroupPolicy>,
    group_allow_from: Option<Vec<String>>,
    groups: Option<BTreeMap<String, GroupRule>>,
    self_chat_mode: Option<bool>,
    send_read_receipts: Option<bool>,
    pairing: Option<PairingConfig>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PairingConfig {
    ttl_minutes: Option<u64>,
    max_pending: Option<usize>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Store {
    #[serde(default)]
    allow: Vec<AllowItem>,
    #[serde(default)]
    pairing: Vec<PairingItem>,
    #[serde(default)]
    activation: BTreeMap<String, Activation>,
    #[serde(default)]
    lid_map: BTreeMap<String, String>,
}

#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum AllowItem {
    Entry(String),
    ForAccount { entry: String, account: String },
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PairingItem {
    sender: String,
    sender_lid: Option<String>,
    created_at_ms: i64,
    #[serde(default)]
    status: Option<String>,
    account: Option<String>,
}

pub fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/access.json")
}

fn load() -> Doc {
    let text = std::fs::read_to_string(fixture_path()).expect("fixtures/access.json");
    serde_json::from_str(&text).expect("fixtures/access.json parses")
}

fn policy_of(c: &Config) -> AccessPolicy {
    let account = AccountId::parse(c.account.as_deref().unwrap_or("default")).unwrap();
    let mut p = if c.account.is_some() {
        AccessPolicy::for_account(account)
    } else {
        AccessPolicy::default()
    };
    p.paths = match &c.account {
        Some(a) => {
            let mut paths = RulePaths::for_account(a);
            paths.account_keys = c.account_keys.iter().cloned().collect::<BTreeSet<_>>();
            paths
        }
        None => RulePaths::channel_only(),
    };
    if let Some(d) = c.dm_policy {
        p.dm_policy = d;
    }
    if let Some(a) = &c.allow_from {
        p.allow_from = AllowList::parse(a);
    }
    if let Some(g) = c.group_policy {
        p.group_policy = g;
    }
    p.group_allow_from = c.group_allow_from.as_ref().map(AllowList::parse);
    if let Some(groups) = &c.groups {
        let mut rules = GroupRules::new();
        for (k, r) in groups {
            rules.insert(k, *r);
        }
        p.groups = rules;
    }
    p.self_chat_mode = c.self_chat_mode;
    if let Some(r) = c.send_read_receipts {
        p.send_read_receipts = r;
    }
    if let Some(pc) = &c.pairing {
        if let Some(t) = pc.ttl_minutes {
            p.pairing.ttl_minutes = t;
        }
        if let Some(m) = pc.max_pending {
            p.pairing.max_pending = m;
        }
    }
    p
}

/// Fills a real store with the case's state and returns the snapshot of `account`.
fn snapshot_of(s: &Store, account: &AccountId) -> AllowSnapshot {
    let db = wagw_store::Db::temporary().unwrap();
    let store = AccessStore::open(&db).unwrap();
    for item in &s.allow {
        let (entry, acct) = match item {
            AllowItem::Entry(e) => (e.as_str(), account.clone()),
            AllowItem::ForAccount { entry, account } => {
                (entry.as_str(), AccountId::parse(account).unwrap())
            }
        };
        store
            .add_allowed(&acct, AllowEntry::parse(entry).unwrap(), None, 0)
            .unwrap();
    }
    // Seed with a generous cap and TTL so that seeding never prunes or refuses.
    let seed = PairingSettings {
        ttl_minutes: 1 << 30,
        max_pending: 1000,
        ..PairingSettings::default()
    };
    let mut items = s.pairing.clone();
    items.sort_by_key(|i| i.created_at_ms);
    for item in &items {
        let acct = AccountId::parse(item.account.as_deref().unwrap_or(account.as_str())).unwrap();
        let mut sender = parse_sender(&item.sender).unwrap();
        if let Some(l) = &item.sender_lid {
            sender.lid = Some(Lid::parse(l).unwrap());
        }
        let out = store
            .issue_challenge(&acct, &sender, None, &seed, item.created_at_ms)
            .unwrap();
        let code = match out {
            wagw_access::ChallengeOutcome::Created { request, .. } => request.code,
            other => panic!("seeding pairing store: {other:?}"),
        };
        if item.status.as_deref() == Some("rejected") {
            store
                .reject(&acct, &code, &seed, item.created_at_ms)
                .unwrap();
        }
    }
    for (g, a) in &s.activation {
        store
            .set_activation(account, &Jid::parse(g).unwrap(), *a, 0)
            .unwrap();
    }
    let mut snap = store.snapshot(account).unwrap();
    for (lid, phone) in &s.lid_map {
        snap.lid_map
            .insert(Lid::parse(lid).unwrap(), Phone::parse(phone).unwrap());
    }
    snap
}

fn get<'a>(
    req: &'a Map<String, Value>,
    defaults: &'a Map<String, Value>,
    k: &str,
) -> Option<&'a Value> {
    req.get(k).or_else(|| defaults.get(k))
}

fn request_of(r: &Map<String, Value>, d: &Map<String, Value>) -> AccessRequest {
    let s = |k: &str| get(r, d, k).and_then(Value::as_str);
    let b = |k: &str| r.get(k).and_then(Value::as_bool).unwrap_or(false);
    let i = |k: &str| get(r, d, k).and_then(Value::as_i64);
    let now = d["nowMs"].as_i64().unwrap();
    let mut sender = match s("from") {
        Some(f) => parse_sender(f).unwrap(),
        None => Sender {
            phone: None,
            lid: None,
        },
    };
    if let Some(l) = r.get("fromLid").and_then(Value::as_str) {
        sender.lid = Some(Lid::parse(l).unwrap());
    }
    let own = SelfIdentity {
        phone: s("self").map(|p| Phone::parse(p).unwrap()),
        lid: s("selfLid").map(|l| Lid::parse(l).unwrap()),
    };
    let chat = if let Some(c) = r.get("chat").and_then(Value::as_str) {
        Jid::parse(c).unwrap()
    } else if let Some(g) = r.get("group").and_then(Value::as_str) {
        Jid::parse(g).unwrap()
    } else {
        sender.jid().expect("a DM case needs a sender or a chat")
    };
    let command = r
        .get("text")
        .and_then(Value::as_str)
        .and_then(|t| parse_command(t, &own, &[]));
    AccessRequest {
        account: AccountId::parse(s("account").unwrap()).unwrap(),
        chat,
        sender,
        from_me: b("fromMe"),
        own,
        timestamp_ms: i("timestampMs").unwrap_or(now),
        connected_at_ms: i("connectedAtMs").unwrap_or(now),
        mentioned: b("mentioned"),
        reply_to_bot: b("replyToBot"),
        command,
    }
}

#[test]
fn conformance_table() {
    let doc = load();
    assert!(
        doc.cases.len() >= 80,
        "fixtures/access.json must hold at least 80 cases, has {}",
        doc.cases.len()
    );
    let now = doc.defaults["nowMs"].as_i64().unwrap();
    let mut failures = Vec::new();
    for case in &doc.cases {
        let policy = policy_of(&case.config);
        let snap = snapshot_of(&case.store, &policy.account);
        let req = request_of(&case.request, &doc.defaults);
        let got = serde_json::to_value(explain(&req, &policy, &snap, now)).unwrap();
        let mismatched: Vec<String> = case
            .expect
            .iter()
            .filter(|(k, v)| got.get(k.as_str()) != Some(v))
            .map(|(k, v)| {
                format!(
                    "{k}: expected {v}, got {}",
                    got.get(k.as_str()).unwrap_or(&Value::Null)
                )
            })
            .collect();
        // `expect` must list every Allow field so no flag goes unchecked.
        let unchecked: Vec<&str> = ["markRead", "isOwner", "isSelfChat", "activation"]
            .into_iter()
            .filter(|k| got.get(*k).is_some() && !case.expect.contains_key(*k))
            .collect();
        if !mismatched.is_empty() || !unchecked.is_empty() {
            failures.push(format!(
                "case {:?} ({}):\n  {}\n  unchecked output fields: {:?}\n  config: {}\n  store: {}\n  request: {}\n  got: {}",
                case.name,
                case.reference,
                mismatched.join("\n  "),
                unchecked,
                serde_json::to_string(&raw_config(case)).unwrap(),
                serde_json::to_string(&raw_store(case)).unwrap(),
                Value::Object(case.request.clone()),
                got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        doc.cases.len(),
        failures.join("\n")
    );
}

fn raw_config(case: &Case) -> Value {
    let c = &case.config;
    serde_json::json!({
        "account": c.account, "accountKeys": c.account_keys, "dmPolicy": c.dm_policy,
        "allowFrom": c.allow_from, "groupPolicy": c.group_policy, "groupAllowFrom": c.group_allow_from,
        "groups": c.groups, "selfChatMode": c.self_chat_mode, "sendReadReceipts": c.send_read_receipts,
        "pairing": c.pairing.as_ref().map(|p| serde_json::json!({"ttlMinutes": p.ttl_minutes, "maxPending": p.max_pending})),
    })
}

fn raw_store(case: &Case) -> Value {
    let s = &case.store;
    serde_json::json!({
        "allow": s.allow.iter().map(|a| match a {
            AllowItem::Entry(e) => serde_json::json!(e),
            AllowItem::ForAccount { entry, account } => serde_json::json!({"entry": entry, "account": account}),
        }).collect::<Vec<_>>(),
        "pairing": s.pairing.iter().map(|p| serde_json::json!({
            "sender": p.sender, "senderLid": p.sender_lid, "createdAtMs": p.created_at_ms,
            "status": p.status, "account": p.account})).collect::<Vec<_>>(),
        "activation": s.activation, "lidMap": s.lid_map,
    })
}

/// Every reason the engine can give appears in the table at least once.
#[test]
fn table_covers_every_reason() {
    let doc = load();
    let seen: BTreeSet<String> = doc
        .cases
        .iter()
        .filter_map(|c| {
            c.expect
                .get("reason")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    let all = [
        "self_chat",
        "dm_open",
        "wildcard",
        "allowlisted",
        "paired",
        "owner_command",
        "activation_always",
        "mentioned",
        "reply_to_bot",
        "pairing_required",
        "status_or_broadcast",
        "unsupported_chat",
        "account_mismatch",
        "unknown_sender",
        "own_outbound_dm",
        "from_me_group",
        "dm_disabled",
        "self_chat_disabled",
        "allow_from_empty",
        "not_in_allowlist",
        "pairing_reply_suppressed",
        "pairing_pending",
        "pairing_rejected",
        "pairing_cap_reached",
        "group_disabled",
        "group_not_allowed",
        "group_allow_from_empty",
        "sender_not_in_group_allow_from",
        "activation_not_owner",
        "mention_required",
    ];
    let missing: Vec<&str> = all.iter().copied().filter(|r| !seen.contains(*r)).collect();
    assert!(
        missing.is_empty(),
        "reasons without a fixture case: {missing:?}"
    );
    let unknown: Vec<&String> = seen.iter().filter(|r| !all.contains(&r.as_str())).collect();
    assert!(
        unknown.is_empty(),
        "fixture reasons the engine does not know: {unknown:?}"
    );
}
