//! External tools wagw uses when they are installed: `ffmpeg` (GIF → MP4, audio decoding for
//! waveforms). Everything degrades without them; the plan says what it did instead.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use tokio::process::Command;

use crate::error::OutboundError;

/// How long one ffmpeg run may take before it is killed.
const FFMPEG_TIMEOUT: Duration = Duration::from_secs(120);

/// The external tools found on this machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tools {
    /// Path to `ffmpeg`, when installed.
    pub ffmpeg: Option<PathBuf>,
}

impl Tools {
    /// Looks for the tools on `PATH`.
    pub fn detect() -> Tools {
        Tools {
            ffmpeg: find_on_path("ffmpeg"),
        }
    }

    /// No tools at all (tests, or to force the fallbacks).
    pub fn none() -> Tools {
        Tools::default()
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

async fn run_ffmpeg(ffmpeg: &Path, args: &[&std::ffi::OsStr]) -> Result<Vec<u8>, OutboundError> {
    let child = Command::new(ffmpeg)
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| OutboundError::Tool {
            tool: "ffmpeg",
            detail: e.to_string(),
        })?;
    let out = tokio::time::timeout(FFMPEG_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| OutboundError::Tool {
            tool: "ffmpeg",
            detail: format!("timed out after {FFMPEG_TIMEOUT:?}"),
        })?
        .map_err(|e| OutboundError::Tool {
            tool: "ffmpeg",
            detail: e.to_string(),
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let detail: String = err.trim().chars().take(400).collect();
        return Err(OutboundError::Tool {
            tool: "ffmpeg",
            detail,
        });
    }
    Ok(out.stdout)
}

fn temp_err(e: std::io::Error) -> OutboundError {
    OutboundError::Tool {
        tool: "ffmpeg",
        detail: format!("temp dir: {e}"),
    }
}

/// Converts a GIF to an H.264 MP4 that WhatsApp plays as a looping GIF (`gifPlayback`).
/// Works in a private temp dir that is removed afterwards.
pub async fn gif_to_mp4(ffmpeg: &Path, gif: &[u8]) -> Result<Bytes, OutboundError> {
    let dir = tempfile::tempdir().map_err(temp_err)?;
    let input = dir.path().join("in.gif");
    let output = dir.path().join("out.mp4");
    tokio::fs::write(&input, gif).await.map_err(temp_err)?;
    run_ffmpeg(
        ffmpeg,
        &[
            "-i".as_ref(),
            input.as_os_str(),
            "-movflags".as_ref(),
            "+faststart".as_ref(),
            "-pix_fmt".as_ref(),
            "yuv420p".as_ref(),
            // H.264 needs even dimensions.
            "-vf".as_ref(),
            "scale=trunc(iw/2)*2:trunc(ih/2)*2".as_ref(),
            "-c:v".as_ref(),
            "libx264".as_ref(),
            "-an".as_ref(),
            output.as_os_str(),
        ],
    )
    .await?;
    let mp4 = tokio::fs::read(&output).await.map_err(temp_err)?;
    Ok(Bytes::from(mp4))
}

/// Decodes any audio ffmpeg understands to mono 16-bit PCM at `rate` Hz.
pub async fn decode_audio_mono(
    ffmpeg: &Path,
    audio: &[u8],
    rate: u32,
) -> Result<Vec<i16>, OutboundError> {
    let dir = tempfile::tempdir().map_err(temp_err)?;
    let input = dir.path().join("in.audio");
    tokio::fs::write(&input, audio).await.map_err(temp_err)?;
    let rate = rate.to_string();
    let raw = run_ffmpeg(
        ffmpeg,
        &[
            "-i".as_ref(),
            input.as_os_str(),
            "-f".as_ref(),
            "s16le".as_ref(),
            "-ac".as_ref(),
            "1".as_ref(),
            "-ar".as_ref(),
            rate.as_ref(),
            "pipe:1".as_ref(),
        ],
    )
    .await?;
    Ok(raw
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect())
}

/// Converts any audio to an Ogg/Opus voice note (mono, 48 kHz, 32 kbit/s, speech tuning).
pub async fn to_ogg_opus(ffmpeg: &Path, audio: &[u8]) -> Result<Bytes, OutboundError> {
    let dir = tempfile::tempdir().map_err(temp_err)?;
    let input = dir.path().join("in.audio");
    let output = dir.path().join("out.ogg");
    tokio::fs::write(&input, audio).await.map_err(temp_err)?;
    run_ffmpeg(
        ffmpeg,
        &[
            "-i".as_ref(),
            input.as_os_str(),
            "-vn".as_ref(),
            "-ac".as_ref(),
            "1".as_ref(),
            "-ar".as_ref(),
            "48000".as_ref(),
            "-c:a".as_ref(),
            "libopus".as_ref(),
            "-b:a".as_ref(),
            "32k".as_ref(),
            "-application".as_ref(),
            "voip".as_ref(),
            output.as_os_str(),
        ],
    )
    .await?;
    Ok(Bytes::from(
        tokio::fs::read(&output).await.map_err(temp_err)?,
    ))
}
