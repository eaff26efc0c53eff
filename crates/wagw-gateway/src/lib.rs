//! # wagw-gateway — the runtime that puts an agent on WhatsApp
//!
//! It wires accounts, access policy, normalization, the agent and delivery: per account a
//! supervisor task connects the transport (a [`wagw_core::WaSocket`]) and reconnects on
//! its own; an inbox processes messages in order per chat and concurrently across chats;
//! each accepted message becomes an [`InboundTurn`] for your [`AgentSink`], whose
//! [`Reply`]s go back out. State (dedupe, event log, and the access stores' trees) lives in
//! one sled database at `<dataDir>/state`.
//!
//! ```no_run
//! use wagw_gateway::{sink_fn, Gateway, GatewaySettings, Reply, TransportFactory};
//!
//! async fn run(transport: impl TransportFactory) -> Result<(), wagw_gateway::GatewayError> {
//!     let gateway = Gateway::builder()
//!         .settings(GatewaySettings::single_account("/var/lib/wagw")?)
//!         .transport(transport) // wagw-socket for WhatsApp, wagw-sim in tests
//!         .sink_arc(sink_fn(|turn| async move {
//!             Ok(vec![Reply::text(format!("you said: {}", turn.raw_body))])
//!         }))
//!         .start()
//!         .await?;
//!     // ... run until a signal ...
//!     gateway.shutdown().await
//! }
//! ```
//!
//! This crate must NOT depend on a concrete transport (`wagw-socket`, `wagw-sim`: they are
//! injected through [`TransportFactory`]), on the daemon (`bins/wagw`), or on any HTTP or
//! agent-protocol library: the daemon builds its sinks on [`AgentSink`].

mod access;
mod account;
pub mod ack;
pub mod actions;
pub mod clock;
mod commit;
mod debounce;
mod echo;
pub mod error;
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
pub use clock::{Clock, RuntimeClock, SystemClock};
pub use error::GatewayError;
pub use gateway::{AccountStatus, Gateway, GatewayBuilder};
pub use media::MediaOutcome;
pub use metrics::{AccountMetrics, MetricsSnapshot};
pub use outbound::SendReport;
pub use settings::{AccountSettings, GatewaySettings, RuntimeOptions};
pub use sink::{AgentSink, MediaSource, NullSink, Reply, SinkError, sink_fn};
pub use store::{DedupeRecord, DedupeStore, GatewayEvent, GatewayStore, StoreOptions, StoredEvent};
pub use transport::{TransportFactory, TransportSettings};
pub use turn::{ChatType, InboundTurn, TurnMedia};
pub use wagw_normalize::DedupeKey;
