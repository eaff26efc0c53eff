//! At-least-once across a crash: a child process enqueues deliveries (the receiver is
//! down, so they stay pending after a few attempts) and is SIGKILLed; reopening the store
//! in this process and running a worker delivers all of them with unchanged ids.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use wagw_agents::*;

use crate::receiver::{Receiver, Response, reserve_port};
use crate::support::*;

const DIR_VAR: &str = "WAGW_AGENTS_CRASH_DIR";
const URL_VAR: &str = "WAGW_AGENTS_CRASH_URL";
const IDS: [&str; 4] = ["crash-a", "crash-b", "crash-c", "crash-d"];

/// The child's half; does nothing unless started by `pending_deliveries_survive_sigkill`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by pending_deliveries_survive_sigkill"]
async fn child_enqueues_then_hangs() {
    let (Ok(dir), Ok(url)) = (std::env::var(DIR_VAR), std::env::var(URL_VAR)) else {
        return;
    };
    let db = wagw_store::Db::open(
        std::path::Path::new(&dir).join("state.sqlite3"),
        &Default::default(),
    )
    .unwrap();
    let outbox = Outbox::new(db.open_tree("outbox").unwrap());
    for id in IDS {
        drop(
            outbox
                .enqueue("bot", &turn(id, serde_json::json!({})), 0)
                .await
                .unwrap(),
        );
    }
    let worker = WebhookWorker::new(
        outbox.clone(),
        WebhookTargets::from_specs(&[spec("bot", &url, 100)]),
    )
    .unwrap();
    tokio::spawn(worker.run(std::future::pending()));
    // Seeing attempt 2 in memory means attempt 1's record was flushed: an attempt is
    // written and flushed before the next one is scheduled.
    for id in IDS {
        wait_record(&outbox, id, Duration::from_secs(20), |r| r.attempts >= 2).await;
    }
    // libtest prints "test <name> ... " without a newline first.
    println!("\nREADY");
    tokio::time::sleep(Duration::from_secs(3600)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_deliveries_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let port = reserve_port();
    let url = format!("http://{}/hook", port.addr);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash::child_enqueues_then_hangs",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_VAR, dir.path())
        .env(URL_VAR, &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.trim() == "READY")
    });
    let ready = tokio::time::timeout(Duration::from_secs(60), ready).await;
    // SIGKILL: no destructors, no final flush.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        matches!(ready, Ok(Ok(true))),
        "the child never got ready ({status:?})"
    );
    assert!(!status.success());

    let db = wagw_store::Db::open(dir.path().join("state.sqlite3"), &Default::default()).unwrap();
    let outbox = Outbox::new(db.open_tree("outbox").unwrap());
    let before = outbox.list(DeliveryState::Pending, 10).unwrap();
    assert_eq!(
        before.len(),
        IDS.len(),
        "every accepted delivery survived the crash"
    );
    assert!(before.iter().all(|r| r.attempts >= 1), "{before:#?}");

    let receiver = Receiver::start_reserved(port, |_, _| Response::status(200)).await;
    let (tx, mut done) = tokio::sync::mpsc::unbounded_channel();
    let worker = WebhookWorker::new(
        outbox.clone(),
        WebhookTargets::from_specs(&[spec("bot", &url, 100)]),
    )
    .unwrap()
    .completions(tx);
    let task = tokio::spawn(worker.run(std::future::pending()));
    let requests = receiver.wait_for(IDS.len(), Duration::from_secs(20)).await;
    let mut arrived: Vec<String> = requests.iter().map(|r| r.delivery_id()).collect();
    arrived.sort();
    assert_eq!(arrived, IDS, "same delivery ids after the restart");
    for req in &requests {
        let original = before
            .iter()
            .find(|r| r.id.as_str() == req.delivery_id())
            .unwrap();
        assert_eq!(
            req.body,
            original.body.as_bytes(),
            "same body after the restart"
        );
        let attempt: u32 = req.header("x-wagw-attempt").unwrap().parse().unwrap();
        assert!(attempt > original.attempts, "the attempt count continues");
    }
    for _ in IDS {
        let c = tokio::time::timeout(Duration::from_secs(10), done.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(c.outcome, DeliveryOutcome::Delivered { .. }));
    }
    assert_eq!(outbox.counts().unwrap().pending, 0);
    task.abort();
}
