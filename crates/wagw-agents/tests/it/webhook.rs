//! The webhook worker against a real HTTP receiver.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use wagw_agents::*;

use crate::receiver::{Receiver, Response, reserve_port};
use crate::support::*;

struct Running {
    outbox: Outbox,
    targets: WebhookTargets,
    done: mpsc::UnboundedReceiver<Completion>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    _db: (tempfile::TempDir, wagw_store::Db),
}

impl Running {
    fn start(targets: Vec<WebhookTarget>) -> Self {
        let db = temp_db();
        let outbox = Outbox::new(db.1.open_tree("outbox").unwrap());
        let specs: Vec<AgentSpec> = targets.into_iter().map(AgentSpec::Webhook).collect();
        let targets = WebhookTargets::from_specs(&specs);
        let (tx, done) = mpsc::unbounded_channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let worker = WebhookWorker::new(outbox.clone(), targets.clone())
            .unwrap()
            .completions(tx)
            .random(Box::new(SplitMix64::new(1)));
        let task = tokio::spawn(worker.run(async move {
            let _ = stopped.await;
        }));
        Running {
            outbox,
            targets,
            done,
            stop: Some(stop),
            task,
            _db: db,
        }
    }

    async fn completion(&mut self) -> Completion {
        match tokio::time::timeout(Duration::from_secs(10), self.done.recv()).await {
            Ok(done) => done.unwrap(),
            Err(_) => {
                let all: Vec<_> = [
                    DeliveryState::Pending,
                    DeliveryState::Delivered,
                    DeliveryState::Dead,
                ]
                .iter()
                .map(|s| self.outbox.list(*s, 100).unwrap())
                .collect();
                panic!("no completion within 10 s; the outbox holds {all:#?}")
            }
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .unwrap()
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_delivery_with_replies_in_line() {
    let receiver = Receiver::start(|req, _| {
        let header = req.header("x-wagw-signature").unwrap_or_default();
        let verdict = verify_signature(
            SECRET.as_bytes(),
            header,
            &req.body,
            now_secs(),
            DEFAULT_TOLERANCE_SECS,
        );
        if verdict.is_err() {
            return Response::status(401);
        }
        Response::json(
            200,
            serde_json::json!({"replies": [
                {"text": format!("you said: {}", req.json()["body"].as_str().unwrap())},
                {"media": [{"url": "https://example.invalid/cat.jpg", "caption": "a cat"}]}
            ]}),
        )
    })
    .await;
    let run = Running::start(vec![target("bot", &receiver.url(), 3)]);
    let t = turn("m1", serde_json::json!({}));
    let enqueued = run.outbox.enqueue("bot", &t, 0).await.unwrap();
    let Waited::Done(DeliveryOutcome::Delivered { status, replies }) =
        enqueued.waiter.wait(Duration::from_secs(10)).await
    else {
        panic!("not delivered in line");
    };
    assert_eq!(status, 200);
    assert_eq!(replies[0].text.as_deref(), Some("you said: hello m1"));
    assert_eq!(
        replies[1].media[0].source,
        MediaSource::Url("https://example.invalid/cat.jpg".into())
    );

    let req = &receiver.requests()[0];
    assert_eq!(req.path, "/hook");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.delivery_id(), "m1");
    assert_eq!(req.header("x-wagw-attempt"), Some("1"));
    assert_eq!(
        req.body,
        t.json.as_bytes(),
        "the body is the turn, byte for byte"
    );
    // A tampered body or another secret would not verify.
    let header = req.header("x-wagw-signature").unwrap();
    assert!(verify_signature(b"wrong-secret-0123456", header, &req.body, now_secs(), 300).is_err());

    let rec = run
        .outbox
        .get(&DeliveryId::new("m1").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        (rec.state, rec.attempts, rec.last_status),
        (DeliveryState::Delivered, 1, Some(200))
    );
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_down_for_a_while_then_every_delivery_arrives_once_delivered() {
    let port = reserve_port();
    let url = format!("http://{}/hook", port.addr);
    let mut run = Running::start(vec![target("bot", &url, 50)]);
    let ids: Vec<String> = (0..5).map(|i| format!("down-{i}")).collect();
    for id in &ids {
        // Nobody waits in line: outcomes must come through the completion channel.
        drop(
            run.outbox
                .enqueue("bot", &turn(id, serde_json::json!({})), 0)
                .await
                .unwrap(),
        );
    }
    // Every delivery fails at least twice while nothing listens.
    for id in &ids {
        let rec = wait_record(&run.outbox, id, Duration::from_secs(10), |r| {
            r.attempts >= 2
        })
        .await;
        assert_eq!(rec.state, DeliveryState::Pending);
        assert!(
            rec.last_error
                .as_deref()
                .unwrap()
                .contains("could not connect"),
            "{rec:?}"
        );
    }
    let receiver = Receiver::start_reserved(port, |_, _| Response::status(204)).await;
    let mut seen = BTreeSet::new();
    for _ in 0..ids.len() {
        let done = run.completion().await;
        assert!(
            matches!(done.outcome, DeliveryOutcome::Delivered { status: 204, ref replies } if replies.is_empty())
        );
        seen.insert(done.record.id.to_string());
    }
    assert_eq!(seen, ids.iter().cloned().collect::<BTreeSet<_>>());
    let arrived: BTreeSet<String> = receiver
        .requests()
        .iter()
        .map(|r| r.delivery_id())
        .collect();
    assert_eq!(arrived, seen);
    for req in receiver.requests() {
        let attempt: u32 = req.header("x-wagw-attempt").unwrap().parse().unwrap();
        assert!(attempt >= 3, "the first attempts failed: {attempt}");
    }
    assert_eq!(
        run.outbox.counts().unwrap(),
        OutboxCounts {
            pending: 0,
            dead: 0,
            delivered: 5
        }
    );
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_table_retry_or_dead() {
    // Each turn names the status the receiver answers with on the first request; later
    // requests for the same delivery get 200.
    let receiver = Receiver::start(|req, _| {
        let status = req.json()["status"].as_u64().unwrap() as u16;
        let attempt = req.header("x-wagw-attempt").unwrap();
        if attempt == "1" {
            Response::status(status)
        } else {
            Response::status(200)
        }
    })
    .await;
    let mut run = Running::start(vec![target("bot", &receiver.url(), 4)]);
    let rows: &[(u16, bool)] = &[
        (400, false),
        (401, false),
        (403, false),
        (404, false),
        (410, false),
        (422, false),
        (301, false),
        (408, true),
        (429, true),
        (500, true),
        (502, true),
        (503, true),
    ];
    for (status, _) in rows {
        let id = format!("s{status}");
        drop(
            run.outbox
                .enqueue("bot", &turn(&id, serde_json::json!({"status": status})), 0)
                .await
                .unwrap(),
        );
    }
    let mut outcomes = std::collections::HashMap::new();
    for _ in rows {
        let done = run.completion().await;
        outcomes.insert(done.record.id.to_string(), done);
    }
    for (status, retried) in rows {
        let done = &outcomes[&format!("s{status}")];
        let attempts = receiver
            .requests()
            .iter()
            .filter(|r| r.delivery_id() == done.record.id.as_str())
            .count();
        if *retried {
            assert!(
                matches!(done.outcome, DeliveryOutcome::Delivered { .. }),
                "status {status}: {done:?}"
            );
            assert_eq!((attempts, done.record.attempts), (2, 2), "status {status}");
        } else {
            assert!(
                matches!(done.outcome, DeliveryOutcome::Dead { .. }),
                "status {status}: {done:?}"
            );
            assert_eq!(
                (attempts, done.record.attempts),
                (1, 1),
                "status {status} must not be retried"
            );
            assert_eq!(done.record.last_status, Some(*status));
            assert!(
                done.record
                    .last_error
                    .as_deref()
                    .unwrap()
                    .contains(&status.to_string())
            );
        }
    }
    // Nothing else arrives later for the dead ones.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.requests().len(),
        rows.len() + rows.iter().filter(|r| r.1).count()
    );
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_waits_for_retry_after() {
    let receiver = Receiver::start(|_, n| {
        if n == 0 {
            Response::status(429).header("Retry-After", "1")
        } else {
            Response::status(200)
        }
    })
    .await;
    let mut run = Running::start(vec![target("bot", &receiver.url(), 3)]);
    drop(
        run.outbox
            .enqueue("bot", &turn("rl", serde_json::json!({})), 0)
            .await
            .unwrap(),
    );
    assert!(matches!(
        run.completion().await.outcome,
        DeliveryOutcome::Delivered { .. }
    ));
    let reqs = receiver.requests();
    assert_eq!(reqs.len(), 2);
    let gap = reqs[1].at - reqs[0].at;
    // The backoff alone would retry within 20 ms.
    assert!(
        gap >= Duration::from_millis(950),
        "retried after {gap:?}, not after Retry-After: 1"
    );
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_are_retried() {
    let receiver = Receiver::start(|_, n| {
        let r = Response::status(200);
        if n == 0 {
            r.delayed(Duration::from_millis(800))
        } else {
            r
        }
    })
    .await;
    let mut t = target("bot", &receiver.url(), 3);
    t.timeout = Duration::from_millis(150);
    let mut run = Running::start(vec![t]);
    drop(
        run.outbox
            .enqueue("bot", &turn("slow", serde_json::json!({})), 0)
            .await
            .unwrap(),
    );
    let done = run.completion().await;
    assert!(
        matches!(done.outcome, DeliveryOutcome::Delivered { .. }),
        "{done:?}"
    );
    assert_eq!(done.record.attempts, 2);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letter_then_replay_with_the_same_id() {
    let healthy = Arc::new(AtomicBool::new(false));
    let receiver = {
        let healthy = healthy.clone();
        Receiver::start(move |_, _| {
            if healthy.load(Ordering::SeqCst) {
                Response::json(200, serde_json::json!({"replies": [{"text": "finally"}]}))
            } else {
                Response::status(500)
            }
        })
        .await
    };
    let mut run = Running::start(vec![target("bot", &receiver.url(), 3)]);
    drop(
        run.outbox
            .enqueue("bot", &turn("dl", serde_json::json!({})), 0)
            .await
            .unwrap(),
    );
    let done = run.completion().await;
    let DeliveryOutcome::Dead { error } = &done.outcome else {
        panic!("{done:?}")
    };
    assert!(
        error.contains("gave up after 3 attempts") && error.contains("HTTP 500"),
        "{error}"
    );
    let dead = run.outbox.list(DeliveryState::Dead, 10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].id.as_str(), dead[0].attempts), ("dl", 3));
    assert_eq!(receiver.requests().len(), 3);

    healthy.store(true, Ordering::SeqCst);
    let replayed = run
        .outbox
        .replay(&DeliveryId::new("dl").unwrap(), 0)
        .await
        .unwrap();
    assert_eq!(replayed.state, DeliveryState::Pending);
    let done = run.completion().await;
    assert_eq!(
        done.outcome,
        DeliveryOutcome::Delivered {
            status: 200,
            replies: vec![AgentReply::text("finally")]
        }
    );
    assert_eq!((done.record.replays, done.record.attempts), (1, 1));
    let reqs = receiver.requests();
    assert_eq!(reqs.len(), 4);
    assert!(
        reqs.iter().all(|r| r.delivery_id() == "dl"),
        "replay keeps the delivery id"
    );
    assert!(reqs.iter().all(|r| r.body == reqs[0].body), "and the body");
    assert!(run.outbox.list(DeliveryState::Dead, 10).unwrap().is_empty());
    assert_eq!(
        run.outbox.list(DeliveryState::Delivered, 10).unwrap()[0]
            .id
            .as_str(),
        "dl"
    );
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_agent_dead_letters_and_reload_applies() {
    let receiver = Receiver::start(|_, _| Response::status(200)).await;
    let mut run = Running::start(vec![target("old", &receiver.url(), 3)]);
    run.targets.replace(&[spec("new", &receiver.url(), 3)]);
    drop(
        run.outbox
            .enqueue("old", &turn("orphan", serde_json::json!({})), 0)
            .await
            .unwrap(),
    );
    let done = run.completion().await;
    let DeliveryOutcome::Dead { error } = &done.outcome else {
        panic!("{done:?}")
    };
    assert!(error.contains("\"old\" is not configured"), "{error}");
    drop(
        run.outbox
            .enqueue("new", &turn("fine", serde_json::json!({})), 0)
            .await
            .unwrap(),
    );
    assert!(matches!(
        run.completion().await.outcome,
        DeliveryOutcome::Delivered { .. }
    ));
    assert_eq!(receiver.requests().len(), 1);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_outage_the_first_success_brings_the_waiting_deliveries_at_once() {
    let port = reserve_port();
    let url = format!("http://{}/hook", port.addr);
    // A backoff far longer than this test may take: only the recovery rule can deliver
    // the waiting ones in time.
    let mut slow = target("bot", &url, 50);
    slow.backoff = Backoff {
        initial_ms: 600_000,
        max_ms: 600_000,
        factor: 2.0,
        jitter: 0.0,
    };
    let mut run = Running::start(vec![slow]);
    let waiting: Vec<String> = (0..4).map(|i| format!("out-{i}")).collect();
    for id in &waiting {
        drop(
            run.outbox
                .enqueue("bot", &turn(id, serde_json::json!({})), 0)
                .await
                .unwrap(),
        );
    }
    for id in &waiting {
        let rec = wait_record(&run.outbox, id, Duration::from_secs(10), |r| {
            r.attempts == 1 && r.next_attempt_at_ms.is_some()
        })
        .await;
        assert_eq!(rec.state, DeliveryState::Pending, "{rec:?}");
    }
    // The agent is back; a new turn gets through at once, and the waiting ones follow.
    let receiver = Receiver::start_reserved(port, |_, _| Response::status(204)).await;
    drop(
        run.outbox
            .enqueue("bot", &turn("fresh", serde_json::json!({})), 0)
            .await
            .unwrap(),
    );
    let mut seen = BTreeSet::new();
    for _ in 0..=waiting.len() {
        let done = run.completion().await;
        assert!(
            matches!(done.outcome, DeliveryOutcome::Delivered { status: 204, .. }),
            "{done:?}"
        );
        seen.insert(done.record.id.to_string());
    }
    let mut expected: BTreeSet<String> = waiting.iter().cloned().collect();
    expected.insert("fresh".into());
    assert_eq!(seen, expected);
    assert_eq!(receiver.requests().len(), expected.len(), "each once");
    run.stop().await;
}
