//! # wagw-sim — a simulated WhatsApp network in process
//!
//! [`SimNetwork`] holds phones (E.164 number, LID, push name; some contacts LID-only),
//! groups (`120363…@g.us`, subject, members, admins, phone or LID addressing) and any
//! number of accounts. Each account is a [`SimSocket`], an implementation of
//! [`wagw_core::WaSocket`] that behaves like the real transport from the gateway's point of
//! view: the same events in the same order, server-assigned ids, receipts, durable inbound
//! with redelivery, the same error kinds. Tests script the people around the gateway
//! ([`SimPhone`], [`SimGroup`]), inject faults ([`SimFault`]) and read what the gateway sent
//! ([`SimNetwork::sent_by`]). All timing runs on tokio's clock, so tests under
//! `#[tokio::test(start_paused = true)]` never sleep for real; all randomness comes from one
//! seed, so runs repeat exactly.
//!
//! [`contract`] is the `WaSocket` contract suite, written once and run against both this
//! simulator and the real transport's fake server.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! use wagw_core::{OutboundMessage, SocketEvent, WaSocket};
//! use wagw_sim::SimNetwork;
//!
//! let net = SimNetwork::with_seed(7);
//! let account = net.linked_account("default", "+15550009999");
//! let mut events = account.connect().await.unwrap();
//! let alice = net.phone("+15550001111").named("Alice");
//! alice.send_text(&account, "hi").await;
//! while let Some(event) = events.recv().await {
//!     if let SocketEvent::Message { message, ack } = event {
//!         assert_eq!(message.push_name.as_deref(), Some("Alice"));
//!         ack.commit();
//!         break;
//!     }
//! }
//! account.send(OutboundMessage::text(alice.jid(), "hello!")).await.unwrap();
//! assert_eq!(alice.received_texts(), ["hello!"]);
//! # }
//! ```
//!
//! Depends on `wagw-core` only among wagw crates. It must NOT depend on the gateway, the
//! daemon, a protocol library (whatsapp-rust) or anything that touches a real network or
//! the wall clock.

pub mod clock;
pub mod contract;
mod control;
mod delivery;
pub mod error;
pub mod faults;
mod group;
mod ids;
pub mod inject;
mod login;
mod media;
mod message;
mod network;
pub mod outbox;
mod phone;
mod send;
mod socket;
mod state;

pub use clock::{DEFAULT_START_MS, SimClock};
pub use error::SimError;
pub use faults::{SendFailure, SimFault};
pub use group::SimGroup;
pub use inject::{SimInbound, SimMedia};
pub use login::webauthn_assertion;
pub use message::SimMessageBuilder;
pub use network::{AsAccountId, SimNetwork};
pub use outbox::{SimOutboxEntry, SimOutboxKind, SimOutboxMedia, SimPresence, SimReadMark};
pub use phone::SimPhone;
pub use socket::SimSocket;
pub use state::SimConfig;
