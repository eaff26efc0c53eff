//! Loading media: HTTP(S) URLs (streamed, capped, address-guarded) and local files (only
//! under `media.localRoots`).

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use crate::error::{MIB, OutboundError, cap_mb};
use crate::media::image::ImageLimits;
use crate::media::net;

/// `media`: where outbound media may come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MediaSettings {
    /// Folders local media may be read from (symlinks resolved). Empty: no local files.
    pub local_roots: Vec<PathBuf>,
    /// Allow URLs that resolve to loopback, private or link-local addresses (default false).
    pub allow_private_networks: bool,
    /// Whole-download timeout in milliseconds (default 30000).
    pub fetch_timeout_ms: u64,
    /// Largest download or local file read, in MiB (default 100; images above the send cap
    /// are shrunk afterwards, so this is larger than the cap on purpose).
    pub max_download_mb: u64,
    /// Decompression-bomb limits for images.
    pub image_limits: ImageLimits,
}

impl Default for MediaSettings {
    fn default() -> Self {
        MediaSettings {
            local_roots: Vec::new(),
            allow_private_networks: false,
            fetch_timeout_ms: 30_000,
            max_download_mb: 100,
            image_limits: ImageLimits::default(),
        }
    }
}

impl MediaSettings {
    fn max_download_bytes(&self) -> u64 {
        self.max_download_mb.saturating_mul(MIB)
    }
}

/// Where a media item comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum MediaSource {
    /// An `http://` or `https://` URL.
    Url {
        /// The URL.
        url: String,
    },
    /// A local file (must be under `media.localRoots`).
    Path {
        /// The path (`~` already expanded).
        path: PathBuf,
    },
    /// Bytes already in memory (e.g. an HTTP API upload).
    Bytes {
        /// The data.
        data: Bytes,
        /// Its file name, when known.
        file_name: Option<String>,
        /// Its declared MIME type, when known.
        mime: Option<String>,
    },
}

impl MediaSource {
    /// Parses what an agent or the CLI gives: `http(s)://` URLs, `file://` URLs, `~/...` and
    /// plain paths.
    ///
    /// ```
    /// use wagw_outbound::media::source::MediaSource;
    /// assert!(matches!(MediaSource::parse("https://x.test/a.png").unwrap(), MediaSource::Url { .. }));
    /// assert!(matches!(MediaSource::parse("file:///tmp/a.png").unwrap(), MediaSource::Path { .. }));
    /// assert!(MediaSource::parse("ftp://x/y").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<MediaSource, OutboundError> {
        let t = s.trim();
        let invalid = |reason: &str| OutboundError::InvalidSource {
            source_text: s.to_string(),
            reason: reason.to_string(),
        };
        if t.is_empty() {
            return Err(invalid("empty"));
        }
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            reqwest::Url::parse(t).map_err(|e| invalid(&e.to_string()))?;
            return Ok(MediaSource::Url { url: t.to_string() });
        }
        if lower.starts_with("file://") {
            let url = reqwest::Url::parse(t).map_err(|_| invalid("Invalid file:// URL"))?;
            let path = url
                .to_file_path()
                .map_err(|()| invalid("Invalid file:// URL"))?;
            return Ok(MediaSource::Path { path });
        }
        if let Some((scheme, _)) = t.split_once("://") {
            return Err(invalid(&format!(
                "unsupported scheme {scheme:?}; use http(s) or a local path"
            )));
        }
        let path = match t.strip_prefix("~/") {
            Some(rest) => match std::env::var_os("HOME") {
                Some(home) => PathBuf::from(home).join(rest),
                None => return Err(invalid("~ used but HOME is not set")),
            },
            None => PathBuf::from(t),
        };
        Ok(MediaSource::Path { path })
    }

    /// A short description for logs and plans (URLs without their query string).
    pub fn describe(&self) -> String {
        match self {
            MediaSource::Url { url } => url.split('?').next().unwrap_or(url).to_string(),
            MediaSource::Path { path } => path.display().to_string(),
            MediaSource::Bytes {
                file_name, data, ..
            } => {
                format!(
                    "{} ({} bytes)",
                    file_name.as_deref().unwrap_or("upload"),
                    data.len()
                )
            }
        }
    }
}

