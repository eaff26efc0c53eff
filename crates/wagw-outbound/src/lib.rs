//! tmp
pub mod chunk;
pub use chunk::{chunk_text, DEFAULT_TEXT_CHUNK_LIMIT};
