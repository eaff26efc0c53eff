//! The media plan: what will be done to one item, decided from facts alone ([`plan_media`]),
//! then carried out ([`crate::media::prepare::prepare_media`]).
//!
//! `wagw message send --dry-run` prints the plan without encoding anything.

use image::metadata::Orientation;
use serde::Serialize;
use wagw_core::MediaKind;

use crate::error::{MIB, OutboundError, cap_mb, size_mb};
use crate::media::audio::parse_ogg_opus;
use crate::media::gif::frame_count;
use crate::media::image::{ImageLimits, PASS_THROUGH_MAX_SIDE, read_header};
use crate::media::sniff::{Detected, detect};
use crate::media::source::LoadedMedia;

/// The voice-note MIME type WhatsApp expects.
pub const OPUS_MIME: &str = "audio/ogg; codecs=opus";

/// Per-kind size caps in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaCaps {
    /// Images (after the sweep).
    pub image: u64,
    /// Audio.
    pub audio: u64,
    /// Video.
    pub video: u64,
    /// Documents and anything else.
    pub document: u64,
}

/// The outbound cap for replies when `agents.defaults.mediaMaxMb` is unset.
pub const DEFAULT_REPLY_MEDIA_MAX_MB: u64 = 5;

impl MediaCaps {
    /// Explicit sends (CLI, API, agent tool): images 6 MiB, audio and video 16 MiB,
    /// documents 100 MiB.
    pub const fn explicit() -> MediaCaps {
        MediaCaps {
            image: 6 * MIB,
            audio: 16 * MIB,
            video: 16 * MIB,
            document: 100 * MIB,
        }
    }

    /// Agent replies: one cap for every kind, `agents.defaults.mediaMaxMb` or 5 MiB.
    pub fn reply(media_max_mb: Option<u64>) -> MediaCaps {
        let cap = media_max_mb
            .filter(|&mb| mb > 0)
            .unwrap_or(DEFAULT_REPLY_MEDIA_MAX_MB)
            * MIB;
        MediaCaps {
            image: cap,
            audio: cap,
            video: cap,
            document: cap,
        }
    }

    /// The cap for one kind.
    pub fn for_kind(&self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Image | MediaKind::Sticker => self.image,
            MediaKind::Audio => self.audio,
            MediaKind::Video => self.video,
            MediaKind::Document => self.document,
        }
    }
}

/// What the caller asked for beyond the media itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaOptions {
    /// Play a video as a looping GIF (honoured for MP4 only).
    pub gif_playback: bool,
}

/// Facts about one loaded item, read from its header and container (cheap, no decoding).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFacts {
    /// Detected type.
    pub detected: Detected,
    /// Size in bytes.
    pub size: u64,
    /// File name, when known.
    pub file_name: Option<String>,
    /// Image width × height as stored, when it is an image.
    pub dimensions: Option<(u32, u32)>,
    /// False when the image carries a non-upright EXIF orientation.
    pub upright: bool,
    /// Why the image header could not be used (corrupt, unsupported, or refused).
    pub image_error: Option<String>,
    /// True when the decompression-bomb guard refused the image.
    pub image_refused: bool,
    /// GIF frame count.
    pub gif_frames: Option<usize>,
    /// Ogg/Opus duration, when the audio is Ogg/Opus.
    pub opus_duration_ms: Option<u64>,
}

impl MediaFacts {
    /// Inspects a loaded item.
    pub fn inspect(media: &LoadedMedia, limits: &ImageLimits) -> MediaFacts {
        let detected = detect(
            &media.data,
            media.file_name.as_deref(),
            media.declared_mime.as_deref(),
        );
        let mut facts = MediaFacts {
            size: media.data.len() as u64,
            file_name: media.file_name.clone(),
            dimensions: None,
            upright: true,
            image_error: None,
            image_refused: false,
            gif_frames: None,
            opus_duration_ms: None,
            detected,
        };
        match facts.detected.kind {
            MediaKind::Image if facts.detected.mime == "image/gif" => {
                facts.gif_frames = frame_count(&media.data);
            }
            MediaKind::Image => match read_header(&media.data, limits) {
                Ok(h) => {
                    facts.dimensions = Some((h.width, h.height));
                    facts.upright = h.orientation == Orientation::NoTransforms;
                }
                Err(e) => {
                    facts.image_refused = matches!(
                        e,
                        OutboundError::ImageTooLarge { .. }
                            | OutboundError::ImageDecodeBudget { .. }
                    );
                    facts.image_error = Some(e.to_string());
                }
            },
            MediaKind::Audio => {
                facts.opus_duration_ms = parse_ogg_opus(&media.data).map(|i| i.duration_ms());
            }
            _ => {}
        }
        facts
    }
}

