//! Reliability through the built `wagw` (issue 16): an agent outage ends seconds after the
//! agent is back, not after the longest backoff; an agent's reply stored before a SIGKILL is
//! sent after the restart, once; five SIGKILLs under traffic lose no accepted turn and no
//! reply, and never give one message two delivery ids.

use super::operator::{Daemon, Turn, answer_turn, json, wait_for};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

/// A loopback port bound but not listening: the agent is down (connections are refused)
/// and no other test can be handed the port meanwhile. `serve` brings the agent up on it.
struct DownAgent {
    socket: tokio::net::TcpSocket,
    addr: SocketAddr,
}

impl DownAgent {
    fn reserve() -> DownAgent {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = socket.local_addr().unwrap();
        DownAgent { socket, addr }
    }

    fn url(&self) -> String {
        format!("http://{}/turn", self.addr)
    }

    /// Starts answering every turn with one reply, `answered`.
    fn serve(self) {
        self.serve_with(|_| "answered".to_owned());
    }

    /// Starts answering every turn with one reply, `reply(turn)`.
    fn serve_with(self, reply: impl Fn(&Turn) -> String + Send + Sync + 'static) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let listener: TcpListener = {
            let _entered = rt.enter();
            let l = self.socket.listen(64).unwrap().into_std().unwrap();
            l.set_nonblocking(false).unwrap();
            l
        };
        let reply = std::sync::Arc::new(reply);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let reply = reply.clone();
                std::thread::spawn(move || {
                    answer_turn(
                        stream,
                        &|turn| serde_json::json!({"replies": [{"text": reply(turn)}]}),
                    )
                });
            }
        });
    }
}

/// The config of these tests: open DMs, one signed webhook agent at `url`.
fn webhook_config(url: &str) -> String {
    serde_json::json!({
        "gateway": { "agents": [ {
            "id": "main", "type": "webhook", "url": url,
            "secret": "0123456789abcdef0123456789abcdef"
        } ] },
        "channels": { "whatsapp": { "dmPolicy": "open", "allowFrom": ["*"] } }
    })
    .to_string()
}

fn deliveries(d: &Daemon, state: &str) -> Vec<serde_json::Value> {
    let (status, out) = d.http("GET", &format!("/v1/deliveries?state={state}"), None);
    assert_eq!(status, 200, "{out}");
    json(&out)["deliveries"].as_array().unwrap().clone()
}

