//! The operator CLI's HTTP client for a running gateway: base URL from `WAGW_URL`, else
//! `gateway.listen` (a wildcard address is reached on loopback); the token as the gateway
//! resolves it. Plain HTTP: the API is meant for loopback or a TLS-terminating proxy.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wagw_config::Config;

use crate::daemon::token;
use crate::error::CliError;
use wagw_http::ApiToken;
use wagw_http::error::ErrorBody;
use wagw_http::model::EventRecord;

/// Overrides the gateway URL (`http://host:port`), e.g. for a gateway on another host.
pub const WAGW_URL: &str = "WAGW_URL";

/// A client for one gateway.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: ApiToken,
    http: reqwest::Client,
}

impl Client {
    /// A client for `base` (no trailing slash) presenting `token`.
    pub fn new(base: impl Into<String>, token: ApiToken) -> Client {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap_or_default();
        Client {
            base: base.into().trim_end_matches('/').to_owned(),
            token,
            http,
        }
    }

    /// The client for the gateway this config describes.
    pub fn for_config(config: &Config, url_override: Option<&str>) -> Result<Client, CliError> {
        let base = match url_override.map(str::trim).filter(|u| !u.is_empty()) {
            Some(u) => u.to_owned(),
            None => base_url(config.gateway().listen),
        };
        // Without a token the gateway answers 401 with how to get one.
        let token = token::existing(config.gateway()).unwrap_or_else(|| ApiToken::new(""));
        Ok(Client::new(base, token))
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path` → JSON.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.send::<(), T>(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body → JSON.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, CliError> {
        self.send(Method::POST, path, Some(body)).await
    }

    /// `DELETE path` → JSON.
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.send::<(), T>(Method::DELETE, path, None).await
    }

    /// `GET /v1/events` as Server-Sent Events: each event record to `each` as it arrives,
    /// until the gateway ends the stream (it shuts down) or `each` says stop. `after`
    /// replays the retained log after that sequence number first (`Some(0)`: all of it).
    pub async fn events(
        &self,
        after: Option<u64>,
        mut each: impl FnMut(EventRecord) -> bool,
    ) -> Result<(), CliError> {
        // A stream stays open for as long as the operator watches: no overall timeout.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .build()
            .unwrap_or_default();
        let url = match after {
            Some(seq) => format!("{}/v1/events?after={seq}", self.base),
            None => format!("{}/v1/events", self.base),
        };
        let mut res = http
            .get(&url)
            .bearer_auth(self.token.expose())
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = res.status();
        if !status.is_success() {
            let bytes = res.bytes().await.map_err(|e| self.unreachable(&e))?;
            return Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(body) => CliError::Api {
                    status: status.as_u16(),
                    code: body.error.code,
                    message: body.error.message,
                    field: body.error.field,
                },
                Err(_) => CliError::Api {
                    status: status.as_u16(),
                    code: "http_error".to_owned(),
                    message: format!("{url} answered {status}"),
                    field: None,
                },
            });
        }
        let mut buf: Vec<u8> = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| self.unreachable(&e))? {
            buf.extend_from_slice(&chunk);
            // One SSE event ends with a blank line; its record is the `data:` line.
            while let Some(end) = find_blank_line(&buf) {
                let frame: Vec<u8> = buf.drain(..end).collect();
                let text = String::from_utf8_lossy(&frame);
                let data: String = text
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect::<Vec<_>>()
                    .join("\n");
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                let record: EventRecord = serde_json::from_str(&data).map_err(|e| CliError::Api {
                    status: status.as_u16(),
                    code: "bad_response".to_owned(),
                    message: format!("the gateway at {} sent an event this wagw does not understand ({e}); are the CLI and the gateway the same version?", self.base),
                    field: None,
                })?;
                if !each(record) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// `GET /healthz`: true when something answers as a wagw gateway.
    pub async fn healthy(&self) -> Result<(), CliError> {
        let url = format!("{}/healthz", self.base);
        let res = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(CliError::Unreachable {
                url: self.base.clone(),
                reason: format!("/healthz answered {}", res.status()),
            })
        }
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, CliError> {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .request(method, &url)
            .bearer_auth(self.token.expose());
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.map_err(|e| self.unreachable(&e))?;
        let status = res.status();
        let bytes = res.bytes().await.map_err(|e| self.unreachable(&e))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| CliError::Api {
                status: status.as_u16(),
                code: "bad_response".to_owned(),
                message: format!("the gateway at {} sent an answer this wagw does not understand ({e}); are the CLI and the gateway the same version?", self.base),
                field: None,
            });
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => Err(CliError::Api {
                status: status.as_u16(),
                code: body.error.code,
                message: body.error.message,
                field: body.error.field,
            }),
            Err(_) => Err(CliError::Api {
                status: status.as_u16(),
                code: "http_error".to_owned(),
                message: format!(
                    "{url} answered {status}: {}",
                    String::from_utf8_lossy(&bytes).trim()
                ),
                field: None,
            }),
        }
    }

    fn unreachable(&self, e: &reqwest::Error) -> CliError {
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            reason = s.to_string();
            source = s.source();
        }
        CliError::Unreachable {
            url: self.base.clone(),
            reason,
        }
    }
}

/// The end (after the separator) of the first SSE frame in `buf`, if one is complete.
fn find_blank_line(buf: &[u8]) -> Option<usize> {
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `http://<addr>`, with a wildcard listen address replaced by loopback.
pub fn base_url(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, listen.port()))
}

/// Percent-encodes a path segment (account ids are plain, but say so in one place).
pub fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
