//! A WhatsApp Business Cloud API account through the built `wagw` (issue 18), against the
//! fake Graph server on loopback: Meta's webhook verification (right and wrong token), a
//! signed inbound text reaching a webhook agent and the agent's reply going out to the
//! Graph API, a badly signed webhook refused with 401 and not processed, Meta's retry of a
//! delivered webhook deduped, `channels login` explaining cloud setup, and no secret in
//! `config check`, `/v1/accounts` or the log.

use super::operator::{Daemon, answer_turn, json, wait_for};
use super::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use wagw_cloud::fake::{self, FakeGraph};

const NUMBER_ID: &str = "1000000001";
const CUSTOMER: &str = "15550002222";

/// An HTTP/1.1 request without the API token, as Meta sends it: (status, body).
fn meta(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    write!(s, "{head}\r\n{body}").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).into_owned();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A webhook agent that records the text (and the whole turn) of every turn and answers
/// `re: <text>`.
fn agent(turns: Arc<Mutex<Vec<String>>>, bodies: Arc<Mutex<Vec<Value>>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let turns = turns.clone();
            let bodies = bodies.clone();
            std::thread::spawn(move || {
                answer_turn(stream, &|turn| {
                    let text = turn.body["rawBody"].as_str().unwrap_or_default().to_owned();
                    turns.lock().unwrap().push(text.clone());
                    bodies.lock().unwrap().push(turn.body.clone());
                    if text == "template please" {
                        return serde_json::json!({"replies": [{"template": {
                            "name": "order_update", "language": "en_US"}}]});
                    }
                    serde_json::json!({"replies": [{"text": format!("re: {text}")}]})
                })
            });
        }
    });
    port
}

fn inbound(wamid: &str, text: &str) -> String {
    fake::webhook(NUMBER_ID, &[fake::text(CUSTOMER, wamid, text)], &[]).to_string()
}

