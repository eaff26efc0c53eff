//! # wagw-config — the config file: schema, validation, account merging
//!
//! Loads one JSON5 file (`$XDG_CONFIG_HOME/wagw/wagw.json5` by default), checks it, and
//! resolves a per-account view a runtime can use directly: typed phones ([`wagw_core::Phone`]),
//! policies, compiled regexes and paths, with every default filled in.
//!
//! - **Every problem at once.** A file is checked completely; each [`Problem`] names its
//!   dotted path (`channels.whatsapp.allowFrom[1]`) and `line:column`, and unknown keys get a
//!   "did you mean" suggestion.
//! - **Parsed, not scrubbed.** Every phone number in `allowFrom`, `groupAllowFrom` and `dms`
//!   goes through [`wagw_core::Phone::parse`] at load time.
//! - **No shadowing.** An account value wins only where the account writes it; defaults
//!   apply last (the reference's bug #4321 cannot happen). See [`ResolvedAccount`].
//! - **Environment as a value.** `WAGW_CONFIG`, `WAGW_DATA_DIR`, `WAGW_TOKEN`,
//!   `WAGW_DATABASE_URL` and the XDG
//!   directories come in through [`Env`], so tests pin them.
//!
//! ```
//! use wagw_config::{Config, Env};
//! let env = Env::from_pairs([("WAGW_DATA_DIR", "/srv/wagw")]);
//! let config = Config::from_json5_str(r#"{
//!     // JSON5: comments, unquoted keys, trailing commas.
//!     channels: { whatsapp: { dmPolicy: "allowlist", allowFrom: ["whatsapp:+44 20 7946 0958"], } },
//! }"#, &env)?;
//! let account = config.default_account();
//! assert_eq!(account.account_id.as_str(), "default");
//! assert_eq!(account.allow_from[0].to_string(), "+442079460958");
//!
//! let err = Config::from_json5_str("{ channels: { whatsapp: { dmPolicy: 'open' } } }", &env)
//!     .unwrap_err();
//! assert!(err.to_string().contains("requires channels.whatsapp.allowFrom to include \"*\""));
//! # Ok::<(), wagw_config::ConfigError>(())
//! ```
//!
//! This crate reads one file and nothing else: no sockets, no clocks, no global state, no
//! process environment (the binary passes an [`Env`]). It depends only on `wagw-core` among
//! wagw crates and must never depend on a runtime crate.

pub mod chat;
mod check;
mod cloud;
mod config;
mod de;
pub mod edit;
mod env;
mod error;
pub mod file;
pub mod heartbeat;
mod json5;
pub mod migrate;
mod resolve;
pub mod settings;

pub use cloud::{
    DEFAULT_API_BASE, WHATSAPP_ACCESS_TOKEN, WHATSAPP_APP_SECRET, WHATSAPP_BUSINESS_ACCOUNT_ID,
    WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_WEBHOOK_VERIFY_TOKEN,
};
pub use config::{Config, MAX_CONFIG_BYTES, read_config_file};
pub use env::{Env, WAGW_CONFIG, WAGW_DATA_DIR, WAGW_DATABASE_URL, WAGW_TOKEN};
pub use error::{ConfigError, Problem, ProblemKind};
pub use json5::Pos;
pub use resolve::defaults;
pub use settings::{
    AccountMatch, AckReaction, Actions, AgentSettings, AgentSink, AllowEntry, Binding,
    BindingMatch, CloudSecret, CloudSettings, DatabaseUrl, DmSettings, GatewaySettings, GroupKey,
    GroupSettings, MediaSettings, MessageSettings, PacingSettings, PairingSettings, PeerKind,
    PeerMatch, ReconnectSettings, ResolvedAccount, SessionSettings, SinkKind, StorageSettings,
    StorageSource, Transport, WebSettings, redact_url,
};

/// The JSON Schema of the config file (draft-07), for editors and `wagw config schema`.
///
/// ```
/// let schema = wagw_config::json_schema();
/// assert_eq!(schema["title"], "wagw configuration");
/// assert!(schema["definitions"]["WhatsAppSection"]["properties"]["dmPolicy"].is_object());
/// ```
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(file::ConfigFile);
    serde_json::to_value(schema).unwrap_or_default()
}

/// A commented starter config (what `wagw config init` writes). It is valid as is.
pub const STARTER_CONFIG: &str = include_str!("starter.json5");
