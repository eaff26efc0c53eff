//! # wagw-core — the vocabulary every wagw crate speaks
//!
//! Identities ([`Phone`], [`Jid`], [`Lid`], [`AccountId`], [`Sender`]), the message model
//! ([`InboundMessage`], [`OutboundMessage`], [`Receipt`], ...) and the seam to WhatsApp: the
//! [`WaSocket`] trait with its [`SocketEvent`]s, and what a transport reports about itself
//! ([`TransportResources`]).
//!
//! This crate is pure: no IO, no clocks, no global state. It must not depend on any other
//! wagw crate, on a protocol library (whatsapp-rust) or on a runtime beyond `tokio::sync`
//! channels used by the socket seam.
//!
//! ```
//! use wagw_core::{Jid, Phone};
//! let phone = Phone::parse("whatsapp:+1 (555) 123-4567")?;
//! assert_eq!(phone.to_string(), "+15551234567");
//! assert_eq!(phone.to_jid(), Jid::parse("15551234567@s.whatsapp.net")?);
//! # Ok::<(), wagw_core::IdentityError>(())
//! ```

pub mod identity;
pub mod message;
pub mod policy;
pub mod resources;
pub mod socket;

pub use identity::{
    AccountId, DEFAULT_AGENT_ID, IdentityError, Jid, JidKind, Lid, Phone, Sender,
    looks_like_target_id, normalize_agent_id, strip_whatsapp_prefix,
};
pub use message::{
    AddressingMode, ChatPresence, ContactCard, Content, ContextInfo, GroupMetadata,
    GroupParticipant, InboundMessage, Location, Media, MediaKind, MediaKindOrDefault, MediaRef,
    MessageId, MessageKey, OutboundContent, OutboundMedia, OutboundMessage, OutboundQuote,
    QuotedMessage, Receipt, ReceiptKind, SendReceipt, Template, UploadedMedia,
};
pub use policy::{AckGroupMode, Activation, ChunkMode, DmPolicy, DmScope, GroupPolicy};
pub use resources::TransportResources;
pub use socket::{
    CloseReason, InboundAck, OwnIdentity, SocketError, SocketEvent, SocketEvents, WaSocket,
};
