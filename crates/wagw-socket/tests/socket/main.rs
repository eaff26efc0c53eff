//! wagw-socket's integration tests: protocol conversions, the SQLite store against the
//! library's reference store, crash durability, and the real client against the
//! in-process fake WhatsApp server, including the shared `WaSocket` contract suite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod contract;
mod conversion;
mod durable;
mod fake_server;
mod login;
mod outbound;
mod resources;
mod store_crash;
mod store_diff;
