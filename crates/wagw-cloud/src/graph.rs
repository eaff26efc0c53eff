//! The Graph API client: JSON calls, media upload (multipart) and download, each with the
//! account's bearer token, and rate-limit retries with backoff for sends.

use bytes::Bytes;
use serde_json::Value;
use wagw_core::SocketError;

use crate::config::CloudConfig;
use crate::error::GraphError;

/// Why a Graph call failed: Meta answered with an error, or no answer came.
#[derive(Debug)]
pub(crate) enum CallError {
    /// Meta's error answer.
    Graph(GraphError),
    /// The request did not complete (DNS, connect, timeout, reset).
    Transport(String),
}

impl CallError {
    pub(crate) fn to_socket_error(&self) -> SocketError {
        match self {
            CallError::Graph(g) => g.to_socket_error(),
            CallError::Transport(t) => {
                SocketError::Interrupted(format!("cannot reach the Graph API: {t}"))
            }
        }
    }
}

/// One account's client.
#[derive(Clone)]
pub(crate) struct Graph {
    http: reqwest::Client,
    config: CloudConfig,
}

fn transport_error(e: reqwest::Error) -> CallError {
    // reqwest's Display names the URL; the token travels in a header, never in it.
    CallError::Transport(e.without_url().to_string())
}

impl Graph {
    pub(crate) fn new(config: CloudConfig) -> Result<Graph, SocketError> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            // A redirect would carry the bearer token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SocketError::Other(format!("HTTP client: {e}")))?;
        Ok(Graph { http, config })
    }

    pub(crate) fn config(&self) -> &CloudConfig {
        &self.config
    }

    async fn finish(resp: reqwest::Response) -> Result<Bytes, CallError> {
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(transport_error)?;
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(CallError::Graph(GraphError::from_response(status, &body)))
        }
    }

    fn json(body: &[u8]) -> Result<Value, CallError> {
        serde_json::from_slice(body).map_err(|e| {
            CallError::Graph(GraphError {
                http_status: 200,
                code: 0,
                subcode: None,
                message: format!("the answer is not JSON: {e}"),
            })
        })
    }

    /// `GET {apiBase}/{path}`.
    pub(crate) async fn get(&self, path: &str) -> Result<Value, CallError> {
        let resp = self
            .http
            .get(self.config.url(path))
            .bearer_auth(self.config.access_token.expose())
            .send()
            .await
            .map_err(transport_error)?;
        Self::json(&Self::finish(resp).await?)
    }

    /// `POST {apiBase}/{path}` with a JSON body, once.
    async fn post_once(&self, path: &str, body: &Value) -> Result<Value, CallError> {
        let resp = self
            .http
            .post(self.config.url(path))
            .bearer_auth(self.config.access_token.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(transport_error)?;
        Self::json(&Self::finish(resp).await?)
    }

    /// `POST {apiBase}/{path}`, retried with backoff while Meta rate-limits it.
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Result<Value, CallError> {
        let policy = self.config.retry;
        let mut attempt = 1;
        loop {
            match self.post_once(path, body).await {
                Err(CallError::Graph(g)) if g.is_rate_limit() && attempt < policy.attempts => {
                    let wait = policy.delay(attempt);
                    tracing::warn!(target: "wagw::cloud", account = %self.config.account,
                        code = g.code, attempt, wait_ms = wait.as_millis() as u64,
                        "rate-limited by Meta; retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Uploads a blob to `/{phoneNumberId}/media` (multipart, as Meta requires).
    pub(crate) async fn upload(&self, data: Bytes, mime: &str) -> Result<Value, CallError> {
        let boundary = format!("wagw-{:032x}", rand::random::<u128>());
        let mut body = Vec::with_capacity(data.len() + 512);
        let text_part = |body: &mut Vec<u8>, name: &str, value: &str| {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        };
        text_part(&mut body, "messaging_product", "whatsapp");
        text_part(&mut body, "type", mime);
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload\"\r\nContent-Type: {mime}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&data);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let path = format!("{}/media", self.config.phone_number_id);
        let resp = self
            .http
            .post(self.config.url(&path))
            .bearer_auth(self.config.access_token.expose())
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .map_err(transport_error)?;
        Self::json(&Self::finish(resp).await?)
    }

    /// Downloads a media URL Meta handed out (it wants the bearer token too).
    pub(crate) async fn download(&self, url: &str) -> Result<Bytes, CallError> {
        let resp = self
            .http
            .get(url)
            .bearer_auth(self.config.access_token.expose())
            .send()
            .await
            .map_err(transport_error)?;
        Self::finish(resp).await
    }
}
