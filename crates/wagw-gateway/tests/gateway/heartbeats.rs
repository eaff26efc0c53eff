//! Agent heartbeats on the simulator's clock: the schedule, `HEARTBEAT_OK` suppression,
//! delivery to the last route, the persisted next due time across a restart, and one
//! catch-up at most after downtime.

use std::time::Duration;

use wagw_gateway::*;

use crate::sim::Harness;

const OWNER: &str = "+15550001111";

fn config(prompt: &str) -> String {
    format!(
        "{{ agents: {{ defaults: {{ heartbeat: {{ every: '30m', model: 'cheap-model', prompt: '{prompt}' }} }} }}, channels: {{ whatsapp: {{ dmPolicy: 'allowlist', allowFrom: ['{OWNER}'] }} }} }}"
    )
}

/// Heartbeats with "stay quiet" get HEARTBEAT_OK; other heartbeats a reminder; messages an echo.
fn agent(turn: &InboundTurn) -> Option<String> {
    match turn.kind {
        TurnKind::Heartbeat if turn.body.contains("stay quiet") => Some("HEARTBEAT_OK".into()),
        TurnKind::Heartbeat => Some("HEARTBEAT_OK Reminder: water the plants".into()),
        TurnKind::Message => Some(format!("echo: {}", turn.raw_body)),
    }
}

fn heartbeats(h: &Harness) -> Vec<InboundTurn> {
    h.turns()
        .into_iter()
        .filter(|t| t.kind == TurnKind::Heartbeat)
        .collect()
}

/// Lets the scheduler run on virtual time until `done`, in one-second steps.
async fn run_until(h: &Harness, what: &str, done: impl Fn(&Harness) -> bool) {
    for _ in 0..120 {
        if done(h) {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        h.settle().await;
    }
    panic!("{what} did not happen");
}

#[tokio::test(start_paused = true)]
async fn heartbeats_run_on_schedule_survive_a_restart_and_never_pile_up() {
    let h = Harness::start(&config("stay quiet"), agent).await;
    // The schedule starts with the gateway, a few (virtual) ms before this.
    let started = h.net.now_ms();
    let owner = h.net.phone(OWNER);
    owner.send_text(&h.account, "hi").await;
    h.settle().await;

    // Not before its interval.
    tokio::time::sleep(Duration::from_secs(29 * 60)).await;
    h.settle().await;
    assert!(heartbeats(&h).is_empty(), "a heartbeat before 30 minutes");
    run_until(&h, "the first heartbeat", |h| !heartbeats(h).is_empty()).await;
    let first = &heartbeats(&h)[0];
    assert_eq!(first.body, "stay quiet");
    assert_eq!(first.heartbeat_model.as_deref(), Some("cheap-model"));
    assert_eq!(first.session_key, "agent:main:main");
    assert_eq!(first.agent_id, "main");
    let at = first.timestamp;
    let after = at - started;
    assert!(
        (29 * 60_000 + 59_000..31 * 60_000).contains(&after),
        "{after}"
    );
    // HEARTBEAT_OK sends nothing: the owner has only the echo.
    run_until(&h, "the ok count", |h| {
        h.gw.heartbeat_counts().get(&("main".to_owned(), "ok")) == Some(&1)
    })
    .await;
    assert_eq!(owner.received_texts(), ["echo: hi"]);
    let due = h.gw.heartbeat_due()["main"];
    assert_eq!(due, at + 30 * 60_000, "the next one is persisted");
    let events = h.gw.store().events().since(0, 1000).unwrap();
    assert!(events.iter().any(|e| matches!(&e.event,
        GatewayEvent::Heartbeat { agent, outcome, .. } if agent == "main" && outcome == "ok")));

    // Down for three hours: six heartbeats missed.
    let (net, dir) = h.stop().await;
    net.clock().skew(Duration::from_secs(3 * 3600));
    let h = Harness::start_on(net, dir, &config("say something"), agent).await;
    run_until(&h, "the catch-up heartbeat", |h| !heartbeats(h).is_empty()).await;
    run_until(&h, "the reminder", |h| {
        h.net
            .phone(OWNER)
            .received_texts()
            .iter()
            .any(|t| t == "Reminder: water the plants")
    })
    .await;
    // One catch-up, not six, and the next is a full interval later.
    tokio::time::sleep(Duration::from_secs(10 * 60)).await;
    h.settle().await;
    assert_eq!(heartbeats(&h).len(), 1, "missed heartbeats piled up");
    let catch_up = heartbeats(&h)[0].timestamp;
    assert_eq!(h.gw.heartbeat_due()["main"], catch_up + 30 * 60_000);
    tokio::time::sleep(Duration::from_secs(19 * 60)).await;
    h.settle().await;
    assert_eq!(heartbeats(&h).len(), 1, "early");
    run_until(&h, "the next heartbeat", |h| heartbeats(h).len() == 2).await;
    assert!(heartbeats(&h)[1].timestamp - catch_up >= 30 * 60_000);
    // Delivered to the last route, which was persisted across the restart.
    let counts = h.gw.heartbeat_counts();
    assert_eq!(
        counts.get(&("main".to_owned(), "delivered")),
        Some(&2),
        "{counts:?}"
    );
    h.gw.shutdown().await.unwrap();
}

/// `target: "none"` runs the agent but sends nothing; no heartbeat config, no turns.
#[tokio::test(start_paused = true)]
async fn target_none_sends_nothing_and_no_config_means_no_heartbeat() {
    let h = Harness::start(
        "{ agents: { defaults: { heartbeat: { every: '1h', target: 'none' } } }, channels: { whatsapp: { dmPolicy: 'allowlist', allowFrom: ['+15550001111'] } } }",
        agent,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    run_until(&h, "the heartbeat", |h| !heartbeats(h).is_empty()).await;
    assert_eq!(
        heartbeats(&h)[0].body,
        wagw_config::heartbeat::DEFAULT_PROMPT,
        "the reference's prompt, verbatim"
    );
    run_until(&h, "the silent count", |h| {
        h.gw.heartbeat_counts().get(&("main".to_owned(), "silent")) == Some(&1)
    })
    .await;
    assert!(h.net.phone(OWNER).received_texts().is_empty());
    h.gw.shutdown().await.unwrap();

    let h = Harness::start("{ channels: { whatsapp: {} } }", agent).await;
    tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
    h.settle().await;
    assert!(heartbeats(&h).is_empty());
    h.gw.shutdown().await.unwrap();
}
