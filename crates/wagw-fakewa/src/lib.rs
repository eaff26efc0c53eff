//! # wagw-fakewa — an in-process fake WhatsApp server (tests only)
//!
//! Implements whatsapp-rust's `TransportFactory` with channels instead of sockets and plays
//! WhatsApp's side of the connection, so tests can drive the **real** client (through
//! `wagw-socket`) without a network: Noise XX and IK handshakes with a self-made certificate
//! chain, the binary node codec from the library's own crates, pairing refs (QR codes),
//! login `<success>`, the offline-drain marker, plaintext (newsletter) messages both ways
//! with server acks, and every failure a reconnect policy classifies (stream errors 401,
//! 503, 515, `conflict replaced`, `<failure>` 402 with an expiry, 403, 405, transport EOF).
//! Media goes through [`FakeMedia`], an in-process CDN: the server answers the client's
//! `media_conn` request with its host, and `FakeMedia` is the HTTP client that stores
//! uploads and serves downloads (see its module docs).
//!
//! The client accepts the fake certificate chain only when whatsapp-rust is built with its
//! `danger-skip-cert-chain-verify` feature: enable it in the **dev-dependencies** of the
//! crate whose tests use this server, never in a release build.
//!
//! ```no_run
//! # async fn demo() {
//! use wagw_fakewa::{FakeConfig, FakeWhatsApp};
//! let server = FakeWhatsApp::new(FakeConfig::default());
//! let factory = server.factory(); // hand to the client as its TransportFactory
//! let http = server.media().http_client(); // and this as its HttpClient, for media
//! // ... start the client with `factory`, then:
//! if let Some(conn) = server.next_connection().await {
//!     conn.send_newsletter_text("120363000000000001@newsletter", "hello");
//!     conn.stream_error(515); // or conflict_replaced(), close(), ...
//! }
//! # let _ = (factory, http); }
//! ```
//!
//! Must not be a dependency of anything but tests (`publish = false`). It does not speak
//! the Signal protocol: end-to-end encrypted 1:1 and group traffic is out of its reach, so
//! it exchanges plaintext newsletter messages.

mod conn;
mod media;
mod noise;
mod server;

pub use conn::{ConnKind, FakeConnection, attr};
pub use media::{FakeMedia, MEDIA_HOST};
pub use server::{FakeConfig, FakeWhatsApp, LoginOutcome};

/// What a fake-server operation could not do.
#[derive(Debug, thiserror::Error)]
pub enum FakeError {
    /// The client spoke something this server does not understand.
    #[error("protocol error from the client: {0}")]
    Protocol(String),
    /// The client went away.
    #[error("the client closed the connection")]
    Closed,
}
