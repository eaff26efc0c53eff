//! Table test over `fixtures/normalize.json`: every case's message and context go through the
//! real normalizer (and, for history, through `GroupHistory`); a failing case prints its name,
//! its input and what differed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use wagw_core::{AccountId, DmScope, GroupMetadata, InboundMessage, OwnIdentity, Phone};
use wagw_normalize::{
    AccountSettings, AgentSettings, EnvelopeTimezone, GroupHistory, InboundTurn, MentionPatterns,
    NormalizeSettings, Normalizer, TurnContext,
};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FixtureSettings {
    timezone: Option<String>,
    host_zone: Option<String>,
    include_timestamp: Option<bool>,
    include_elapsed: Option<bool>,
    dm_scope: Option<DmScope>,
    main_key: Option<String>,
    legacy_message_prefix: Option<String>,
    group_mention_patterns: Option<Vec<String>>,
    #[serde(default)]
    agents: HashMap<String, FixtureAgent>,
    #[serde(default)]
    account: Value,
    #[serde(default)]
    accounts: HashMap<String, Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FixtureAgent {
    name: Option<String>,
    emoji: Option<String>,
    mention_patterns: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FixtureAccount {
    message_prefix: Option<String>,
    #[serde(default)]
    allow_from: Vec<String>,
    #[serde(default)]
    allow_from_any: bool,
    self_chat_mode: Option<bool>,
    history_limit: Option<usize>,
    dm_history_limit: Option<u32>,
    #[serde(default)]
    dms: HashMap<String, u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FixtureContext {
    agent_id: String,
    own: OwnIdentity,
    previous_timestamp_ms: Option<i64>,
    group: Option<GroupMetadata>,
    was_mentioned: Option<bool>,
}

fn merge(base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            let mut out: Map<String, Value> = b.clone();
            for (k, v) in o {
                // A sender is an identity: replaced whole, never mixed with the default's.
                let merged = match out.get(k) {
                    Some(existing) if k != "sender" => merge(existing, v),
                    _ => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (_, o) => o.clone(),
    }
}

fn account_settings(value: &Value) -> Result<AccountSettings, String> {
    let a: FixtureAccount = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    let phone = |s: &String| Phone::parse(s).map_err(|e| e.to_string());
    Ok(AccountSettings {
        message_prefix: a.message_prefix,
        allow_from: a.allow_from.iter().map(phone).collect::<Result<_, _>>()?,
        allow_from_any: a.allow_from_any,
        self_chat_mode: a.self_chat_mode,
        history_limit: a
            .history_limit
            .unwrap_or(wagw_normalize::DEFAULT_HISTORY_LIMIT),
        dm_history_limit: a.dm_history_limit,
        dm_history_limits: a
            .dms
            .iter()
            .map(|(k, v)| Ok((phone(k)?, *v)))
            .collect::<Result<_, String>>()?,
    })
}

fn settings(value: &Value) -> Result<NormalizeSettings, String> {
    let f: FixtureSettings = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    let mut s = NormalizeSettings::default();
    if let Some(tz) = &f.timezone {
        s.envelope.timezone =
            EnvelopeTimezone::parse(tz, f.host_zone.as_deref()).map_err(|e| e.to_string())?;
    }
    if let Some(v) = f.include_timestamp {
        s.envelope.include_timestamp = v;
    }
    if let Some(v) = f.include_elapsed {
        s.envelope.include_elapsed = v;
    }
    if let Some(v) = f.dm_scope {
        s.dm_scope = v;
    }
    if let Some(v) = f.main_key {
        s.main_key = v;
    }
    s.legacy_message_prefix = f.legacy_message_prefix;
    if let Some(p) = &f.group_mention_patterns {
        s.group_mention_patterns = Some(MentionPatterns::compile(p).map_err(|e| e.to_string())?);
    }
    for (id, a) in f.agents {
        let mention_patterns = match &a.mention_patterns {
            Some(p) => Some(MentionPatterns::compile(p).map_err(|e| e.to_string())?),
            None => None,
        };
        s.agents.insert(
            id,
            AgentSettings {
                name: a.name,
                emoji: a.emoji,
                mention_patterns,
            },
        );
    }
    s.account_defaults = account_settings(&f.account)?;
    for (id, over) in &f.accounts {
        let id = AccountId::parse(id).map_err(|e| e.to_string())?;
        s.accounts
            .insert(id, account_settings(&merge(&f.account, over))?);
    }
    Ok(s)
}

/// Every key of `expected` must be in `actual` with an equal value (objects recursively).
fn subset_diff(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let p = format!("{path}.{k}");
                match a.get(k) {
                    Some(av) => subset_diff(&p, ev, av, out),
                    None => out.push(format!("{p}: missing (expected {ev})")),
                }
            }
        }
        (e, a) if e == a => {}
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => {}
        (e, a) => out.push(format!("{path}: expected {e}, got {a}")),
    }
}

fn run_case(defaults: &Value, case: &Value) -> Result<Vec<String>, String> {
    let pick = |k: &str| case.get(k).cloned().unwrap_or(Value::Null);
    let with = |k: &str| {
        let over = pick(k);
        if over.is_null() {
            defaults[k].clone()
        } else {
            merge(&defaults[k], &over)
        }
    };
    let normalizer = Normalizer::new(settings(&with("settings"))?).map_err(|e| e.to_string())?;
    let ctx: FixtureContext = serde_json::from_value(with("context")).map_err(|e| e.to_string())?;
    let message: InboundMessage =
        serde_json::from_value(merge(&defaults["message"], &pick("message")))
            .map_err(|e| format!("message: {e}"))?;

    let mut history = GroupHistory::new();
    if let Some(items) = case.get("history").and_then(Value::as_array) {
        for item in items {
            let h: InboundMessage = serde_json::from_value(merge(&defaults["message"], item))
                .map_err(|e| format!("history: {e}"))?;
            let entry = normalizer.history_entry(&h).map_err(|e| e.to_string())?;
            history.record(
                &normalizer.history_key(&h),
                entry,
                normalizer.history_limit(&h.account),
            );
        }
    }
    let pending = history.pending(&normalizer.history_key(&message));
    let mut turn_ctx = TurnContext::new(&ctx.own, &ctx.agent_id)
        .with_history(pending)
        .with_previous(ctx.previous_timestamp_ms);
    if let Some(g) = &ctx.group {
        turn_ctx = turn_ctx.with_group(g);
    }
    if let Some(m) = ctx.was_mentioned {
        turn_ctx = turn_ctx.with_mentioned(m);
    }

    let mut diffs = Vec::new();
    if let Some(want) = case.get("expectMention").and_then(Value::as_str) {
        let got = normalizer.detect_mention(&message, &ctx.own, &ctx.agent_id);
        if got.as_str() != want {
            diffs.push(format!("mention: expected {want}, got {}", got.as_str()));
        }
    }
    match (
        normalizer.normalize(&message, &turn_ctx),
        case.get("expectError").and_then(Value::as_str),
    ) {
        (Ok(turn), None) => {
            let json = serde_json::to_value(&turn).map_err(|e| e.to_string())?;
            let back: InboundTurn =
                serde_json::from_value(json.clone()).map_err(|e| format!("round trip: {e}"))?;
            if back != turn {
                diffs.push("turn does not survive a JSON round trip".into());
            }
            subset_diff("turn", &pick("expect"), &json, &mut diffs);
        }
        (Ok(turn), Some(kind)) => {
            diffs.push(format!("expected error {kind}, got body {:?}", turn.body))
        }
        (Err(e), None) => diffs.push(format!("unexpected error: {e}")),
        (Err(e), Some(kind)) if e.kind() == kind => {}
        (Err(e), Some(kind)) => diffs.push(format!("expected error {kind}, got {}", e.kind())),
    }
    Ok(diffs)
}

#[test]
fn fixtures_normalize() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/normalize.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap_or("<unnamed>");
        let problems = match run_case(&doc["defaults"], case) {
            Ok(diffs) => diffs,
            Err(setup) => vec![format!("case setup failed: {setup}")],
        };
        if !problems.is_empty() {
            failures.push(format!(
                "FAILED {name}\n  input: {}\n  {}",
                serde_json::to_string(case).unwrap_or_default(),
                problems.join("\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_turn_field_is_always_present() {
    let normalizer = Normalizer::new(NormalizeSettings::default()).unwrap();
    let own = OwnIdentity {
        phone: Phone::parse("+15550009999").unwrap(),
        lid: None,
        push_name: None,
    };
    let msg: InboundMessage = serde_json::from_value(serde_json::json!({
        "id": "A", "account": "default", "chat": "15551234567@s.whatsapp.net",
        "sender": {"phone": "+15551234567"}, "timestampMs": 1, "content": {"type": "text", "text": "x"}
    }))
    .unwrap();
    let turn = normalizer
        .normalize(&msg, &TurnContext::new(&own, "main"))
        .unwrap();
    let json = serde_json::to_value(&turn).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in [
        "body",
        "rawBody",
        "chatType",
        "chatId",
        "from",
        "senderName",
        "senderE164",
        "senderLid",
        "senderJid",
        "to",
        "accountId",
        "agentId",
        "messageId",
        "timestamp",
        "fromMe",
        "forwarded",
        "wasMentioned",
        "replyToId",
        "replyToBody",
        "replyToSender",
        "media",
        "location",
        "sessionKey",
        "groupSubject",
        "groupMembers",
        "historyCount",
        "dmHistoryLimit",
        "senderIsOwner",
        "commandAuthorized",
        "sessionReset",
        "kind",
        "heartbeatModel",
    ] {
        assert!(keys.contains(&k), "missing {k}");
    }
    assert_eq!(keys.len(), 32, "undocumented field in {keys:?}");
}
