//! The Python webhook agent printed in docs/agents.md, run against the real worker.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wagw_agents::*;

use crate::receiver::free_port;
use crate::support::*;

/// The first ```python block after the "in 20 lines" heading.
fn documented_agent() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/agents.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let section = doc
        .split_once("### A webhook agent in 20 lines")
        .expect("the section")
        .1;
    let code = section.split_once("```python\n").expect("a python block").1;
    code.split_once("```")
        .expect("the block's end")
        .0
        .to_owned()
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_documented_agent_fits_in_twenty_lines() {
    let code = documented_agent();
    let lines = code.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(lines <= 20, "{lines} non-blank lines");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_python_agent_verifies_and_replies() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("python3 not installed; skipping the documented-agent test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("agent.py");
    std::fs::write(&script, documented_agent()).unwrap();
    let addr = free_port();
    let _agent = Kill(
        Command::new("python3")
            .arg(&script)
            .env("WAGW_SECRET", SECRET)
            .env("PORT", addr.port().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the documented agent did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("http://{addr}/turns");
    let mut wrong = target("impostor", &url, 5);
    wrong.secret = "not-the-agents-secret".into();
    let (_dir, db) = temp_db();
    let outbox = Outbox::new(db.open_tree("outbox").unwrap());
    let targets = WebhookTargets::from_specs(&[spec("bot", &url, 5), AgentSpec::Webhook(wrong)]);
    let task = tokio::spawn(
        WebhookWorker::new(outbox.clone(), targets)
            .unwrap()
            .run(std::future::pending()),
    );

    let t = turn("py1", serde_json::json!({"rawBody": "ping"}));
    let waited = outbox
        .enqueue("bot", &t, 0)
        .await
        .unwrap()
        .waiter
        .wait(Duration::from_secs(20))
        .await;
    assert_eq!(
        waited,
        Waited::Done(DeliveryOutcome::Delivered {
            status: 200,
            replies: vec![AgentReply::text("You said: ping")]
        })
    );
    // A request signed with another secret is refused with 401, which is not retried.
    let waited = outbox
        .enqueue(
            "impostor",
            &turn("py2", serde_json::json!({"rawBody": "x"})),
            0,
        )
        .await
        .unwrap();
    let Waited::Done(DeliveryOutcome::Dead { error }) =
        waited.waiter.wait(Duration::from_secs(20)).await
    else {
        panic!("the impostor was not refused");
    };
    assert!(error.contains("HTTP 401"), "{error}");
    assert_eq!(
        outbox
            .get(&DeliveryId::new("py2").unwrap())
            .unwrap()
            .unwrap()
            .attempts,
        1
    );
    task.abort();
}
