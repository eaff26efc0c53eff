//! A fake Graph API on loopback, for tests: it records every request, answers like Meta
//! (message ids, media ids and URLs, error envelopes), can be told to fail the next sends
//! with a Graph error or to refuse the token, and builds and posts signed webhooks.
//!
//! ```no_run
//! # async fn demo() {
//! use wagw_cloud::fake::{self, FakeGraph};
//! let graph = FakeGraph::start().await;
//! let config = graph.config(wagw_core::AccountId::default_account());
//! let body = fake::webhook(&config.phone_number_id, &[fake::text("15550002222", "wamid.1", "hi")], &[]);
//! let _ = fake::post_webhook("http://127.0.0.1:7420/v1/cloud/default/webhook", Some(fake::APP_SECRET), &body).await;
//! # }
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::time::Instant;
use wagw_core::AccountId;

use crate::config::{CloudConfig, RetryPolicy, Secret};

/// The access token the fake accepts.
pub const TOKEN: &str = "EAAG-fake-access-token";
/// The app secret the fake signs webhooks with.
pub const APP_SECRET: &str = "fake-app-secret";
/// The verify token the fake's configs carry.
pub const VERIFY_TOKEN: &str = "fake-verify-token";
/// The Graph version in the fake's `apiBase`.
pub const VERSION: &str = "v23.0";

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET` or `POST`.
    pub method: String,
    /// The path after the version (`1000000001/messages`), or `blob/<id>` for downloads.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The `Authorization` header as sent.
    pub authorization: Option<String>,
    /// The JSON body; for a multipart upload, its text fields plus `file_len`.
    pub body: Value,
    /// When it arrived.
    pub at: Instant,
}

/// A Graph error to answer with.
#[derive(Debug, Clone)]
pub struct Failure {
    /// HTTP status.
    pub http_status: u16,
    /// Graph code.
    pub code: i64,
    /// Graph message.
    pub message: String,
}

impl Failure {
    /// 131047: outside the 24-hour window.
    pub fn reengagement() -> Failure {
        Failure {
            http_status: 400,
            code: 131047,
            message: "(#131047) Re-engagement message".into(),
        }
    }
    /// 130429: throughput reached.
    pub fn rate_limit() -> Failure {
        Failure {
            http_status: 400,
            code: 130429,
            message: "(#130429) Rate limit hit".into(),
        }
    }
    /// 131026: not a WhatsApp user.
    pub fn not_on_whatsapp() -> Failure {
        Failure {
            http_status: 400,
            code: 131026,
            message: "(#131026) Message Undeliverable".into(),
        }
    }
}

#[derive(Default)]
struct FakeState {
    base: String,
    token: String,
    numbers: BTreeMap<String, String>,
    requests: Vec<Recorded>,
    failures: VecDeque<Failure>,
    media: BTreeMap<String, (Vec<u8>, String)>,
    next_id: u64,
}

/// The fake server. Dropping it stops it.
pub struct FakeGraph {
    state: Arc<Mutex<FakeState>>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn graph_error(status: u16, code: i64, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(json!({ "error": {
            "message": message, "type": "OAuthException", "code": code,
            "fbtrace_id": "AfakeTrace"
        }})),
    )
        .into_response()
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Reads a multipart body: (text fields, file bytes).
fn multipart(content_type: &str, body: &[u8]) -> (BTreeMap<String, String>, Option<Vec<u8>>) {
    let mut fields = BTreeMap::new();
    let mut file = None;
    let Some(boundary) = content_type.split("boundary=").nth(1) else {
        return (fields, file);
    };
    let delim = format!("--{boundary}");
    let mut pos = 0;
    while let Some(start) = find(body, delim.as_bytes(), pos) {
        let part_start = start + delim.len();
        if body.get(part_start..part_start + 2) == Some(b"--") {
            break;
        }
        let Some(head_end) = find(body, b"\r\n\r\n", part_start) else {
            break;
        };
        let Some(next) = find(body, delim.as_bytes(), head_end) else {
            break;
        };
        let head = String::from_utf8_lossy(&body[part_start..head_end]).to_string();
        let content = &body[head_end + 4..next.saturating_sub(2)];
        let name = head
            .split("name=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_default()
            .to_string();
        if name == "file" {
            file = Some(content.to_vec());
        } else {
            fields.insert(name, String::from_utf8_lossy(content).to_string());
        }
        pos = next;
    }
    (fields, file)
}

async fn handle(
    State(state): State<Arc<Mutex<FakeState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let raw_path = uri.path().trim_start_matches('/');
    let path = raw_path
        .strip_prefix(&format!("{VERSION}/"))
        .unwrap_or(raw_path)
        .to_string();
    let mut st = state.lock().unwrap();
    let (json_body, file) = if content_type.starts_with("multipart/form-data") {
        let (fields, file) = multipart(&content_type, &body);
        let mut v = json!(fields);
        v["file_len"] = json!(file.as_ref().map(Vec::len));
        (v, file)
    } else {
        (serde_json::from_slice(&body).unwrap_or(Value::Null), None)
    };
    st.requests.push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().map(str::to_string),
        authorization: auth.clone(),
        body: json_body.clone(),
        at: Instant::now(),
    });
    if auth.as_deref() != Some(&format!("Bearer {}", st.token)) {
        return graph_error(
            401,
            190,
            "Error validating access token: Session has expired on Thursday, 03-Dec-26.",
        );
    }
    let segments: Vec<&str> = path.split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["blob", id]) => match st.media.get(*id) {
            Some((data, mime)) => ([("content-type", mime.clone())], data.clone()).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        },
        ("GET", [id]) => {
            if let Some(display) = st.numbers.get(*id) {
                return axum::Json(json!({
                    "display_phone_number": display, "verified_name": "Fake Business", "id": id
                }))
                .into_response();
            }
            if let Some((data, mime)) = st.media.get(*id) {
                let url = format!("{}/blob/{id}", st.base);
                return axum::Json(json!({
                    "messaging_product": "whatsapp", "url": url, "mime_type": mime,
                    "sha256": "", "file_size": data.len(), "id": id
                }))
                .into_response();
            }
            graph_error(
                400,
                100,
                &format!("Unsupported get request. Object with ID '{id}' does not exist"),
            )
        }
        ("POST", [number, "messages"]) if st.numbers.contains_key(*number) => {
            if let Some(f) = st.failures.pop_front() {
                return graph_error(f.http_status, f.code, &f.message);
            }
            if json_body.get("status").and_then(Value::as_str) == Some("read") {
                return axum::Json(json!({ "success": true })).into_response();
            }
            st.next_id += 1;
            let id = format!("wamid.FAKE{:08}", st.next_id);
            let to = json_body["to"].clone();
            axum::Json(json!({
                "messaging_product": "whatsapp",
                "contacts": [{ "input": to, "wa_id": to }],
                "messages": [{ "id": id }]
            }))
            .into_response()
        }
        ("POST", [number, "media"]) if st.numbers.contains_key(*number) => {
            let Some(file) = file else {
                return graph_error(400, 100, "(#100) The parameter file is required.");
            };
            st.next_id += 1;
            let id = format!("{}", 900_000_000 + st.next_id);
            let mime = json_body["type"].as_str().unwrap_or_default().to_string();
            st.media.insert(id.clone(), (file, mime));
            axum::Json(json!({ "id": id })).into_response()
        }
        _ => graph_error(400, 100, &format!("Unsupported {method} request to {path}")),
    }
}

impl FakeGraph {
    /// Starts a fake with one number, `1000000001` (`+1 555 010 0001`).
    pub async fn start() -> FakeGraph {
        let state = Arc::new(Mutex::new(FakeState {
            token: TOKEN.to_string(),
            ..FakeState::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        state.lock().unwrap().base = format!("http://{addr}");
        let router = Router::new().fallback(handle).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let fake = FakeGraph { state, addr, task };
        fake.add_number("1000000001", "+1 555-010-0001");
        fake
    }

    /// The `apiBase` to configure: `http://127.0.0.1:<port>/v23.0`.
    pub fn api_base(&self) -> String {
        format!("http://{}/{VERSION}", self.addr)
    }

    /// Adds a business number the fake knows (phone number id → display number).
    pub fn add_number(&self, phone_number_id: &str, display: &str) {
        self.state
            .lock()
            .unwrap()
            .numbers
            .insert(phone_number_id.to_string(), display.to_string());
    }

    /// A config for the first number with the fake's token, secrets, and quick retries
    /// (20 ms, doubling, 3 tries).
    pub fn config(&self, account: AccountId) -> CloudConfig {
        self.config_for(account, "1000000001")
    }

    /// A config for the given number.
    pub fn config_for(&self, account: AccountId, phone_number_id: &str) -> CloudConfig {
        let mut c = CloudConfig::new(account, Secret::new(TOKEN), phone_number_id);
        c.api_base = self.api_base();
        c.verify_token = Some(Secret::new(VERIFY_TOKEN));
        c.app_secret = Some(Secret::new(APP_SECRET));
        c.business_account_id = Some("2000000002".into());
        c.retry = RetryPolicy {
            attempts: 3,
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
        };
        c.commit_timeout = Duration::from_secs(10);
        c
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The bodies of `/messages` requests for `phone_number_id` that were not read marks.
    pub fn sent(&self, phone_number_id: &str) -> Vec<Value> {
        let path = format!("{phone_number_id}/messages");
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == path && r.body.get("status").is_none())
            .map(|r| r.body)
            .collect()
    }

    /// The next `/messages` requests answer these errors, in order.
    pub fn fail_next(&self, failures: impl IntoIterator<Item = Failure>) {
        self.state.lock().unwrap().failures.extend(failures);
    }

    /// Makes the current token invalid (every request then answers Graph error 190).
    pub fn expire_token(&self) {
        self.state.lock().unwrap().token = "a token nobody has".into();
    }

    /// Stores a blob as if a customer had sent it; returns its media id.
    pub fn put_media(&self, data: &[u8], mime: &str) -> String {
        let mut st = self.state.lock().unwrap();
        st.next_id += 1;
        let id = format!("{}", 800_000_000 + st.next_id);
        st.media
            .insert(id.clone(), (data.to_vec(), mime.to_string()));
        id
    }

    /// An uploaded blob.
    pub fn media(&self, id: &str) -> Option<Vec<u8>> {
        self.state
            .lock()
            .unwrap()
            .media
            .get(id)
            .map(|(d, _)| d.clone())
    }
}

