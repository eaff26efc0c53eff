//! The gateway's one error type.

use std::path::PathBuf;

use thiserror::Error;
use wagw_core::{AccountId, SocketError};

/// Everything the gateway runtime can fail with. Each variant says what happened and, where
/// there is one, what to do next.
#[derive(Debug, Error)]
pub enum GatewayError {
    /// A send or tool call for an account that has no live WhatsApp connection.
    #[error(
        "No active WhatsApp listener for account {0}. Start the gateway, then link it with: wagw channels login --account {0}"
    )]
    NoActiveListener(AccountId),

    /// The account is not configured (or disabled).
    #[error("unknown account {0}: add it under channels.whatsapp.accounts or check its id")]
    UnknownAccount(AccountId),

    /// The data directory or the state database could not be opened or written.
    #[error("gateway store at {path}: {detail}")]
    Store {
        /// The directory or file involved.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },

    /// The transport refused or failed an operation.
    #[error("WhatsApp transport error for account {account}: {source}")]
    Transport {
        /// The account.
        account: AccountId,
        /// The transport's error.
        #[source]
        source: SocketError,
    },

    /// An agent tool was called while its `actions.*` gate is off.
    #[error(
        "the {action} action is disabled for account {account}; enable channels.whatsapp.actions.{action}"
    )]
    ActionDisabled {
        /// The account.
        account: AccountId,
        /// The gate name (`reactions`, `polls`).
        action: &'static str,
    },

    /// The request was malformed; the message says which part.
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// The agent sink failed to handle a turn.
    #[error("agent sink failed: {0}")]
    Sink(String),

    /// The access stores (pairing, allow entries, activation) failed or refused.
    #[error(transparent)]
    Access(#[from] wagw_access::AccessError),

    /// The builder was missing a required part.
    #[error("gateway builder: {0} is required")]
    MissingPart(&'static str),

    /// A media item of an explicit send could not be loaded, checked, prepared or
    /// uploaded; nothing was sent.
    #[error("nothing was sent: {0}")]
    MediaRejected(#[source] wagw_outbound::MediaFailure),

    /// The gateway is shutting down and accepts no new work.
    #[error("the gateway is shutting down")]
    ShuttingDown,

    /// Shutdown ran out of time before the gateway store was flushed; the last moments of
    /// state (acknowledgements, last-seen) may be missing after restart.
    #[error("the shutdown deadline passed before the gateway store was flushed")]
    ShutdownDeadline,
}

impl GatewayError {
    /// Wraps a store failure at `path`.
    pub(crate) fn store(path: impl Into<PathBuf>, detail: impl std::fmt::Display) -> GatewayError {
        GatewayError::Store {
            path: path.into(),
            detail: detail.to_string(),
        }
    }
}
