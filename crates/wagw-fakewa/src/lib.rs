//! # wagw-fakewa — an in-process fake WhatsApp server (tests only)
//!
//! Implements whatsapp-rust's `TransportFactory` with channels instead of sockets and plays
//! WhatsApp's side of the connection, so tests can drive the **real** client (through
//! `wagw-socket`) without a network: Noise XX and IK handshakes with a self-made certificate
//! chain, the binary node codec from the library's own crates, pairing refs (QR codes),
//! the phone completing a QR link (`link.rs`: [`FakeConnection::scan_qr`] reads the QR
//! string the client shows, sends the `<pair-success>` a phone's account key signed and the
//! QR's adv secret authenticates, verifies the client's `<pair-device-sign>`, records the
//! device ([`FakeWhatsApp::linked_devices`]) and restarts the stream with 515, after which
//! the client logs in as `<phone>:<device>`; [`FakeConnection::scan_qr_forged`] sends one
//! the client must refuse), login `<success>`, pair-code and passkey linking stanzas
//! (`pairing.rs`; [`FakeConnection::enter_pair_code`] is the phone completing a pair
//! code: `primary_hello`, the client's `companion_finish` key bundle opened, the adv secret
//! derived, then the same `<pair-success>`), plaintext
//! (newsletter) messages both ways with server acks, and every failure a reconnect policy
//! classifies (stream errors 401, 503, 515, `conflict replaced`,
//! `<failure>` 402 with an expiry, 403, 405, transport EOF). Media goes through
//! [`FakeMedia`], an in-process CDN: the server answers the client's `media_conn` request
//! with its host, and `FakeMedia` is the HTTP client that stores uploads and serves
//! downloads (see its module docs).
//!
//! It also plays **phones that speak Signal**: it captures the prekey bundle the client
//! uploads at login, and a fake phone (any phone number, device 0) sends the account
//! end-to-end encrypted DMs (`pkmsg`/`msg`, built with the library's libsignal) that go
//! through the client's real decrypt path and its inbound durability hook
//! ([`FakeConnection::send_dm_text`]). The other way, it answers the client's device-list
//! and prekey-fetch IQs with the phone's bundle and opens what the account sends
//! ([`FakeConnection::read_dm`]). Like WhatsApp, it keeps every DM it delivered until the
//! client acknowledges it (a delivery `<receipt>` or `<ack class="message">`, see
//! [`acknowledged_ids`]) and redelivers the rest, `offline="1"`, on the account's next
//! login connection before the `<ib><offline count=N/>` marker that ends the drain
//! ([`FakeWhatsApp::unacknowledged`]). Groups (`skmsg`), LID addressing and companion
//! devices of a phone are not played.
//!
//! The client accepts the fake certificate chain only when whatsapp-rust is built with its
//! `danger-skip-cert-chain-verify` feature: enable it in the **dev-dependencies** of the
//! crate whose tests use this server, never in a release build.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wagw_fakewa::FakeError> {
//! use wagw_fakewa::{FakeConfig, FakeWhatsApp, acknowledged_ids};
//! let server = FakeWhatsApp::new(FakeConfig::default());
//! let factory = server.factory(); // hand to the client as its TransportFactory
//! let http = server.media().http_client(); // and this as its HttpClient, for media
//! // ... start a linked client with `factory`, then:
//! if let Some(mut conn) = server.next_connection().await {
//!     let id = conn.send_dm_text("15550001111", "hello").await?; // encrypted DM
//!     // The client acknowledges it once the gateway committed it:
//!     let ack = conn
//!         .wait_for(std::time::Duration::from_secs(30), |n| {
//!             acknowledged_ids(n).contains(&id)
//!         })
//!         .await;
//!     assert!(ack.is_some() && server.unacknowledged().is_empty());
//!     conn.send_newsletter_text("120363000000000001@newsletter", "hello");
//!     conn.stream_error(515); // or conflict_replaced(), close(), ...
//! }
//! # let _ = (factory, http); Ok(()) }
//! ```
//!
//! Must not be a dependency of anything but tests (`publish = false`).

mod conn;
mod contact;
mod inbox;
mod link;
mod media;
mod noise;
mod pairing;
mod peer;
mod server;

pub use conn::{ConnKind, FakeConnection, attr};
pub use inbox::acknowledged_ids;
pub use link::{Forgery, LinkedDevice};
pub use media::{FakeMedia, MEDIA_HOST};
pub use pairing::{PAIR_CODE_REF, PASSKEY_REF, child_bytes, passkey_verification_code};
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
    /// A fake phone cannot message the account before it published its Signal keys.
    #[error(
        "the client has not uploaded its Signal prekeys; wait for a login connection to finish connecting"
    )]
    NoClientKeys,
    /// Encrypted messages go to a linked device's login connection, not a registration.
    #[error("the connection is a registration, not a logged-in device; send on a login connection")]
    NotLoggedIn,
    /// A fake phone cannot link with what it was given (a QR string, a number, a connection).
    #[error("cannot link: {0}")]
    Link(String),
    /// The Signal library refused an operation.
    #[error("Signal protocol error: {0}")]
    Signal(String),
}