/// A text message item (of a webhook's messages list) from `from` (digits).
pub fn text(from: &str, id: &str, body: &str) -> Value {
    message(from, id, "text", json!({ "body": body }))
}

/// A message item of any `type` with its object.
pub fn message(from: &str, id: &str, kind: &str, object: Value) -> Value {
    let mut m = json!({ "from": from, "id": id, "timestamp": "1764700000", "type": kind });
    m[kind] = object;
    m
}

/// A `statuses[]` item.
pub fn status(id: &str, status: &str, recipient: &str) -> Value {
    json!({ "id": id, "status": status, "timestamp": "1764700100", "recipient_id": recipient })
}

/// A whole webhook body for `phone_number_id` carrying `messages` and `statuses`.
pub fn webhook(phone_number_id: &str, messages: &[Value], statuses: &[Value]) -> Value {
    let contacts: Vec<Value> = messages
        .iter()
        .filter_map(|m| m["from"].as_str())
        .map(|f| json!({ "profile": { "name": "Customer" }, "wa_id": f }))
        .collect();
    let mut value = json!({
        "messaging_product": "whatsapp",
        "metadata": { "display_phone_number": "15550100001", "phone_number_id": phone_number_id },
    });
    if !messages.is_empty() {
        value["contacts"] = json!(contacts);
        value["messages"] = json!(messages);
    }
    if !statuses.is_empty() {
        value["statuses"] = json!(statuses);
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "2000000002", "changes": [{ "field": "messages", "value": value }] }]
    })
}

/// Posts a webhook to `url` as Meta does, signed with `app_secret` when given; returns the
/// status and the body of the answer.
pub async fn post_webhook(url: &str, app_secret: Option<&str>, body: &Value) -> (u16, String) {
    let raw = body.to_string();
    post_raw(
        url,
        app_secret.map(|s| crate::webhook::sign(s, raw.as_bytes())),
        raw,
    )
    .await
}

/// Posts a raw body with the given signature header (or none).
pub async fn post_raw(url: &str, signature: Option<String>, raw: String) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .body(raw);
    if let Some(sig) = signature {
        req = req.header(crate::webhook::SIGNATURE_HEADER, sig);
    }
    match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
        Err(e) => (0, e.to_string()),
    }
}
