//! The media plan: loading (URLs, local paths), type detection, per-kind decisions, and the
//! work they imply (image sweep, GIF → MP4, voice-note duration and waveform).
//!
//! Planning ([`plan::plan_media`]) is pure; loading ([`source::MediaLoader`]) and preparing
//! ([`prepare::prepare_media`]) do the IO and CPU work.

pub mod audio;
pub mod decode_budget;
pub mod gif;
pub mod image;
pub mod metadata;
pub mod net;
pub mod plan;
pub mod prepare;
pub mod sniff;
pub mod source;
pub mod tools;
