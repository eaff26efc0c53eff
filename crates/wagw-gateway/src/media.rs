//! Inbound media: download each accepted message's media before its turn is delivered,
//! save it as `<dataDir>/media/inbound/<id><ext>` (0600 in 0700 folders), and delete saved
//! files after `media.retentionHours`.
//!
//! Transient download failures are retried (3 attempts, 500·n ms apart) and expired media
//! is re-requested from the sender's phone once: the reference never retried, and its users
//! lost voice notes (§22.8). Media over the cap is not downloaded (or not kept): the turn
//! keeps its placeholder plus a note, never a crash.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use wagw_core::{InboundMessage, Media, SocketError, WaSocket};

use crate::error::GatewayError;
use crate::store::create_private_dir;

/// Download attempts for transient failures.
const ATTEMPTS: u32 = 3;

/// What happened to a message's media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaOutcome {
    /// Saved; the turn carries the path.
    Saved {
        /// Where the file is.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
    },
    /// Bigger than `mediaMaxMb`: not kept.
    TooLarge {
        /// The size (declared or downloaded), bytes.
        size: u64,
        /// The cap, bytes.
        cap: u64,
    },
    /// Could not be downloaded (after retries and a re-upload request).
    Failed(String),
}

impl MediaOutcome {
    /// The note appended to the turn's body when the media is not available, if any.
    pub fn note(&self) -> Option<String> {
        match self {
            MediaOutcome::Saved { .. } => None,
            MediaOutcome::TooLarge { size, cap } => Some(format!(
                "[media not saved: {:.1} MB is over the {} MB limit (mediaMaxMb)]",
                *size as f64 / 1_048_576.0,
                cap / 1_048_576
            )),
            MediaOutcome::Failed(reason) => {
                Some(format!("[media could not be downloaded: {reason}]"))
            }
        }
    }
}

/// The folder inbound media is saved in.
pub fn inbound_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("media").join("inbound")
}

/// The file extension (with the dot) for a MIME type, or `""` when unknown.
pub fn extension_for(mime: Option<&str>, file_name: Option<&str>) -> String {
    let base = mime
        .and_then(|m| m.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    // WhatsApp's common types first, so the choice is stable (`mime_guess` lists several).
    let known = match base.as_deref() {
        Some("image/jpeg") => Some("jpg"),
        Some("image/png") => Some("png"),
        Some("image/webp") => Some("webp"),
        Some("image/gif") => Some("gif"),
        Some("video/mp4") => Some("mp4"),
        Some("audio/ogg") => Some("ogg"),
        Some("audio/mpeg") => Some("mp3"),
        Some("audio/mp4") => Some("m4a"),
        Some("application/pdf") => Some("pdf"),
        _ => None,
    };
    let ext = known.map(str::to_owned).or_else(|| {
        base.as_deref()
            .and_then(mime_guess::get_mime_extensions_str)
            .and_then(|exts| exts.first())
            .map(|e| (*e).to_owned())
    });
    let ext = ext.or_else(|| {
        file_name
            .and_then(|n| Path::new(n).extension())
            .and_then(|e| e.to_str())
            .filter(|e| e.len() <= 8 && e.chars().all(|c| c.is_ascii_alphanumeric()))
            .map(str::to_ascii_lowercase)
    });
    ext.map(|e| format!(".{e}")).unwrap_or_default()
}

/// A message id reduced to characters safe in a file name.
fn safe_stem(id: &str) -> String {
    let stem: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect();
    if stem.is_empty() {
        "media".to_owned()
    } else {
        stem
    }
}

/// Downloads `media` of `message` (retrying, re-requesting expired media) and saves it
/// under `dir`, unless it is over `cap_bytes`.
pub(crate) async fn fetch_and_save(
    socket: &dyn WaSocket,
    message: &InboundMessage,
    media: &Media,
    dir: &Path,
    cap_bytes: u64,
) -> MediaOutcome {
    let Some(mut reference) = media.reference.clone() else {
        return MediaOutcome::Failed("the message carries no media reference".to_owned());
    };
    let declared = media.size.unwrap_or(reference.file_length);
    if declared > cap_bytes {
        return MediaOutcome::TooLarge {
            size: declared,
            cap: cap_bytes,
        };
    }
    let kind = media.kind();
    let mut reuploaded = false;
    let mut attempt = 0;
    let bytes: Bytes = loop {
        attempt += 1;
        match socket.download_media(&reference, kind).await {
            Ok(bytes) => break bytes,
            Err(SocketError::MediaExpired) if !reuploaded => {
                reuploaded = true;
                match socket
                    .request_media_reupload(&message.key(), &reference)
                    .await
                {
                    Ok(fresh) => {
                        reference = fresh;
                        attempt = 0;
                    }
                    Err(e) => {
                        return MediaOutcome::Failed(format!("expired, and re-upload failed: {e}"));
                    }
                }
            }
            Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
            }
            Err(e) => return MediaOutcome::Failed(e.to_string()),
        }
    };
    let size = bytes.len() as u64;
    if size > cap_bytes {
        return MediaOutcome::TooLarge {
            size,
            cap: cap_bytes,
        };
    }
    let path = dir.join(format!(
        "{}{}",
        safe_stem(message.id.as_str()),
        extension_for(media.mime.as_deref(), media.file_name.as_deref())
    ));
    match write_private(dir, &path, bytes).await {
        Ok(()) => MediaOutcome::Saved { path, size },
        Err(e) => MediaOutcome::Failed(e.to_string()),
    }
}

async fn write_private(dir: &Path, path: &Path, bytes: Bytes) -> Result<(), GatewayError> {
    let dir = dir.to_owned();
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        create_private_dir(&dir)?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| GatewayError::store(&path, e))?;
        file.write_all(&bytes)
            .map_err(|e| GatewayError::store(&path, e))
    })
    .await
    .map_err(|e| GatewayError::store("media", e))?
}

/// Deletes files in `dir` last modified before `now - retention`; returns how many.
pub(crate) fn remove_expired(dir: &Path, retention: Duration, now: SystemTime) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        let expired = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > retention);
        if meta.is_file() && expired && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn extensions() {
        assert_eq!(extension_for(Some("image/jpeg"), None), ".jpg");
        assert_eq!(extension_for(Some("audio/ogg; codecs=opus"), None), ".ogg");
        assert_eq!(
            extension_for(Some("application/x-unknown-thing"), Some("a.ZIP")),
            ".zip"
        );
        assert_eq!(extension_for(None, Some("../evil.sh;rm")), "");
        assert_eq!(extension_for(None, None), "");
        assert_eq!(safe_stem("../../etc/passwd"), "etcpasswd");
        assert_eq!(safe_stem("///"), "media");
    }

    #[test]
    fn retention_removes_only_old_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.jpg"), b"x").unwrap();
        let later = SystemTime::now() + Duration::from_secs(3600);
        assert_eq!(
            remove_expired(dir.path(), Duration::from_secs(7200), later),
            0
        );
        assert_eq!(
            remove_expired(dir.path(), Duration::from_secs(60), later),
            1
        );
        assert!(!dir.path().join("a.jpg").exists());
    }
}
