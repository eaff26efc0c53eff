//! Reliability through the built `wagw` (issue 16): an agent outage ends seconds after the
//! agent is back, not after the longest backoff.

use super::operator::{Daemon, json, wait_for};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};

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
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || answer(stream));
            }
        });
    }
}

fn answer(stream: std::net::TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let out = serde_json::json!({"replies": [{"text": "answered"}]}).to_string();
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
        out.len()
    );
}

fn deliveries(d: &Daemon, state: &str) -> Vec<serde_json::Value> {
    let (status, out) = d.http("GET", &format!("/v1/deliveries?state={state}"), None);
    assert_eq!(status, 200, "{out}");
    json(&out)["deliveries"].as_array().unwrap().clone()
}

#[test]
fn after_an_agent_outage_waiting_turns_are_answered_as_soon_as_it_is_back() {
    let agent = DownAgent::reserve();
    let config = serde_json::json!({
        "gateway": { "agents": [ {
            "id": "main", "type": "webhook", "url": agent.url(),
            "secret": "0123456789abcdef0123456789abcdef"
        } ] },
        "channels": { "whatsapp": { "dmPolicy": "open", "allowFrom": ["*"] } }
    })
    .to_string();
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