/// Media loaded into memory, before type detection and planning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedMedia {
    /// The bytes.
    pub data: Bytes,
    /// The file name (Content-Disposition, URL path, or the local file's name).
    pub file_name: Option<String>,
    /// The MIME type the server or caller declared.
    pub declared_mime: Option<String>,
    /// Where it came from (for logs and messages).
    pub origin: String,
}

/// Loads media from URLs and local paths under [`MediaSettings`].
#[derive(Debug, Clone)]
pub struct MediaLoader {
    settings: MediaSettings,
    client: reqwest::Client,
}

impl MediaLoader {
    /// A loader with its own HTTP client (no proxies: a proxy would resolve hosts itself and
    /// bypass the address guard).
    pub fn new(settings: MediaSettings) -> Result<MediaLoader, OutboundError> {
        let allow_private = settings.allow_private_networks;
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                return attempt.error("too many redirects (more than 5)");
            }
            if !matches!(attempt.url().scheme(), "http" | "https") {
                return attempt.error("redirect to a non-HTTP URL");
            }
            if !allow_private && let Err(blocked) = net::check_literal_host(attempt.url()) {
                return attempt.error(blocked);
            }
            attempt.follow()
        });
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(policy)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_millis(settings.fetch_timeout_ms))
            .user_agent(concat!("wagw/", env!("CARGO_PKG_VERSION")));
        if let Some(resolver) = net::resolver(allow_private) {
            builder = builder.dns_resolver(resolver);
        }
        let client = builder.build().map_err(|e| OutboundError::Fetch {
            url: String::new(),
            detail: format!("could not build the HTTP client: {e}"),
        })?;
        Ok(MediaLoader { settings, client })
    }

    /// The settings in force.
    pub fn settings(&self) -> &MediaSettings {
        &self.settings
    }

    /// Loads one media item.
    pub async fn load(&self, source: &MediaSource) -> Result<LoadedMedia, OutboundError> {
        match source {
            MediaSource::Url { url } => self.fetch(url).await,
            MediaSource::Path { path } => self.read_local(path).await,
            MediaSource::Bytes {
                data,
                file_name,
                mime,
            } => Ok(LoadedMedia {
                data: data.clone(),
                file_name: file_name.clone(),
                declared_mime: mime.clone(),
                origin: source.describe(),
            }),
        }
    }

    async fn fetch(&self, url: &str) -> Result<LoadedMedia, OutboundError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| OutboundError::InvalidSource {
            source_text: url.to_string(),
            reason: e.to_string(),
        })?;
        if !self.settings.allow_private_networks {
            net::check_literal_host(&parsed).map_err(|b| OutboundError::BlockedAddress {
                url: url.to_string(),
                reason: b.to_string(),
            })?;
        }
        let fetch_err = |e: reqwest::Error| match net::find_blocked(&e) {
            Some(b) => OutboundError::BlockedAddress {
                url: url.to_string(),
                reason: b.to_string(),
            },
            None => OutboundError::Fetch {
                url: url.to_string(),
                detail: error_chain(&e),
            },
        };
        let mut resp = self
            .client
            .get(parsed.clone())
            .send()
            .await
            .map_err(fetch_err)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(OutboundError::HttpStatus {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        let max = self.settings.max_download_bytes();
        let too_large = || OutboundError::DownloadTooLarge {
            url: url.to_string(),
            limit: cap_mb(max),
        };
        if resp.content_length().is_some_and(|n| n > max) {
            return Err(too_large());
        }
        let declared_mime = header(&resp, reqwest::header::CONTENT_TYPE);
        let file_name = header(&resp, reqwest::header::CONTENT_DISPOSITION)
            .and_then(|cd| filename_from_disposition(&cd))
            .or_else(|| last_path_segment(resp.url()));
        let mut buf = BytesMut::new();
        while let Some(chunk) = resp.chunk().await.map_err(fetch_err)? {
            if (buf.len() + chunk.len()) as u64 > max {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
        }
        tracing::debug!(target: "wagw::outbound", url = %parsed.as_str().split('?').next().unwrap_or_default(), bytes = buf.len(), "fetched media");
        Ok(LoadedMedia {
            data: buf.freeze(),
            file_name,
            declared_mime,
            origin: url.to_string(),
        })
    }

    async fn read_local(&self, path: &Path) -> Result<LoadedMedia, OutboundError> {
        let canonical = check_local_path(path, &self.settings.local_roots)?;
        let io = |source| OutboundError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = tokio::fs::metadata(&canonical).await.map_err(io)?;
        let max = self.settings.max_download_bytes();
        if meta.len() > max {
            return Err(OutboundError::DownloadTooLarge {
                url: path.display().to_string(),
                limit: cap_mb(max),
            });
        }
        let data = tokio::fs::read(&canonical).await.map_err(io)?;
        Ok(LoadedMedia {
            data: Bytes::from(data),
            file_name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
            declared_mime: None,
            origin: path.display().to_string(),
        })
    }
}

fn header(resp: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

/// Resolves `path` (symlinks included) and checks it lies under one of `roots`. Any `..`
/// component is refused outright, before resolution.
///
/// ```
/// use wagw_outbound::media::source::check_local_path;
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("a.txt"), b"x").unwrap();
/// let roots = vec![dir.path().to_path_buf()];
/// assert!(check_local_path(&dir.path().join("a.txt"), &roots).is_ok());
/// assert!(check_local_path(&dir.path().join("../a.txt"), &roots).is_err());
/// assert!(check_local_path(std::path::Path::new("/etc/hostname"), &roots).is_err());
/// ```
pub fn check_local_path(path: &Path, roots: &[PathBuf]) -> Result<PathBuf, OutboundError> {
    let refuse = |reason: &str| OutboundError::PathNotAllowed {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(refuse("`..` is not allowed in media paths"));
    }
    if roots.is_empty() {
        return Err(refuse("no media.localRoots are configured"));
    }
    let canonical = std::fs::canonicalize(path).map_err(|source| OutboundError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let inside = roots
        .iter()
        .filter_map(|r| std::fs::canonicalize(r).ok())
        .any(|root| canonical.starts_with(&root));
    if !inside {
        return Err(refuse(&format!(
            "it resolves to {}, outside every local root",
            canonical.display()
        )));
    }
    if !canonical.is_file() {
        return Err(refuse("not a regular file"));
    }
    Ok(canonical)
}

/// The file name from a Content-Disposition header (`filename*=UTF-8''...` preferred).
pub fn filename_from_disposition(cd: &str) -> Option<String> {
    let mut plain = None;
    for part in cd.split(';').map(str::trim) {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "filename*" => {
                let v = value.trim().trim_matches('"');
                let encoded = v.splitn(3, '\'').nth(2).unwrap_or(v);
                if let Some(name) = sanitize_name(&percent_decode(encoded)) {
                    return Some(name);
                }
            }
            "filename" => plain = sanitize_name(value.trim().trim_matches('"')),
            _ => {}
        }
    }
    plain
}

fn last_path_segment(url: &reqwest::Url) -> Option<String> {
    url.path_segments()?
        .next_back()
        .and_then(|s| sanitize_name(&percent_decode(s)))
}

/// Keeps only the final path component; empty or dot names are dropped.
fn sanitize_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    (!base.is_empty() && base != "." && base != "..").then(|| base.to_string())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_names() {
        assert_eq!(
            filename_from_disposition("attachment; filename=\"a b.pdf\"").as_deref(),
            Some("a b.pdf")
        );
        assert_eq!(
            filename_from_disposition(
                "attachment; filename=x.pdf; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
            )
            .as_deref(),
            Some("résumé.pdf")
        );
        assert_eq!(
            filename_from_disposition("inline; filename=\"../../etc/passwd\"").as_deref(),
            Some("passwd")
        );
        assert_eq!(filename_from_disposition("inline"), None);
    }

    #[test]
    fn url_segment_names() {
        let u = reqwest::Url::parse("https://x.test/files/My%20Doc.pdf?sig=1")
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(last_path_segment(&u).as_deref(), Some("My Doc.pdf"));
        let u = reqwest::Url::parse("https://x.test/").unwrap_or_else(|_| unreachable!());
        assert_eq!(last_path_segment(&u), None);
        assert_eq!(percent_decode("100%"), "100%");
    }
}
