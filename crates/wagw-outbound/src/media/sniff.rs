//! What a media blob is: magic numbers first, then the file extension, then the declared type.

use wagw_core::MediaKind;

/// Where the detected MIME type came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MimeSource {
    /// The bytes' magic number.
    Bytes,
    /// The file name's extension.
    Extension,
    /// The type the server (Content-Type) or caller declared.
    Declared,
    /// Nothing said anything: `application/octet-stream`.
    Fallback,
}

/// The outcome of type detection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detected {
    /// The MIME type, lowercase, without parameters.
    pub mime: String,
    /// Which signal decided it.
    pub source: MimeSource,
    /// The WhatsApp media kind this MIME type travels as.
    pub kind: MediaKind,
    /// Set when the bytes and the extension disagree (the bytes won): `"<sniffed> vs <ext>"`.
    pub mismatch: Option<String>,
}

const GENERIC: [&str; 3] = ["application/octet-stream", "application/zip", "text/plain"];

/// The media kind for a MIME type: `image/*`, `video/*`, `audio/*`, anything else a document.
pub fn kind_for_mime(mime: &str) -> MediaKind {
    let top = mime.split('/').next().unwrap_or_default();
    match top {
        "image" => MediaKind::Image,
        "video" => MediaKind::Video,
        "audio" => MediaKind::Audio,
        _ => MediaKind::Document,
    }
}

fn bare(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Same family: equal, or aliases the sniffer and the extension table spell differently.
fn same_type(a: &str, b: &str) -> bool {
    fn canon(m: &str) -> &str {
        match m {
            "audio/opus" => "audio/ogg",
            "audio/x-m4a" | "audio/m4a" | "audio/mp4" => "audio/mp4",
            "audio/mp3" => "audio/mpeg",
            "audio/x-wav" | "audio/wave" => "audio/wav",
            "image/jpg" => "image/jpeg",
            "audio/x-flac" => "audio/flac",
            other => other,
        }
    }
    canon(a) == canon(b)
}

/// Detects the type of `data` named `file_name`, declared as `declared` (e.g. Content-Type).
///
/// The sniffed type wins, except that a generic one (`application/octet-stream`, `zip`) yields
/// to the extension (a `.docx` is a zip). A disagreement between bytes and extension is
/// logged (`wagw::outbound`, warn) and reported in [`Detected::mismatch`].
///
/// ```
/// use wagw_outbound::media::sniff::{detect, MimeSource};
/// let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0];
/// let d = detect(&png, Some("photo.jpg"), None);
/// assert_eq!(d.mime, "image/png");
/// assert_eq!(d.source, MimeSource::Bytes);
/// assert!(d.mismatch.is_some());
/// ```
pub fn detect(data: &[u8], file_name: Option<&str>, declared: Option<&str>) -> Detected {
    let sniffed = infer::get(data).map(|t| t.mime_type().to_string());
    let from_ext = file_name
        .and_then(|n| mime_guess::from_path(n).first())
        .map(|m| m.essence_str().to_ascii_lowercase());
    let declared = declared
        .map(bare)
        .filter(|m| !m.is_empty() && !GENERIC.contains(&m.as_str()));

    let (mime, source) = match (&sniffed, &from_ext) {
        (Some(s), Some(e)) if GENERIC.contains(&s.as_str()) => (e.clone(), MimeSource::Extension),
        (Some(s), _) => (s.clone(), MimeSource::Bytes),
        (None, Some(e)) => (e.clone(), MimeSource::Extension),
        (None, None) => match &declared {
            Some(d) => (d.clone(), MimeSource::Declared),
            None => ("application/octet-stream".to_string(), MimeSource::Fallback),
        },
    };
    let mismatch = match (&sniffed, &from_ext) {
        (Some(s), Some(e)) if !GENERIC.contains(&s.as_str()) && !same_type(s, e) => {
            tracing::warn!(
                target: "wagw::outbound",
                sniffed = %s,
                extension = %e,
                file = file_name.unwrap_or_default(),
                "media type from the bytes disagrees with the file extension; using the bytes"
            );
            Some(format!("{s} vs {e}"))
        }
        _ => None,
    };
    Detected {
        kind: kind_for_mime(&mime),
        mime,
        source,
        mismatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_of_signals() {
        let d = detect(b"GIF89a....", None, Some("image/png"));
        assert_eq!(
            (d.mime.as_str(), d.source),
            ("image/gif", MimeSource::Bytes)
        );
        let d = detect(b"plain words", Some("notes.pdf"), None);
        assert_eq!(
            (d.mime.as_str(), d.source),
            ("application/pdf", MimeSource::Extension)
        );
        assert_eq!(d.kind, MediaKind::Document);
        let d = detect(b"plain words", None, Some("Audio/MPEG; charset=x"));
        assert_eq!(
            (d.mime.as_str(), d.source),
            ("audio/mpeg", MimeSource::Declared)
        );
        let d = detect(b"plain words", None, Some("application/octet-stream"));
        assert_eq!(d.source, MimeSource::Fallback);
        // A docx is a zip: the extension is more specific.
        let d = detect(b"PK\x03\x04rest-of-zip", Some("report.docx"), None);
        assert!(d.mime.contains("wordprocessingml"), "{}", d.mime);
        assert_eq!(d.mismatch, None);
    }
}
