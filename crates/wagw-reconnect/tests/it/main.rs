//! wagw-reconnect's integration tests: the fixture table, properties, and the tracing helper.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixture;
mod logging;
mod props;
