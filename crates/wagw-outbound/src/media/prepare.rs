//! Carrying out a [`MediaPlan`]: the image sweep (on a blocking thread), ffmpeg conversions,
//! voice-note duration and waveform.

use bytes::Bytes;
use wagw_core::{MediaKind, OutboundMedia, UploadedMedia};

use crate::error::OutboundError;
use crate::media::audio::{self, parse_ogg_opus};
use crate::media::image::{ImageLimits, optimize_image};
use crate::media::plan::{MediaAction, MediaPlan};
use crate::media::source::LoadedMedia;
use crate::media::tools::{self, Tools};

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
        MediaAction::Reject { error } => Err(OutboundError::Refused(error.clone())),
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
