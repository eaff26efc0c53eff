//! The media plan: what will be done to one item, decided from facts alone ([`plan_media`]),
//! then carried out ([`prepare_media`]).
//!
//! `wagw message send --dry-run` prints the plan without encoding anything.

use bytes::Bytes;
use image::metadata::Orientation;
use serde::Serialize;
use wagw_core::{MediaKind, OutboundMedia, UploadedMedia};

use crate::error::{MIB, OutboundError, cap_mb, size_mb};
use crate::media::audio::{self, parse_ogg_opus};
use crate::media::gif::frame_count;
use crate::media::image::{ImageLimits, PASS_THROUGH_MAX_SIDE, optimize_image, read_header};
use crate::media::sniff::{Detected, detect};
use crate::media::source::LoadedMedia;
use crate::media::tools::{self, Tools};

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
    /// Why the image header was refused (decompression-bomb guard, corrupt header).
    pub image_error: Option<String>,
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
                Err(e) => facts.image_error = Some(e.to_string()),
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

/// An item ready to upload and send.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedMedia {
    /// The kind to upload and send as.
    pub kind: MediaKind,
    /// The bytes to upload.
    pub data: Bytes,
    /// The MIME type to declare.
    pub mime: String,
    /// File name (documents).
    pub file_name: Option<String>,
    /// Voice note.
    pub ptt: bool,
    /// Looping GIF playback.
    pub gif_playback: bool,
    /// Duration in whole seconds (voice notes).
    pub duration_secs: Option<u32>,
    /// 64-bar waveform (voice notes, when a decoder was available).
    pub waveform: Option<Vec<u8>>,
    /// Width (images).
    pub width: Option<u32>,
    /// Height (images).
    pub height: Option<u32>,
    /// The plan's warnings plus any raised while preparing.
    pub warnings: Vec<String>,
}

impl PreparedMedia {
    fn new(plan: &MediaPlan, data: Bytes) -> PreparedMedia {
        PreparedMedia {
            kind: plan.kind,
            data,
            mime: plan.mime.clone(),
            file_name: None,
            ptt: false,
            gif_playback: false,
            duration_secs: None,
            waveform: None,
            width: None,
            height: None,
            warnings: plan.warnings.clone(),
        }
    }

    /// The message to send once the bytes are uploaded. Voice notes take no caption.
    pub fn into_outbound(self, upload: UploadedMedia, caption: Option<String>) -> OutboundMedia {
        OutboundMedia {
            upload,
            mime: self.mime,
            caption: if self.ptt { None } else { caption },
            file_name: self.file_name,
            ptt: self.ptt,
            gif_playback: self.gif_playback,
            duration_secs: self.duration_secs,
            waveform: self.waveform,
            width: self.width,
            height: self.height,
            thumbnail_jpeg: None,
        }
    }
}

/// Carries out a plan: the sweep (on a blocking thread), ffmpeg conversions, the waveform.
pub async fn prepare_media(
    media: LoadedMedia,
    plan: &MediaPlan,
    tools: &Tools,
    limits: &ImageLimits,
) -> Result<PreparedMedia, OutboundError> {
    let ffmpeg_missing = || OutboundError::Tool {
        tool: "ffmpeg",
        detail: "not installed".into(),
    };
    match &plan.action {
        MediaAction::Reject { error } => Err(OutboundError::InvalidSource {
            source_text: media.origin,
            reason: error.clone(),
        }),
        MediaAction::ImagePassThrough | MediaAction::ImageSweep { .. } => {
            let (data, cap, limits) = (media.data.clone(), plan.cap, *limits);
            let img = tokio::task::spawn_blocking(move || optimize_image(&data, cap, &limits))
                .await
                .map_err(|e| OutboundError::ImageEncode(e.to_string()))??;
            tracing::debug!(target: "wagw::outbound", action = ?img.action, bytes = img.data.len(), "image prepared");
            let mut out = PreparedMedia::new(plan, img.data);
            out.mime = img.mime;
            out.width = Some(img.width);
            out.height = Some(img.height);
            Ok(out)
        }
        MediaAction::GifAsImage => Ok(PreparedMedia::new(plan, media.data)),
        MediaAction::GifToMp4 => {
            let ffmpeg = tools.ffmpeg.as_deref().ok_or_else(ffmpeg_missing)?;
            let mp4 = tools::gif_to_mp4(ffmpeg, &media.data).await?;
            if mp4.len() as u64 > plan.cap {
                return Err(OutboundError::too_large(plan.cap, mp4.len() as u64));
            }
            let mut out = PreparedMedia::new(plan, mp4);
            out.gif_playback = true;
            Ok(out)
        }
        MediaAction::GifAsDocument => {
            let mut out = PreparedMedia::new(plan, media.data);
            out.file_name = Some(media.file_name.unwrap_or_else(|| "animation.gif".into()));
            Ok(out)
        }
        MediaAction::VoiceNote { opus, transcode } => {
            let data = if *transcode {
                let ffmpeg = tools.ffmpeg.as_deref().ok_or_else(ffmpeg_missing)?;
                let ogg = tools::to_ogg_opus(ffmpeg, &media.data).await?;
                if ogg.len() as u64 > plan.cap {
                    return Err(OutboundError::too_large(plan.cap, ogg.len() as u64));
                }
                ogg
            } else {
                media.data
            };
            let mut out = PreparedMedia::new(plan, data);
            out.ptt = true;
            if *opus || *transcode {
                voice_note_details(&mut out, tools).await;
            }
            Ok(out)
        }
        MediaAction::Video { gif_playback } => {
            let mut out = PreparedMedia::new(plan, media.data);
            out.gif_playback = *gif_playback;
            Ok(out)
        }
        MediaAction::Document { file_name } => {
            let mut out = PreparedMedia::new(plan, media.data);
            out.file_name = Some(file_name.clone());
            Ok(out)
        }
    }
}

/// Fills duration (from the container) and waveform (libopus, else ffmpeg, else none).
async fn voice_note_details(out: &mut PreparedMedia, tools: &Tools) {
    let Some(info) = parse_ogg_opus(&out.data) else {
        out.warnings
            .push("the Ogg/Opus container could not be read: no duration or waveform".into());
        return;
    };
    out.duration_secs = Some(info.duration_secs());
    let pcm = match audio::decode_opus_mono(&info) {
        Some(pcm) => Some(pcm),
        None => match tools.ffmpeg.as_deref() {
            Some(ffmpeg) => match tools::decode_audio_mono(ffmpeg, &out.data, 8_000).await {
                Ok(pcm) => Some(pcm),
                Err(e) => {
                    tracing::warn!(target: "wagw::outbound", error = %e, "could not decode the voice note for its waveform");
                    None
                }
            },
            None => None,
        },
    };
    match pcm {
        Some(pcm) => out.waveform = Some(audio::waveform_from_pcm(&pcm)),
        None => out
            .warnings
            .push("no Opus decoder (libopus feature or ffmpeg): the voice note is sent without a waveform".into()),
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
