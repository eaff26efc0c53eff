//! The one error type of this crate.

use std::path::PathBuf;

use thiserror::Error;
use wagw_core::SocketError;

/// Bytes in a MiB: every `<N>MB` in messages and config means MiB, as in the reference.
pub const MIB: u64 = 1024 * 1024;

/// Formats a byte cap as the reference does in its messages: whole MiB (`5MB`).
pub(crate) fn cap_mb(bytes: u64) -> String {
    format!("{:.0}", bytes as f64 / MIB as f64)
}

/// Formats a size with two decimals in MiB (`5.23`).
pub(crate) fn size_mb(bytes: u64) -> String {
    format!("{:.2}", bytes as f64 / MIB as f64)
}

/// What went wrong while preparing or sending outbound messages.
#[derive(Debug, Error)]
pub enum OutboundError {
    /// An image stayed over the cap at every side and quality of the sweep.
    #[error("Media could not be reduced below {cap}MB (got {got}MB)")]
    CouldNotReduce {
        /// The cap, whole MiB.
        cap: String,
        /// The smallest result, MiB with two decimals.
        got: String,
    },
    /// A media item that cannot be shrunk (audio, video, document) is over its cap.
    #[error(
        "Media exceeds {cap}MB limit (got {got}MB); send a smaller file or raise the cap (agents.defaults.mediaMaxMb)"
    )]
    MediaTooLarge {
        /// The cap, whole MiB.
        cap: String,
        /// The item's size, MiB with two decimals.
        got: String,
    },
    /// A GIF is never re-encoded as an image; this one is over the cap.
    #[error("GIF exceeds {cap}MB limit (got {got}MB)")]
    GifTooLarge {
        /// The cap, whole MiB.
        cap: String,
        /// The GIF's size, MiB with two decimals.
        got: String,
    },
    /// The image header declares more pixels than wagw will decode (decompression bomb guard).
    #[error(
        "image declares {width}x{height} pixels, over the limit of {max_side} px a side and {max_pixels} pixels; refusing to decode it (a possible decompression bomb)"
    )]
    ImageTooLarge {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// Allowed longest side.
        max_side: u32,
        /// Allowed pixel count.
        max_pixels: u64,
    },
    /// Decoding the image alone would hold more memory than all decodes may hold at once
    /// (`media::decode_budget`).
    #[error(
        "image declares {width}x{height} pixels; decoding it needs about {needed_mb} MB, over the {budget_mb} MB the gateway gives image decoding; send it smaller or as a document"
    )]
    ImageDecodeBudget {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The estimated peak, in MB (10^6 bytes).
        needed_mb: u64,
        /// The budget, in MB.
        budget_mb: u64,
    },
    /// The image could not be decoded (corrupt or unsupported).
    #[error("could not decode the image: {0}")]
    ImageDecode(String),
    /// Every attempt to re-encode the image failed.
    #[error("Failed to optimize image: {0}")]
    ImageEncode(String),
    /// A local path is not under `media.localRoots`, or tries to escape it.
    #[error(
        "local media {path} is not allowed: {reason}; only files under media.localRoots may be sent"
    )]
    PathNotAllowed {
        /// The path as given.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// Reading a local file failed.
    #[error("could not read media file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The media source string is neither a URL nor a usable path.
    #[error("invalid media source {source_text:?}: {reason}")]
    InvalidSource {
        /// The source as given.
        source_text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A URL points at (or resolves to, or redirects to) a loopback, private or link-local
    /// address.
    #[error(
        "refusing to fetch {url}: {reason}; set media.allowPrivateNetworks: true to fetch from internal networks"
    )]
    BlockedAddress {
        /// The URL (or redirect target).
        url: String,
        /// Which address and why.
        reason: String,
    },
    /// The server answered with an error status.
    #[error("Failed to fetch media from {url}: HTTP {status}")]
    HttpStatus {
        /// The URL.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The download failed (DNS, TLS, timeout, too many redirects).
    #[error("Failed to fetch media from {url}: {detail}")]
    Fetch {
        /// The URL.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The download is larger than the download limit (`MediaSettings::max_download_mb`).
    #[error("media at {url} is larger than the {limit}MB download limit; send a smaller file")]
    DownloadTooLarge {
        /// The URL.
        url: String,
        /// The limit, whole MiB.
        limit: String,
    },
    /// An external tool (ffmpeg) failed.
    #[error("{tool} failed: {detail}")]
    Tool {
        /// The tool's name.
        tool: &'static str,
        /// Its stderr, shortened.
        detail: String,
    },
    /// The media plan refused the item; the text says why (cap, bomb guard, ...).
    #[error("{0}")]
    Refused(String),
    /// The transport refused or failed a send (after retries for transient errors).
    #[error("send failed: {0}")]
    Send(#[from] SocketError),
}

impl OutboundError {
    pub(crate) fn too_large(cap: u64, got: u64) -> OutboundError {
        OutboundError::MediaTooLarge {
            cap: cap_mb(cap),
            got: size_mb(got),
        }
    }
}
