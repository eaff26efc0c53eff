//! The fake media CDN: an in-process [`HttpClient`] that plays WhatsApp's media hosts, and the
//! `media_conn` answer that points the client at them.
//!
//! The client uploads and downloads media over HTTPS after asking the chat server for a media
//! connection (`<iq xmlns="w:m"><media_conn/></iq>` → an auth token and host names). The fake
//! server answers that IQ with [`MEDIA_HOST`] and its token; [`FakeMedia`] is the HTTP client to
//! give the client, serving exactly the requests the library makes:
//!
//! - `POST https://<host>/mms/<type>/<token>?auth=<auth>&token=<token>` with the encrypted
//!   blob: stored when `token` is the base64url SHA-256 of the body (as the real CDN checks),
//!   answered with `{"url": .., "direct_path": ..}`;
//! - `GET https://<host><direct_path>?auth=<auth>&token=<token>`: the stored blob, 404 when
//!   unknown or [expired](FakeMedia::expire).
//!
//! A wrong or missing `auth` is 401 (the client then refreshes its media connection); any other
//! host is a connection error, so nothing ever leaves the process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use whatsapp_rust::http::{HttpClient, HttpRequest, HttpResponse};
use whatsapp_rust::wacore_binary::Node;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;

/// The media host the fake server announces in its `media_conn` answer.
pub const MEDIA_HOST: &str = "mmg.fakewa.invalid";

/// The media auth token the fake server hands out.
const MEDIA_AUTH: &str = "fakewa-media-auth";

/// The fake CDN's blobs and counters. Cheap to clone; clones share the store.
#[derive(Clone, Default)]
pub struct FakeMedia {
    state: Arc<MediaState>,
}

#[derive(Default)]
struct MediaState {
    blobs: Mutex<HashMap<String, Bytes>>,
    next: AtomicU64,
    uploads: AtomicU64,
    downloads: AtomicU64,
}

impl std::fmt::Debug for FakeMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeMedia")
            .field("blobs", &self.blobs().len())
            .field("uploads", &self.uploads())
            .field("downloads", &self.downloads())
            .finish()
    }
}

impl FakeMedia {
    /// An empty CDN.
    pub fn new() -> FakeMedia {
        FakeMedia::default()
    }

    /// This CDN as the HTTP client to hand the whatsapp-rust client (e.g. through
    /// `wagw_socket::WhatsAppSocket::with_transport`).
    pub fn http_client(&self) -> Arc<dyn HttpClient> {
        Arc::new(self.clone())
    }

    /// The stored (encrypted) blob at `direct_path`.
    pub fn blob(&self, direct_path: &str) -> Option<Bytes> {
        self.blobs().get(direct_path).cloned()
    }

    /// Removes the blob at `direct_path`, as the CDN does when media expires; a download then
    /// gets 404. Returns whether it was there.
    pub fn expire(&self, direct_path: &str) -> bool {
        self.blobs().remove(direct_path).is_some()
    }

    /// Uploads accepted so far.
    pub fn uploads(&self) -> u64 {
        self.state.uploads.load(Ordering::SeqCst)
    }

    /// Downloads served (200) so far.
    pub fn downloads(&self) -> u64 {
        self.state.downloads.load(Ordering::SeqCst)
    }

