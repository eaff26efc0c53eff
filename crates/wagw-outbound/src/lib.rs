//! # wagw-outbound — what an agent's reply becomes on WhatsApp
//!
//! Text: silent tokens (`NO_REPLY`, `HEARTBEAT_OK`), the response prefix, and chunking to
//! `textChunkLimit` (characters, grapheme-safe, code-fence aware, optional paragraph mode).
//! Media: loading (HTTP(S) with an address guard, local files under `media.localRoots`),
//! type detection from the bytes, and the media plan — voice notes (PTT, Ogg/Opus duration
//! and waveform), GIFs as looping MP4, images under the cap (EXIF orientation, location
//! stripped, the resize × quality sweep), documents with their names. Delivery: caption on
//! the first media item, failures reported to the user, transient-error retries, pacing.
//!
//! The planning half is pure ([`chunk_text`], [`plan_text`], [`media::plan::plan_media`],
//! [`pacing::PacingState`]); the IO half ([`deliver_reply`], [`media::source::MediaLoader`],
//! [`pacing::Pacer`]) takes a `&dyn WaSocket` so any transport (real or simulated) works.
//!
//! ```
//! use wagw_core::ChunkMode;
//! use wagw_outbound::{plan_text, resolve_prefix_template, render_prefix, PrefixVars, TextSettings};
//!
//! let template = resolve_prefix_template(None, true, Some("Ada")).unwrap();
//! let vars = PrefixVars { identity_name: Some("Ada".into()), ..PrefixVars::default() };
//! let settings = TextSettings { limit: 20, mode: ChunkMode::Length, prefix: Some(render_prefix(&template, &vars)), reply_tokens: true };
//! assert_eq!(plan_text("Here is the answer you asked for", &settings), ["[Ada] Here is the", "answer you asked for"]);
//! ```
//!
//! This crate must not depend on other wagw crates than `wagw-core`, on a protocol library,
//! or on the gateway runtime; configuration structs are its own (`serde`, camelCase) so the
//! config crate can embed them.

pub mod chunk;
pub mod deliver;
pub mod error;
pub mod media;
pub mod pacing;
pub mod reply_text;

pub use chunk::{DEFAULT_TEXT_CHUNK_LIMIT, chunk_text};
pub use deliver::{
    DeliveryReport, FailedPart, MediaFailure, MediaFailurePolicy, Outbox, RETRY_BACKOFF_MS,
    ReplyContent, ReplyMedia, ReplyPlan, ReplyTarget, SEND_ATTEMPTS, SentMessage, TextSettings,
    deliver, deliver_reply, plan_reply, plan_text, send_with_retry,
};
pub use error::{MIB, OutboundError};
pub use media::image::{ImageLimits, OptimizedImage, optimize_image};
pub use media::plan::{MediaAction, MediaCaps, MediaFacts, MediaOptions, MediaPlan, plan_media};
pub use media::prepare::{PreparedMedia, prepare_media};
pub use media::source::{LoadedMedia, MediaLoader, MediaSettings, MediaSource};
pub use media::tools::Tools;
pub use pacing::{Pacer, PacingSettings, PacingState, Reservation, WaitReason};
pub use reply_text::{
    DEFAULT_SELF_CHAT_PREFIX, HEARTBEAT_TOKEN, PrefixVars, ReplyText, SILENT_TOKEN, apply_prefix,
    is_silent_reply, normalize_reply_text, render_prefix, resolve_prefix_template,
};
