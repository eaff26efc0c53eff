//! # wagw-agents — the agent sinks behind the `wagw` daemon
//!
//! How a turn reaches an agent that is not Rust code in the gateway's process, and how its
//! replies come back. One module per concept:
//!
//! - [`config`]: `gateway.agents[]` entries ([`AgentConfig`]) validated into [`AgentSpec`]s,
//!   with errors naming the field (`gateway.agents[1].url: ...`).
//! - [`webhook`] + [`outbox`] + [`handoff`]: signed POSTs (`X-Wagw-Signature`, `X-Wagw-Delivery`) through
//!   a durable outbox (on `wagw-store`): at-least-once across crashes, exponential backoff with jitter,
//!   4xx not retried except 408/429 (`Retry-After` honoured), dead letters, list and replay;
//!   each outcome handed over once, to the waiting caller or the completion channel.
//! - [`signature`]: [`sign`] and [`verify_signature`] (what an agent runs on receipt).
//! - [`exec`]: one process per turn, turn JSON on stdin, stdout is the reply.
//! - [`echo`]: the built-in echo agent.
//! - [`events`] + [`sse`]: a durable, bounded event log with ids that only grow, live
//!   subscription, and cursors that resume from `Last-Event-ID`.
//! - [`sinks`]: [`AgentSinks`], all of the above behind one `deliver(agent_id, turn)`.
//!
//! Turns are opaque JSON here ([`TurnPayload`]), replies are [`AgentReply`]; the daemon's
//! `AgentSink` adapter converts to and from the gateway's types.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), wagw_agents::AgentsError> {
//! use wagw_agents::*;
//! let db = wagw_store::Db::temporary()?;
//! let configs: Vec<AgentConfig> = serde_json::from_str(r#"[
//!     {"id": "bot", "type": "webhook", "url": "http://127.0.0.1:8080/turns",
//!      "secret": "change-me-to-32-random-bytes", "maxAttempts": 5}
//! ]"#).unwrap();
//! let specs = validate_agents(&configs)?;
//! let sinks = AgentSinks::new(&specs,
//!     Outbox::new(db.open_tree("outbox")?), EventLog::open(db.open_tree("events")?, 10_000)?);
//!
//! // The worker delivers (and retries) in the background; late outcomes come on a channel.
//! let (done_tx, _done_rx) = tokio::sync::mpsc::unbounded_channel();
//! let worker = WebhookWorker::new(sinks.outbox().clone(), sinks.webhook_targets())?
//!     .completions(done_tx);
//! let stop = tokio::spawn(worker.run(std::future::pending()));
//! # stop.abort();
//!
//! // Agents check each request like this:
//! let header = sign(b"change-me-to-32-random-bytes", 1_700_000_000, b"{}");
//! verify_signature(b"change-me-to-32-random-bytes", &header, b"{}", 1_700_000_010, 300)?;
//! # Ok(()) }
//! ```
//!
//! ## What it must not depend on
//! No other wagw crate (not `wagw-gateway`, not `wagw-normalize`, not even `wagw-core`):
//! the turn is JSON and the replies are this crate's own type, so the gateway and the
//! sinks can change independently. It opens no database of its own (the gateway hands in
//! `wagw_store::Tree`s), starts no tasks by itself (the caller spawns [`WebhookWorker::run`]),
//! and reads no global configuration. Time and randomness are injectable ([`Clock`],
//! [`RandomUnit`]).

pub mod backoff;
pub mod config;
pub mod echo;
pub mod error;
pub mod events;
pub mod exec;
pub mod handoff;
pub mod outbox;
pub mod reply;
pub mod signature;
pub mod sinks;
pub mod sse;
pub mod turn;
pub mod webhook;

pub use backoff::{
    Backoff, Clock, MAX_RETRY_AFTER, PinnedRandom, RandomUnit, SplitMix64, SystemClock,
    parse_retry_after,
};
pub use config::{
    AgentConfig, AgentKind, AgentProblem, AgentSpec, DEFAULT_EXEC_TIMEOUT_MS, DEFAULT_MAX_ATTEMPTS,
    DEFAULT_WEBHOOK_TIMEOUT_MS, ExecSpec, WebhookTarget, validate_agents,
};
pub use echo::echo_replies;
pub use error::AgentsError;
pub use events::{CursorItem, DEFAULT_EVENT_CAPACITY, Event, EventCursor, EventLog, EventPage};
pub use exec::ExecAgent;
pub use handoff::{Completion, DeliveryOutcome, DeliveryWaiter, Waited};
pub use outbox::{
    DEFAULT_KEEP_DELIVERED, DeliveryRecord, DeliveryState, Enqueued, Outbox, OutboxCounts,
};
pub use reply::{AgentMedia, AgentReply, AgentTemplate, MediaSource, parse_replies};
pub use signature::{
    DEFAULT_TOLERANCE_SECS, DELIVERY_HEADER, SIGNATURE_HEADER, sign, verify_signature,
};
pub use sinks::{AgentSinks, INLINE_WAIT_MARGIN, TURN_EVENT};
pub use sse::{sse_comment, sse_frame};
pub use turn::{DeliveryId, TurnPayload};
pub use webhook::{AttemptVerdict, WebhookTargets, WebhookWorker, classify_status};
