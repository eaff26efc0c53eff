//! # wagw-normalize — what an agent reads for each inbound WhatsApp message
//!
//! Turns an accepted [`wagw_core::InboundMessage`] into an [`InboundTurn`]: the envelope
//! (`[WhatsApp +15551234567 +5m 2025-01-02T03:04Z] hello`), the inbound `messagePrefix`, quoted
//! replies (`[Replying to … id:…]`), placeholders for media, contacts, locations and anything
//! unsupported, mention detection, pending group history, and the session key for every
//! `session.dmScope`. Around it: [`DedupeStore`] (with [`MemoryDedupe`]) so redeliveries are
//! handled once, and the [`Debouncer`] that merges bursts of short texts.
//!
//! ```
//! use wagw_core::*;
//! use wagw_normalize::{NormalizeSettings, Normalizer, TurnContext};
//!
//! let normalizer = Normalizer::new(NormalizeSettings::default())?;
//! let own = OwnIdentity { phone: Phone::parse("+15550009999")?, lid: None, push_name: None };
//! let msg = InboundMessage {
//!     id: MessageId::new("3EB0C0FFEE"),
//!     account: AccountId::default_account(),
//!     chat: Jid::parse("15551234567@s.whatsapp.net")?,
//!     sender: Sender::phone(Phone::parse("+15551234567")?),
//!     sender_jid: None,
//!     push_name: Some("Alice".into()),
//!     timestamp_ms: 1_735_787_040_000,
//!     from_me: false,
//!     offline: false,
//!     content: Content::text("hello"),
//!     context: ContextInfo::default(),
//! };
//! let turn = normalizer.normalize(&msg, &TurnContext::new(&own, "main"))?;
//! assert_eq!(turn.body, "[WhatsApp +15551234567 2025-01-02T03:04Z] [wagw] hello");
//! assert_eq!(turn.session_key, "agent:main:main");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! This crate is pure: no IO, no clocks (every time is an argument), no global state, no
//! randomness. Its mutable state ([`GroupHistory`], [`SessionClock`], [`MemoryDedupe`],
//! [`Debouncer`]) is owned by the caller. It must not depend on any wagw crate but
//! `wagw-core` (in particular not on `wagw-config`: the gateway maps config onto
//! [`NormalizeSettings`]), nor on a protocol library or an async runtime.

pub mod debounce;
pub mod dedupe;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod history;
pub mod mention;
pub mod normalize;
pub mod quote;
mod sender;
pub mod session;
pub mod settings;
pub mod turn;

pub use debounce::{Debouncer, is_command, is_debounceable, merge};
pub use dedupe::{
    DEFAULT_DEDUPE_CAPACITY, DEFAULT_DEDUPE_TTL_MS, DedupeKey, DedupeStore, MemoryDedupe,
};
pub use envelope::{EnvelopeSettings, EnvelopeTimezone, format_envelope};
pub use error::NormalizeError;
pub use extract::extract_body;
pub use history::{DEFAULT_HISTORY_LIMIT, GroupHistory, HistoryEntry};
pub use mention::{MentionOutcome, MentionPatterns, detect_mention};
pub use normalize::{Normalizer, TurnContext};
pub use quote::ReplyContext;
pub use session::{Peer, SessionClock, session_key};
pub use settings::{AccountSettings, AgentSettings, DEFAULT_MESSAGE_PREFIX, NormalizeSettings};
pub use turn::{ChatType, GroupMember, InboundTurn, TurnKind, TurnLocation, TurnMedia};
