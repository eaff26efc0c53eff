//! Reliability through the built `wagw` (issue 16): an agent outage ends seconds after the
//! agent is back, not after the longest backoff; an agent's reply stored before a SIGKILL is
//! sent after the restart, once; five SIGKILLs under traffic lose no accepted turn and no
//! reply, and never give one message two delivery ids. Issue 14's hang scenario: sustained
//! inbound load with a webhook agent never stalls the daemon.

use super::operator::{Daemon, Turn, answer_turn, json, wait_for};
use std::io::{Read, Write};
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

/// A GET of `/healthz` that gives up after `limit` (connect and answer): `None` when the
/// daemon did not answer in time.
fn healthz_within(port: u16, limit: Duration) -> Option<(u16, Duration)> {
    let start = std::time::Instant::now();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut s = std::net::TcpStream::connect_timeout(&addr, limit).ok()?;
    s.set_read_timeout(Some(limit)).ok()?;
    s.set_write_timeout(Some(limit)).ok()?;
    write!(
        s,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let status = String::from_utf8_lossy(&out)
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())?;
    Some((status, start.elapsed()))
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Issue 14's hang scenario through the built daemon: `wagw gateway --sim` with a webhook
/// agent under sustained inbound load (`/v1/sim/inbound`, a few hundred DMs a second from
/// many senders). No stall: `/healthz` answers throughout (every probe, each within 10 s),
/// and every message the gateway accepted reaches the agent — the test waits for that as
/// long as deliveries keep progressing and fails when they stop for 60 s. Nothing is
/// asserted about rates. One run of 60 s by default; `WAGW_LOAD_RUNS`, `WAGW_LOAD_SECS` and
/// `WAGW_LOAD_RATE` (DMs a second) set more.
#[test]
fn sustained_inbound_load_with_a_webhook_agent_never_stalls_the_daemon() {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    let runs = env_u64("WAGW_LOAD_RUNS", 1);
    let secs = env_u64("WAGW_LOAD_SECS", 60);
    let rate = env_u64("WAGW_LOAD_RATE", 200).max(1);
    const SENDERS: u64 = 64;
    const THREADS: u64 = 16;
    const PROBE_LIMIT: Duration = Duration::from_secs(10);
    const STALL: Duration = Duration::from_secs(60);

    for run in 0..runs {
        let agent = DownAgent::reserve();
        let url = agent.url();
        let received: Arc<Mutex<HashSet<String>>> = Arc::default();
        {
            let received = received.clone();
            agent.serve_with(move |turn| {
                let message = turn.body["messageId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                received.lock().unwrap().insert(message.clone());
                format!("re: {message}")
            });
        }
        let config = serde_json::json!({
            "gateway": { "agents": [ {
                "id": "main", "type": "webhook", "url": url,
                "secret": "0123456789abcdef0123456789abcdef"
            } ] },
            // Replies go out unpaced: the load is the store's, not WhatsApp's send pacing
            // (20 a minute by default, which would hold each chat's next turn).
            "channels": { "whatsapp": { "dmPolicy": "open", "allowFrom": ["*"], "pacing": {
                "messagesPerMinute": 1_000_000, "burst": 100_000, "perChatMinIntervalMs": 0,
                "newChatsPerDay": 100_000, "typingIndicator": false } } }
        })
        .to_string();
        let mut d = Daemon::start(&config);
        d.wait_connected("default");
        let port = d.port;

        // Liveness, for the whole run: a probe every 200 ms.
        let stop = Arc::new(AtomicBool::new(false));
        let probes = Arc::new(AtomicU64::new(0));
        let slowest = Arc::new(Mutex::new(Duration::ZERO));
        let missed: Arc<Mutex<Vec<String>>> = Arc::default();
        let watcher = {
            let (stop, probes, slowest, missed) = (
                stop.clone(),
                probes.clone(),
                slowest.clone(),
                missed.clone(),
            );
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                while !stop.load(Ordering::SeqCst) {
                    match healthz_within(port, PROBE_LIMIT) {
                        Some((200, took)) => {
                            let mut s = slowest.lock().unwrap();
                            *s = (*s).max(took);
                        }
                        other => missed.lock().unwrap().push(format!(
                            "at {:.1}s: {other:?}",
                            started.elapsed().as_secs_f64()
                        )),
                    }
                    probes.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(200));
                }
            })
        };

        // The load: THREADS senders on a fixed schedule (a thread that falls behind does
        // not burst to catch up by more than a second's worth).
        let accepted: Arc<Mutex<Vec<String>>> = Arc::default();
        let refused = Arc::new(AtomicU64::new(0));
        let per_thread = Duration::from_secs_f64(THREADS as f64 / rate as f64);
        let load: Vec<_> = (0..THREADS)
            .map(|t| {
                let (accepted, refused) = (accepted.clone(), refused.clone());
                std::thread::spawn(move || {
                    let end = std::time::Instant::now() + Duration::from_secs(secs);
                    let mut next = std::time::Instant::now();
                    let mut i = 0u64;
                    while std::time::Instant::now() < end {
                        let sender = format!("+1555061{:04}", (i * THREADS + t) % SENDERS);
                        let body = serde_json::json!({
                            "from": sender, "text": format!("load {t}/{i}")
                        })
                        .to_string();
                        let (status, out) =
                            super::operator::http(port, "POST", "/v1/sim/inbound", Some(&body));
                        match (status, json_id(&out)) {
                            (200, Some(id)) => accepted.lock().unwrap().push(id),
                            _ => {
                                refused.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        i += 1;
                        next += per_thread;
                        let now = std::time::Instant::now();
                        if next > now {
                            std::thread::sleep(next - now);
                        } else if now - next > Duration::from_secs(1) {
                            next = now;
                        }
                    }
                })
            })
            .collect();
        for t in load {
            t.join().unwrap();
        }
        let accepted: HashSet<String> = accepted.lock().unwrap().iter().cloned().collect();
        assert!(!accepted.is_empty(), "no message was accepted\n{}", d.log());

        // Completion: every accepted message reaches the agent, while progress continues.
        let mut last_progress = std::time::Instant::now();
        let mut last_count = 0usize;
        loop {
            let missing = {
                let got = received.lock().unwrap();
                accepted.iter().filter(|id| !got.contains(*id)).count()
            };
            if missing == 0 {
                break;
            }
            if missing != last_count {
                last_count = missing;
                last_progress = std::time::Instant::now();
            }
            assert!(
                last_progress.elapsed() < STALL,
                "run {run}: delivery stalled with {missing} of {} accepted messages not \
                 delivered for {}s\n{}",
                accepted.len(),
                STALL.as_secs(),
                d.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        stop.store(true, Ordering::SeqCst);
        watcher.join().unwrap();
        let missed = missed.lock().unwrap().clone();
        assert!(
            missed.is_empty(),
            "run {run}: /healthz did not answer 200 within {}s: {missed:?}",
            PROBE_LIMIT.as_secs()
        );
        assert!(probes.load(Ordering::SeqCst) > 0);
        let (status, _) = d.terminate(30);
        assert!(status.success(), "run {run}: {status:?}\n{}", d.log());
        eprintln!(
            "load run {run}: {secs}s at {rate}/s requested: {} accepted, {} refused, all \
             delivered; {} /healthz probes, slowest {:?}",
            accepted.len(),
            refused.load(Ordering::SeqCst),
            probes.load(Ordering::SeqCst),
            slowest.lock().unwrap()
        );
    }
}

/// The `messageId` of a `/v1/sim/inbound` answer.
fn json_id(body: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()?
        .get("messageId")?
        .as_str()
        .map(str::to_owned)
}
