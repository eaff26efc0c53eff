//! wagw-access integration tests: the conformance table (`fixtures/access.json`), property
//! tests, the stores, and the crash-durability test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crash;
mod fixtures;
mod props;
mod store;
