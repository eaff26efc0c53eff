//! # wagw-socket — the real WhatsApp transport
//!
//! Implements [`wagw_core::WaSocket`] on [whatsapp-rust] 0.7, one [`WhatsAppSocket`] per
//! account, and converts the library's types into wagw-core's at the border: nothing above
//! this crate names a whatsapp-rust type.
//!
//! What it guarantees, per the `WaSocket` contract:
//! - `connect` starts one connection and returns its ordered events; the last one is
//!   exactly one `Closed(reason)`, classified (logged out, session conflict, temporary ban
//!   with expiry, client outdated, stream error with code, network, connect failure,
//!   requested). The library's auto-reconnect is off: `wagw-reconnect` decides.
//! - Each inbound message carries an [`wagw_core::InboundAck`]; WhatsApp's delivery
//!   receipt is held by the library's durability hook until the gateway commits. A dropped
//!   or timed-out ack (`SocketConfig::commit_timeout`) sends nothing, so WhatsApp redelivers
//!   the message on the next connection, where the library replays it from the store's
//!   pending-inbound buffer even across a crash (tested end to end with Signal-encrypted
//!   DMs from `wagw-fakewa`'s fake phones). Newsletter messages, which the library acks
//!   itself, carry a detached ack.
//! - A send returns `Ok` only after WhatsApp's server acked it.
//! - Protocol state lives in one database per account ([`store::AccountStore`]): SQLite in
//!   its `authDir`, or the namespace `account/<id>` of a PostgreSQL database
//!   ([`SocketConfig::store_location`]); logout sends the remove-companion request and
//!   deletes it.
//! - The device shows in the phone's Linked devices list as `accounts.<id>.name`, else
//!   `wagw` ([`SocketConfig::device_name`]).
//!
//! ```no_run
//! use wagw_core::{AccountId, SocketEvent, WaSocket};
//! use wagw_socket::{SocketConfig, WhatsAppSocket};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = SocketConfig::new(AccountId::default_account(), "/var/lib/wagw/accounts/default");
//! let socket = WhatsAppSocket::open(config)?;
//! let mut events = socket.connect().await?;
//! while let Some(event) = events.recv().await {
//!     match event {
//!         SocketEvent::QrCode { code, .. } => println!("scan: {code}"),
//!         SocketEvent::Message { message, ack } => {
//!             println!("{:?}", message.content);
//!             ack.commit(); // after persisting it
//!         }
//!         SocketEvent::Closed(reason) => println!("closed: {reason}"),
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Dependencies: this crate (and the daemon binary) are the only wagw crates that depend on
//! whatsapp-rust, whose `wacore-libsignal` carries AGPL-3.0-only file headers (see
//! `docs/decisions/0001-whatsapp-rust.md`). Policy crates must not depend on this crate.
//! Observability: the library's `tracing` spans (`wa.*`, under the `whatsapp_rust` and
//! `wacore` targets) and its `metrics` series (`wa_*` counters, the `wa_connected` gauge and
//! `wa_*_duration_seconds` histograms) are enabled. This crate never installs a recorder:
//! the process does (the `wagw` daemon installs its own and appends the series to
//! `/metrics`; an embedder installs any `metrics` recorder, then calls [`describe_metrics`]
//! for help texts). Those series are process-wide — their labels are categorical
//! (outcome, kind, reason), never an account — so several accounts in one process add up.
//! Per-account figures come from [`WaSocket::resources`](wagw_core::WaSocket::resources):
//! the client's wire counters, memory estimate, cache and queue sizes
//! ([`wagw_core::TransportResources`]).
//!
//! [whatsapp-rust]: https://crates.io/crates/whatsapp-rust

pub mod auth_dir;
pub mod connection;
pub mod error;
pub mod groups;
pub mod ids;
pub mod inbound;
mod lid;
pub mod login;
pub mod media;
pub mod polls;
pub mod presence;
pub mod receipts;
pub mod send;
pub mod socket;
pub mod store;

pub use error::Error;
pub use socket::{
    DEFAULT_DEVICE_NAME, ResourceSummary, SocketConfig, WhatsAppSocket, linked_identity,
};

/// Registers the help texts and units of whatsapp-rust's `wa_*` metrics with the process's
/// `metrics` recorder. Call once after installing a recorder; without one it does nothing.
pub fn describe_metrics() {
    whatsapp_rust::telemetry::describe();
}
