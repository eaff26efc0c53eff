//! Integration tests for wagw-gateway (one binary, modules by concern under `gateway/`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "gateway/access.rs"]
mod access;
#[path = "gateway/drops.rs"]
mod drops;
#[path = "gateway/fake.rs"]
mod fake;
#[path = "gateway/groups.rs"]
mod groups;
#[path = "gateway/heartbeats.rs"]
mod heartbeats;
#[path = "gateway/lifecycle.rs"]
mod lifecycle;
#[path = "gateway/outbound.rs"]
mod outbound;
#[path = "gateway/pipeline.rs"]
mod pipeline;
#[path = "gateway/real_client.rs"]
mod real_client;
#[path = "gateway/real_client_closes.rs"]
mod real_client_closes;
#[path = "gateway/runtime.rs"]
mod runtime;
#[path = "gateway/sim.rs"]
mod sim;
#[path = "gateway/soak.rs"]
mod soak;
#[path = "gateway/tools.rs"]
mod tools;
