//! # wagw-gateway — the runtime that puts an agent on WhatsApp
//!
//! It wires accounts, access policy, normalization, the agent and delivery: per account a
//! supervisor task connects the transport (a [`wagw_core::WaSocket`]) and reconnects on
//! its own; an inbox processes messages in order per chat and concurrently across chats;
//! each accepted message becomes an [`InboundTurn`] for your [`AgentSink`], whose
//! [`Reply`]s go back out. State (dedupe, event log, and the access stores' trees) lives in
//! one SQLite database (`wagw-store`) at `<dataDir>/state/state.sqlite3`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use wagw_core::{AccountId, SocketError, WaSocket};
//! use wagw_gateway::{clock_fn, AgentSink, Gateway, GatewaySettings, InboundTurn, Reply,
//!                    SinkError, TransportSettings};
//!
//! struct Echo;
//!
//! #[async_trait::async_trait]
//! impl AgentSink for Echo {
//!     async fn deliver(&self, turn: InboundTurn) -> Result<Vec<Reply>, SinkError> {
//!         Ok(vec![Reply::text(format!("You said: {}", turn.raw_body))])
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let net = wagw_sim::SimNetwork::new(); // wagw-socket reaches WhatsApp instead
//! let sim_clock = net.clock().clone();
//! net.linked_account("default", "+15550009999");
//! let settings = GatewaySettings::from_json5(
//!     "{ channels: { whatsapp: { dmPolicy: 'pairing' } } }", "./wagw-data")?;
//! let gateway = Gateway::builder()
//!     .settings(settings)
//!     .transport(move |id: &AccountId, _: &TransportSettings|
//!         -> Result<Arc<dyn WaSocket>, SocketError> {
//!         net.socket(id).map(|s| Arc::new(s) as Arc<dyn WaSocket>)
//!             .ok_or_else(|| SocketError::NotFound(id.to_string()))
//!     })
//!     .clock(clock_fn(move || sim_clock.now_ms())) // only on the simulator
//!     .sink(Echo)
//!     .start()
//!     .await?;
//! // ... serve until a signal ...
//! gateway.shutdown().await?; // finish in-flight turns, flush, close sockets
//! # Ok(()) }
//! ```
//!
//! The inbound pipeline, per account and in the reference's order: status/broadcast →
//! own echoes → dedupe (persisted) → per-chat inbox → debounce → bindings → access
//! (pairing challenge, owner `/activation`) → ack reaction → read receipt → inbound media
//! → normalization → [`AgentSink::deliver`] → replies through `wagw-outbound`. See
//! `docs/embedding.md` for the contract.
//!
//! This crate must NOT depend on a concrete transport (`wagw-socket`, `wagw-sim`: they are
//! injected through [`TransportFactory`]), on the daemon (`bins/wagw`), or on any HTTP or
//! agent-protocol library: the daemon builds its sinks on [`AgentSink`].

mod access;
mod account;
pub mod ack;
pub mod actions;
mod agent_heartbeat;
pub mod clock;
pub mod commands;
mod commit;
mod debounce;
mod echo;
pub mod error;
pub mod events;
mod gateway;
mod groups;
mod heartbeat;
mod inbox;
pub mod media;
pub mod metrics;
pub mod outbound;
mod pairing;
mod pipeline;
pub mod registry;
pub mod routing;
pub mod settings;
pub mod sink;
pub mod store;
mod supervisor;
pub mod transport;
pub mod turn;

pub use account::LoginPrompt;
pub use actions::{PollRequest, ReactRequest};
pub use clock::{Clock, RuntimeClock, SystemClock, clock_fn};
pub use commands::{ConfigCommandRequest, ConfigCommands};
pub use error::GatewayError;
pub use gateway::{AccountStatus, Gateway, GatewayBuilder};
pub use media::MediaOutcome;
pub use metrics::{AccountMetrics, MetricsSnapshot};
pub use outbound::SendReport;
pub use settings::{AccountSettings, GatewaySettings, RuntimeOptions};
pub use sink::{
    AgentSink, MediaSource, NullSink, RepliesOutcome, Reply, SinkError, TurnKey, sink_fn,
};
pub use store::{
    DedupeRecord, DedupeStore, GatewayEvent, GatewayStore, STATE_FILE, StoreOptions, StoredEvent,
};
pub use transport::{TransportFactory, TransportSettings};
pub use turn::{ChatType, InboundTurn, TurnKind, TurnMedia};
pub use wagw_normalize::DedupeKey;