#[test]
fn after_an_agent_outage_waiting_turns_are_answered_as_soon_as_it_is_back() {
    let agent = DownAgent::reserve();
    let config = webhook_config(&agent.url());
    let d = Daemon::start(&config);
    d.wait_connected("default");
    // A turn while the agent is down: it fails and waits in backoff (≥ 3 s after the second
    // failure, ≥ 9 s after the third; the test waits for the third).
    d.inbound("+15550007777", "asked while the agent was down");
    let waiting = wait_for("the delivery to back off three times", 60, || {
        deliveries(&d, "pending")
            .into_iter()
            .find(|r| r["attempts"].as_u64().unwrap_or(0) >= 3)
    });
    let scheduled = waiting["nextAttemptAtMs"].as_u64().unwrap();
    let id = waiting["id"].as_str().unwrap().to_owned();

    // The agent is back; the next turn gets through at once and takes the waiting one along.
    agent.serve();
    d.inbound("+15550008888", "asked after it came back");
    let done = wait_for("both turns answered", 60, || {
        let delivered = deliveries(&d, "delivered");
        (delivered.len() == 2).then_some(delivered)
    });
    let first = done.iter().find(|r| r["id"] == id.as_str()).unwrap();
    let finished = first["finishedAtMs"].as_u64().unwrap();
    assert!(
        finished < scheduled,
        "the waiting delivery went out at {finished}, not before its backoff ended at {scheduled}: {done:#?}\n{}",
        d.log()
    );
    assert!(
        d.log().contains("retrying its waiting deliveries now"),
        "{}",
        d.log()
    );
    // Both contacts got their answer, once each.
    let replies: Vec<String> = d
        .outbox()
        .iter()
        .filter(|m| m["text"] == "answered")
        .map(|m| m["chat"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(replies.len(), 2, "{:?}", d.outbox());
    assert!(
        replies.iter().any(|to| to.contains("15550007777")),
        "{replies:?}"
    );
    assert!(
        replies.iter().any(|to| to.contains("15550008888")),
        "{replies:?}"
    );
}

#[test]
fn an_agent_reply_stored_before_a_sigkill_is_sent_after_the_restart_once() {
    let agent = DownAgent::reserve();
    let url = agent.url();
    agent.serve();
    let config = webhook_config(&url);
    let mut d = Daemon::start(&config);
    d.wait_connected("default");
    // WhatsApp stops acknowledging sends: the agent's answer is stored, its send hangs.
    let (status, out) = d.http(
        "POST",
        "/v1/sim/faults",
        Some(r#"{"fault": {"kind": "sendDelay", "ms": 600000}}"#),
    );
    assert_eq!(status, 200, "{out}");
    // The account's own number writes to itself: the simulator knows that phone after a
    // restart too (a contact it met only by message would be new to it).
    d.inbound("+15550190001", "a question answered just before the crash");
    let stored = wait_for("the answer stored, not yet sent", 60, || {
        deliveries(&d, "delivered")
            .into_iter()
            .find(|r| r["repliesPending"] == true)
    });
    assert!(d.outbox().iter().all(|m| !is_answer(m)), "{:?}", d.outbox());
    d.kill9();

    d.spawn();
    d.wait_connected("default");
    let sent = wait_for("the stored answer sent after the restart", 60, || {
        let answers: Vec<_> = d.outbox().into_iter().filter(is_answer).collect();
        (!answers.is_empty()).then_some(answers)
    });
    let record = wait_for("the delivery marked sent", 30, || {
        deliveries(&d, "delivered")
            .into_iter()
            .find(|r| r["id"] == stored["id"] && r["replyIds"].is_array())
    });
    assert!(record.get("repliesPending").is_none(), "{record:#}");
    assert_eq!(record["replyIds"][0], sent[0]["id"], "{record:#}");
    // Once: nothing sends it again, and the agent was not asked again.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let answers = d.outbox().into_iter().filter(is_answer).count();
    assert_eq!(answers, 1, "{:?}\n{}", d.outbox(), d.log());
    assert!(
        d.log()
            .contains("sending agent replies stored before the last stop"),
        "{}",
        d.log()
    );
}

/// The agent's answer as it reaches the chat (in the self chat with the `[wagw]` prefix).
fn is_answer(m: &serde_json::Value) -> bool {
    m["text"].as_str().is_some_and(|t| t.ends_with("answered"))
}

#[test]
fn killed_five_times_under_traffic_no_accepted_turn_or_reply_is_lost() {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::{Arc, Mutex};

    let agent = DownAgent::reserve();
    let url = agent.url();
    // (delivery id, message id) of every turn the agent received.
    let received: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    {
        let received = received.clone();
        agent.serve_with(move |turn| {
            let message = turn.body["messageId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            received
                .lock()
                .unwrap()
                .push((turn.delivery.clone(), message.clone()));
            format!("re: {message}")
        });
    }
    let config = webhook_config(&url);
    let mut d = Daemon::start(&config);
    let mut kills = 0;
    for round in 0..5u64 {
        d.wait_connected("default");
        // The account's own number: the simulator of every run knows it (see above).
        for i in 0..8 {
            d.inbound("+15550190001", &format!("round {round} message {i}"));
        }
        // Kill at a different point of the work each round.
        std::thread::sleep(Duration::from_millis(40 * round));
        d.kill9();
        kills += 1;
        d.spawn();
    }
    d.wait_connected("default");

    // Everything the gateway accepted (it has a delivery) reaches the agent and is answered.
    let delivered = wait_for("every accepted turn delivered and answered", 120, || {
        let pending = deliveries(&d, "pending");
        let delivered = deliveries(&d, "delivered");
        let settled = delivered
            .iter()
            .all(|r| r.get("repliesPending").is_none() && r["replyIds"].is_array());
        (pending.is_empty() && settled).then_some(delivered)
    });
    assert!(deliveries(&d, "dead").is_empty(), "{}", d.log());
    assert!(!delivered.is_empty());
    let received = received.lock().unwrap().clone();
    let got: BTreeSet<&str> = received.iter().map(|(id, _)| id.as_str()).collect();
    for r in &delivered {
        let id = r["id"].as_str().unwrap();
        assert!(got.contains(id), "{id} never reached the agent");
    }
    // One delivery id per message, whatever the restarts; a repeat is the same id (at least
    // once, as documented).
    let mut ids_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (delivery, message) in &received {
        ids_of.entry(message).or_default().insert(delivery);
    }
    for (message, ids) in &ids_of {
        assert_eq!(ids.len(), 1, "message {message} got delivery ids {ids:?}");
    }
    let repeated = received.len() - got.len();
    eprintln!(
        "{kills} SIGKILLs: {} deliveries, all answered; the agent saw {} requests ({repeated} repeats, same ids)",
        delivered.len(),
        received.len()
    );
}