#[test]
fn a_cloud_account_takes_verified_signed_webhooks_and_replies_through_the_graph_api() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let graph = rt.block_on(FakeGraph::start());
    let turns: Arc<Mutex<Vec<String>>> = Arc::default();
    let bodies: Arc<Mutex<Vec<Value>>> = Arc::default();
    let agent = agent(turns.clone(), bodies.clone());
    let config = serde_json::json!({
        "gateway": { "agents": [ {
            "id": "main", "type": "webhook", "url": format!("http://127.0.0.1:{agent}/turn"),
            "secret": "0123456789abcdef0123456789abcdef"
        } ] },
        "channels": { "whatsapp": {
            "dmPolicy": "open", "allowFrom": ["*"],
            "accounts": { "biz": {
                "transport": "cloud",
                "cloud": {
                    "accessToken": fake::TOKEN, "phoneNumberId": NUMBER_ID,
                    "verifyToken": fake::VERIFY_TOKEN, "appSecret": fake::APP_SECRET,
                    "apiBase": graph.api_base(),
                },
            } },
        } },
    })
    .to_string();
    let d = Daemon::launch(&config, false, &[], &[]);
    let start = std::time::Instant::now();
    loop {
        let (_, b) = d.http("GET", "/v1/accounts/biz", None);
        if b.contains("\"connected\":true") {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "biz did not connect: {b}\n{}",
            d.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let port = d.port;

    // Meta's verification: the challenge comes back only with the right verify token.
    let ok = format!(
        "/v1/cloud/biz/webhook?hub.mode=subscribe&hub.verify_token={}&hub.challenge=1158201444",
        fake::VERIFY_TOKEN
    );
    assert_eq!(
        meta(port, "GET", &ok, &[], ""),
        (200, "1158201444".to_owned())
    );
    let (s, b) = meta(
        port,
        "GET",
        "/v1/cloud/biz/webhook?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1",
        &[],
        "",
    );
    assert_eq!(s, 403, "{b}");
    assert!(!b.contains("1\""), "{b}");

    // A badly signed webhook: 401, nothing processed.
    let forged = inbound("wamid.FORGED", "forged");
    let bad_sig = wagw_cloud::webhook::sign("not the app secret", forged.as_bytes());
    let (s, b) = meta(
        port,
        "POST",
        "/v1/cloud/biz/webhook",
        &[
            ("Content-Type", "application/json"),
            ("X-Hub-Signature-256", &bad_sig),
        ],
        &forged,
    );
    assert_eq!(s, 401, "{b}");
    let (s, _) = meta(
        port,
        "POST",
        "/v1/cloud/biz/webhook",
        &[("Content-Type", "application/json")],
        &forged,
    );
    assert_eq!(s, 401, "an unsigned webhook was accepted");

    // A signed text: 200 only once stored; it reaches the agent and the reply goes to Meta.
    let hello = inbound("wamid.HELLO", "hello from the cloud");
    let (s, b) = rt.block_on(fake::post_raw(
        &format!("http://127.0.0.1:{port}/v1/cloud/biz/webhook"),
        Some(wagw_cloud::webhook::sign(
            fake::APP_SECRET,
            hello.as_bytes(),
        )),
        hello.clone(),
    ));
    assert_eq!(s, 200, "{b}");
    let reply = wait_for("the reply at the Graph API", 60, || {
        graph
            .sent(NUMBER_ID)
            .into_iter()
            .find(|m| m["type"] == "text")
    });
    assert_eq!(reply["to"], CUSTOMER);
    assert_eq!(reply["text"]["body"], "re: hello from the cloud");
    // The gateway marked it read through the Cloud API.
    let read = graph
        .requests()
        .into_iter()
        .any(|r| r.body["status"] == "read" && r.body["message_id"] == "wamid.HELLO");
    assert!(read, "no read mark for wamid.HELLO");
    // The forged message never reached the agent.
    assert_eq!(*turns.lock().unwrap(), ["hello from the cloud"]);

    // Meta retries the delivered webhook: 200, and the agent does not see it again (the
    // next message is the next turn).
    let (s, _) = rt.block_on(fake::post_webhook(
        &format!("http://127.0.0.1:{port}/v1/cloud/biz/webhook"),
        Some(fake::APP_SECRET),
        &serde_json::from_str(&hello).unwrap(),
    ));
    assert_eq!(s, 200);
    let (s, _) = rt.block_on(fake::post_webhook(
        &format!("http://127.0.0.1:{port}/v1/cloud/biz/webhook"),
        Some(fake::APP_SECRET),
        &serde_json::from_str(&inbound("wamid.SECOND", "second")).unwrap(),
    ));
    assert_eq!(s, 200);
    wait_for("the second turn", 60, || {
        (turns.lock().unwrap().len() >= 2).then_some(())
    });
    assert_eq!(*turns.lock().unwrap(), ["hello from the cloud", "second"]);

    // Every other inbound type reaches the agent: media (downloaded through the Graph API
    // with the token), location, contacts, an interactive reply, a quoted reply.
    let photo = b"\xFF\xD8\xFF\xE0 a customer's photo".to_vec();
    let media_id = graph.put_media(&photo, "image/jpeg");
    let mut quoted = fake::text(CUSTOMER, "wamid.Q", "about that");
    quoted["context"] = serde_json::json!({"from": "15550100001", "id": "wamid.ORIGINAL"});
    let kinds = fake::webhook(
        NUMBER_ID,
        &[
            fake::message(
                CUSTOMER,
                "wamid.IMG",
                "image",
                serde_json::json!({"id": media_id, "mime_type": "image/jpeg", "caption": "my receipt"}),
            ),
            fake::message(
                CUSTOMER,
                "wamid.LOC",
                "location",
                serde_json::json!({"latitude": 52.52, "longitude": 13.405, "name": "Berlin"}),
            ),
            fake::message(
                CUSTOMER,
                "wamid.VCF",
                "contacts",
                serde_json::json!([{"name": {"formatted_name": "Ann Lee"}, "phones": [{"phone": "+44 20 7946 0958"}]}]),
            ),
            fake::message(
                CUSTOMER,
                "wamid.BTN",
                "interactive",
                serde_json::json!({"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes please"}}),
            ),
            quoted,
        ],
        &[],
    );
    let (s, b) = rt.block_on(fake::post_webhook(
        &format!("http://127.0.0.1:{port}/v1/cloud/biz/webhook"),
        Some(fake::APP_SECRET),
        &kinds,
    ));
    assert_eq!(s, 200, "{b}");
    let got = wait_for("five more turns", 60, || {
        let b = bodies.lock().unwrap();
        (b.len() >= 7).then(|| b[2..7].to_vec())
    });
    assert_eq!(got[0]["media"]["kind"], "image", "{}", got[0]);
    let saved = got[0]["media"]["path"]
        .as_str()
        .expect("the photo was not saved");
    assert_eq!(std::fs::read(saved).unwrap(), photo);
    assert!(
        got[0]["rawBody"].as_str().unwrap().contains("my receipt"),
        "{}",
        got[0]
    );
    assert_eq!(got[1]["location"]["name"], "Berlin", "{}", got[1]);
    assert!(
        got[2]["rawBody"].as_str().unwrap().contains("Ann Lee"),
        "{}",
        got[2]
    );
    assert_eq!(got[3]["rawBody"], "Yes please");
    assert_eq!(got[4]["replyToId"], "wamid.ORIGINAL", "{}", got[4]);
    wait_for("the replies to all seven turns", 60, || {
        let n = graph
            .sent(NUMBER_ID)
            .into_iter()
            .filter(|m| {
                m["text"]["body"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("re: "))
            })
            .count();
        (n >= 7).then_some(())
    });

    // Outside the 24-hour window a send is refused in words, and a template goes out,
    // from the send API and from an agent's reply.
    graph.fail_next([fake::Failure::reengagement()]);
    let (s, b) = d.http(
        "POST",
        "/v1/accounts/biz/messages",
        Some(&serde_json::json!({"to": "+15550002222", "text": "late"}).to_string()),
    );
    assert_eq!(s, 502, "{b}");
    assert!(
        b.contains("the customer has not written in 24 h; a template message is required"),
        "{b}"
    );
    let template = serde_json::json!({"to": "+15550002222", "template": {
        "name": "hello_world", "language": "en_US",
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ann"}]}]}});
    let (s, b) = d.http(
        "POST",
        "/v1/accounts/biz/messages",
        Some(&template.to_string()),
    );
    assert_eq!(s, 200, "{b}");
    let sent = graph.sent(NUMBER_ID);
    let t = sent.iter().find(|m| m["type"] == "template").unwrap();
    assert_eq!(t["template"]["name"], "hello_world");
    assert_eq!(
        t["template"]["components"][0]["parameters"][0]["text"],
        "Ann"
    );
    let (s, _) = rt.block_on(fake::post_webhook(
        &format!("http://127.0.0.1:{port}/v1/cloud/biz/webhook"),
        Some(fake::APP_SECRET),
        &serde_json::from_str(&inbound("wamid.TPL", "template please")).unwrap(),
    ));
    assert_eq!(s, 200);
    wait_for("the agent's template at the Graph API", 60, || {
        graph
            .sent(NUMBER_ID)
            .into_iter()
            .find(|m| m["template"]["name"] == "order_update")
    });

    // The account says what it is, and no secret leaves the daemon.
    let (s, b) = d.http("GET", "/v1/accounts/biz", None);
    assert_eq!(s, 200, "{b}");
    assert_eq!(json(&b)["transport"], "cloud");
    let check = d.cli(&["--json", "config", "check"]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    let (_, all) = d.http("GET", "/v1/accounts", None);
    for text in [stdout(&check), all, d.log()] {
        for secret in [fake::TOKEN, fake::APP_SECRET, fake::VERIFY_TOKEN] {
            assert!(!text.contains(secret), "{secret} printed: {text}");
        }
    }

    // `channels login` on a cloud account explains the Cloud API setup instead.
    let o = d.cli(&["channels", "login", "--account", "biz"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("Meta's dashboard") && err.contains("/v1/cloud/biz/webhook"),
        "{err}"
    );
    drop(rt);
}
