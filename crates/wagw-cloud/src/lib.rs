//! # wagw-cloud — the WhatsApp Business Cloud API as a wagw transport
//!
//! Meta's official API for business numbers, for operators who cannot risk an unofficial
//! linked-device client. [`CloudSocket`] implements [`wagw_core::WaSocket`] over the Graph
//! API, so access control, normalization, agents, chunking and media work unchanged:
//!
//! - **Outbound**: `POST {apiBase}/{phoneNumberId}/messages` with the account's bearer token
//!   (text, media by uploaded id, replies via `context.message_id`, reactions, mark-as-read,
//!   [`Template`] sends for the 24-hour window); media upload to `/{phoneNumberId}/media`
//!   and download through the media URL. Rate limits are retried with backoff
//!   ([`RetryPolicy`]); Graph errors become messages an operator can act on
//!   ([`GraphError::to_socket_error`]).
//! - **Inbound**: Meta posts webhooks to the daemon, which hands each raw body to
//!   [`CloudSocket::receive_webhook`]: the `X-Hub-Signature-256` HMAC is checked in constant
//!   time, messages and statuses become [`wagw_core::SocketEvent`]s, and the call returns
//!   only once the gateway committed every message (so the daemon answers 200 only then and
//!   Meta retries otherwise). [`CloudSocket::verify_subscription`] answers the verification
//!   handshake.
//! - What has no Cloud API counterpart (QR and pair-code linking, passkeys, presence,
//!   groups, polls, edits, revokes, logout) is [`wagw_core::SocketError::Unsupported`] with
//!   the reason.
//!
//! With the `test-support` feature, [`fake::FakeGraph`] is a Graph API on loopback that
//! records requests, answers like Meta (errors included) and posts signed webhooks.
//!
//! This crate depends on `wagw-core` only among wagw crates: it must never depend on the
//! gateway, the config loader, the HTTP API or the daemon (they depend on it). It makes no
//! request before `connect`, keeps nothing on disk, and never logs a token, a secret or a
//! message body.

mod config;
mod error;
mod graph;
mod outbound;
mod socket;
pub mod webhook;

#[cfg(feature = "test-support")]
pub mod fake;

pub use config::{CloudConfig, DEFAULT_API_BASE, RetryPolicy, Secret};
pub use error::{CODE_REENGAGEMENT, CODE_TOKEN, GraphError, RATE_LIMIT_CODES, WebhookError};
pub use socket::{CloudSocket, WebhookReceipt};
pub use wagw_core::Template;
pub use webhook::SIGNATURE_HEADER;