/// What will be done with one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum MediaAction {
    /// An image sent as it is (location metadata cut out losslessly).
    ImagePassThrough,
    /// An image run through the resize × quality sweep.
    ImageSweep {
        /// Why it must be re-encoded.
        reason: String,
    },
    /// A single-frame GIF, sent as an image untouched.
    GifAsImage,
    /// An animated GIF converted to MP4 with ffmpeg and sent with `gifPlayback`.
    GifToMp4,
    /// An animated GIF sent as a document because ffmpeg is missing.
    GifAsDocument,
    /// A voice note (PTT).
    VoiceNote {
        /// Already Ogg/Opus: sent as is, duration from the container.
        opus: bool,
        /// Converted to Ogg/Opus with ffmpeg first.
        transcode: bool,
    },
    /// A video.
    Video {
        /// Plays as a looping GIF.
        gif_playback: bool,
    },
    /// A document with its file name.
    Document {
        /// The name the recipient sees.
        file_name: String,
    },
    /// Not sendable; the error says why.
    Reject {
        /// The user-facing reason.
        error: String,
    },
}

/// The plan for one item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaPlan {
    /// The kind it goes out as.
    pub kind: MediaKind,
    /// The MIME type it goes out as (may change during preparation, e.g. to JPEG).
    pub mime: String,
    /// Input size in bytes.
    pub size: u64,
    /// The cap that applies, bytes.
    pub cap: u64,
    /// What will be done.
    pub action: MediaAction,
    /// Things the user should know (fallbacks, ignored options).
    pub warnings: Vec<String>,
}

fn default_file_name(mime: &str) -> String {
    let ext = mime_guess::get_mime_extensions_str(mime).and_then(|e| e.first().copied());
    match ext {
        Some(ext) => format!("file.{ext}"),
        None => "file".to_string(),
    }
}

