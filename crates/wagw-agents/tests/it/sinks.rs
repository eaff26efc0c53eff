//! AgentSinks: one deliver call per configured agent kind.

use std::time::Duration;

use serde_json::json;
use wagw_agents::*;

use crate::receiver::{Receiver, Response};
use crate::support::*;

fn sinks(db: &wagw_store::Db, configs: serde_json::Value) -> AgentSinks {
    let configs: Vec<AgentConfig> = serde_json::from_value(configs).unwrap();
    AgentSinks::new(
        &validate_agents(&configs).unwrap(),
        Outbox::new(db.open_tree("outbox").unwrap()),
        EventLog::open(db.open_tree("events").unwrap(), 100).unwrap(),
    )
}

#[tokio::test]
async fn echo_events_exec_and_unknown() {
    let (_dir, db) = temp_db();
    let s = sinks(
        &db,
        json!([
            {"id": "echo", "type": "echo"},
            {"id": "stream", "type": "events"},
            {"id": "wc", "type": "exec", "command": ["sh", "-c", "wc -c | tr -d ' '"], "timeoutMs": 5000}
        ]),
    );
    let t = turn("t1", json!({}));
    assert_eq!(
        s.deliver("echo", &t).await.unwrap(),
        vec![AgentReply::text("hello t1")]
    );
    assert!(s.deliver("stream", &t).await.unwrap().is_empty());
    let logged = s.events().read_after(0, 10).unwrap().events;
    assert_eq!((logged.len(), logged[0].kind.as_str()), (1, TURN_EVENT));
    assert_eq!(logged[0].data, t.value());
    assert_eq!(
        s.deliver("wc", &t).await.unwrap(),
        vec![AgentReply::text(t.json.len().to_string())]
    );
    let err = s.deliver("nobody", &t).await.unwrap_err();
    assert!(err.to_string().contains("no agent \"nobody\""), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_through_sinks_in_line_dead_and_reload() {
    let receiver = Receiver::start(|req, _| {
        if req.json()["body"] == "hello bad" {
            Response::status(400)
        } else {
            Response::json(
                200,
                json!({"replies": [{"text": "pong", "replyTo": req.json()["messageId"]}]}),
            )
        }
    })
    .await;
    let (_dir, db) = temp_db();
    let s = sinks(
        &db,
        json!([{"id": "bot", "type": "webhook", "url": receiver.url(), "secret": SECRET}]),
    );
    let worker = WebhookWorker::new(s.outbox().clone(), s.webhook_targets()).unwrap();
    let task = tokio::spawn(worker.run(std::future::pending()));

    let replies = s.deliver("bot", &turn("ping", json!({}))).await.unwrap();
    assert_eq!(
        replies,
        vec![AgentReply {
            reply_to: Some("ping".into()),
            ..AgentReply::text("pong")
        }]
    );
    // Delivering the same turn again (a gateway re-delivery) sends nothing twice.
    assert!(
        s.deliver("bot", &turn("ping", json!({})))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(receiver.requests().len(), 1);

    let err = s.deliver("bot", &turn("bad", json!({}))).await.unwrap_err();
    assert!(
        matches!(err, AgentsError::DeliveryDead { ref id, .. } if id == "bad"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("wagw deliveries replay bad"),
        "{err}"
    );

    // Reload: the agent becomes an echo agent; the webhook target disappears.
    s.replace(&[AgentSpec::Echo {
        agent_id: "bot".into(),
    }]);
    assert!(s.webhook_targets().get("bot").is_none());
    assert_eq!(
        s.deliver("bot", &turn("x", json!({}))).await.unwrap(),
        vec![AgentReply::text("hello x")]
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(receiver.requests().len(), 2);
    task.abort();
}
