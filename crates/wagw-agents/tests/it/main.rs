//! wagw-agents integration tests: a real webhook receiver on 127.0.0.1, real processes,
//! real databases on disk (wagw-store).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod crash;
mod docs;
mod events;
mod exec;
mod receiver;
mod sinks;
mod support;
mod webhook;