/// Decides what to do with an item. Pure: facts, caps, options and tool availability in,
/// plan out.
pub fn plan_media(
    facts: &MediaFacts,
    caps: &MediaCaps,
    opts: &MediaOptions,
    ffmpeg: bool,
) -> MediaPlan {
    let mime = facts.detected.mime.clone();
    let mut warnings = Vec::new();
    if let Some(m) = &facts.detected.mismatch {
        warnings.push(format!(
            "type from the bytes differs from the file extension ({m}); using the bytes"
        ));
    }
    let kind = facts.detected.kind;
    let over = |cap: u64| facts.size > cap;
    let reject = |error: OutboundError| MediaAction::Reject {
        error: error.to_string(),
    };
    let document_name = || {
        facts
            .file_name
            .clone()
            .unwrap_or_else(|| default_file_name(&mime))
    };

    let (kind, mime, cap, action) = match kind {
        MediaKind::Image | MediaKind::Sticker if mime == "image/gif" => {
            if facts.gif_frames.unwrap_or(1) > 1 {
                if ffmpeg {
                    (
                        MediaKind::Video,
                        "video/mp4".to_string(),
                        caps.video,
                        MediaAction::GifToMp4,
                    )
                } else {
                    warnings.push(
                        "ffmpeg is not installed, so the animated GIF is sent as a document; install ffmpeg to send it as a looping video"
                            .to_string(),
                    );
                    let cap = caps.document;
                    let action = if over(cap) {
                        reject(OutboundError::too_large(cap, facts.size))
                    } else {
                        MediaAction::GifAsDocument
                    };
                    (MediaKind::Document, mime.clone(), cap, action)
                }
            } else {
                let cap = caps.image;
                let action = if over(cap) {
                    reject(OutboundError::GifTooLarge {
                        cap: cap_mb(cap),
                        got: size_mb(facts.size),
                    })
                } else {
                    MediaAction::GifAsImage
                };
                (MediaKind::Image, mime.clone(), cap, action)
            }
        }
        MediaKind::Image | MediaKind::Sticker
            if facts.image_error.is_some() && !facts.image_refused =>
        {
            // A format this build cannot decode (HEIC, a corrupt file): still worth sending
            // as a file rather than failing.
            warnings.push(format!(
                "the image could not be read ({}); sent as a document",
                facts.image_error.as_deref().unwrap_or_default()
            ));
            let cap = caps.document;
            let action = if over(cap) {
                reject(OutboundError::too_large(cap, facts.size))
            } else {
                MediaAction::Document {
                    file_name: document_name(),
                }
            };
            (MediaKind::Document, mime.clone(), cap, action)
        }
        MediaKind::Image | MediaKind::Sticker => {
            let cap = caps.image;
            let action = match (&facts.image_error, facts.dimensions) {
                (Some(e), _) => MediaAction::Reject { error: e.clone() },
                (None, Some((w, h))) => {
                    let reason = if !facts.upright {
                        Some("EXIF orientation must be applied".to_string())
                    } else if w.max(h) > PASS_THROUGH_MAX_SIDE {
                        Some(format!(
                            "longest side {} px is over {PASS_THROUGH_MAX_SIDE}",
                            w.max(h)
                        ))
                    } else if over(cap) {
                        Some(format!(
                            "{} MB is over the {} MB cap",
                            size_mb(facts.size),
                            cap_mb(cap)
                        ))
                    } else {
                        None
                    };
                    match reason {
                        Some(reason) => MediaAction::ImageSweep { reason },
                        None => MediaAction::ImagePassThrough,
                    }
                }
                (None, None) => MediaAction::Reject {
                    error: "could not read the image header".into(),
                },
            };
            (MediaKind::Image, mime.clone(), cap, action)
        }
        MediaKind::Audio => {
            let cap = caps.audio;
            let opus = facts.opus_duration_ms.is_some();
            let transcode = !opus && ffmpeg;
            if !opus && !ffmpeg {
                warnings.push(format!(
                    "{mime} is not Ogg/Opus and ffmpeg is not installed: sent as a voice note without duration or waveform, and some WhatsApp clients may not play it"
                ));
            }
            let action = if over(cap) && !transcode {
                reject(OutboundError::too_large(cap, facts.size))
            } else {
                MediaAction::VoiceNote { opus, transcode }
            };
            let mime = if opus || transcode {
                OPUS_MIME.to_string()
            } else {
                mime.clone()
            };
            (MediaKind::Audio, mime, cap, action)
        }
        MediaKind::Video => {
            let cap = caps.video;
            let mp4 = mime == "video/mp4";
            if opts.gif_playback && !mp4 {
                warnings.push(format!(
                    "gifPlayback needs an MP4 video, not {mime}; sent as a normal video"
                ));
            }
            let action = if over(cap) {
                reject(OutboundError::too_large(cap, facts.size))
            } else {
                MediaAction::Video {
                    gif_playback: opts.gif_playback && mp4,
                }
            };
            (MediaKind::Video, mime.clone(), cap, action)
        }
        MediaKind::Document => {
            let cap = caps.document;
            let action = if over(cap) {
                reject(OutboundError::too_large(cap, facts.size))
            } else {
                MediaAction::Document {
                    file_name: document_name(),
                }
            };
            (MediaKind::Document, mime.clone(), cap, action)
        }
    };
    MediaPlan {
        kind,
        mime,
        size: facts.size,
        cap,
        action,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::sniff::MimeSource;

    fn facts(mime: &str, kind: MediaKind, size: u64) -> MediaFacts {
        MediaFacts {
            detected: Detected {
                mime: mime.into(),
                source: MimeSource::Bytes,
                kind,
                mismatch: None,
            },
            size,
            file_name: None,
            dimensions: None,
            upright: true,
            image_error: None,
            image_refused: false,
            gif_frames: None,
            opus_duration_ms: None,
        }
    }

    #[test]
    fn caps() {
        assert_eq!(MediaCaps::reply(None).image, 5 * MIB);
        assert_eq!(MediaCaps::reply(Some(0)).video, 5 * MIB);
        assert_eq!(MediaCaps::reply(Some(20)).document, 20 * MIB);
        let e = MediaCaps::explicit();
        assert_eq!(
            (e.image, e.audio, e.video, e.document),
            (6 * MIB, 16 * MIB, 16 * MIB, 100 * MIB)
        );
    }

    #[test]
    fn image_decisions() {
        let caps = MediaCaps::reply(None);
        let mut f = facts("image/jpeg", MediaKind::Image, MIB);
        f.dimensions = Some((2048, 1000));
        assert_eq!(
            plan_media(&f, &caps, &MediaOptions::default(), false).action,
            MediaAction::ImagePassThrough
        );
        f.dimensions = Some((2049, 1000));
        assert!(matches!(
            plan_media(&f, &caps, &MediaOptions::default(), false).action,
            MediaAction::ImageSweep { .. }
        ));
        f.dimensions = Some((100, 100));
        f.upright = false;
        let mut heic = facts("image/heic", MediaKind::Image, 1000);
        heic.image_error = Some("unknown image format".into());
        let p = plan_media(&heic, &caps, &MediaOptions::default(), false);
        assert_eq!(
            (p.kind, p.action),
            (
                MediaKind::Document,
                MediaAction::Document {
                    file_name: "file.heic".into()
                }
            )
        );
        assert_eq!(p.warnings.len(), 1);
        assert!(matches!(
            plan_media(&f, &caps, &MediaOptions::default(), false).action,
            MediaAction::ImageSweep { .. }
        ));
    }

    #[test]
    fn gif_decisions() {
        let caps = MediaCaps::explicit();
        let mut f = facts("image/gif", MediaKind::Image, 1000);
        f.gif_frames = Some(12);
        let p = plan_media(&f, &caps, &MediaOptions::default(), true);
        assert_eq!(
            (p.action, p.kind, p.mime.as_str()),
            (MediaAction::GifToMp4, MediaKind::Video, "video/mp4")
        );
        let p = plan_media(&f, &caps, &MediaOptions::default(), false);
        assert_eq!(
            (p.action, p.kind),
            (MediaAction::GifAsDocument, MediaKind::Document)
        );
        assert_eq!(p.warnings.len(), 1);
        f.gif_frames = Some(1);
        f.size = 7 * MIB;
        let p = plan_media(&f, &caps, &MediaOptions::default(), true);
        assert_eq!(
            p.action,
            MediaAction::Reject {
                error: "GIF exceeds 6MB limit (got 7.00MB)".into()
            }
        );
    }

    #[test]
    fn audio_video_document_decisions() {
        let caps = MediaCaps::reply(None);
        let mut f = facts("audio/ogg", MediaKind::Audio, 1000);
        f.opus_duration_ms = Some(2000);
        let p = plan_media(&f, &caps, &MediaOptions::default(), false);
        assert_eq!(
            (p.mime.as_str(), p.action),
            (
                OPUS_MIME,
                MediaAction::VoiceNote {
                    opus: true,
                    transcode: false
                }
            )
        );
        let f = facts("audio/mpeg", MediaKind::Audio, 1000);
        let p = plan_media(&f, &caps, &MediaOptions::default(), true);
        assert_eq!(
            p.action,
            MediaAction::VoiceNote {
                opus: false,
                transcode: true
            }
        );
        let p = plan_media(&f, &caps, &MediaOptions::default(), false);
        assert_eq!(p.mime, "audio/mpeg");
        assert_eq!(p.warnings.len(), 1);

        let gif = MediaOptions { gif_playback: true };
        let p = plan_media(
            &facts("video/mp4", MediaKind::Video, 10),
            &caps,
            &gif,
            false,
        );
        assert_eq!(p.action, MediaAction::Video { gif_playback: true });
        let p = plan_media(
            &facts("video/webm", MediaKind::Video, 10),
            &caps,
            &gif,
            false,
        );
        assert_eq!(
            p.action,
            MediaAction::Video {
                gif_playback: false
            }
        );
        let p = plan_media(
            &facts("video/mp4", MediaKind::Video, 6 * MIB),
            &caps,
            &gif,
            false,
        );
        assert_eq!(
            p.action,
            MediaAction::Reject {
                error: OutboundError::too_large(5 * MIB, 6 * MIB).to_string()
            }
        );

        let mut f = facts("application/pdf", MediaKind::Document, 10);
        assert_eq!(
            plan_media(&f, &caps, &gif, false).action,
            MediaAction::Document {
                file_name: "file.pdf".into()
            }
        );
        f.file_name = Some("Q3 report.pdf".into());
        assert_eq!(
            plan_media(&f, &caps, &gif, false).action,
            MediaAction::Document {
                file_name: "Q3 report.pdf".into()
            }
        );
    }
}
