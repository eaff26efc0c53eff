//! Serde types for injecting traffic into the network (what a peer sends), so the daemon can
//! drive the simulator over HTTP with the same vocabulary the scripting API uses.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use wagw_core::{Jid, MediaKind, MessageId};

/// A message a simulated phone sends: to an account's phone (a DM) or to a group.
///
/// ```
/// let json = r#"{"from":"+15550001111","text":"hi","mentions":["15550002222@s.whatsapp.net"]}"#;
/// let m: wagw_sim::SimInbound = serde_json::from_str(json).unwrap();
/// assert_eq!(m.text.as_deref(), Some("hi"));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimInbound {
    /// The sending phone: an E.164 number (created on first use) or an existing `…@lid`.
    pub from: String,
    /// Sets the sender's push name first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Send to this group instead of a DM (the sender must be a member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Jid>,
    /// The text (becomes the caption when `media` is set and has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A media attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<SimMedia>,
    /// Reply to this message id (any message in the network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<MessageId>,
    /// JIDs mentioned (phone or LID JIDs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Jid>,
    /// Timestamp to stamp, Unix milliseconds (default: the simulated now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_ms: Option<i64>,
    /// Mark as forwarded.
    #[serde(default)]
    pub forwarded: bool,
}

/// A media attachment sent by a simulated phone. The bytes stay in memory; the receiving
/// account downloads them with `WaSocket::download_media`.
///
/// ```
/// use wagw_sim::SimMedia;
/// let voice = SimMedia::voice_note(vec![1, 2, 3]).duration(4);
/// assert!(voice.ptt);
/// let doc = SimMedia::document("report.pdf", vec![0; 10]).caption("Q3");
/// assert_eq!(doc.file_name.as_deref(), Some("report.pdf"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimMedia {
    /// The kind.
    pub kind: MediaKind,
    /// MIME type (a sensible default per kind when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
    /// Caption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// File name (documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// The blob. When empty, `size` bytes of a fixed pattern are used.
    #[serde(default, skip_serializing_if = "Bytes::is_empty")]
    pub data: Bytes,
    /// Size of the synthesized blob when `data` is empty (default 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Duration in seconds (audio, video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u32>,
    /// Width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// A voice note.
    #[serde(default)]
    pub ptt: bool,
    /// A looping GIF.
    #[serde(default)]
    pub gif_playback: bool,
}

impl SimMedia {
    /// Media of `kind` carrying `data`.
    pub fn new(kind: MediaKind, data: impl Into<Bytes>) -> SimMedia {
        SimMedia {
            kind,
            mime: None,
            caption: None,
            file_name: None,
            data: data.into(),
            size: None,
            duration_secs: None,
            width: None,
            height: None,
            ptt: false,
            gif_playback: false,
        }
    }

    /// A JPEG photo.
    pub fn image(data: impl Into<Bytes>) -> SimMedia {
        SimMedia::new(MediaKind::Image, data)
    }

    /// An MP4 video.
    pub fn video(data: impl Into<Bytes>) -> SimMedia {
        SimMedia::new(MediaKind::Video, data)
    }

    /// An MP4 that plays as a GIF.
    pub fn gif(data: impl Into<Bytes>) -> SimMedia {
        SimMedia {
            gif_playback: true,
            ..SimMedia::new(MediaKind::Video, data)
        }
    }

    /// An audio file.
    pub fn audio(data: impl Into<Bytes>) -> SimMedia {
        SimMedia::new(MediaKind::Audio, data)
    }

    /// A voice note (Opus in Ogg, `ptt`).
    pub fn voice_note(data: impl Into<Bytes>) -> SimMedia {
        SimMedia {
            ptt: true,
            ..SimMedia::new(MediaKind::Audio, data)
        }
    }

    /// A document with its file name.
    pub fn document(file_name: impl Into<String>, data: impl Into<Bytes>) -> SimMedia {
        SimMedia {
            file_name: Some(file_name.into()),
            ..SimMedia::new(MediaKind::Document, data)
        }
    }

    /// A WebP sticker.
    pub fn sticker(data: impl Into<Bytes>) -> SimMedia {
        SimMedia::new(MediaKind::Sticker, data)
    }

    /// Sets the caption.
    pub fn caption(mut self, caption: impl Into<String>) -> SimMedia {
        self.caption = Some(caption.into());
        self
    }

    /// Sets the MIME type.
    pub fn mime(mut self, mime: impl Into<String>) -> SimMedia {
        self.mime = Some(mime.into());
        self
    }

    /// Sets the duration.
    pub fn duration(mut self, secs: u32) -> SimMedia {
        self.duration_secs = Some(secs);
        self
    }

    /// Sets the dimensions.
    pub fn dimensions(mut self, width: u32, height: u32) -> SimMedia {
        self.width = Some(width);
        self.height = Some(height);
        self
    }

    /// The MIME type to declare: the given one, or the usual one for the kind.
    pub fn effective_mime(&self) -> String {
        if let Some(m) = &self.mime {
            return m.clone();
        }
        match (self.kind, self.ptt) {
            (MediaKind::Image, _) => "image/jpeg",
            (MediaKind::Video, _) => "video/mp4",
            (MediaKind::Audio, true) => "audio/ogg; codecs=opus",
            (MediaKind::Audio, false) => "audio/mpeg",
            (MediaKind::Document, _) => "application/octet-stream",
            (MediaKind::Sticker, _) => "image/webp",
        }
        .to_string()
    }

    /// The blob: `data`, or `size` bytes of a fixed pattern when `data` is empty.
    pub fn effective_data(&self) -> Bytes {
        if !self.data.is_empty() {
            return self.data.clone();
        }
        let n = usize::try_from(self.size.unwrap_or(1024)).unwrap_or(1024);
        Bytes::from(
            (0..n)
                .map(|i| u8::try_from(i % 251).unwrap_or(0))
                .collect::<Vec<u8>>(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_defaults() {
        let m = SimMedia {
            size: Some(10),
            ..SimMedia::image(Bytes::new())
        };
        assert_eq!(m.effective_data().len(), 10);
        assert_eq!(m.effective_mime(), "image/jpeg");
        assert_eq!(
            SimMedia::voice_note(vec![1]).effective_mime(),
            "audio/ogg; codecs=opus"
        );
    }

    #[test]
    fn inbound_json_is_camel_case() -> Result<(), serde_json::Error> {
        let m = SimInbound {
            from: "+15550001111".into(),
            timestamp_ms: Some(5),
            media: Some(SimMedia::gif(vec![1, 2])),
            ..SimInbound::default()
        };
        let v = serde_json::to_value(&m)?;
        assert_eq!(v["timestampMs"], 5);
        assert_eq!(v["media"]["gifPlayback"], true);
        let back: SimInbound = serde_json::from_value(v)?;
        assert_eq!(back, m);
        Ok(())
    }
}
