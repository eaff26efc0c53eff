//! Integration tests for wagw-outbound: conformance tables, media on real files, delivery
//! through a fake socket, pacing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chunk;
mod deliver;
mod media;
