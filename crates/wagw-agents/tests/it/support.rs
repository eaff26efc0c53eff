//! Shared helpers: targets with short backoff, turns, polling.

use std::time::{Duration, Instant};

use wagw_agents::{
    AgentSpec, Backoff, DeliveryId, DeliveryRecord, Outbox, TurnPayload, WebhookTarget,
};

pub const SECRET: &str = "test-secret-0123456789";

pub fn target(agent: &str, url: &str, max_attempts: u32) -> WebhookTarget {
    WebhookTarget {
        agent_id: agent.into(),
        url: url.parse().unwrap(),
        secret: SECRET.into(),
        timeout: Duration::from_millis(2000),
        max_attempts,
        backoff: Backoff {
            initial_ms: 20,
            max_ms: 100,
            factor: 2.0,
            jitter: 0.5,
        },
    }
}

pub fn spec(agent: &str, url: &str, max_attempts: u32) -> AgentSpec {
    AgentSpec::Webhook(target(agent, url, max_attempts))
}

pub fn turn(id: &str, extra: serde_json::Value) -> TurnPayload {
    let mut value =
        serde_json::json!({"accountId": "work", "messageId": id, "body": format!("hello {id}")});
    if let (Some(obj), Some(more)) = (value.as_object_mut(), extra.as_object()) {
        obj.extend(more.clone());
    }
    TurnPayload::new(DeliveryId::new(id).unwrap(), "work", &value).unwrap()
}

pub fn temp_db() -> (tempfile::TempDir, wagw_store::Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = wagw_store::Db::open(dir.path().join("state.sqlite3"), &Default::default()).unwrap();
    (dir, db)
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Polls `outbox` until `pred` holds for the record `id` (panics after `within`).
pub async fn wait_record(
    outbox: &Outbox,
    id: &str,
    within: Duration,
    pred: impl Fn(&DeliveryRecord) -> bool,
) -> DeliveryRecord {
    let id = DeliveryId::new(id).unwrap();
    let deadline = Instant::now() + within;
    loop {
        let rec = outbox.get(&id).unwrap();
        if let Some(rec) = rec.as_ref().filter(|r| pred(r)) {
            return rec.clone();
        }
        assert!(
            Instant::now() < deadline,
            "record {id} never matched; last: {rec:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