    fn blobs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bytes>> {
        self.state.blobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn upload(&self, kind: &str, token: &str, body: Option<&Bytes>) -> HttpResponse {
        let Some(body) = body.filter(|b| !b.is_empty()) else {
            return status(400, "empty upload");
        };
        let digest = Sha256::digest(body);
        if base64url(&digest) != token {
            return status(400, "the token is not the SHA-256 of the body");
        }
        let n = self.state.next.fetch_add(1, Ordering::SeqCst) + 1;
        let direct_path = format!("/v/t62.fake-{kind}/{n}_{token}");
        self.blobs().insert(direct_path.clone(), body.clone());
        self.state.uploads.fetch_add(1, Ordering::SeqCst);
        let answer = whatsapp_rust::serde_json::json!({
            "url": format!("https://{MEDIA_HOST}{direct_path}?ccb=fake"),
            "direct_path": direct_path,
        });
        HttpResponse {
            status_code: 200,
            body: answer.to_string().into_bytes(),
        }
    }

    fn download(&self, direct_path: &str) -> HttpResponse {
        match self.blob(direct_path) {
            Some(blob) => {
                self.state.downloads.fetch_add(1, Ordering::SeqCst);
                HttpResponse {
                    status_code: 200,
                    body: blob.to_vec(),
                }
            }
            None => status(404, "not found/expired"),
        }
    }
}

#[async_trait::async_trait]
impl HttpClient for FakeMedia {
    async fn execute(&self, request: HttpRequest) -> whatsapp_rust::anyhow::Result<HttpResponse> {
        let Some((path, query)) = request
            .url
            .strip_prefix("https://")
            .and_then(|rest| rest.strip_prefix(MEDIA_HOST))
            .map(|rest| rest.split_once('?').unwrap_or((rest, "")))
        else {
            // Like a host that does not resolve: the exchange never happened.
            return Err(whatsapp_rust::anyhow::anyhow!(
                "fake CDN: no route to {}",
                request.url
            ));
        };
        if query_param(query, "auth") != Some(MEDIA_AUTH) {
            return Ok(status(401, "bad media auth"));
        }
        let token = query_param(query, "token").unwrap_or_default();
        match (request.method.as_str(), path.strip_prefix("/mms/")) {
            ("POST", Some(rest)) => {
                let (kind, path_token) = rest.split_once('/').unwrap_or((rest, ""));
                if path_token != token {
                    return Ok(status(400, "path and query tokens differ"));
                }
                Ok(self.upload(kind, token, request.body.as_ref()))
            }
            ("GET", _) => Ok(self.download(path)),
            _ => Ok(status(405, "method not allowed")),
        }
    }
}

/// The `<media_conn>` child of the server's answer to a media connection IQ.
pub(crate) fn media_conn_node() -> Node {
    NodeBuilder::new("media_conn")
        .attr("auth", MEDIA_AUTH)
        .attr("ttl", "3600")
        .attr("auth_ttl", "3600")
        .attr("max_buckets", "12")
        .children([NodeBuilder::new("host")
            .attr("hostname", MEDIA_HOST)
            .attr("type", "primary")
            .build()])
        .build()
}

fn status(code: u16, text: &str) -> HttpResponse {
    HttpResponse {
        status_code: code,
        body: text.as_bytes().to_vec(),
    }
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// Unpadded URL-safe base64, as the CDN tokens are written.
fn base64url(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn upload_url(kind: &str, token: &str, auth: &str) -> String {
        format!("https://{MEDIA_HOST}/mms/{kind}/{token}?auth={auth}&token={token}")
    }

    #[test]
    fn base64url_matches_the_rfc_vectors() {
        // RFC 4648 §10, URL-safe alphabet, no padding.
        for (input, want) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64url(input.as_bytes()), want, "input {input:?}");
        }
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[tokio::test]
    async fn stores_an_upload_and_serves_it_back_until_it_expires() {
        let cdn = FakeMedia::new();
        let blob = Bytes::from_static(b"encrypted bytes");
        let token = base64url(&Sha256::digest(&blob));
        let up = cdn
            .execute(
                HttpRequest::post(upload_url("image", &token, MEDIA_AUTH)).with_body(blob.clone()),
            )
            .await
            .unwrap();
        assert_eq!(up.status_code, 200);
        let answer: whatsapp_rust::serde_json::Value =
            whatsapp_rust::serde_json::from_slice(&up.body).unwrap();
        let direct_path = answer["direct_path"].as_str().unwrap().to_owned();
        assert!(answer["url"].as_str().unwrap().contains(&direct_path));
        assert_eq!(cdn.blob(&direct_path), Some(blob.clone()));

        let get = |auth: &'static str| {
            HttpRequest::get(format!(
                "https://{MEDIA_HOST}{direct_path}?auth={auth}&token={token}"
            ))
        };
        let down = cdn.execute(get(MEDIA_AUTH)).await.unwrap();
        assert_eq!((down.status_code, down.body), (200, blob.to_vec()));
        assert_eq!((cdn.uploads(), cdn.downloads()), (1, 1));
        assert_eq!(cdn.execute(get("stale")).await.unwrap().status_code, 401);
        assert!(cdn.expire(&direct_path));
        assert_eq!(cdn.execute(get(MEDIA_AUTH)).await.unwrap().status_code, 404);
    }

    #[tokio::test]
    async fn refuses_bad_uploads_and_other_hosts() {
        let cdn = FakeMedia::new();
        let blob = Bytes::from_static(b"encrypted bytes");
        let wrong = base64url(&Sha256::digest(b"other bytes"));
        let up = cdn
            .execute(
                HttpRequest::post(upload_url("image", &wrong, MEDIA_AUTH)).with_body(blob.clone()),
            )
            .await
            .unwrap();
        assert_eq!(up.status_code, 400);
        let token = base64url(&Sha256::digest(&blob));
        let up = cdn
            .execute(HttpRequest::post(upload_url("image", &token, "nope")).with_body(blob))
            .await
            .unwrap();
        assert_eq!(up.status_code, 401);
        assert!(
            cdn.execute(HttpRequest::get("https://mmg.whatsapp.net/v/x?auth=a"))
                .await
                .is_err()
        );
        assert_eq!(cdn.uploads(), 0);
    }
}
